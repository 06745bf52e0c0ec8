-- The "now" of the warehouse: the newest extract date of any drop, never the wall clock, so a rebuild
-- of the same data gives the same marts. Also the first date any fact can refer to.
with

extract_dates as (
    select max(_extract_date) as extract_date from {{ source('crm', 'accounts') }}
    union all
    select max(_extract_date) from {{ source('finance', 'invoice_lines') }}
    union all
    select max(_extract_date) from {{ source('crm', 'activities') }}
    union all
    select max(_extract_date) from {{ source('survey', 'responses') }}
),

first_dates as (
    select min(created_date) as first_date from {{ ref('stg_crm__accounts') }}
    union all
    select min(invoice_date) from {{ ref('stg_finance__invoice_lines') }}
    union all
    select min(activity_date) from {{ ref('stg_crm__activities') }}
),

period as (
    select
        (select max(extract_date) from extract_dates) as as_of_date,
        (select min(first_date) from first_dates) as first_date
)

select
    coalesce(as_of_date, cast('2000-01-31' as date)) as as_of_date,
    {{ month_start("coalesce(as_of_date, cast('2000-01-31' as date))") }} as as_of_month,
    cast({{ dbt.date_trunc('year', "coalesce(first_date, as_of_date, cast('2000-01-01' as date))") }} as date)
        as first_date
from period
