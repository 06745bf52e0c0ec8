-- One row per account: its current state in business terms (value, growth potential, voice,
-- relationship, pipeline, competitor signals, churn risk with its reasons), its lifetime value and
-- key-account tier (int_account_value), its care model and one recommended action in plain words.
-- The care-model rule and its thresholds (vars) are documented in mart_account_360.yml.

{#- Sentence helpers (portable SQL: || and casts, no printf/format): SQL templates in which __X__ stands for
    the expression to format. -#}
{#- A share as a whole percentage: 0.413 -> '41%'; above zero but below 0.5% -> 'under 1%'. -#}
{%- set percent_text -%}
    (case when __X__ > 0 and __X__ < 0.005 then 'under 1%'
        else cast(cast(round(cast(100 * (__X__) as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}) || '%' end)
{%- endset -%}

{#- Euros for a sentence: whole thousands from 1,000 up (EUR 210,000), whole euros below, with thousands
    separators; a negative amount gets a minus sign (EUR -3,000). -#}
{%- set whole_euros -%}
    (case when abs(__X__) >= 1000
        then cast(round(cast(abs(__X__) / 1000 as decimal(18, 3)), 0) as bigint) * 1000
        else cast(round(cast(abs(__X__) as decimal(18, 3)), 0) as bigint) end)
{%- endset -%}
{%- set euro_text -%}
    ('EUR ' || case when __X__ < 0 then '-' else '' end || case
        when __W__ >= 1000000 then
            cast(cast(floor(__W__ / 1000000.0) as bigint) as {{ dbt.type_string() }})
            || ',' || lpad(cast(mod(cast(floor(__W__ / 1000.0) as bigint), 1000) as {{ dbt.type_string() }}), 3, '0')
            || ',' || lpad(cast(mod(__W__, 1000) as {{ dbt.type_string() }}), 3, '0')
        when __W__ >= 1000 then
            cast(cast(floor(__W__ / 1000.0) as bigint) as {{ dbt.type_string() }})
            || ',' || lpad(cast(mod(__W__, 1000) as {{ dbt.type_string() }}), 3, '0')
        else cast(__W__ as {{ dbt.type_string() }})
    end)
{%- endset -%}
{%- set euro_text = euro_text | replace('__W__', whole_euros) %}

with

accounts as (
    select * from {{ ref('dim_account') }}
    where account_key <> -1
),

account_months as (
    select * from {{ ref('fct_account_month') }}
),

survey_months as (
    select * from {{ ref('int_survey_by_account_month') }}
),

churn as (
    select * from {{ ref('int_churn_events') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

latest_scores as (
    select * from {{ ref('mart_churn_scores') }}
    where is_latest_snapshot
),

-- Segments (insight/segments.py): made without this mart, no cycle.
account_segments as (
    select * from {{ ref('stg_insight__account_segments') }}
),

-- Revenue, margin, cost to serve, lifetime value and tier: one definition, in int_account_value.
account_value as (
    select * from {{ ref('int_account_value') }}
),

value_12m as (
    select
        account_months.account_id,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -12) }}
            then account_months.respondents else 0 end) as respondents_12m,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -3) }}
            then account_months.activities else 0 end) as activities_90d,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -12) }}
            then account_months.late_payments else 0 end) as late_payments_12m
    from account_months
    cross join period
    group by 1
),

survey_ranked as (
    select
        account_id,
        month_start,
        account_nps,
        considering_alternatives,
        preferred_competitor,
        row_number() over (partition by account_id order by month_start desc) as recency
    from survey_months
),

voice as (
    select
        latest.account_id,
        latest.month_start as latest_survey_month,
        latest.account_nps as nps_latest,
        previous.account_nps as nps_previous,
        latest.considering_alternatives as considering_alternatives_latest,
        latest.preferred_competitor as preferred_competitor_latest
    from survey_ranked as latest
    left join survey_ranked as previous
        on latest.account_id = previous.account_id and previous.recency = 2
    where latest.recency = 1
),

contact_breadth as (
    select
        account_id,
        count(*) as active_contacts,
        count(distinct case when contact_role <> 'other' then contact_role end) as roles_covered,
        sum(case when contact_role = 'decision_maker' then 1 else 0 end) as decision_makers
    from contacts
    where is_active
    group by 1
),

last_meeting as (
    select account_id, max(activity_date) as last_meeting_date
    from activities
    where activity_type in ('meeting', 'visit')
    group by 1
),

