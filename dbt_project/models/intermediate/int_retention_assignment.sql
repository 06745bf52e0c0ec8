-- Retention contacts (DESIGN.md, "Retention effect"): every account selected for a retention contact in a
-- scored month (the cohort month), its group (contact or holdout, by the seeded hash), whether a retention
-- contact followed, and its churn outcome once the horizon has passed. Recomputed from the stored scores on
-- every run: the hash makes the same scores give the same assignment (docs/decisions.md).
with

scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
),

features as (
    select * from {{ ref('feat_account_snapshot') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

eligible as (
    select
        account_id,
        snapshot_month,
        churn_probability,
        risk_decile,
        revenue_12m_eur
    from scores
    where risk_decile <= {{ var('retention_contact_max_decile') }}
),

-- Selected: eligible this month and in none of the churn_horizon_months - 1 scored months before, so an
-- account's outcome windows never overlap and a holdout was not contacted for an earlier cohort meanwhile.
selected as (
    select eligible.*
    from eligible
    where not exists (
        select 1
        from eligible as earlier
        where
            earlier.account_id = eligible.account_id
            and earlier.snapshot_month < eligible.snapshot_month
            and earlier.snapshot_month > {{ add_months('eligible.snapshot_month', -var('churn_horizon_months')) }}
    )
),

assigned as (
    select
        selected.*,
        {{ retention_split_uniform('selected.account_id', 'selected.snapshot_month') }} as split_uniform
    from selected
),

retention_contacts as (
    select
        account_id,
        activity_date
    from activities
    where {{ is_retention_contact('campaign') }}
),

-- A contact counts for the cohort when dated after the month's end and within the contact window.
contacted as (
    select
        assigned.account_id,
        assigned.snapshot_month,
        min(retention_contacts.activity_date) as first_contact_date,
        count(*) as retention_contacts
    from assigned
    inner join retention_contacts
        on
            assigned.account_id = retention_contacts.account_id
            and retention_contacts.activity_date > {{ month_end('assigned.snapshot_month') }}
            and retention_contacts.activity_date
            <= {{ add_days(month_end('assigned.snapshot_month'), var('retention_contact_window_days')) }}
    group by assigned.account_id, assigned.snapshot_month
)

select
    assigned.account_id,
    assigned.snapshot_month as cohort_month,
    assigned.churn_probability,
    assigned.risk_decile,
    assigned.revenue_12m_eur,
    cast(assigned.split_uniform as {{ type_double() }}) as split_uniform,
    case
        when assigned.split_uniform < {{ var('retention_holdout_share') }} then 'holdout' else 'contact'
    end as retention_group,
    coalesce(contacted.retention_contacts, 0) > 0 as is_contacted,
    contacted.first_contact_date,
    {{ add_months('assigned.snapshot_month', var('churn_horizon_months')) }} <= period.as_of_month
        as is_horizon_passed,
    features.churned_within_6m as churned_within_horizon
from assigned
cross join period
left join contacted
    on assigned.account_id = contacted.account_id and assigned.snapshot_month = contacted.snapshot_month
left join features
    on assigned.account_id = features.account_id and assigned.snapshot_month = features.snapshot_month
