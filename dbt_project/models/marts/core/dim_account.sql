-- Accounts with their current attributes (type 1); the history is in dim_account_history.
with

accounts as (
    select * from {{ ref('int_accounts') }}
),

account_keys as (
    select * from {{ ref('int_account_keys') }}
),

segments as (
    select * from {{ ref('dim_segment') }}
)

select
    cast(account_keys.account_key as bigint) as account_key,
    accounts.account_id,
    coalesce(accounts.account_name, 'Not in CRM: ' || accounts.account_id) as account_name,
    accounts.business_id,
    coalesce(accounts.industry, 'Unknown') as industry,
    accounts.country_code,
    coalesce(accounts.region, 'Unknown') as region,
    accounts.employees,
    {{ size_band('accounts.employees') }} as size_band,
    {{ size_band_order(size_band('accounts.employees')) }} as size_band_order,
    coalesce(segments.segment_key, -1) as segment_key,
    accounts.created_date,
    coalesce(accounts.crm_status, 'unknown') as crm_status,
    accounts.closed_date,
    {{ money('accounts.estimated_annual_potential_eur') }} as estimated_annual_potential_eur,
    accounts.main_competitor,
    accounts.is_in_crm,
    -- The owner is an employee: BI gets the pseudonymous key (md5 of the name) that row-level security
    -- maps sign-in names to (docs/powerbi.md), never the name.
    coalesce(cast({{ dbt.hash('accounts.account_owner') }} as {{ dbt.type_string() }}), 'Unassigned')
        as account_owner_key
from accounts
inner join account_keys on accounts.account_id = account_keys.account_id
left join segments
    on coalesce(accounts.industry, 'Unknown') = segments.industry
    and {{ size_band('accounts.employees') }} = segments.size_band

union all

select
    cast(-1 as bigint) as account_key,
    'unknown' as account_id,
    'Unknown account' as account_name,
    cast(null as {{ dbt.type_string() }}) as business_id,
    'Unknown' as industry,
    cast(null as {{ dbt.type_string() }}) as country_code,
    'Unknown' as region,
    cast(null as bigint) as employees,
    'Unknown' as size_band,
    {{ size_band_order("'Unknown'") }} as size_band_order,
    -1 as segment_key,
    cast(null as date) as created_date,
    'unknown' as crm_status,
    cast(null as date) as closed_date,
    cast(null as decimal(18, 2)) as estimated_annual_potential_eur,
    cast(null as {{ dbt.type_string() }}) as main_competitor,
    false as is_in_crm,
    'Unassigned' as account_owner_key
