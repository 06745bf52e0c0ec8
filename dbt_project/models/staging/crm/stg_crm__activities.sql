-- A table, not a view like the rest of staging: a dozen models and tests read these events, and a view
-- would de-duplicate every raw row again for each of them. Incremental: a daily refresh reads only the new
-- drops and replaces the versions they supersede (macros/latest_row.sql; docs/decisions.md).
{{
    config(
        materialized=keyed_incremental_materialization(),
        unique_key=['activity_id'],
        incremental_strategy='delete+insert',
        on_schema_change='fail'
    )
}}

with

source as (
    select * from {{ source('crm', 'activities') }}
    {% if is_incremental() %}
    where {{ unseen_drops() }}
    {% endif %}
),

latest as (
    {{ latest_row('source', ['activity_id']) }}
),

deduplicated as (
    {% if is_incremental() %}
    {{ newer_than_held('latest', ['activity_id']) }}
    {% else %}
    select * from latest
    {% endif %}
),

renamed as (
    select
        activity_id,
        account_id,
        contact_id,
        activity_type,
        activity_date,
        notes,
        -- 'retention' marks a retention contact (DESIGN.md; docs/customer_insight.md).
        lower(trim(campaign)) as campaign,
        -- The version of the row (latest_row's order), for the next incremental run.
        _extract_date,
        _file,
        _row_number
    from deduplicated
)

select * from renamed
