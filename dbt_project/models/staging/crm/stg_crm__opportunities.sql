with

source as (
    select * from {{ source('crm', 'opportunities') }}
),

newest_snapshot as (
    select * from source
    where _extract_date = (select max(all_drops._extract_date) from source as all_drops)
),

deduplicated as (
    {{ latest_row('newest_snapshot', ['opportunity_id']) }}
),

renamed as (
    select
        opportunity_id,
        account_id,
        created_date,
        close_date,
        stage as opportunity_stage,
        amount_eur,
        lost_reason,
        competitor
    from deduplicated
)

select * from renamed
