with

source as (
    select * from {{ source('insight', 'segments') }}
)

select
    cast(segment_number as integer) as segment_number,
    segment,
    description,
    cast(accounts as integer) as accounts,
    account_share,
    traits,
    features_used,
    cast(segments_chosen as integer) as segments_chosen,
    criterion,
    status as feature_basis,
    run_id,
    cast(computed_at as timestamp) as computed_at
from source
