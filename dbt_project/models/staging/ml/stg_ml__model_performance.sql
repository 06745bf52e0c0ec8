with

source as (
    select * from {{ source('ml', 'model_performance') }}
)

select
    model_version,
    model_type,
    is_champion,
    cast(trained_at as timestamp) as trained_at,
    evaluation_window,
    cast(decile as integer) as risk_decile,
    cast(accounts as integer) as accounts,
    cast(churners as integer) as churners,
    churn_rate,
    lift,
    mean_predicted as mean_predicted_probability,
    cumulative_churners_share,
    churned_revenue_eur,
    roc_auc,
    pr_auc,
    brier_score,
    top_decile_lift,
    recency_rule_roc_auc,
    nps_rule_roc_auc
from source
