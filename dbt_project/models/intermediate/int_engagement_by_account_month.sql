-- Sales engagement per account and month: activities, meetings (meetings and visits) and the date of
-- the latest meeting.
with

activities as (
    select * from {{ ref('stg_crm__activities') }}
)

select
    account_id,
    {{ month_start('activity_date') }} as month_start,
    count(*) as activities,
    sum(case when activity_type in ('meeting', 'visit') then 1 else 0 end) as meetings,
    max(case when activity_type in ('meeting', 'visit') then activity_date end) as last_meeting_date
from activities
group by 1, 2
