-- The closed-loop rate by month of the answer and over the last twelve months, for every account owner and
-- all owners, every segment and all segments: of the answers due a follow-up whose service level has run
-- out, the share followed up by an activity within it (Wilson 95% interval), what is still open, and the
-- later churn of the answers followed up in time against the others (descriptive; withheld below
-- var('min_respondents') answers with a known outcome on either side).
{%- set outcome = 'is_past_due_date, is_followed_up_in_time, is_open, days_to_follow_up, response_date, '
    ~ 'churned_within_6m' %}

with

answers as (
    select * from {{ ref('mart_feedback_follow_up') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

-- Each answer counts in its month, when recent in the last twelve months, and in all answers.
scoped as (
    select
        'month' as period_type,
        cast(extract(year from answers.response_month) as {{ dbt.type_string() }}) || '-'
            || lpad(cast(extract(month from answers.response_month) as {{ dbt.type_string() }}), 2, '0') as period,
        answers.*
    from answers
    union all
    select
        'last_12_months' as period_type,
        'Last 12 months' as period,
        answers.*
    from answers
    cross join period
    where answers.response_date > {{ add_months('period.as_of_date', -12) }}
    union all
    -- Every answer: enough of them for the churn description, which the months alone seldom are.
    select
        'all_answers' as period_type,
        'All answers' as period,
        answers.*
    from answers
),

-- Each answer belongs to its owner and segment, to all owners, to all segments, and to both.
grouped as (
    select period_type, period, account_owner_key, segment_key, {{ outcome }} from scoped
    union all
    select period_type, period, account_owner_key, 0 as segment_key, {{ outcome }} from scoped
    union all
    select period_type, period, 'All owners' as account_owner_key, segment_key, {{ outcome }} from scoped
    union all
    select period_type, period, 'All owners' as account_owner_key, 0 as segment_key, {{ outcome }} from scoped
),

counted as (
    select
        period_type,
        period,
        account_owner_key,
        segment_key,
        count(*) as answers_due_follow_up,
        sum(case when is_past_due_date then 1 else 0 end) as answers_past_due_date,
        sum(case when is_past_due_date and is_followed_up_in_time then 1 else 0 end) as followed_up_in_time,
        sum(case when is_past_due_date and not is_followed_up_in_time and not is_open then 1 else 0 end)
            as followed_up_late,
        sum(case when is_past_due_date and is_open then 1 else 0 end) as overdue_without_follow_up,
        sum(case when not is_past_due_date and is_open then 1 else 0 end) as open_not_yet_due,
        avg(cast(days_to_follow_up as {{ type_double() }})) as average_days_to_follow_up,
        min(case when is_open then response_date end) as oldest_open_response_date,
        sum(case when is_past_due_date and is_followed_up_in_time and churned_within_6m is not null
            then 1 else 0 end) as followed_up_with_churn_known,
        sum(case when is_past_due_date and is_followed_up_in_time then churned_within_6m else 0 end)
            as followed_up_churned,
        sum(case when is_past_due_date and not is_followed_up_in_time and churned_within_6m is not null
            then 1 else 0 end) as not_followed_up_with_churn_known,
        sum(case when is_past_due_date and not is_followed_up_in_time then churned_within_6m else 0 end)
            as not_followed_up_churned
    from grouped
    group by 1, 2, 3, 4
),

rated as (
    select
        counted.*,
        {{ safe_divide('counted.followed_up_in_time', 'counted.answers_past_due_date') }} as closed_loop_rate,
        {{ wilson_interval('counted.followed_up_in_time', 'counted.answers_past_due_date', 'low') }}
            as closed_loop_rate_ci_low,
        {{ wilson_interval('counted.followed_up_in_time', 'counted.answers_past_due_date', 'high') }}
            as closed_loop_rate_ci_high,
        -- Both sides need the minimum number of known outcomes, or the comparison says nothing.
        counted.followed_up_with_churn_known >= {{ var('min_respondents') }}
            and counted.not_followed_up_with_churn_known >= {{ var('min_respondents') }} as is_churn_compared,
        {{ safe_divide('counted.followed_up_churned', 'counted.followed_up_with_churn_known') }}
            as churn_rate_followed_up,
        {{ safe_divide('counted.not_followed_up_churned', 'counted.not_followed_up_with_churn_known') }}
            as churn_rate_not_followed_up
    from counted
)

{#- A share as a whole percentage, e.g. 0.413 -> '41%'. -#}
{%- set percent_text -%}
    cast(cast(round(cast(100 * (__X__) as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}) || '%'
{%- endset %}

select
    cast(rated.period_type as {{ dbt.type_string() }}) as period_type,
    cast(rated.period as {{ dbt.type_string() }}) as period,
    cast(rated.account_owner_key as {{ dbt.type_string() }}) as account_owner_key,
    cast(rated.segment_key as integer) as segment_key,
    case when rated.segment_key = 0 then 'All segments' else coalesce(segments.segment_name, 'Unknown') end
        as segment_name,
    cast(rated.answers_due_follow_up as integer) as answers_due_follow_up,
    cast(rated.answers_past_due_date as integer) as answers_past_due_date,
    cast(rated.followed_up_in_time as integer) as followed_up_in_time,
    cast(rated.followed_up_late as integer) as followed_up_late,
    cast(rated.overdue_without_follow_up as integer) as overdue_without_follow_up,
    cast(rated.open_not_yet_due as integer) as open_not_yet_due,
    cast(rated.closed_loop_rate as decimal(18, 6)) as closed_loop_rate,
    cast(rated.closed_loop_rate_ci_low as decimal(18, 6)) as closed_loop_rate_ci_low,
    cast(rated.closed_loop_rate_ci_high as decimal(18, 6)) as closed_loop_rate_ci_high,
    cast(rated.average_days_to_follow_up as decimal(18, 6)) as average_days_to_follow_up,
    cast(rated.oldest_open_response_date as date) as oldest_open_response_date,
    cast(rated.followed_up_with_churn_known as integer) as followed_up_with_churn_known,
    cast(case when rated.is_churn_compared then rated.churn_rate_followed_up end as decimal(18, 6))
        as churn_rate_followed_up,
    cast(case when rated.is_churn_compared
        then {{ wilson_interval('rated.followed_up_churned', 'rated.followed_up_with_churn_known', 'low') }} end
        as decimal(18, 6)) as churn_rate_followed_up_ci_low,
    cast(case when rated.is_churn_compared
        then {{ wilson_interval('rated.followed_up_churned', 'rated.followed_up_with_churn_known', 'high') }} end
        as decimal(18, 6)) as churn_rate_followed_up_ci_high,
    cast(rated.not_followed_up_with_churn_known as integer) as not_followed_up_with_churn_known,
    cast(case when rated.is_churn_compared then rated.churn_rate_not_followed_up end as decimal(18, 6))
        as churn_rate_not_followed_up,
    cast(case when rated.is_churn_compared
        then {{ wilson_interval('rated.not_followed_up_churned', 'rated.not_followed_up_with_churn_known', 'low') }}
        end as decimal(18, 6)) as churn_rate_not_followed_up_ci_low,
    cast(case when rated.is_churn_compared
        then {{ wilson_interval('rated.not_followed_up_churned', 'rated.not_followed_up_with_churn_known', 'high') }}
        end as decimal(18, 6)) as churn_rate_not_followed_up_ci_high,
    cast(
        case when rated.answers_past_due_date = 0
            then 'No answer due a follow-up has reached its due date yet'
            else cast(rated.followed_up_in_time as {{ dbt.type_string() }}) || ' of '
                || cast(rated.answers_past_due_date as {{ dbt.type_string() }})
                || ' answers due a follow-up had an activity with the account within '
                || cast({{ var('feedback_follow_up_days') }} as {{ dbt.type_string() }})
                || ' days (closed-loop rate ' || {{ percent_text | replace('__X__', 'rated.closed_loop_rate') }}
                || ', 95% interval ' || {{ percent_text | replace('__X__', 'rated.closed_loop_rate_ci_low') }}
                || ' to ' || {{ percent_text | replace('__X__', 'rated.closed_loop_rate_ci_high') }} || ')'
        end
        || '; ' || cast(rated.overdue_without_follow_up + rated.open_not_yet_due as {{ dbt.type_string() }})
        || ' still without any follow-up.'
        || case when rated.is_churn_compared
            then ' Churn within ' || cast({{ var('churn_horizon_months') }} as {{ dbt.type_string() }})
                || ' months after the answer: '
                || {{ percent_text | replace('__X__', 'rated.churn_rate_followed_up') }}
                || ' of the answers followed up in time, '
                || {{ percent_text | replace('__X__', 'rated.churn_rate_not_followed_up') }}
                || ' of the others: a description, not the effect of following up.'
            else '' end
        as {{ dbt.type_string() }}) as follow_up_statement,
    cast(period.as_of_date as date) as as_of_date
from rated
cross join period
left join {{ ref('dim_segment') }} as segments on rated.segment_key = segments.segment_key
