-- Calendar months from the first data year to the reporting month.
with

days as (
    select * from {{ ref('int_calendar_days') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
)

select distinct {{ month_start('days.calendar_date') }} as month_start
from days
cross join period
where days.calendar_date <= period.as_of_date