pipeline as (
    select
        opportunities.account_id,
        sum(case when opportunities.opportunity_stage = 'open' then 1 else 0 end) as open_opportunities,
        sum(case when opportunities.opportunity_stage = 'open' then opportunities.amount_eur else 0 end)
            as open_pipeline_eur,
        sum(case when opportunities.opportunity_stage = 'lost'
                and opportunities.close_date > {{ add_months('period.as_of_date', -12) }} then 1 else 0 end)
            as lost_opportunities_12m,
        sum(case when opportunities.opportunity_stage = 'won'
                and opportunities.close_date > {{ add_months('period.as_of_date', -12) }} then 1 else 0 end)
            as won_opportunities_12m,
        max(case when opportunities.opportunity_stage = 'lost' then opportunities.competitor end)
            as competitor_on_lost_opportunities
    from opportunities
    cross join period
    group by 1
),

assembled as (
    select
        accounts.account_key,
        accounts.account_id,
        accounts.account_name,
        accounts.segment_key,
        accounts.industry,
        accounts.size_band,
        accounts.region,
        accounts.crm_status,
        churn.churn_month,
        churn.churn_type,
        churn.churn_month is null as is_active_customer,
        coalesce(account_value.revenue_ttm_eur, 0) as revenue_ttm_eur,
        coalesce(account_value.revenue_prior_ttm_eur, 0) as revenue_prior_ttm_eur,
        coalesce(account_value.gross_margin_ttm_eur, 0) as gross_margin_ttm_eur,
        coalesce(account_value.cost_to_serve_ttm_eur, 0) as cost_to_serve_ttm_eur,
        coalesce(account_value.customer_profitability_ttm_eur, 0) as customer_profitability_ttm_eur,
        account_value.monthly_retention,
        account_value.customer_lifetime_value_eur,
        account_value.margin_at_risk_eur,
        account_value.gross_profit_rank,
        account_value.cumulative_gross_profit_share,
        coalesce(account_value.value_tier, 'C') as value_tier,
        accounts.estimated_annual_potential_eur,
        voice.latest_survey_month,
        voice.nps_latest,
        voice.nps_previous,
        voice.considering_alternatives_latest,
        voice.preferred_competitor_latest,
        coalesce(value_12m.respondents_12m, 0) as respondents_12m,
        coalesce(contact_breadth.active_contacts, 0) as active_contacts,
        coalesce(contact_breadth.roles_covered, 0) as roles_covered,
        coalesce(contact_breadth.decision_makers, 0) as decision_makers,
        coalesce(value_12m.activities_90d, 0) as activities_90d,
        coalesce(value_12m.late_payments_12m, 0) as late_payments_12m,
        case when last_meeting.last_meeting_date is not null
            then {{ days_between('last_meeting.last_meeting_date', 'period.as_of_date') }} end
            as days_since_last_meeting,
        case when accounts.created_date is not null
            then {{ months_between('accounts.created_date', 'period.as_of_date') }} / 12.0 end as tenure_years,
        coalesce(pipeline.open_opportunities, 0) as open_opportunities,
        coalesce(pipeline.open_pipeline_eur, 0) as open_pipeline_eur,
        coalesce(pipeline.lost_opportunities_12m, 0) as lost_opportunities_12m,
        coalesce(pipeline.won_opportunities_12m, 0) as won_opportunities_12m,
        accounts.main_competitor,
        pipeline.competitor_on_lost_opportunities,
        latest_scores.snapshot_month as churn_scored_month,
        latest_scores.churn_probability,
        latest_scores.risk_decile,
        latest_scores.risk_band,
        latest_scores.expected_revenue_at_risk_eur,
        latest_scores.reasons as churn_reasons,
        latest_scores.model_version as churn_model_version,
        period.as_of_date,
        account_segments.segment_number,
        account_segments.segment
    from accounts
    cross join period
    left join account_value on accounts.account_id = account_value.account_id
    left join value_12m on accounts.account_id = value_12m.account_id
    left join voice on accounts.account_id = voice.account_id
    left join churn on accounts.account_id = churn.account_id
    left join contact_breadth on accounts.account_id = contact_breadth.account_id
    left join last_meeting on accounts.account_id = last_meeting.account_id
    left join pipeline on accounts.account_id = pipeline.account_id
    left join latest_scores on accounts.account_id = latest_scores.account_id
    left join account_segments on accounts.account_id = account_segments.account_id
),

