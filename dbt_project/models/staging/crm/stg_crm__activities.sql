-- A table, not a view like the rest of staging: a dozen models and tests read these events, and a view
-- would de-duplicate every raw row again for each of them (docs/decisions.md, "Event staging as tables").
{{ config(materialized='table') }}

with

source as (
    select * from {{ source('crm', 'activities') }}
),

deduplicated as (
    {{ latest_row('source', ['activity_id']) }}
),

renamed as (
    select
        activity_id,
        account_id,
        contact_id,
        activity_type,
        activity_date,
        notes
    from deduplicated
)

select * from renamed
