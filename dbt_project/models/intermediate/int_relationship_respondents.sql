-- One row per relationship-survey response with the account's segment and what the account did next
-- (churned within six months of the answer: the churn label of the response month, null until final).
-- The driver ratings stay long (fct_driver_ratings): the set of drivers is not fixed.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

snapshots as (
    select * from {{ ref('feat_account_snapshot') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
)

select
    responses.response_id,
    responses.survey_id,
    responses.account_id,
    responses.response_date,
    {{ month_start('responses.response_date') }} as response_month,
    coalesce(accounts.segment_key, -1) as segment_key,
    coalesce(accounts.size_band, 'Unknown') as size_band,
    responses.nps_score,
    responses.considering_alternatives,
    responses.preferred_competitor,
    snapshots.churned_within_6m
from responses
cross join period
left join accounts on responses.account_id = accounts.account_id
left join snapshots
    on responses.account_id = snapshots.account_id
    and {{ month_start('responses.response_date') }} = snapshots.snapshot_month
where responses.survey_type = 'relationship'
    and responses.response_date <= period.as_of_date
