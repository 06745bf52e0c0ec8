-- When and how each churned account churned (DESIGN.md, "Churn"):
-- closed: the month of the CRM closed_date (or of the first snapshot showing it closed, when the
--         date is missing);
-- silent: never closed, and no invoiced revenue for silent_churn_months consecutive months after the
--         last invoiced month L: churn month L + 1, confirmed only once L + silent_churn_months has
--         been reached by the data. Until then the account is not (yet) churned.
with

accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

snapshots as (
    select * from {{ ref('stg_crm__account_snapshots') }}
),

revenue as (
    select * from {{ ref('int_revenue_by_account_month') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

first_seen_closed as (
    select account_id, min(snapshot_date) as first_closed_snapshot_date
    from snapshots
    where crm_status = 'closed'
    group by 1
),

last_invoiced_month as (
    select account_id, max(month_start) as last_invoice_month
    from revenue
    where revenue_eur > 0
    group by 1
),

closed as (
    select
        accounts.account_id,
        {{ month_start('coalesce(accounts.closed_date, first_seen_closed.first_closed_snapshot_date)') }}
            as churn_month,
        'closed' as churn_type
    from accounts
    left join first_seen_closed on accounts.account_id = first_seen_closed.account_id
    where accounts.crm_status = 'closed'
),

silent as (
    select
        last_invoiced_month.account_id,
        {{ add_months('last_invoiced_month.last_invoice_month', 1) }} as churn_month,
        'silent' as churn_type
    from last_invoiced_month
    cross join period
    where
        {{ add_months('last_invoiced_month.last_invoice_month', var('silent_churn_months')) }}
            <= period.as_of_month
        and last_invoiced_month.account_id not in (select closed.account_id from closed)
),

churn_events as (
    select * from closed
    union all
    select * from silent
)

select
    churn_events.account_id,
    churn_events.churn_month,
    churn_events.churn_type,
    last_invoiced_month.last_invoice_month
from churn_events
left join last_invoiced_month on churn_events.account_id = last_invoiced_month.account_id
