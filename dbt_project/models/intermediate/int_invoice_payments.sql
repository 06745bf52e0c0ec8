-- Each invoice with its total, due date and when it was paid in full (null while not fully paid).
with

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
),

payments as (
    select * from {{ ref('stg_finance__payments') }}
),

invoices as (
    select
        invoice_id,
        min(account_id) as account_id,
        min(invoice_date) as invoice_date,
        min(due_date) as due_date,
        sum(net_amount_eur) as invoice_total_eur
    from invoice_lines
    group by 1
),

running_payments as (
    select
        invoice_id,
        paid_date,
        sum(amount_eur) over (
            partition by invoice_id order by paid_date rows between unbounded preceding and current row
        ) as paid_to_date_eur
    from payments
),

fully_paid as (
    select
        invoices.invoice_id,
        min(running_payments.paid_date) as paid_in_full_date
    from invoices
    inner join running_payments
        on invoices.invoice_id = running_payments.invoice_id
        -- a cent of rounding does not keep an invoice open
        and running_payments.paid_to_date_eur >= invoices.invoice_total_eur - 0.01
    group by 1
)

select
    invoices.invoice_id,
    invoices.account_id,
    invoices.invoice_date,
    coalesce(invoices.due_date, {{ add_days('invoices.invoice_date', 30) }}) as due_date,
    invoices.invoice_total_eur,
    fully_paid.paid_in_full_date
from invoices
left join fully_paid on invoices.invoice_id = fully_paid.invoice_id
