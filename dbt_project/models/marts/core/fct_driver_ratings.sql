-- Driver ratings (0-10) in long form: one row per response and driver asked.
with

ratings as (
    select * from {{ ref('stg_survey__driver_ratings') }}
),

responses as (
    select * from {{ ref('fct_survey_responses') }}
)

select
    ratings.response_id,
    responses.account_key,
    responses.response_date_key,
    ratings.driver_name,
    cast(ratings.rating as integer) as rating
from ratings
inner join responses on ratings.response_id = responses.response_id
