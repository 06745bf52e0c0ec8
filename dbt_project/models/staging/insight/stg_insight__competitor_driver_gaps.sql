with

source as (
    select * from {{ source('insight', 'competitor_driver_gaps') }}
)

select
    driver,
    driver_label,
    cast(considering_respondents as integer) as considering_respondents,
    cast(other_respondents as integer) as other_respondents,
    considering_mean_rating,
    other_mean_rating,
    rating_gap,
    rating_gap_ci_low,
    rating_gap_ci_high,
    standardised_gap,
    cast(gap_rank as integer) as gap_rank,
    summary,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
