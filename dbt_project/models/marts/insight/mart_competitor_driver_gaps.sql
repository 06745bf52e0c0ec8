-- Which experience drivers separate the respondents who are considering another supplier (7-10 on
-- considering_alternatives) from the rest: mean ratings, the gap with its 95% interval, and the rank by
-- standardised gap (1 = the driver that separates them most). Computed in pipeline/insight/drivers.py.
with

gaps as (
    select * from {{ ref('stg_insight__competitor_driver_gaps') }}
)

select
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(driver_label as {{ dbt.type_string() }}) as driver_label,
    cast(considering_respondents as integer) as considering_respondents,
    cast(other_respondents as integer) as other_respondents,
    cast(considering_mean_rating as decimal(18, 6)) as considering_mean_rating,
    cast(other_mean_rating as decimal(18, 6)) as other_mean_rating,
    cast(rating_gap as decimal(18, 6)) as rating_gap,
    cast(rating_gap_ci_low as decimal(18, 6)) as rating_gap_ci_low,
    cast(rating_gap_ci_high as decimal(18, 6)) as rating_gap_ci_high,
    cast(standardised_gap as decimal(18, 6)) as standardised_gap,
    cast(gap_rank as integer) as gap_rank,
    cast(summary as {{ dbt.type_string() }}) as summary,
    cast(run_id as {{ dbt.type_string() }}) as run_id,
    cast(computed_at as timestamp) as computed_at
from gaps
