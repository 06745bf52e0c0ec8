{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key=['invoice_id', 'line_no'],
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}
-- One row per invoice line (the current version: a corrected re-sent line replaces the earlier one).
-- Incremental: a run processes the lines of the newest extract date already here and of newer drops. The
-- newest date is processed again because a correction can arrive under the same extract date (a file
-- re-sent the same day, say invoice_lines_20261031_correction.parquet): staging then holds its version.
with

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
    {% if is_incremental() %}
    where extract_date >= (select coalesce(max(held.extract_date), cast('1900-01-01' as date)) from {{ this }} as held)
    {% endif %}
),

account_keys as (
    select * from {{ ref('int_account_keys') }}
),

product_lines as (
    select * from {{ ref('dim_product_line') }}
)

select
    invoice_lines.invoice_id,
    cast(invoice_lines.line_no as integer) as line_no,
    cast(coalesce(account_keys.account_key, -1) as bigint) as account_key,
    coalesce(product_lines.product_line_key, -1) as product_line_key,
    cast({{ date_key('invoice_lines.invoice_date') }} as integer) as invoice_date_key,
    cast({{ date_key('invoice_lines.due_date') }} as integer) as due_date_key,
    invoice_lines.invoice_date,
    {{ money('invoice_lines.net_amount_eur') }} as net_amount_eur,
    {{ money('invoice_lines.cost_amount_eur') }} as cost_amount_eur,
    {{ money('invoice_lines.net_amount_eur - invoice_lines.cost_amount_eur') }} as gross_margin_eur,
    invoice_lines.extract_date
from invoice_lines
left join account_keys on invoice_lines.account_id = account_keys.account_id
left join product_lines on invoice_lines.product_line = product_lines.product_line
