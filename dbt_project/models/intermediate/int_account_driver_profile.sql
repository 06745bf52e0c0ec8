-- What each account's relationship answers of the last 24 months rate each driver: the needs side of the
-- segmentation (pipeline/insight/segments.py turns it into each account's rating of a driver against its
-- own average). One row per account and driver rated; accounts without an answer have no rows.
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

ratings as (
    select * from {{ ref('stg_survey__driver_ratings') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

recent as (
    select responses.response_id, responses.account_id
    from responses
    cross join period
    where responses.survey_type = 'relationship'
        and responses.response_date <= period.as_of_date
        and {{ month_start('responses.response_date') }} > {{ add_months('period.as_of_month', -24) }}
)

select
    recent.account_id,
    ratings.driver_name,
    count(*) as answers,
    avg(cast(ratings.rating as {{ type_double() }})) as mean_rating
from recent
inner join ratings on recent.response_id = ratings.response_id
where ratings.rating between 0 and 10
group by 1, 2
