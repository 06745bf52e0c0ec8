-- What each active account buys and how it is served, over the twelve months up to the reporting month:
-- the behaviour the segmentation (pipeline/insight/segments.py) standardises. One row per account that is
-- a customer at the reporting month and was invoiced in those months; the rates are per month invoiced (a
-- customer of five months is not a quiet one).
with

ttm as (
    select * from {{ ref('int_account_ttm') }}
),

revenue as (
    select * from {{ ref('int_revenue_by_account_month') }}
),

engagement as (
    select * from {{ ref('int_engagement_by_account_month') }}
),

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

active as (
    select
        account_id,
        revenue_ttm_eur,
        revenue_prior_ttm_eur
    from ttm
    where is_active_customer and revenue_ttm_eur > 0
),

invoicing as (
    select
        revenue.account_id,
        count(distinct revenue.month_start) as months_invoiced,
        sum(revenue.invoices) as invoices
    from revenue
    cross join period
    where revenue.month_start > {{ add_months('period.as_of_month', -12) }}
        and revenue.month_start <= period.as_of_month
        and revenue.revenue_eur > 0
    group by 1
),

contact as (
    select
        engagement.account_id,
        sum(engagement.activities) as activities
    from engagement
    cross join period
    where engagement.month_start > {{ add_months('period.as_of_month', -12) }}
        and engagement.month_start <= period.as_of_month
    group by 1
),

by_product_line as (
    select
        invoice_lines.account_id,
        coalesce(invoice_lines.product_line, 'Unknown') as product_line,
        sum(invoice_lines.net_amount_eur) as revenue_eur
    from invoice_lines
    cross join period
    where {{ month_start('invoice_lines.invoice_date') }} > {{ add_months('period.as_of_month', -12) }}
        and {{ month_start('invoice_lines.invoice_date') }} <= period.as_of_month
    group by 1, 2
    having sum(invoice_lines.net_amount_eur) > 0
),

product_shares as (
    select
        account_id,
        revenue_eur / sum(revenue_eur) over (partition by account_id) as revenue_share
    from by_product_line
),

-- The effective number of product lines: 1 / sum of squared revenue shares (1 = one line; n = n lines equally).
breadth as (
    select
        account_id,
        count(*) as product_lines,
        1.0 / sum(revenue_share * revenue_share) as product_breadth
    from product_shares
    group by 1
)

select
    active.account_id,
    active.revenue_ttm_eur,
    active.revenue_prior_ttm_eur,
    coalesce(invoicing.months_invoiced, 0) as months_invoiced,
    {{ safe_divide('coalesce(invoicing.invoices, 0)', 'invoicing.months_invoiced') }} as invoices_per_month,
    {{ safe_divide('coalesce(contact.activities, 0)', 'invoicing.months_invoiced') }} as activities_per_month,
    coalesce(breadth.product_lines, 0) as product_lines,
    cast(coalesce(breadth.product_breadth, 1.0) as {{ type_double() }}) as product_breadth
from active
left join invoicing on active.account_id = invoicing.account_id
left join contact on active.account_id = contact.account_id
left join breadth on active.account_id = breadth.account_id
