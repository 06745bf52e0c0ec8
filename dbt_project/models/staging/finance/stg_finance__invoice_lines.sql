-- A table, not a view like the rest of staging: a dozen models and tests read these events, and a view
-- would de-duplicate every raw row again for each of them. Incremental: a daily refresh reads only the new
-- drops and replaces the versions they supersede (macros/latest_row.sql; docs/decisions.md).
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key=['invoice_id', 'line_no'],
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

with

source as (
    select * from {{ source('finance', 'invoice_lines') }}
    {% if is_incremental() %}
    where {{ unseen_drops() }}
    {% endif %}
),

latest as (
    {{ latest_row('source', ['invoice_id', 'line_no']) }}
),

deduplicated as (
    {% if is_incremental() %}
    {{ newer_than_held('latest', ['invoice_id', 'line_no']) }}
    {% else %}
    select * from latest
    {% endif %}
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
        _extract_date as extract_date,
        -- The version of the row (latest_row's order), for the next incremental run.
        _extract_date,
        _file,
        _row_number
    from deduplicated
)

select * from renamed
