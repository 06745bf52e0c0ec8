with

source as (
    select * from {{ source('crm', 'contacts') }}
),

newest_snapshot as (
    select * from source
    where _extract_date = (select max(all_drops._extract_date) from source as all_drops)
),

deduplicated as (
    {{ latest_row('newest_snapshot', ['contact_id']) }}
),

renamed as (
    select
        contact_id,
        account_id,
        coalesce(role, 'other') as contact_role,
        email,
        coalesce(is_active, true) as is_active,
        created_date
    from deduplicated
)

select * from renamed
