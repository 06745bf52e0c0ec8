with

source as (
    select * from {{ source('insight', 'segmentation') }}
)

select
    status,
    reason,
    cast(accounts as integer) as accounts,
    cast(segments_chosen as integer) as segments_chosen,
    features_used,
    criterion,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
