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
