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
