-- Current state of each account: the newest CRM snapshot is the truth (older drops are history).
with

source as (
    select * from {{ source('crm', 'accounts') }}
),

newest_snapshot as (
    select * from source
    where _extract_date = (select max(all_drops._extract_date) from source as all_drops)
),

deduplicated as (
    {{ latest_row('newest_snapshot', ['account_id']) }}
),

renamed as (
    select
        account_id,
        account_name,
        business_id,
        industry,
        country as country_code,
        region,
        employees,
        created_date,
        status as crm_status,
        closed_date,
        owner as account_owner,
        estimated_annual_potential_eur,
        main_competitor,
        _extract_date as snapshot_date
    from deduplicated
)

select * from renamed
