-- Each account's standing at the reporting month, one row per account: whether it is still a customer
-- (an account is a customer until it churns, DESIGN.md) and its trailing-twelve-month (TTM) figures, the
-- twelve months up to the reporting month: revenue, revenue in the twelve months before those, gross
-- margin and cost to serve. Every model that needs "active customer" or "TTM revenue" reads them here, so
-- the two rules live in one place.
with

accounts as (
    select * from {{ ref('int_accounts') }}
),

revenue as (
    select * from {{ ref('int_revenue_by_account_month') }}
),

cost_to_serve as (
    select * from {{ ref('int_cost_to_serve_by_account_month') }}
),

churn as (
    select * from {{ ref('int_churn_events') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

revenue_ttm as (
    select
        revenue.account_id,
        sum(case when revenue.month_start > {{ add_months('period.as_of_month', -12) }}
            then revenue.revenue_eur else 0 end) as revenue_ttm_eur,
        sum(case when revenue.month_start <= {{ add_months('period.as_of_month', -12) }}
                and revenue.month_start > {{ add_months('period.as_of_month', -24) }}
            then revenue.revenue_eur else 0 end) as revenue_prior_ttm_eur,
        sum(case when revenue.month_start > {{ add_months('period.as_of_month', -12) }}
            then revenue.gross_margin_eur else 0 end) as gross_margin_ttm_eur
    from revenue
    cross join period
    where revenue.month_start <= period.as_of_month
    group by 1
),

cost_to_serve_ttm as (
    select
        cost_to_serve.account_id,
        sum(cost_to_serve.cost_to_serve_eur) as cost_to_serve_ttm_eur
    from cost_to_serve
    cross join period
    where cost_to_serve.month_start > {{ add_months('period.as_of_month', -12) }}
        and cost_to_serve.month_start <= period.as_of_month
    group by 1
)

select
    accounts.account_id,
    churn.churn_month is null as is_active_customer,
    {{ money('coalesce(revenue_ttm.revenue_ttm_eur, 0)') }} as revenue_ttm_eur,
    {{ money('coalesce(revenue_ttm.revenue_prior_ttm_eur, 0)') }} as revenue_prior_ttm_eur,
    {{ money('coalesce(revenue_ttm.gross_margin_ttm_eur, 0)') }} as gross_margin_ttm_eur,
    {{ money('coalesce(cost_to_serve_ttm.cost_to_serve_ttm_eur, 0)') }} as cost_to_serve_ttm_eur
from accounts
left join churn on accounts.account_id = churn.account_id
left join revenue_ttm on accounts.account_id = revenue_ttm.account_id
left join cost_to_serve_ttm on accounts.account_id = cost_to_serve_ttm.account_id
