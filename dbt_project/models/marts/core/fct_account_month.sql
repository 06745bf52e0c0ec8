{{
    config(
        materialized='incremental',
        incremental_strategy=monthly_incremental_strategy(),
        partition_by=monthly_partition_by('month_start'),
        unique_key='month_start',
        on_schema_change='fail',
        tags=['monthly']
    )
}}
-- One row per account and month from its first month in the data to the reporting month: revenue,
-- margin, cost to serve, profit, payments, engagement, survey voice, and whether it was active or
-- churned that month.
-- Monthly partitions: a run for a range of months rebuilds only those months (macro within_partition_months).
with

spine as (
    select * from {{ ref('int_account_months') }}
),

accounts as (
    select * from {{ ref('int_accounts') }}
),

account_keys as (
    select * from {{ ref('int_account_keys') }}
),

revenue as (
    select * from {{ ref('int_revenue_by_account_month') }}
),

cost_to_serve as (
    select * from {{ ref('int_cost_to_serve_by_account_month') }}
),

payments as (
    select * from {{ ref('int_payment_behaviour_by_account_month') }}
),

engagement as (
    select * from {{ ref('int_engagement_by_account_month') }}
),

survey as (
    select * from {{ ref('int_survey_by_account_month') }}
),

churn as (
    select * from {{ ref('int_churn_events') }}
),

joined as (
    select
        spine.account_id,
        spine.month_start,
        coalesce(revenue.revenue_eur, 0) as revenue_eur,
        coalesce(revenue.cost_of_goods_eur, 0) as cost_of_goods_eur,
        coalesce(revenue.gross_margin_eur, 0) as gross_margin_eur,
        coalesce(cost_to_serve.cost_to_serve_eur, 0) as cost_to_serve_eur,
        coalesce(revenue.invoices, 0) as invoices,
        coalesce(payments.invoices_due, 0) as invoices_due,
        coalesce(payments.late_payments, 0) as late_payments,
        coalesce(engagement.activities, 0) as activities,
        coalesce(engagement.meetings, 0) as meetings,
        coalesce(survey.respondents, 0) as respondents,
        survey.account_nps,
        survey.considering_alternatives,
        churn.churn_month,
        churn.churn_type,
        accounts.created_date
    from spine
    inner join accounts on spine.account_id = accounts.account_id
    left join revenue on spine.account_id = revenue.account_id and spine.month_start = revenue.month_start
    left join cost_to_serve
        on spine.account_id = cost_to_serve.account_id and spine.month_start = cost_to_serve.month_start
    left join payments on spine.account_id = payments.account_id and spine.month_start = payments.month_start
    left join engagement
        on spine.account_id = engagement.account_id and spine.month_start = engagement.month_start
    left join survey on spine.account_id = survey.account_id and spine.month_start = survey.month_start
    left join churn on spine.account_id = churn.account_id
)

select
    cast(coalesce(account_keys.account_key, -1) as bigint) as account_key,
    cast({{ date_key('joined.month_start') }} as integer) as month_date_key,
    joined.account_id,
    joined.month_start,
    {{ money('joined.revenue_eur') }} as revenue_eur,
    {{ money('joined.cost_of_goods_eur') }} as cost_of_goods_eur,
    {{ money('joined.gross_margin_eur') }} as gross_margin_eur,
    {{ money('joined.cost_to_serve_eur') }} as cost_to_serve_eur,
    {{ money('joined.gross_margin_eur - joined.cost_to_serve_eur') }} as profit_eur,
    cast(joined.invoices as integer) as invoices,
    cast(joined.invoices_due as integer) as invoices_due,
    cast(joined.late_payments as integer) as late_payments,
    cast(joined.activities as integer) as activities,
    cast(joined.meetings as integer) as meetings,
    cast(joined.respondents as integer) as respondents,
    cast(joined.account_nps as decimal(18, 6)) as account_nps,
    cast(joined.considering_alternatives as decimal(18, 6)) as considering_alternatives,
    (joined.churn_month is null or joined.month_start < joined.churn_month) as is_active,
    coalesce(joined.month_start = joined.churn_month, false) as is_churn_month,
    case when joined.month_start = joined.churn_month then joined.churn_type end as churn_type
from joined
left join account_keys on joined.account_id = account_keys.account_id
where {{ within_partition_months('joined.month_start') }}
