-- One row per account: its current state in business terms (value, growth potential, voice,
-- relationship, pipeline, competitor signals, churn risk with its reasons). Later stages add lifetime
-- value, tier and the recommended action.
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

value_12m as (
    select
        account_months.account_id,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -12) }}
            then account_months.revenue_eur else 0 end) as revenue_ttm_eur,
        sum(case when account_months.month_start <= {{ add_months('period.as_of_month', -12) }}
                and account_months.month_start > {{ add_months('period.as_of_month', -24) }}
            then account_months.revenue_eur else 0 end) as revenue_prior_ttm_eur,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -12) }}
            then account_months.gross_margin_eur else 0 end) as gross_margin_ttm_eur,
        sum(case when account_months.month_start > {{ add_months('period.as_of_month', -12) }}
            then account_months.cost_to_serve_eur else 0 end) as cost_to_serve_ttm_eur,
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
        coalesce(value_12m.revenue_ttm_eur, 0) as revenue_ttm_eur,
        coalesce(value_12m.revenue_prior_ttm_eur, 0) as revenue_prior_ttm_eur,
        coalesce(value_12m.gross_margin_ttm_eur, 0) as gross_margin_ttm_eur,
        coalesce(value_12m.cost_to_serve_ttm_eur, 0) as cost_to_serve_ttm_eur,
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
        period.as_of_date
    from accounts
    cross join period
    left join value_12m on accounts.account_id = value_12m.account_id
    left join voice on accounts.account_id = voice.account_id
    left join churn on accounts.account_id = churn.account_id
    left join contact_breadth on accounts.account_id = contact_breadth.account_id
    left join last_meeting on accounts.account_id = last_meeting.account_id
    left join pipeline on accounts.account_id = pipeline.account_id
    left join latest_scores on accounts.account_id = latest_scores.account_id
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
            as tenure_score
    from assembled
)

select
    cast(account_key as bigint) as account_key,
    account_id,
    account_name,
    cast(segment_key as integer) as segment_key,
    industry,
    size_band,
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
    {{ money('gross_margin_ttm_eur - cost_to_serve_ttm_eur') }} as profit_ttm_eur,
    estimated_annual_potential_eur,
    cast({{ safe_divide('revenue_ttm_eur', 'estimated_annual_potential_eur') }} as decimal(18, 6))
        as share_of_wallet,
    {{ money('case when estimated_annual_potential_eur is null then null
        when estimated_annual_potential_eur > revenue_ttm_eur then estimated_annual_potential_eur - revenue_ttm_eur
        else 0 end') }} as growth_headroom_eur,
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
    cast(round(cast(100 * (0.30 * contact_breadth_score + 0.30 * engagement_score + 0.25 * survey_voice_score
        + 0.15 * tenure_score) as numeric), 1) as decimal(18, 6)) as relationship_strength_index,
    cast(open_opportunities as integer) as open_opportunities,
    {{ money('open_pipeline_eur') }} as open_pipeline_eur,
    cast(lost_opportunities_12m as integer) as lost_opportunities_12m,
    cast(won_opportunities_12m as integer) as won_opportunities_12m,
    main_competitor,
    preferred_competitor_latest,
    competitor_on_lost_opportunities,
    (
        coalesce(considering_alternatives_latest, 0) >= 7
        or preferred_competitor_latest is not null
        or lost_opportunities_12m > 0 and competitor_on_lost_opportunities is not null
    ) as has_competitor_signal,
    churn_scored_month,
    churn_probability,
    risk_decile,
    risk_band,
    expected_revenue_at_risk_eur,
    churn_reasons,
    churn_model_version,
    as_of_date
from scored
