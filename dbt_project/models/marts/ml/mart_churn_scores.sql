-- The churn list: every scored account and snapshot month, with its probability, decile, band, revenue
-- at risk and reasons; is_latest_snapshot marks the newest scored month (what account managers act on).
with

scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

latest as (
    select max(snapshot_month) as snapshot_month from scores
)

select
    cast(coalesce(accounts.account_key, -1) as bigint) as account_key,
    scores.account_id,
    scores.snapshot_month,
    cast({{ date_key('scores.snapshot_month') }} as integer) as snapshot_date_key,
    cast(scores.churn_probability as decimal(18, 6)) as churn_probability,
    scores.risk_decile,
    scores.risk_band,
    {{ risk_band_order('scores.risk_band', 'scores.risk_decile') }} as risk_band_order,
    scores.revenue_12m_eur,
    scores.expected_revenue_at_risk_eur,
    scores.reason_1,
    scores.reason_2,
    scores.reason_3,
    scores.reasons,
    scores.model_version,
    scores.snapshot_month = latest.snapshot_month as is_latest_snapshot
from scores
cross join latest
left join accounts on scores.account_id = accounts.account_id
