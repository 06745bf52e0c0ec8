-- Every CRM snapshot of every account: the history dim_account's SCD2 rows are built from.
with

source as (
    select * from {{ source('crm', 'accounts') }}
),

deduplicated as (
    {{ latest_row('source', ['account_id', '_extract_date']) }}
),

renamed as (
    select
        account_id,
        _extract_date as snapshot_date,
        industry,
        country as country_code,
        region,
        employees,
        status as crm_status,
        closed_date,
        owner as account_owner,
        estimated_annual_potential_eur,
        main_competitor
    from deduplicated
)

select * from renamed
