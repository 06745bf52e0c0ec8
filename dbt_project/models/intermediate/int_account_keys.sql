{{ config(materialized='incremental', unique_key='account_id') }}
-- Stable integer surrogate keys for accounts: a key, once given, never changes, so incremental facts
-- and BI relationships stay valid across runs. New accounts get the next numbers.
with

accounts as (
    select account_id from {{ ref('int_accounts') }}
)

{% if is_incremental() %}
, max_key as (
    select coalesce(max(account_key), 0) as max_key from {{ this }}
)

select
    accounts.account_id,
    max_key.max_key + row_number() over (order by accounts.account_id) as account_key
from accounts
cross join max_key
where accounts.account_id not in (select account_id from {{ this }})
{% else %}
select
    account_id,
    row_number() over (order by account_id) as account_key
from accounts
{% endif %}
