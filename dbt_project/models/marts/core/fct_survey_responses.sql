-- Survey responses without personal data: no contact, no comment.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

account_keys as (
    select * from {{ ref('int_account_keys') }}
)

select
    responses.response_id,
    cast(coalesce(account_keys.account_key, -1) as bigint) as account_key,
    cast({{ date_key('responses.response_date') }} as integer) as response_date_key,
    responses.survey_id,
    responses.survey_type,
    responses.response_date,
    cast(responses.nps_score as integer) as nps_score,
    responses.nps_category,
    cast({{ nps_points('responses.nps_score') }} as decimal(18, 6)) as nps_points,
    cast(responses.considering_alternatives as integer) as considering_alternatives,
    responses.preferred_competitor,
    responses.reason_left
from responses
left join account_keys on responses.account_id = account_keys.account_id
