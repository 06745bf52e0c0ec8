with

source as (
    select * from {{ source('survey', 'invitations') }}
),

deduplicated as (
    {{ latest_row('source', ['invitation_id']) }}
),

renamed as (
    select
        invitation_id,
        survey_id,
        account_id,
        contact_id,
        sent_date
    from deduplicated
)

select * from renamed
