with

source as (
    select * from {{ source('finance', 'cost_to_serve') }}
),

deduplicated as (
    {{ latest_row('source', ['account_id', 'month']) }}
),

renamed as (
    select
        account_id,
        month as cost_month,
        service_cost_eur
    from deduplicated
)

select * from renamed
