with

source as (
    select * from {{ source('ml', 'churn_model_status') }}
)

select
    status as model_status,
    reason as model_status_reason,
    enable_hint as model_enable_hint,
    cast(labelled_months as integer) as labelled_months,
    cast(labelled_months_needed as integer) as labelled_months_needed,
    champion_version,
    cast(checked_at as timestamp) as checked_at
from source
