-- Payment behaviour by the month an invoice fell due: how many were paid late, and by how much.
-- An invoice still unpaid at the reporting date and past due counts as late.
with

invoices as (
    select * from {{ ref('int_invoice_payments') }}
    where invoice_total_eur > 0
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

judged as (
    select
        invoices.account_id,
        {{ month_start('invoices.due_date') }} as month_start,
        invoices.invoice_id,
        case
            when invoices.paid_in_full_date is not null
                then invoices.paid_in_full_date > invoices.due_date
            else invoices.due_date < period.as_of_date
        end as is_late,
        case
            when invoices.paid_in_full_date > invoices.due_date
                then {{ days_between('invoices.due_date', 'invoices.paid_in_full_date') }}
        end as days_late
    from invoices
    cross join period
    where invoices.due_date <= period.as_of_date
)

select
    account_id,
    month_start,
    count(*) as invoices_due,
    sum(case when is_late then 1 else 0 end) as late_payments,
    avg(days_late) as average_days_late
from judged
group by 1, 2
