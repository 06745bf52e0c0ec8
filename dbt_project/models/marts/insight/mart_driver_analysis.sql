-- The driver analysis as BI reads it: one row per scope (overall, survey wave, size band), outcome
-- (recommendation, churn within six months) and driver, with its plain-words sentence. The statistics are
-- computed in pipeline/insight/drivers.py; this mart types and documents them.
with

drivers as (
    select * from {{ ref('stg_insight__driver_analysis') }}
)

select
    cast(scope_type as {{ dbt.type_string() }}) as scope_type,
    cast(scope as {{ dbt.type_string() }}) as scope,
    cast(outcome as {{ dbt.type_string() }}) as outcome,
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(driver_label as {{ dbt.type_string() }}) as driver_label,
    cast(respondents as integer) as respondents,
    cast(performance as decimal(18, 6)) as performance,
    cast(importance_weight as decimal(18, 6)) as importance_weight,
    cast(importance_share as decimal(18, 6)) as importance_share,
    cast(importance_r_squared as decimal(18, 6)) as importance_r_squared,
    cast(low_ratings as integer) as low_ratings,
    cast(high_ratings as integer) as high_ratings,
    cast(penalty as decimal(18, 6)) as penalty,
    cast(penalty_ci_low as decimal(18, 6)) as penalty_ci_low,
    cast(penalty_ci_high as decimal(18, 6)) as penalty_ci_high,
    cast(reward as decimal(18, 6)) as reward,
    cast(reward_ci_low as decimal(18, 6)) as reward_ci_low,
    cast(reward_ci_high as decimal(18, 6)) as reward_ci_high,
    cast(asymmetry_index as decimal(18, 6)) as asymmetry_index,
    cast(driver_class as {{ dbt.type_string() }}) as driver_class,
    cast(leavers as integer) as leavers,
    cast(leavers_who_rated_high_share as decimal(18, 6)) as leavers_who_rated_high_share,
    cast(summary as {{ dbt.type_string() }}) as summary,
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(computed_at as timestamp) as computed_at
from drivers
