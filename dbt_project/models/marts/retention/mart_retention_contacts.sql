-- The retention contact list: the accounts of the newest scored month's contact group, to be called within
-- the contact window, most at risk first. The holdout is left out (int_retention_assignment keeps it): it
-- must not be contacted, or the effect cannot be measured (mart_retention_effect).
with

assignment as (
    select * from {{ ref('int_retention_assignment') }}
),

scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

newest as (
    select max(snapshot_month) as cohort_month from scores
),

contact_group as (
    select assignment.*
    from assignment
    inner join newest on assignment.cohort_month = newest.cohort_month
    where assignment.retention_group = 'contact'
)

select
    cast(coalesce(accounts.account_key, -1) as bigint) as account_key,
    cast(coalesce(accounts.account_owner_key, 'Unassigned') as {{ dbt.type_string() }}) as account_owner_key,
    contact_group.cohort_month,
    cast({{ date_key('contact_group.cohort_month') }} as integer) as cohort_date_key,
    cast(row_number() over (
        order by contact_group.churn_probability desc, contact_group.account_id asc
    ) as integer) as contact_priority,
    {{ add_days(month_end('contact_group.cohort_month'), var('retention_contact_window_days')) }}
        as contact_by_date,
    cast(contact_group.churn_probability as decimal(18, 6)) as churn_probability,
    cast(contact_group.risk_decile as integer) as risk_decile,
    cast(scores.risk_band as {{ dbt.type_string() }}) as risk_band,
    {{ money('contact_group.revenue_12m_eur') }} as revenue_12m_eur,
    {{ money('scores.expected_revenue_at_risk_eur') }} as expected_revenue_at_risk_eur,
    cast(
        'churn-risk decile ' || cast(contact_group.risk_decile as {{ dbt.type_string() }})
        || ', new to the top ' || cast({{ var('retention_contact_max_decile') }} * 10 as {{ dbt.type_string() }})
        || '% of churn risk this month'
        || coalesce(': ' || scores.reason_1, '')
        as {{ dbt.type_string() }}
    ) as contact_reason,
    cast(contact_group.is_contacted as boolean) as is_contacted
from contact_group
left join scores
    on contact_group.account_id = scores.account_id and contact_group.cohort_month = scores.snapshot_month
left join accounts on contact_group.account_id = accounts.account_id
