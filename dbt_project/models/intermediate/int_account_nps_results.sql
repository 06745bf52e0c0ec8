-- NPS and results per account and twelve-month period (mart_nps_and_results aggregates it): the account's
-- NPS over its relationship answers in the period (DESIGN.md's account NPS: the mean of the answers mapped to
-- +100 / 0 / -100; one answer is enough), its band (vars nps_band_*), and its results over the period's months
-- and the twelve months before. Periods: the twelve months up to the reporting month and every twelve months
-- before it, while the data covers the whole period.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where survey_type = 'relationship'
),

account_months as (
    select * from {{ ref('fct_account_month') }}
),

churn as (
    select * from {{ ref('int_churn_events') }}
),

months as (
    select * from {{ ref('int_months') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

first_month as (
    select min(month_start) as first_data_month from account_months
),

periods as (
    select
        months.month_start as period_end_month,
        {{ add_months('months.month_start', -11) }} as period_start_month,
        cast({{ months_between('months.month_start', 'period.as_of_month') }} as integer) / 12 as periods_back,
        -- Growth needs the twelve months before the period inside the data too.
        {{ add_months('months.month_start', -23) }} >= first_month.first_data_month as has_prior_period,
        -- Churn in the next twelve months is final once every silent churn dated into them is confirmed.
        {{ add_months('months.month_start', 12 + var('silent_churn_months')) }} <= period.as_of_month
            as is_churn_final
    from months
    cross join period
    cross join first_month
    -- The month count is a double on PostgreSQL: cast before the remainder.
    where cast({{ months_between('months.month_start', 'period.as_of_month') }} as integer) % 12 = 0
        and {{ add_months('months.month_start', -11) }} >= first_month.first_data_month
),

account_nps as (
    select
        periods.period_end_month,
        responses.account_id,
        count(*) as answers,
        -- Double precision on every engine (PostgreSQL's avg of numeric keeps twenty decimals).
        cast(avg({{ nps_points('responses.nps_score') }}) as {{ type_double() }}) as account_nps
    from responses
    cross join period
    inner join periods
        on responses.response_date >= periods.period_start_month
        and responses.response_date <= {{ month_end('periods.period_end_month') }}
    where responses.response_date <= period.as_of_date
    group by 1, 2
),

account_results as (
    select
        account_nps.period_end_month,
        account_nps.account_id,
        sum(case when account_months.month_start >= periods.period_start_month
            then account_months.revenue_eur else 0 end) as revenue_eur,
        sum(case when account_months.month_start < periods.period_start_month
            then account_months.revenue_eur else 0 end) as revenue_prior_eur,
        sum(case when account_months.month_start >= periods.period_start_month
            then account_months.gross_margin_eur else 0 end) as gross_margin_eur,
        sum(case when account_months.month_start >= periods.period_start_month
            then account_months.profit_eur else 0 end) as customer_profitability_eur
    from account_nps
    inner join periods on account_nps.period_end_month = periods.period_end_month
    inner join account_months
        on account_nps.account_id = account_months.account_id
        and account_months.month_start >= {{ add_months('periods.period_start_month', -12) }}
        and periods.period_end_month >= account_months.month_start
    group by 1, 2
),

banded as (
    select
        account_nps.period_end_month,
        account_nps.account_id,
        account_nps.answers,
        account_nps.account_nps,
        {{ nps_band('account_nps.account_nps') }} as nps_band,
        cast(coalesce(account_results.revenue_eur, 0) as {{ type_double() }}) as revenue_eur,
        cast(coalesce(account_results.revenue_prior_eur, 0) as {{ type_double() }}) as revenue_prior_eur,
        cast(coalesce(account_results.gross_margin_eur, 0) as {{ type_double() }}) as gross_margin_eur,
        cast(coalesce(account_results.customer_profitability_eur, 0) as {{ type_double() }})
            as customer_profitability_eur,
        periods.has_prior_period and coalesce(account_results.revenue_prior_eur, 0) > 0 as has_prior_revenue,
        -- Growth as a log ratio for the correlation with NPS: symmetric, and one large account cannot dominate.
        case when periods.has_prior_period and account_results.revenue_prior_eur > 0 and account_results.revenue_eur > 0
            then ln(cast(account_results.revenue_eur as {{ type_double() }})
                / cast(account_results.revenue_prior_eur as {{ type_double() }}))
        end as log_revenue_growth,
        churn.churn_month is null or churn.churn_month > periods.period_end_month as is_customer_at_period_end,
        case when churn.churn_month > periods.period_end_month
                and churn.churn_month <= {{ add_months('periods.period_end_month', 12) }} then 1 else 0 end
            as churned_next_12m
    from account_nps
    inner join periods on account_nps.period_end_month = periods.period_end_month
    left join account_results
        on account_nps.period_end_month = account_results.period_end_month
        and account_nps.account_id = account_results.account_id
    left join churn on account_nps.account_id = churn.account_id
)

select
    banded.period_end_month,
    periods.period_start_month,
    periods.periods_back,
    periods.is_churn_final,
    banded.account_id,
    banded.answers,
    banded.account_nps,
    banded.nps_band,
    banded.revenue_eur,
    banded.revenue_prior_eur,
    banded.gross_margin_eur,
    banded.customer_profitability_eur,
    banded.has_prior_revenue,
    banded.log_revenue_growth,
    banded.is_customer_at_period_end,
    banded.churned_next_12m
from banded
inner join periods on banded.period_end_month = periods.period_end_month
