{{ config(materialized='incremental', unique_key='account_id') }}
-- Stable integer surrogate keys for accounts: a key, once given, never changes, so incremental facts
-- and BI relationships stay valid across runs. New accounts get the next numbers. An incremental run yields only
-- new accounts, so the adapter's default strategy is right everywhere (delete+insert here; append on Spark).
with

accounts as (
    select account_id from {{ ref('int_accounts') }}
)

{% if is_incremental() %}
-- A leading comma: this CTE exists on incremental runs only, after the one above.
, max_key as (  -- noqa: LT04
    select coalesce(max(account_key), 0) as max_key from {{ this }}
)

select
    accounts.account_id,
    max_key.max_key + row_number() over (order by accounts.account_id) as account_key
from accounts
cross join max_key
where accounts.account_id not in (select held.account_id from {{ this }} as held)
{% else %}
select
    account_id,
    row_number() over (order by account_id) as account_key
from accounts
{% endif %}
