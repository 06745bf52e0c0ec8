-- A table, not a view like the rest of staging: a dozen models and tests read these events, and a view
-- would de-duplicate every raw row again for each of them (docs/decisions.md, "Event staging as tables").
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('finance', 'invoice_lines') }}
),

deduplicated as (
    {{ latest_row('source', ['invoice_id', 'line_no']) }}
),

renamed as (
    select
        invoice_id,
        line_no,
        account_id,
        invoice_date,
        due_date,
        coalesce(product_line, 'unknown') as product_line,
        net_amount_eur,
        coalesce(cost_amount_eur, 0) as cost_amount_eur,
        -- Cost of goods is optional: without it gross margin equals revenue (mart_analysis_status says so).
        cost_amount_eur is not null as has_cost_of_goods,
        _extract_date as extract_date
    from deduplicated
)

select * from renamed
