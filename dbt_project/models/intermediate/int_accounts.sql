-- Every account id the business has seen: in the CRM's newest snapshot, or only in invoices, cost to
-- serve, survey answers or invitations, or the CRM's activities, contacts and opportunities (an account
-- missing from the account export is a data-quality finding, not a reason to lose its revenue or its
-- voice). CRM attributes where known.
with

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

seen_elsewhere as (
    select account_id from {{ ref('stg_finance__invoice_lines') }}
    union
    select account_id from {{ ref('stg_crm__activities') }}
    union
    select account_id from {{ ref('stg_crm__contacts') }}
    union
    select account_id from {{ ref('stg_crm__opportunities') }}
    union
    select account_id from {{ ref('stg_survey__responses') }}
    union
    select account_id from {{ ref('stg_survey__invitations') }}
    union
    select account_id from {{ ref('stg_finance__cost_to_serve') }}
    union
    select account_id from {{ ref('stg_crm__account_snapshots') }}
),

all_ids as (
    select account_id from crm_accounts
    union
    select account_id from seen_elsewhere
)

select
    all_ids.account_id,
    crm_accounts.account_id is not null as is_in_crm,
    crm_accounts.account_name,
    crm_accounts.business_id,
    crm_accounts.industry,
    crm_accounts.country_code,
    crm_accounts.region,
    crm_accounts.employees,
    crm_accounts.created_date,
    crm_accounts.crm_status,
    crm_accounts.closed_date,
    crm_accounts.account_owner,
    crm_accounts.estimated_annual_potential_eur,
    crm_accounts.main_competitor
from all_ids
left join crm_accounts on all_ids.account_id = crm_accounts.account_id
