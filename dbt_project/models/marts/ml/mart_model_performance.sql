-- Out-of-time performance of every stored churn model version, by risk decile, with the version's
-- headline metrics on each row (so a BI visual can filter on the champion).
with

performance as (
    select * from {{ ref('stg_ml__model_performance') }}
)

select
    model_version,
    model_type,
    is_champion,
    trained_at,
    evaluation_window,
    risk_decile,
    accounts,
    churners,
    cast(churn_rate as decimal(18, 6)) as churn_rate,
    cast(lift as decimal(18, 6)) as lift,
    cast(mean_predicted_probability as decimal(18, 6)) as mean_predicted_probability,
    cast(cumulative_churners_share as decimal(18, 6)) as cumulative_churners_share,
    {{ money('churned_revenue_eur') }} as churned_revenue_eur,
    cast(roc_auc as decimal(18, 6)) as roc_auc,
    cast(pr_auc as decimal(18, 6)) as pr_auc,
    cast(brier_score as decimal(18, 6)) as brier_score,
    cast(top_decile_lift as decimal(18, 6)) as top_decile_lift,
    cast(recency_rule_roc_auc as decimal(18, 6)) as recency_rule_roc_auc,
    cast(nps_rule_roc_auc as decimal(18, 6)) as nps_rule_roc_auc
from performance
