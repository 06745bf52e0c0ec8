-- One row per behavioural and needs segment (pipeline/insight/segments.py): its name and description in
-- words, how many active accounts, their revenue and its share, growth, the segment's NPS over the last
-- twelve months (withheld below min_respondents answers) and its churn risk. No rows when the segmentation
-- is withheld (mart_analysis_status says why).
with

segments as (
    select * from {{ ref('stg_insight__segments') }}
),

accounts as (
    select * from {{ ref('mart_account_360') }}
),

features as (
    select * from {{ ref('int_account_segment_features') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

by_segment as (
    select
        accounts.segment_number,
        count(*) as accounts,
        sum(accounts.revenue_ttm_eur) as revenue_ttm_eur,
        sum(accounts.revenue_prior_ttm_eur) as revenue_prior_ttm_eur,
        sum(accounts.gross_margin_ttm_eur) as gross_margin_ttm_eur,
        sum(accounts.customer_profitability_ttm_eur) as customer_profitability_ttm_eur,
        count(accounts.churn_probability) as accounts_scored,
        avg(accounts.churn_probability) as mean_churn_probability,
        sum(accounts.expected_revenue_at_risk_eur) as expected_revenue_at_risk_eur,
        avg(features.activities_per_month) as activities_per_month,
        avg(features.invoices_per_month) as invoices_per_month,
        avg(cast(features.product_lines as {{ type_double() }})) as product_lines
    from accounts
    left join features on accounts.account_id = features.account_id
    where accounts.segment_number is not null
    group by 1
),

answers as (
    select
        accounts.segment_number,
        count(*) as respondents_12m,
        avg({{ nps_points('responses.nps_score') }}) as nps
    from responses
    cross join period
    inner join accounts on responses.account_id = accounts.account_id
    where responses.survey_type = 'relationship'
        and responses.nps_score is not null
        and accounts.segment_number is not null
        and responses.response_date <= period.as_of_date
        and {{ month_start('responses.response_date') }} > {{ add_months('period.as_of_month', -12) }}
    group by 1
),

totals as (
    select sum(revenue_ttm_eur) as revenue_ttm_eur from by_segment
)

select
    cast(segments.segment_number as integer) as segment_number,
    cast(segments.segment as {{ dbt.type_string() }}) as segment,
    cast(segments.description as {{ dbt.type_string() }}) as description,
    cast(segments.traits as {{ dbt.type_string() }}) as traits,
    cast(coalesce(by_segment.accounts, 0) as integer) as accounts,
    cast(segments.account_share as decimal(18, 6)) as account_share,
    {{ money('coalesce(by_segment.revenue_ttm_eur, 0)') }} as revenue_ttm_eur,
    cast({{ safe_divide('by_segment.revenue_ttm_eur', 'totals.revenue_ttm_eur') }} as decimal(18, 6)) as revenue_share,
    {{ money(safe_divide('by_segment.revenue_ttm_eur', 'by_segment.accounts')) }} as revenue_per_account_eur,
    cast({{ safe_divide('by_segment.revenue_ttm_eur', 'by_segment.revenue_prior_ttm_eur') }} - 1 as decimal(18, 6))
        as revenue_growth_yoy,
    {{ money('coalesce(by_segment.gross_margin_ttm_eur, 0)') }} as gross_margin_ttm_eur,
    {{ money('coalesce(by_segment.customer_profitability_ttm_eur, 0)') }} as customer_profitability_ttm_eur,
    cast(by_segment.activities_per_month as decimal(18, 6)) as mean_activities_per_month,
    cast(by_segment.invoices_per_month as decimal(18, 6)) as mean_invoices_per_month,
    cast(by_segment.product_lines as decimal(18, 6)) as mean_product_lines,
    cast(coalesce(answers.respondents_12m, 0) as integer) as respondents_12m,
    cast(case when answers.respondents_12m >= {{ var('min_respondents') }} then answers.nps end
        as decimal(18, 6)) as nps_12m,
    cast(coalesce(by_segment.accounts_scored, 0) as integer) as accounts_scored,
    cast(by_segment.mean_churn_probability as decimal(18, 6)) as mean_churn_probability,
    {{ money('coalesce(by_segment.expected_revenue_at_risk_eur, 0)') }} as expected_revenue_at_risk_eur,
    cast(segments.features_used as {{ dbt.type_string() }}) as features_used,
    cast(segments.segments_chosen as integer) as segments_chosen,
    cast(segments.criterion as {{ dbt.type_string() }}) as criterion,
    cast(segments.feature_basis as {{ dbt.type_string() }}) as feature_basis
from segments
cross join totals
left join by_segment on segments.segment_number = by_segment.segment_number
left join answers on segments.segment_number = answers.segment_number
