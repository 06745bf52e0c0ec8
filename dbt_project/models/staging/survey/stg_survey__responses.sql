-- One row per response; driver ratings are in stg_survey__driver_ratings (their set is not fixed).
with

source as (
    select * from {{ source('survey', 'responses') }}
),

deduplicated as (
    {{ latest_row('source', ['response_id']) }}
),

renamed as (
    select
        response_id,
        survey_id,
        survey_type,
        account_id,
        contact_id,
        invitation_id,
        response_date,
        nps as nps_score,
        {{ nps_class('nps') }} as nps_category,
        considering_alternatives,
        preferred_competitor,
        reason_left,
        comment
    from deduplicated
)

select * from renamed