scored as (
    select
        *,
        -- Relationship strength components, each from 0 to 1 (docs: mart_account_360.yml).
        (
            (case when active_contacts >= 5 then 1.0 else active_contacts / 5.0 end)
            + roles_covered / 3.0
            + (case when decision_makers > 0 then 1.0 else 0.0 end)
        ) / 3.0 as contact_breadth_score,
        (
            (case when activities_90d >= 6 then 1.0 else activities_90d / 6.0 end)
            + (case
                when days_since_last_meeting is null or days_since_last_meeting >= 180 then 0.0
                else 1.0 - days_since_last_meeting / 180.0
            end)
        ) / 2.0 as engagement_score,
        (
            (case when respondents_12m >= 3 then 1.0 else respondents_12m / 3.0 end)
            + (case when respondents_12m > 0 and nps_latest is not null then (nps_latest + 100.0) / 200.0 else 0.0 end)
        ) / 2.0 as survey_voice_score,
        case when tenure_years is null then 0.0 when tenure_years >= 5 then 1.0 else tenure_years / 5.0 end
            as tenure_score,
        -- Net revenue floored at zero, as in feat_account_snapshot: credits beyond invoices use no potential.
        {{ safe_divide('greatest(revenue_ttm_eur, 0)', 'estimated_annual_potential_eur') }} as share_of_wallet,
        case when estimated_annual_potential_eur is null then null
            when estimated_annual_potential_eur > revenue_ttm_eur then estimated_annual_potential_eur - revenue_ttm_eur
            else 0 end as growth_headroom_eur
    from assembled
),

-- Care model (rule table and vars: mart_account_360.yml). Churned accounts get none.
cared as (
    select
        *,
        case
            when not is_active_customer then null
            when value_tier in ('A', 'B') and risk_decile <= {{ var('risk_band_elevated_max_decile') }} then 'retain'
            when value_tier in ('A', 'B') and estimated_annual_potential_eur > 0
                and growth_headroom_eur >= {{ var('care_grow_min_headroom_share') }} * estimated_annual_potential_eur
                then 'grow'
            when value_tier in ('A', 'B') then 'maintain'
            when growth_headroom_eur >= {{ var('care_develop_min_headroom_eur') }}
                and (risk_decile is null or risk_decile > {{ var('risk_band_high_max_decile') }})
                then 'develop'
            else 'serve efficiently'
        end as care_model,
        -- Without a churn score (no model yet, or an account the model has not scored) the care model
        -- rests on tier and growth headroom alone; BI shows which.
        case
            when not is_active_customer then null
            when risk_decile is null then 'tier and growth headroom (no churn score)'
            else 'tier, churn risk and growth headroom'
        end as care_model_basis,
        (days_since_last_meeting is null or days_since_last_meeting >= {{ var('care_meeting_due_days') }})
            as is_meeting_due
    from scored
),

