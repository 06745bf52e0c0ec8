with

source as (
    select * from {{ source('insight', 'account_segments') }}
)

select
    account_id,
    cast(segment_number as integer) as segment_number,
    segment,
    segment_probability,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
