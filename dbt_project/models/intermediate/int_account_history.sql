-- Slowly changing history (type 2) of account attributes, from the CRM's dated snapshots: a new
-- version starts at the extract date of the first snapshot where an attribute changed. Built from the
-- drops themselves (not a dbt snapshot, which would date changes by when dbt ran, and could not replay
-- the snapshots that arrived before the first run).
with

snapshots as (
    select * from {{ ref('stg_crm__account_snapshots') }}
),

compared as (
    select
        *,
        lag(
            coalesce(industry, '') || '|' || coalesce(country_code, '') || '|' || coalesce(region, '') || '|'
            || coalesce(cast(employees as {{ dbt.type_string() }}), '') || '|' || coalesce(crm_status, '') || '|'
            || coalesce(account_owner, '') || '|'
            || coalesce(cast(estimated_annual_potential_eur as {{ dbt.type_string() }}), '') || '|'
            || coalesce(main_competitor, '')
        ) over (partition by account_id order by snapshot_date) as previous_attributes,
        coalesce(industry, '') || '|' || coalesce(country_code, '') || '|' || coalesce(region, '') || '|'
        || coalesce(cast(employees as {{ dbt.type_string() }}), '') || '|' || coalesce(crm_status, '') || '|'
        || coalesce(account_owner, '') || '|'
        || coalesce(cast(estimated_annual_potential_eur as {{ dbt.type_string() }}), '') || '|'
        || coalesce(main_competitor, '') as attributes
    from snapshots
),

versions as (
    select *
    from compared
    where previous_attributes is null or previous_attributes <> attributes
)

select
    account_id,
    snapshot_date as valid_from,
    lead(snapshot_date) over (partition by account_id order by snapshot_date) as valid_to,
    industry,
    country_code,
    region,
    employees,
    crm_status,
    account_owner,
    estimated_annual_potential_eur,
    main_competitor
from versions
