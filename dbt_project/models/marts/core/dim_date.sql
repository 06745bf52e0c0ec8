-- The date dimension: one row per day, plus the unknown member (-1).
with

days as (
    select * from {{ ref('int_calendar_days') }}
),

dated as (
    select
        {{ date_key('calendar_date') }} as date_key,
        calendar_date,
        cast(extract(year from calendar_date) as integer) as calendar_year,
        cast(extract(quarter from calendar_date) as integer) as calendar_quarter,
        cast(extract(month from calendar_date) as integer) as calendar_month,
        {{ month_start('calendar_date') }} as month_start,
        cast(extract(year from calendar_date) as {{ dbt.type_string() }}) || '-Q'
            || cast(extract(quarter from calendar_date) as {{ dbt.type_string() }}) as year_quarter,
        calendar_date = {{ month_end('calendar_date') }} as is_month_end
    from days
)

select
    cast(date_key as integer) as date_key,
    calendar_date,
    calendar_year,
    calendar_quarter,
    calendar_month,
    month_start,
    year_quarter,
    is_month_end
from dated

union all

select
    -1 as date_key,
    cast(null as date) as calendar_date,
    cast(null as integer) as calendar_year,
    cast(null as integer) as calendar_quarter,
    cast(null as integer) as calendar_month,
    cast(null as date) as month_start,
    'Unknown' as year_quarter,
    false as is_month_end
