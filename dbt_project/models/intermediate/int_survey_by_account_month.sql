-- Relationship and transactional survey answers per account and month. An account's NPS is the mean
-- of its respondents' scores mapped to +100 (promoter), 0 (passive) and -100 (detractor).
with

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where survey_type in ('relationship', 'transactional')
)

select
    account_id,
    {{ month_start('response_date') }} as month_start,
    count(*) as responses,
    count(distinct coalesce(contact_id, response_id)) as respondents,
    avg(
        case nps_category when 'promoter' then 100.0 when 'detractor' then -100.0 else 0.0 end
    ) as account_nps,
    avg(cast(nps_score as {{ type_double() }})) as average_nps_score,
    avg(cast(considering_alternatives as {{ type_double() }})) as considering_alternatives,
    max(preferred_competitor) as preferred_competitor
from responses
group by 1, 2
