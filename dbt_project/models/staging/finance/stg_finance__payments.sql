-- A table, not a view like the rest of staging: a dozen models and tests read these events, and a view
-- would de-duplicate every raw row again for each of them (docs/decisions.md, "Event staging as tables").
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('finance', 'payments') }}
),

deduplicated as (
    {{ latest_row('source', ['invoice_id', 'paid_date']) }}
),

renamed as (
    select
        invoice_id,
        paid_date,
        amount_eur
    from deduplicated
)

select * from renamed
