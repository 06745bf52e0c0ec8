-- The accounts whose voice is missing: every active customer account with no relationship-survey
-- respondent in the twelve months up to the reporting date, most revenue first. The list is the next
-- relationship survey's invitation list: an NPS that never hears the biggest customers says little about
-- the revenue, so the unheard revenue is ranked, and its cumulative share shows where to stop.
with

accounts as (
    select * from {{ ref('dim_account') }}
    where account_key <> -1
),

crm_accounts as (
    select * from {{ ref('int_accounts') }}
),

ttm as (
    select * from {{ ref('int_account_ttm') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
    where survey_type = 'relationship'
),

invitations as (
    select * from {{ ref('stg_survey__invitations') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
    where is_active
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

active_accounts as (
    select
        accounts.account_key,
        accounts.account_id,
        accounts.account_name,
        accounts.segment_key,
        accounts.size_band,
        crm_accounts.account_owner,
        ttm.revenue_ttm_eur
    from accounts
    inner join ttm on accounts.account_id = ttm.account_id
    left join crm_accounts on accounts.account_id = crm_accounts.account_id
    where ttm.is_active_customer
),

-- Responses dated after the reporting date are not known yet on that date, so they never count.
voice as (
    select
        responses.account_id,
        max(responses.response_date) as last_response_date,
        sum(case when responses.response_date > {{ add_months('period.as_of_date', -12) }} then 1 else 0 end)
            as responses_12m
    from responses
    cross join period
    where responses.response_date <= period.as_of_date
    group by 1
),

-- Invitations carry no survey type: a survey counts as a relationship survey when its answers are
-- relationship answers.
relationship_surveys as (
    select distinct survey_id from responses
),

invited as (
    select
        invitations.account_id,
        count(*) as invitations_12m
    from invitations
    inner join relationship_surveys on invitations.survey_id = relationship_surveys.survey_id
    cross join period
    where invitations.sent_date > {{ add_months('period.as_of_date', -12) }}
        and invitations.sent_date <= period.as_of_date
    group by 1
),

contact_breadth as (
    select
        account_id,
        count(*) as active_contacts,
        sum(case when contact_role = 'decision_maker' then 1 else 0 end) as decision_makers
    from contacts
    group by 1
),

-- The denominator is every active account's revenue, heard or not, so the last row's cumulative share
-- is the share of revenue without a voice.
valued as (
    select
        active_accounts.*,
        sum(active_accounts.revenue_ttm_eur) over () as active_revenue_ttm_eur,
        voice.last_response_date,
        coalesce(voice.responses_12m, 0) as responses_12m
    from active_accounts
    left join voice on active_accounts.account_id = voice.account_id
),

unheard as (
    select
        valued.*,
        row_number() over (order by valued.revenue_ttm_eur desc, valued.account_id asc) as coverage_rank
    from valued
    where valued.responses_12m = 0
),

ranked as (
    select
        unheard.*,
        sum(unheard.revenue_ttm_eur) over (
            order by unheard.coverage_rank rows between unbounded preceding and current row
        ) as cumulative_revenue_ttm_eur,
        coalesce(invited.invitations_12m, 0) as invitations_12m,
        coalesce(contact_breadth.active_contacts, 0) as active_contacts,
        coalesce(contact_breadth.decision_makers, 0) as decision_makers
    from unheard
    left join invited on unheard.account_id = invited.account_id
    left join contact_breadth on unheard.account_id = contact_breadth.account_id
)

select
    cast(ranked.account_key as bigint) as account_key,
    cast(ranked.account_id as {{ dbt.type_string() }}) as account_id,
    cast(ranked.account_name as {{ dbt.type_string() }}) as account_name,
    cast(ranked.segment_key as integer) as segment_key,
    cast(ranked.size_band as {{ dbt.type_string() }}) as size_band,
    cast({{ dbt.hash('ranked.account_owner') }} as {{ dbt.type_string() }}) as account_owner_key,
    {{ money('ranked.revenue_ttm_eur') }} as revenue_ttm_eur,
    -- Shares in double precision, the same type on DuckDB and PostgreSQL (the sixth decimal must agree).
    cast(
        cast(ranked.revenue_ttm_eur as {{ type_double() }})
        / nullif(cast(ranked.active_revenue_ttm_eur as {{ type_double() }}), 0)
        as decimal(18, 6)) as share_of_revenue,
    cast(
        cast(ranked.cumulative_revenue_ttm_eur as {{ type_double() }})
        / nullif(cast(ranked.active_revenue_ttm_eur as {{ type_double() }}), 0)
        as decimal(18, 6)) as cumulative_share_of_revenue,
    cast(ranked.coverage_rank as integer) as coverage_rank,
    cast(ranked.invitations_12m as integer) as invitations_12m,
    cast(ranked.last_response_date as date) as last_response_date,
    cast(ranked.active_contacts as integer) as active_contacts,
    cast(ranked.decision_makers as integer) as decision_makers,
    cast(ranked.decision_makers > 0 as boolean) as has_decision_maker_contact,
    -- Why the voice is missing decides the fix: find a contact, invite, or chase the answer.
    cast(case
        when ranked.active_contacts = 0 then 'no active contact'
        when ranked.invitations_12m = 0 then 'not invited in 12 months'
        else 'invited, no answer in 12 months'
    end as {{ dbt.type_string() }}) as coverage_gap,
    cast(period.as_of_date as date) as as_of_date
from ranked
cross join period
