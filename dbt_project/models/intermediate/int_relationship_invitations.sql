-- Every relationship-survey invitation with what the CRM knows about its recipient (size band, contact
-- role) and whether and how they answered: the population the response-bias adjustment weights to.
with

invitations as (
    select * from {{ ref('stg_survey__invitations') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

-- Invitations carry no survey type: a survey's type is the one its responses state.
relationship_surveys as (
    select distinct survey_id from responses where survey_type = 'relationship'
),

-- One answer per invitation: the first one, should a contact answer twice.
answers as (
    select
        invitation_id,
        response_id,
        nps_score,
        row_number() over (
            partition by invitation_id order by response_date nulls last, response_id
        ) as answer_order
    from responses
    where invitation_id is not null
)

select
    invitations.invitation_id,
    invitations.survey_id,
    invitations.sent_date,
    cast(extract(year from invitations.sent_date) as {{ dbt.type_string() }}) || '-Q'
        || cast(extract(quarter from invitations.sent_date) as {{ dbt.type_string() }}) as year_quarter,
    invitations.sent_date > {{ add_months('period.as_of_date', -12) }} as is_in_last_12_months,
    invitations.account_id,
    coalesce(accounts.segment_key, -1) as segment_key,
    coalesce(accounts.size_band, 'Unknown') as size_band,
    coalesce(contacts.contact_role, 'unknown') as contact_role,
    answers.response_id is not null as responded,
    answers.response_id,
    answers.nps_score
from invitations
inner join relationship_surveys on invitations.survey_id = relationship_surveys.survey_id
cross join period
left join accounts on invitations.account_id = accounts.account_id
left join contacts on invitations.contact_id = contacts.contact_id
left join answers on invitations.invitation_id = answers.invitation_id and answers.answer_order = 1
where invitations.sent_date <= period.as_of_date
