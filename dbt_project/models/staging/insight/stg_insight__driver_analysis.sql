with

source as (
    select * from {{ source('insight', 'driver_analysis') }}
)

select
    scope_type,
    scope,
    outcome,
    driver,
    driver_label,
    cast(respondents as integer) as respondents,
    performance,
    importance_weight,
    importance_share,
    importance_r_squared,
    cast(low_ratings as integer) as low_ratings,
    cast(high_ratings as integer) as high_ratings,
    penalty,
    penalty_ci_low,
    penalty_ci_high,
    reward,
    reward_ci_low,
    reward_ci_high,
    asymmetry_index,
    driver_class,
    cast(leavers as integer) as leavers,
    leavers_who_rated_high_share,
    summary,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