-- One plain-words sentence per active account: the care model, the facts behind it, what to do.
actioned as (
    select
        *,
        cast(case care_model
            when 'retain' then
                'Retain: churn risk ' || {{ percent_text | replace('__X__', 'churn_probability') }}
                || case when risk_decile = 1 then ' (top decile)'
                    else ' (risk decile ' || cast(risk_decile as {{ dbt.type_string() }}) || ' of 10)' end
                || coalesce('; ' || churn_reasons, '')
                || case
                    when not is_meeting_due or churn_reasons like '%meeting%' then ''
                    when days_since_last_meeting is null then '; no meeting on record'
                    else '; no meeting in ' || cast(days_since_last_meeting as {{ dbt.type_string() }}) || ' days'
                end
                || case when is_meeting_due then ': book an executive meeting this month.'
                    else ': agree a recovery plan with the decision maker this month.' end
            when 'grow' then
                'Grow: uses ' || {{ percent_text | replace('__X__', 'share_of_wallet') }}
                || ' of its estimated potential ('
                || {{ euro_text | replace('__X__', 'growth_headroom_eur') }} || ' headroom): '
                || case when open_pipeline_eur > 0
                    then 'close the open pipeline (' || {{ euro_text | replace('__X__', 'open_pipeline_eur') }}
                        || ') and propose the next product line.'
                    else 'propose the next product line.' end
            when 'maintain' then
                'Maintain: tier ' || value_tier || ' account with '
                || {{ euro_text | replace('__X__', 'gross_margin_ttm_eur') }}
                || ' gross profit a year, churn risk '
                || coalesce({{ percent_text | replace('__X__', 'churn_probability') }}, 'not scored')
                || coalesce(
                    ', NPS '
                    || cast(cast(round(cast(nps_latest as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}),
                    ''
                )
                || case when is_meeting_due then ': schedule the next account review this quarter.'
                    else ': keep the regular account reviews and the meeting rhythm.' end
            when 'develop' then
                'Develop: tier C today with ' || {{ euro_text | replace('__X__', 'growth_headroom_eur') }}
                || ' headroom (uses '
                || {{ percent_text | replace('__X__', 'share_of_wallet') }} || ' of its estimated potential): '
                || case when decision_makers = 0 then 'find and meet the decision maker, then build an account plan.'
                    else 'qualify the potential with the decision maker and build an account plan.' end
            when 'serve efficiently' then
                'Serve efficiently: tier C with ' || {{ euro_text | replace('__X__', 'gross_margin_ttm_eur') }}
                || ' gross profit a year'
                || case when customer_profitability_ttm_eur < 0
                    then ' and a loss of ' || {{ euro_text | replace('__X__', '0 - customer_profitability_ttm_eur') }}
                        || ' after cost to serve: review pricing and move service to digital channels.'
                    else ': serve through digital and inside-sales channels.' end
        end as {{ dbt.type_string() }}) as recommended_action
    from cared
)

select
    cast(account_key as bigint) as account_key,
    account_id,
    account_name,
    cast(segment_key as integer) as segment_key,
    industry,
    size_band,
    {{ size_band_order('size_band') }} as size_band_order,
    region,
    crm_status,
    is_active_customer,
    churn_month,
    churn_type,
    {{ money('revenue_ttm_eur') }} as revenue_ttm_eur,
    {{ money('revenue_prior_ttm_eur') }} as revenue_prior_ttm_eur,
    cast(case when revenue_prior_ttm_eur > 0 then revenue_ttm_eur / revenue_prior_ttm_eur - 1 end
        as decimal(18, 6)) as revenue_growth_yoy,
    {{ money('gross_margin_ttm_eur') }} as gross_margin_ttm_eur,
    cast({{ safe_divide('gross_margin_ttm_eur', 'revenue_ttm_eur') }} as decimal(18, 6))
        as gross_margin_pct,
    {{ money('cost_to_serve_ttm_eur') }} as cost_to_serve_ttm_eur,
    {{ money('customer_profitability_ttm_eur') }} as customer_profitability_ttm_eur,
    {{ money('customer_lifetime_value_eur') }} as customer_lifetime_value_eur,
    {{ money('margin_at_risk_eur') }} as margin_at_risk_eur,
    cast(monthly_retention as decimal(18, 6)) as monthly_retention,
    cast(gross_profit_rank as integer) as gross_profit_rank,
    cast(cumulative_gross_profit_share as decimal(18, 6)) as cumulative_gross_profit_share,
    cast(value_tier as {{ dbt.type_string() }}) as value_tier,
    estimated_annual_potential_eur,
    cast(share_of_wallet as decimal(18, 6)) as share_of_wallet,
    {{ money('growth_headroom_eur') }} as growth_headroom_eur,
    latest_survey_month,
    cast(nps_latest as decimal(18, 6)) as nps_latest,
    cast(nps_previous as decimal(18, 6)) as nps_previous,
    cast(nps_latest - nps_previous as decimal(18, 6)) as nps_trend,
    cast(considering_alternatives_latest as decimal(18, 6)) as considering_alternatives_latest,
    cast(respondents_12m as integer) as respondents_12m,
    cast(active_contacts as integer) as active_contacts,
    cast(roles_covered as integer) as roles_covered,
    cast(decision_makers as integer) as decision_makers,
    cast(activities_90d as integer) as activities_90d,
    cast(days_since_last_meeting as integer) as days_since_last_meeting,
    cast(late_payments_12m as integer) as late_payments_12m,
    cast(tenure_years as decimal(18, 6)) as tenure_years,
    cast(contact_breadth_score as decimal(18, 6)) as contact_breadth_score,
    cast(engagement_score as decimal(18, 6)) as engagement_score,
    cast(survey_voice_score as decimal(18, 6)) as survey_voice_score,
    cast(tenure_score as decimal(18, 6)) as tenure_score,
    cast(round(cast(100 * (
        {{ var('relationship_weight_contact_breadth') }} * contact_breadth_score
        + {{ var('relationship_weight_engagement') }} * engagement_score
        + {{ var('relationship_weight_survey_voice') }} * survey_voice_score
        + {{ var('relationship_weight_tenure') }} * tenure_score
    ) as decimal(18, 3)), 1) as decimal(18, 6)) as relationship_strength_index,
    cast(open_opportunities as integer) as open_opportunities,
    {{ money('open_pipeline_eur') }} as open_pipeline_eur,
    cast(lost_opportunities_12m as integer) as lost_opportunities_12m,
    cast(won_opportunities_12m as integer) as won_opportunities_12m,
    main_competitor,
    preferred_competitor_latest,
    competitor_on_lost_opportunities,
    (
        {{ is_considering_alternatives('coalesce(considering_alternatives_latest, 0)') }}
        or preferred_competitor_latest is not null
        or lost_opportunities_12m > 0 and competitor_on_lost_opportunities is not null
    ) as has_competitor_signal,
    churn_scored_month,
    churn_probability,
    risk_decile,
    risk_band,
    {{ risk_band_order('risk_band', 'risk_decile') }} as risk_band_order,
    expected_revenue_at_risk_eur,
    churn_reasons,
    churn_model_version,
    cast(care_model as {{ dbt.type_string() }}) as care_model,
    cast(care_model_basis as {{ dbt.type_string() }}) as care_model_basis,
    recommended_action,
    as_of_date,
    segment_number,
    cast(segment as {{ dbt.type_string() }}) as segment
from actioned
