-- What each account is worth (DESIGN.md, "Definitions"), one row per account:
-- * trailing-twelve-month (TTM) revenue, gross margin (= gross profit: net - cost of goods), cost to serve
--   (from int_account_ttm) and customer profitability (gross margin - cost to serve);
-- * customer lifetime value: expected discounted gross profit over var clv_horizon_months, with monthly
--   retention from the account's own churn probability of the newest scored month,
--   retention = (1 - p)^(1 / churn_horizon_months), monthly discount rate d = (1 + annual_discount_rate)^(1/12) - 1,
--   g = TTM gross margin / 12, q = retention / (1 + d): CLV = sum over t = 1..H of g * q^t
--   = g * q * (1 - q^H) / (1 - q); null for an account without a score (not active then);
-- * margin at risk = churn probability x lifetime value;
-- * key-account tier by TTM gross profit among active accounts with positive gross profit, ordered by gross
--   profit (largest first, ties by account_id): A while the share of that total before the account is below
--   var tier_a_share, B while it is below var tier_b_share, C for the rest, for zero or negative gross profit
--   and for churned accounts.
-- Arithmetic in double precision (the same type in DuckDB and PostgreSQL; dbt.type_float() is single
-- precision on DuckDB).
with

ttm as (
    select * from {{ ref('int_account_ttm') }}
),

scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
),

latest_scores as (
    select scores.account_id, scores.churn_probability
    from scores
    where scores.snapshot_month = (select max(all_scores.snapshot_month) from scores as all_scores)
),

valued as (
    select
        ttm.account_id,
        ttm.is_active_customer,
        ttm.revenue_ttm_eur,
        ttm.revenue_prior_ttm_eur,
        ttm.gross_margin_ttm_eur,
        ttm.cost_to_serve_ttm_eur,
        -- The probability as mart_churn_scores publishes it, so lifetime value can be recomputed from the marts.
        cast(cast(latest_scores.churn_probability as decimal(18, 6)) as {{ type_double() }}) as churn_probability
    from ttm
    left join latest_scores on ttm.account_id = latest_scores.account_id
),

lifetime_inputs as (
    select
        account_id,
        cast(gross_margin_ttm_eur as {{ type_double() }}) / 12 as monthly_gross_profit_eur,
        power(
            cast(1 - churn_probability as {{ type_double() }}),
            cast(1 as {{ type_double() }}) / {{ var('churn_horizon_months') }}
        ) as monthly_retention,
        power(
            cast(1 + {{ var('annual_discount_rate') }} as {{ type_double() }}),
            cast(1 as {{ type_double() }}) / 12
        ) - 1 as monthly_discount_rate
    from valued
    where churn_probability is not null
),

lifetime as (
    select
        account_id,
        monthly_retention,
        monthly_gross_profit_eur,
        monthly_retention / (1 + monthly_discount_rate) as monthly_survival_discount
    from lifetime_inputs
),

lifetime_value as (
    select
        account_id,
        monthly_retention,
        case
            -- q = 1 only with no churn risk and no discounting: H months of gross profit.
            when abs(1 - monthly_survival_discount) < 1e-12
                then monthly_gross_profit_eur * {{ var('clv_horizon_months') }}
            else monthly_gross_profit_eur * monthly_survival_discount
                * (1 - power(monthly_survival_discount, {{ var('clv_horizon_months') }}))
                / (1 - monthly_survival_discount)
        end as customer_lifetime_value_eur
    from lifetime
),

tier_base as (
    select account_id, gross_margin_ttm_eur as gross_profit_eur
    from valued
    where is_active_customer and gross_margin_ttm_eur > 0
),

ranked as (
    select
        account_id,
        gross_profit_eur,
        row_number() over (order by gross_profit_eur desc, account_id asc) as gross_profit_rank,
        sum(gross_profit_eur) over (
            order by gross_profit_eur desc, account_id asc rows between unbounded preceding and current row
        ) as cumulative_gross_profit_eur,
        sum(gross_profit_eur) over () as total_gross_profit_eur
    from tier_base
),

tiered as (
    select
        account_id,
        gross_profit_rank,
        cast(cumulative_gross_profit_eur as {{ type_double() }}) / cast(total_gross_profit_eur as {{ type_double() }})
            as cumulative_gross_profit_share,
        -- Exact decimal comparison of the gross profit before this account with the tier's share of the total.
        case
            when cumulative_gross_profit_eur - gross_profit_eur
                < {{ var('tier_a_share') }} * total_gross_profit_eur then 'A'
            when cumulative_gross_profit_eur - gross_profit_eur
                < {{ var('tier_b_share') }} * total_gross_profit_eur then 'B'
            else 'C'
        end as value_tier
    from ranked
)

select
    valued.account_id,
    valued.is_active_customer,
    valued.revenue_ttm_eur,
    valued.revenue_prior_ttm_eur,
    valued.gross_margin_ttm_eur,
    valued.cost_to_serve_ttm_eur,
    {{ money('valued.gross_margin_ttm_eur - valued.cost_to_serve_ttm_eur') }} as customer_profitability_ttm_eur,
    cast(valued.churn_probability as decimal(18, 6)) as churn_probability,
    cast(lifetime_value.monthly_retention as decimal(18, 6)) as monthly_retention,
    {{ money('lifetime_value.customer_lifetime_value_eur') }} as customer_lifetime_value_eur,
    {{ money('valued.churn_probability * lifetime_value.customer_lifetime_value_eur') }} as margin_at_risk_eur,
    cast(tiered.gross_profit_rank as integer) as gross_profit_rank,
    cast(tiered.cumulative_gross_profit_share as decimal(18, 6)) as cumulative_gross_profit_share,
    coalesce(tiered.value_tier, 'C') as value_tier
from valued
left join lifetime_value on valued.account_id = lifetime_value.account_id
left join tiered on valued.account_id = tiered.account_id
