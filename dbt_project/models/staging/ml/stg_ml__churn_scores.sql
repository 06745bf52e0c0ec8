with

source as (
    select * from {{ source('ml', 'churn_scores') }}
)

select
    account_id,
    cast(snapshot_month as date) as snapshot_month,
    cast(churn_probability as {{ type_double() }}) as churn_probability,
    cast(risk_decile as integer) as risk_decile,
    risk_band,
    cast(revenue_12m_eur as decimal(18, 2)) as revenue_12m_eur,
    cast(expected_revenue_at_risk_eur as decimal(18, 2)) as expected_revenue_at_risk_eur,
    reason_1,
    reason_2,
    reason_3,
    reasons,
    model_version,
    scored_at
from source
