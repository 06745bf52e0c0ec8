-- The account-month spine: one row per account and calendar month from the account's first month in
-- the data (created, or its first invoice, activity or response if earlier; never before the month
-- the data begins) to the reporting month.
with

accounts as (
    select * from {{ ref('int_accounts') }}
),

months as (
    select * from {{ ref('int_months') }}
),

first_facts as (
    select account_id, min(invoice_date) as first_fact_date from {{ ref('stg_finance__invoice_lines') }} group by 1
    union all
    select account_id, min(activity_date) as first_fact_date from {{ ref('stg_crm__activities') }} group by 1
    union all
    select account_id, min(response_date) as first_fact_date from {{ ref('stg_survey__responses') }} group by 1
),

data_start as (
    select {{ month_start('min(first_fact_date)') }} as data_start_month
    from first_facts
),

account_start as (
    select
        accounts.account_id,
        {{ month_start('min(coalesce(first_facts.first_fact_date, accounts.created_date))') }} as first_fact_month,
        {{ month_start('min(accounts.created_date)') }} as created_month
    from accounts
    left join first_facts on accounts.account_id = first_facts.account_id
    group by 1
),

spine_start as (
    select
        account_start.account_id,
        case
            when account_start.created_month is null then account_start.first_fact_month
            when account_start.first_fact_month < account_start.created_month then account_start.first_fact_month
            when account_start.created_month < data_start.data_start_month then data_start.data_start_month
            else account_start.created_month
        end as first_month
    from account_start
    cross join data_start
)

select
    spine_start.account_id,
    months.month_start
from spine_start
inner join months on spine_start.first_month <= months.month_start
