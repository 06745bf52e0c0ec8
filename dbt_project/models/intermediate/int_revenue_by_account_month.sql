-- Invoiced revenue, cost of goods and gross margin per account and invoice month.
with

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
),

by_month as (
    select
        account_id,
        {{ month_start('invoice_date') }} as month_start,
        sum(net_amount_eur) as revenue_eur,
        sum(cost_amount_eur) as cost_of_goods_eur,
        sum(net_amount_eur) - sum(cost_amount_eur) as gross_margin_eur,
        count(distinct invoice_id) as invoices,
        count(*) as invoice_lines
    from invoice_lines
    group by 1, 2
)

select * from by_month
