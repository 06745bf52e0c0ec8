with

source as (
    select * from {{ source('insight', 'nps_adjusted') }}
)

select
    period_type,
    period,
    cast(segment_key as integer) as segment_key,
    cast(invitations as integer) as invitations,
    cast(respondents as integer) as respondents,
    raw_nps,
    raw_nps_margin_of_error,
    adjusted_nps,
    adjusted_nps_margin_of_error,
    effective_respondents,
    cast(weighting_cells as integer) as weighting_cells,
    bias_statement,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
