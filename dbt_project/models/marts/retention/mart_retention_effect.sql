-- The retention effect (DESIGN.md, "Retention effect"): per cohort month whose churn horizon has passed, and
-- over all of them, the churn of the contact group against the holdout (intention to treat, randomised: the
-- causal figure), of the accounts actually contacted against the holdout (per protocol, not randomised), the
-- relative reduction with its 95% interval (Katz log interval of the risk ratio, macros/retention.sql), the
-- accounts and revenue kept, and a sentence. Withheld (no rows) until a cohort has passed its horizon and
-- the CRM marks retention contacts (mart_analysis_status says which).
with

assignment as (
    select * from {{ ref('int_retention_assignment') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

marking as (
    select count(*) as retention_contacts_marked
    from activities
    where {{ is_retention_contact('campaign') }}
),

known as (
    select assignment.*
    from assignment
    cross join marking
    where
        assignment.is_horizon_passed
        and assignment.churned_within_horizon is not null
        and marking.retention_contacts_marked > 0
),

by_cohort as (
    select
        {{ iso_date_string('cohort_month') }} as cohort_key,
        cohort_month,
        false as is_all_cohorts,
        1 as cohorts,
        {{ retention_counts() }}
    from known
    group by cohort_month
),

all_cohorts as (
    select
        'all' as cohort_key,
        cast(null as date) as cohort_month,
        true as is_all_cohorts,
        count(distinct cohort_month) as cohorts,
        {{ retention_counts() }}
    from known
    having count(*) > 0
),

counted as (
    select * from by_cohort
    union all
    select * from all_cohorts
),

{%- set itt = ['churned_contact_group', 'accounts_contact_group', 'churned_holdout', 'accounts_holdout'] %}
{%- set per_protocol = ['churned_contacted', 'accounts_contacted', 'churned_holdout', 'accounts_holdout'] %}

figures as (
    select
        *,
        {{ safe_divide('churned_contact_group', 'accounts_contact_group') }} as churn_rate_contact_group,
        {{ safe_divide('churned_holdout', 'accounts_holdout') }} as churn_rate_holdout,
        {{ safe_divide('churned_contacted', 'accounts_contacted') }} as churn_rate_contacted,
        {{ relative_reduction(*itt) }} as itt_relative_reduction,
        {{ relative_reduction(*itt, bound='low') }} as itt_relative_reduction_ci_low,
        {{ relative_reduction(*itt, bound='high') }} as itt_relative_reduction_ci_high,
        {{ risk_ratio_log_se(*itt) }} as itt_log_se,
        {{ relative_reduction(*per_protocol) }} as per_protocol_relative_reduction,
        {{ relative_reduction(*per_protocol, bound='low') }} as per_protocol_relative_reduction_ci_low,
        {{ relative_reduction(*per_protocol, bound='high') }} as per_protocol_relative_reduction_ci_high
    from counted
),

judged as (
    select
        *,
        coalesce(itt_relative_reduction_ci_low > 0 or itt_relative_reduction_ci_high < 0, false)
            as is_distinguishable_from_zero,
        -- Cohorts in all, of the size seen so far, for the interval to exclude zero at the current estimate:
        -- the log-scale half-width shrinks as 1 / sqrt(accounts).
        case when itt_relative_reduction > 0 and itt_relative_reduction < 1 and itt_log_se is not null then
            cast(ceiling(
                cohorts * power({{ interval_z() }} * itt_log_se / abs(ln(1 - itt_relative_reduction)), 2)
            ) as integer)
        end as cohorts_needed
    from figures
),

worded as (
    select
        *,
        case
            when is_distinguishable_from_zero then 0
            when cohorts_needed is not null then greatest(cohorts_needed - cohorts, 1)
        end as more_cohorts_needed,
        {{ retention_percent('itt_relative_reduction') }} as itt_text,
        {{ retention_percent('itt_relative_reduction_ci_low') }} as low_text,
        {{ retention_percent('itt_relative_reduction_ci_high') }} as high_text
    from judged
)

select
    cast(cohort_key as {{ dbt.type_string() }}) as cohort_key,
    cohort_month,
    cast(is_all_cohorts as boolean) as is_all_cohorts,
    cast(cohorts as integer) as cohorts,
    cast(accounts_selected as integer) as accounts_selected,
    cast(accounts_contact_group as integer) as accounts_contact_group,
    cast(accounts_holdout as integer) as accounts_holdout,
    cast(accounts_contacted as integer) as accounts_contacted,
    cast(holdout_contacted as integer) as holdout_contacted,
    cast({{ safe_divide('contact_group_contacted', 'accounts_contact_group') }} as decimal(18, 6)) as contact_rate,
    cast(churned_contact_group as integer) as churned_contact_group,
    cast(churned_holdout as integer) as churned_holdout,
    cast(churned_contacted as integer) as churned_contacted,
    cast(churn_rate_contact_group as decimal(18, 6)) as churn_rate_contact_group,
    cast(churn_rate_holdout as decimal(18, 6)) as churn_rate_holdout,
    cast(churn_rate_contacted as decimal(18, 6)) as churn_rate_contacted,
    cast(itt_relative_reduction as decimal(18, 6)) as itt_relative_reduction,
    cast(itt_relative_reduction_ci_low as decimal(18, 6)) as itt_relative_reduction_ci_low,
    cast(itt_relative_reduction_ci_high as decimal(18, 6)) as itt_relative_reduction_ci_high,
    cast(per_protocol_relative_reduction as decimal(18, 6)) as per_protocol_relative_reduction,
    cast(per_protocol_relative_reduction_ci_low as decimal(18, 6)) as per_protocol_relative_reduction_ci_low,
    cast(per_protocol_relative_reduction_ci_high as decimal(18, 6)) as per_protocol_relative_reduction_ci_high,
    false as is_per_protocol_randomised,
    -- Churners the contact group avoided against the holdout's rate, and their twelve months' revenue.
    cast((churn_rate_holdout - churn_rate_contact_group) * accounts_contact_group as decimal(18, 2)) as accounts_kept,
    {{ money('(churn_rate_holdout - churn_rate_contact_group) * revenue_12m_contact_group_eur') }} as revenue_kept_eur,
    cast(is_distinguishable_from_zero as boolean) as is_distinguishable_from_zero,
    cast(more_cohorts_needed as integer) as more_cohorts_needed,
    cast(
        (case when is_all_cohorts
            then 'Over ' || cast(cohorts as {{ dbt.type_string() }}) || ' cohort months'
            else 'In the cohort of ' || substr(cohort_key, 1, 7) end)
        || ', contacting the accounts selected for a retention contact '
        || case
            when itt_relative_reduction is null
                then 'cannot be judged yet: no churner in the holdout or the contact group.'
            when itt_relative_reduction >= 0
                then 'cut ' || cast({{ var('churn_horizon_months') }} as {{ dbt.type_string() }})
                    || '-month churn by ' || itt_text
            else 'raised ' || cast({{ var('churn_horizon_months') }} as {{ dbt.type_string() }})
                || '-month churn by ' || {{ retention_percent('-itt_relative_reduction') }}
        end
        || case when itt_relative_reduction is null then ''
            else ' against the holdout (intention to treat; 95% interval of the reduction '
                || coalesce(low_text || ' to ' || high_text, 'not available') || '): '
                || case
                    when is_distinguishable_from_zero then 'distinguishable from zero.'
                    when more_cohorts_needed is not null
                        then 'not yet distinguishable from zero; about '
                            || cast(more_cohorts_needed as {{ dbt.type_string() }})
                            || ' more cohort months of this size would make it so if the estimate holds.'
                    else 'not distinguishable from zero, and more cohorts would not show a reduction at this estimate.'
                end
        end
        as {{ dbt.type_string() }}
    ) as effect_sentence
from worded
