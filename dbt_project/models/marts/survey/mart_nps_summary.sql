-- Relationship-survey NPS by quarter and over the last twelve months, overall and by segment: n, NPS with
-- its 95% margin of error, revenue-weighted NPS and its revenue coverage, response rate, and the
-- response-bias-adjusted NPS (pipeline/insight/nps.py) with its Kish effective n, margin of error and a
-- sentence on whether it differs from the raw figure. NPS figures on fewer than var('min_respondents')
-- responses are withheld (null), never shown as if they meant something.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where survey_type = 'relationship'
),

invitations as (
    select * from {{ ref('stg_survey__invitations') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

account_months as (
    select * from {{ ref('fct_account_month') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

adjusted as (
    select * from {{ ref('stg_insight__nps_adjusted') }}
),

revenue_ttm as (
    select
        account_id,
        month_start,
        sum(revenue_eur) over (
            partition by account_id order by month_start rows between 11 preceding and current row
        ) as revenue_ttm_eur
    from account_months
),

-- Each answer counts in its quarter and, when recent, in the last twelve months.
scoped_responses as (
    select
        'quarter' as period_type,
        cast(extract(year from responses.response_date) as {{ dbt.type_string() }}) || '-Q'
            || cast(extract(quarter from responses.response_date) as {{ dbt.type_string() }}) as year_quarter,
        responses.response_id,
        responses.account_id,
        responses.nps_score,
        {{ month_start('responses.response_date') }} as response_month,
        accounts.segment_key
    from responses
    inner join accounts on responses.account_id = accounts.account_id
    union all
    select
        'last_12_months' as period_type,
        'Last 12 months' as year_quarter,
        responses.response_id,
        responses.account_id,
        responses.nps_score,
        {{ month_start('responses.response_date') }},
        accounts.segment_key
    from responses
    inner join accounts on responses.account_id = accounts.account_id
    cross join period
    where responses.response_date > {{ add_months('period.as_of_date', -12) }}
        and responses.response_date <= period.as_of_date
),

scoped_invitations as (
    select
        'quarter' as period_type,
        cast(extract(year from invitations.sent_date) as {{ dbt.type_string() }}) || '-Q'
            || cast(extract(quarter from invitations.sent_date) as {{ dbt.type_string() }}) as year_quarter,
        accounts.segment_key,
        invitations.invitation_id
    from invitations
    inner join accounts on invitations.account_id = accounts.account_id
    union all
    select
        'last_12_months' as period_type,
        'Last 12 months' as year_quarter,
        accounts.segment_key,
        invitations.invitation_id
    from invitations
    inner join accounts on invitations.account_id = accounts.account_id
    cross join period
    where invitations.sent_date > {{ add_months('period.as_of_date', -12) }}
        and invitations.sent_date <= period.as_of_date
),

-- Each response belongs to its segment and to 'all' (segment_key 0 stands for all segments).
response_groups as (
    select period_type, year_quarter, segment_key, response_id, account_id, nps_score, response_month
    from scoped_responses
    union all
    select period_type, year_quarter, 0 as segment_key, response_id, account_id, nps_score, response_month
    from scoped_responses
),

invitation_groups as (
    select period_type, year_quarter, segment_key, count(*) as invitations from scoped_invitations group by 1, 2, 3
    union all
    select period_type, year_quarter, 0 as segment_key, count(*) as invitations from scoped_invitations group by 1, 2
),

counts as (
    select
        period_type,
        year_quarter,
        segment_key,
        count(*) as responses,
        sum(case when {{ nps_class('nps_score') }} = 'promoter' then 1 else 0 end) as promoters,
        sum(case when {{ nps_class('nps_score') }} = 'passive' then 1 else 0 end) as passives,
        sum(case when {{ nps_class('nps_score') }} = 'detractor' then 1 else 0 end) as detractors
    from response_groups
    group by 1, 2, 3
),

account_scores as (
    select
        response_groups.period_type,
        response_groups.year_quarter,
        response_groups.segment_key,
        response_groups.account_id,
        avg({{ nps_points('response_groups.nps_score') }}) as account_nps,
        max(revenue_ttm.revenue_ttm_eur) as revenue_ttm_eur
    from response_groups
    left join revenue_ttm
        on response_groups.account_id = revenue_ttm.account_id
        and response_groups.response_month = revenue_ttm.month_start
    group by 1, 2, 3, 4
),

revenue_weighted as (
    select
        period_type,
        year_quarter,
        segment_key,
        sum(account_nps * revenue_ttm_eur) / nullif(sum(revenue_ttm_eur), 0) as revenue_weighted_nps,
        sum(revenue_ttm_eur) as answering_revenue_ttm_eur
    from account_scores
    where revenue_ttm_eur > 0
    group by 1, 2, 3
),

-- Revenue coverage: the answering accounts' share of the revenue of every customer in the group at the
-- period's end (the reporting month for the last twelve months, the quarter's last month otherwise).
period_ends as (
    select distinct
        period_type,
        year_quarter,
        segment_key,
        case when period_type = 'quarter'
            then max(response_month) over (partition by period_type, year_quarter) end as quarter_last_response_month
    from response_groups
),

customer_revenue as (
    select
        period_ends.period_type,
        period_ends.year_quarter,
        period_ends.segment_key,
        sum(revenue_ttm.revenue_ttm_eur) as customer_revenue_ttm_eur
    from period_ends
    cross join period
    inner join revenue_ttm
        on revenue_ttm.month_start = coalesce(period_ends.quarter_last_response_month, period.as_of_month)
    inner join accounts on revenue_ttm.account_id = accounts.account_id
    where revenue_ttm.revenue_ttm_eur > 0
        and (period_ends.segment_key = 0 or accounts.segment_key = period_ends.segment_key)
    group by 1, 2, 3
),

shares as (
    select
        counts.*,
        cast(counts.promoters as decimal(18, 6)) / counts.responses as promoter_share,
        cast(counts.detractors as decimal(18, 6)) / counts.responses as detractor_share
    from counts
)

select
    cast(shares.period_type as {{ dbt.type_string() }}) as period_type,
    cast(shares.year_quarter as {{ dbt.type_string() }}) as period,
    cast(shares.segment_key as integer) as segment_key,
    case when shares.segment_key = 0 then 'All segments' else coalesce(accounts_segments.segment_name, 'Unknown') end
        as segment_name,
    cast(shares.responses as integer) as responses,
    cast(shares.promoters as integer) as promoters,
    cast(shares.passives as integer) as passives,
    cast(shares.detractors as integer) as detractors,
    cast(case when shares.responses >= {{ var('min_respondents') }}
        then 100.0 * (shares.promoter_share - shares.detractor_share) end as decimal(18, 6)) as nps,
    cast(case when shares.responses >= {{ var('min_respondents') }}
        then 1.96 * 100.0 * sqrt(
            (shares.promoter_share + shares.detractor_share
                - (shares.promoter_share - shares.detractor_share) * (shares.promoter_share - shares.detractor_share))
            / shares.responses
        ) end as decimal(18, 6)) as nps_margin_of_error,
    cast(case when shares.responses >= {{ var('min_respondents') }}
        then revenue_weighted.revenue_weighted_nps end as decimal(18, 6)) as revenue_weighted_nps,
    cast(coalesce(invitation_groups.invitations, 0) as integer) as invitations,
    cast({{ safe_divide('shares.responses', 'invitation_groups.invitations') }} as decimal(18, 6))
        as response_rate,
    cast(least(
        {{ safe_divide('revenue_weighted.answering_revenue_ttm_eur', 'customer_revenue.customer_revenue_ttm_eur') }},
        1.0) as decimal(18, 6)) as revenue_coverage,
    cast(case when shares.responses >= {{ var('min_respondents') }} then adjusted.adjusted_nps end
        as decimal(18, 6)) as adjusted_nps,
    cast(case when shares.responses >= {{ var('min_respondents') }} then adjusted.adjusted_nps_margin_of_error end
        as decimal(18, 6)) as adjusted_nps_margin_of_error,
    cast(adjusted.effective_respondents as decimal(18, 6)) as effective_respondents,
    cast(case when shares.responses >= {{ var('min_respondents') }} then adjusted.bias_statement
        else 'Too few answers to show an NPS.' end as {{ dbt.type_string() }}) as nps_statement
from shares
left join revenue_weighted
    on shares.period_type = revenue_weighted.period_type
    and shares.year_quarter = revenue_weighted.year_quarter
    and shares.segment_key = revenue_weighted.segment_key
left join customer_revenue
    on shares.period_type = customer_revenue.period_type
    and shares.year_quarter = customer_revenue.year_quarter
    and shares.segment_key = customer_revenue.segment_key
left join invitation_groups
    on shares.period_type = invitation_groups.period_type
    and shares.year_quarter = invitation_groups.year_quarter
    and shares.segment_key = invitation_groups.segment_key
left join adjusted
    on shares.period_type = adjusted.period_type
    and shares.year_quarter = adjusted.period
    and shares.segment_key = adjusted.segment_key
left join {{ ref('dim_segment') }} as accounts_segments on shares.segment_key = accounts_segments.segment_key
