-- One row per day from the first date any fact refers to until two years after the reporting date.
-- Portable: numbers from cross-joined digits instead of generate_series.
with

period as (
    select * from {{ ref('int_reporting_period') }}
),

-- The ten digits on two lines, not twenty (hence the noqa for layout.set_operators).
digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4  -- noqa: LT11
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9  -- noqa: LT11
),

numbers as (
    select ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d + 10000 * ten_thousands.d as n
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

days as (
    select {{ add_days('period.first_date', 'numbers.n') }} as calendar_date
    from numbers
    cross join period
)

select days.calendar_date
from days
cross join period
where days.calendar_date <= {{ add_months('period.as_of_date', 24) }}
