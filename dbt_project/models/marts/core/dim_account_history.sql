-- Type 2 history of account attributes as the CRM snapshots recorded them.
with

history as (
    select * from {{ ref('int_account_history') }}
),

account_keys as (
    select * from {{ ref('int_account_keys') }}
)

select
    cast(row_number() over (order by history.account_id, history.valid_from) as bigint) as account_version_key,
    cast(account_keys.account_key as bigint) as account_key,
    history.account_id,
    history.valid_from,
    history.valid_to,
    history.valid_to is null as is_current,
    coalesce(history.industry, 'Unknown') as industry,
    history.country_code,
    coalesce(history.region, 'Unknown') as region,
    history.employees,
    {{ size_band('history.employees') }} as size_band,
    history.crm_status,
    {{ money('history.estimated_annual_potential_eur') }} as estimated_annual_potential_eur,
    history.main_competitor
from history
inner join account_keys on history.account_id = account_keys.account_id
