-- Closed loop (DESIGN.md): every relationship or transactional answer that is due a follow-up (a detractor,
-- or seriously considering another supplier) with its due date, the first CRM activity with the account on
-- or after the answer, whether that came within the service level (var feedback_follow_up_days), the open
-- follow-ups ranked oldest first for the action list, and the account's churn in the six months after the
-- answer's month (descriptive only: who gets followed up is not chosen at random).
-- Exit answers are left out: the customer has already gone.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where survey_type in ('relationship', 'transactional')
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

crm_accounts as (
    select * from {{ ref('int_accounts') }}
),

account_history as (
    select * from {{ ref('int_account_history') }}
),

ttm as (
    select * from {{ ref('int_account_ttm') }}
),

snapshots as (
    select * from {{ ref('feat_account_snapshot') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

-- Answers dated after the reporting date are not known yet on that date.
due_answers as (
    select
        responses.response_id,
        responses.survey_id,
        responses.survey_type,
        responses.account_id,
        responses.response_date,
        responses.nps_score,
        responses.nps_category,
        responses.considering_alternatives,
        {{ follow_up_due_date('responses.response_date') }} as follow_up_due_date
    from responses
    cross join period
    where responses.response_date <= period.as_of_date
        and {{ is_follow_up_due('responses.nps_score', 'responses.considering_alternatives') }}
),

-- Any activity with the account (meeting, call, email, visit) on or after the answer's day is a follow-up;
-- the first one decides.
follow_ups as (
    select
        due_answers.response_id,
        activities.activity_date,
        activities.activity_type,
        row_number() over (
            partition by due_answers.response_id
            order by activities.activity_date, activities.activity_type nulls last
        ) as follow_up_order
    from due_answers
    cross join period
    inner join activities
        on due_answers.account_id = activities.account_id
        and due_answers.response_date <= activities.activity_date
        and period.as_of_date >= activities.activity_date
),

first_follow_ups as (
    select response_id, activity_date as first_follow_up_date, activity_type as first_follow_up_type
    from follow_ups
    where follow_up_order = 1
),

-- The owner responsible on the answer's date: the CRM version in force then, else the newest snapshot's.
owners as (
    select
        due_answers.response_id,
        coalesce(max(account_history.account_owner), max(crm_accounts.account_owner)) as account_owner
    from due_answers
    left join account_history
        on due_answers.account_id = account_history.account_id
        and due_answers.response_date >= account_history.valid_from
        and (account_history.valid_to is null or due_answers.response_date < account_history.valid_to)
    left join crm_accounts on due_answers.account_id = crm_accounts.account_id
    group by 1
),

assessed as (
    select
        due_answers.*,
        first_follow_ups.first_follow_up_date,
        first_follow_ups.first_follow_up_type,
        owners.account_owner,
        first_follow_ups.first_follow_up_date is not null
            and {{ is_within_follow_up_service_level(
                'first_follow_ups.first_follow_up_date', 'due_answers.response_date') }} as is_followed_up_in_time,
        -- The service level has run out by the reporting date: the answer's outcome is known.
        due_answers.follow_up_due_date < period.as_of_date as is_past_due_date,
        coalesce(ttm.is_active_customer, false) as is_active_customer,
        ttm.revenue_ttm_eur,
        snapshots.churned_within_6m,
        period.as_of_date
    from due_answers
    cross join period
    left join first_follow_ups on due_answers.response_id = first_follow_ups.response_id
    left join owners on due_answers.response_id = owners.response_id
    left join ttm on due_answers.account_id = ttm.account_id
    left join snapshots
        on due_answers.account_id = snapshots.account_id
        and {{ month_start('due_answers.response_date') }} = snapshots.snapshot_month
),

-- The action list: answers of current customers still without any follow-up, oldest first.
ranked as (
    select
        assessed.*,
        case when assessed.first_follow_up_date is null and assessed.is_active_customer then
            row_number() over (
                partition by assessed.first_follow_up_date is null and assessed.is_active_customer
                order by assessed.response_date, assessed.response_id
            )
        end as open_follow_up_rank
    from assessed
)

select
    cast(ranked.response_id as {{ dbt.type_string() }}) as response_id,
    cast(coalesce(accounts.account_key, -1) as bigint) as account_key,
    cast(ranked.account_id as {{ dbt.type_string() }}) as account_id,
    cast(coalesce(accounts.segment_key, -1) as integer) as segment_key,
    -- The owner is an employee: BI gets a pseudonymous key, never the name (as mart_crm_data_quality).
    cast(coalesce({{ dbt.hash('ranked.account_owner') }}, 'Unassigned') as {{ dbt.type_string() }})
        as account_owner_key,
    cast(ranked.survey_id as {{ dbt.type_string() }}) as survey_id,
    cast(ranked.survey_type as {{ dbt.type_string() }}) as survey_type,
    cast(ranked.response_date as date) as response_date,
    cast({{ date_key('ranked.response_date') }} as integer) as response_date_key,
    {{ month_start('ranked.response_date') }} as response_month,
    cast(ranked.nps_score as integer) as nps_score,
    cast(ranked.nps_category as {{ dbt.type_string() }}) as nps_category,
    cast(ranked.considering_alternatives as integer) as considering_alternatives,
    cast(case
        when ranked.nps_category = 'detractor'
            and coalesce({{ is_considering_alternatives('ranked.considering_alternatives') }}, false)
            then 'detractor considering another supplier'
        when ranked.nps_category = 'detractor' then 'detractor'
        else 'considering another supplier'
    end as {{ dbt.type_string() }}) as follow_up_reason,
    cast(ranked.follow_up_due_date as date) as follow_up_due_date,
    cast(ranked.first_follow_up_date as date) as first_follow_up_date,
    cast(ranked.first_follow_up_type as {{ dbt.type_string() }}) as first_follow_up_type,
    cast(case when ranked.first_follow_up_date is not null
        then {{ days_between('ranked.response_date', 'ranked.first_follow_up_date') }} end as integer)
        as days_to_follow_up,
    cast(ranked.is_followed_up_in_time as boolean) as is_followed_up_in_time,
    cast(ranked.is_past_due_date as boolean) as is_past_due_date,
    cast(case
        when ranked.is_followed_up_in_time then 'followed up in time'
        when ranked.first_follow_up_date is not null then 'followed up late'
        when ranked.is_past_due_date then 'overdue'
        else 'open, not yet due'
    end as {{ dbt.type_string() }}) as follow_up_status,
    cast(ranked.first_follow_up_date is null as boolean) as is_open,
    cast(case when ranked.first_follow_up_date is null
        then {{ days_between('ranked.response_date', 'ranked.as_of_date') }} end as integer) as days_open,
    cast(ranked.open_follow_up_rank as integer) as open_follow_up_rank,
    cast(ranked.is_active_customer as boolean) as is_active_customer,
    {{ money('ranked.revenue_ttm_eur') }} as revenue_ttm_eur,
    cast(ranked.churned_within_6m as integer) as churned_within_6m,
    cast(ranked.as_of_date as date) as as_of_date
from ranked
left join accounts on ranked.account_id = accounts.account_id
