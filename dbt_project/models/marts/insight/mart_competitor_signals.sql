-- Every competitor the business hears of, with each place it shows up: customers who seriously consider
-- it in the relationship survey, accounts where sales sees it as the main alternative, opportunities lost
-- to it and customers who left for it. One row 'No competitor named' gathers the same signals where no
-- competitor was named, so that a silent threat is not left out of the picture.
with

accounts as (
    select * from {{ ref('dim_account') }}
    where account_key <> -1
),

ttm as (
    select * from {{ ref('int_account_ttm') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

lost_customers as (
    select * from {{ ref('mart_lost_customers') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

active_accounts as (
    select
        accounts.account_id,
        nullif(trim(accounts.main_competitor), '') as main_competitor,
        ttm.revenue_ttm_eur
    from accounts
    inner join ttm on accounts.account_id = ttm.account_id
    where ttm.is_active_customer
),

-- Answers dated after the reporting date are not known yet on that date.
relationship_answers as (
    select
        responses.response_id,
        responses.survey_id,
        responses.account_id,
        responses.response_date,
        responses.considering_alternatives,
        nullif(trim(responses.preferred_competitor), '') as preferred_competitor
    from responses
    cross join period
    where responses.survey_type = 'relationship'
        and responses.response_date <= period.as_of_date
),

-- An account's latest relationship survey is the survey of its latest answer; every respondent of that
-- survey at the account speaks for it, not only the last one.
latest_answer as (
    select
        account_id,
        survey_id,
        row_number() over (partition by account_id order by response_date desc, response_id desc) as recency
    from relationship_answers
),

latest_survey_answers as (
    select relationship_answers.*
    from relationship_answers
    inner join latest_answer
        on relationship_answers.account_id = latest_answer.account_id
        and relationship_answers.survey_id = latest_answer.survey_id
        and latest_answer.recency = 1
),

latest_considering as (
    select
        account_id,
        avg(cast(considering_alternatives as {{ type_double() }})) as considering_alternatives
    from latest_survey_answers
    group by 1
),

-- One competitor per account, so no account is counted twice: the one its respondents named most often
-- in that survey (ties: first by name).
named_competitors as (
    select
        account_id,
        preferred_competitor,
        row_number() over (
            partition by account_id order by count(*) desc, preferred_competitor
        ) as preference
    from latest_survey_answers
    where preferred_competitor is not null
    group by 1, 2
),

survey_voice as (
    select
        active_accounts.account_id,
        named_competitors.preferred_competitor,
        {{ is_considering_alternatives('latest_considering.considering_alternatives') }} as is_considering_alternatives,
        active_accounts.revenue_ttm_eur
    from active_accounts
    inner join latest_considering on active_accounts.account_id = latest_considering.account_id
    left join named_competitors
        on active_accounts.account_id = named_competitors.account_id and named_competitors.preference = 1
),

considering as (
    select
        coalesce(preferred_competitor, 'No competitor named') as competitor_name,
        count(*) as accounts_considering_alternatives,
        sum(revenue_ttm_eur) as revenue_ttm_eur_of_those_accounts
    from survey_voice
    where is_considering_alternatives
    group by 1
),

preferred as (
    select preferred_competitor as competitor_name, count(*) as accounts_naming_as_preferred
    from survey_voice
    where preferred_competitor is not null
    group by 1
),

main_competitors as (
    select main_competitor as competitor_name, count(*) as accounts_with_main_competitor
    from active_accounts
    where main_competitor is not null
    group by 1
),

-- Lost deals of every account, churned or not: a deal lost to a competitor is a signal either way.
lost_opportunities as (
    select
        coalesce(nullif(trim(opportunities.competitor), ''), 'No competitor named') as competitor_name,
        count(*) as lost_opportunities_12m,
        sum(coalesce(opportunities.amount_eur, 0)) as lost_opportunity_amount_12m_eur
    from opportunities
    cross join period
    where opportunities.opportunity_stage = 'lost'
        and opportunities.close_date > {{ add_months('period.as_of_date', -12) }}
        and opportunities.close_date <= period.as_of_date
    group by 1
),

lost_to as (
    select
        coalesce(nullif(trim(lost_customers.competitor_lost_to), ''), 'No competitor named') as competitor_name,
        count(*) as lost_customers,
        sum(case when lost_customers.churn_month > {{ add_months('period.as_of_month', -12) }} then 1 else 0 end)
            as lost_customers_12m,
        sum(lost_customers.revenue_lost_eur) as revenue_lost_eur
    from lost_customers
    cross join period
    group by 1
),

-- Every name from any source, so a competitor that shows up in one place only still gets its row.
competitor_names as (
    select nullif(trim(preferred_competitor), '') as competitor_name from responses
    union
    select nullif(trim(main_competitor), '') from accounts
    union
    select nullif(trim(competitor), '') from opportunities
    union
    select nullif(trim(competitor_lost_to), '') from lost_customers
),

competitors as (
    select competitor_name from competitor_names where competitor_name is not null
    union all
    select 'No competitor named'
),

assembled as (
    select
        competitors.competitor_name,
        competitors.competitor_name = 'No competitor named' as is_unnamed,
        coalesce(considering.accounts_considering_alternatives, 0) as accounts_considering_alternatives,
        coalesce(considering.revenue_ttm_eur_of_those_accounts, 0) as revenue_ttm_eur_of_those_accounts,
        coalesce(preferred.accounts_naming_as_preferred, 0) as accounts_naming_as_preferred,
        coalesce(main_competitors.accounts_with_main_competitor, 0) as accounts_with_main_competitor,
        coalesce(lost_opportunities.lost_opportunities_12m, 0) as lost_opportunities_12m,
        coalesce(lost_opportunities.lost_opportunity_amount_12m_eur, 0) as lost_opportunity_amount_12m_eur,
        coalesce(lost_to.lost_customers, 0) as lost_customers,
        coalesce(lost_to.lost_customers_12m, 0) as lost_customers_12m,
        coalesce(lost_to.revenue_lost_eur, 0) as revenue_lost_eur
    from competitors
    left join considering on competitors.competitor_name = considering.competitor_name
    left join preferred on competitors.competitor_name = preferred.competitor_name
    left join main_competitors on competitors.competitor_name = main_competitors.competitor_name
    left join lost_opportunities on competitors.competitor_name = lost_opportunities.competitor_name
    left join lost_to on competitors.competitor_name = lost_to.competitor_name
),

-- Euros in words for the sentence: whole euros below a thousand, else thousands ("EUR 12k").
worded as (
    select
        assembled.*,
        {%- set amounts = [
            'revenue_ttm_eur_of_those_accounts', 'lost_opportunity_amount_12m_eur', 'revenue_lost_eur'
        ] %}
        {%- for amount in amounts %}
        'EUR ' || case
            when abs({{ amount }}) < 1000
                then cast(cast(round(cast({{ amount }} as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }})
            else cast(
                cast(round(cast({{ amount }} / 1000.0 as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}
            )
                || 'k'
        end as {{ amount }}_in_words{{ ',' if not loop.last }}
        {%- endfor %}
    from assembled
)

select
    cast(assembled.competitor_name as {{ dbt.type_string() }}) as competitor_name,
    cast(assembled.accounts_considering_alternatives as integer) as accounts_considering_alternatives,
    {{ money('assembled.revenue_ttm_eur_of_those_accounts') }} as revenue_ttm_eur_of_those_accounts,
    -- Naming a competitor and sales seeing one are about a named competitor; unnamed they mean nothing.
    cast(case when not assembled.is_unnamed then assembled.accounts_naming_as_preferred end as integer)
        as accounts_naming_as_preferred,
    cast(case when not assembled.is_unnamed then assembled.accounts_with_main_competitor end as integer)
        as accounts_with_main_competitor,
    cast(assembled.lost_opportunities_12m as integer) as lost_opportunities_12m,
    {{ money('assembled.lost_opportunity_amount_12m_eur') }} as lost_opportunity_amount_12m_eur,
    cast(assembled.lost_customers as integer) as lost_customers,
    cast(assembled.lost_customers_12m as integer) as lost_customers_12m,
    {{ money('assembled.revenue_lost_eur') }} as revenue_lost_eur,
    cast(case
        when assembled.is_unnamed then
            'No competitor named: '
            || cast(assembled.accounts_considering_alternatives as {{ dbt.type_string() }}) || ' active account'
            || case when assembled.accounts_considering_alternatives = 1 then '' else 's' end
            || ' seriously considering alternatives without naming one ('
            || assembled.revenue_ttm_eur_of_those_accounts_in_words || ' revenue in 12 months); '
            || cast(assembled.lost_opportunities_12m as {{ dbt.type_string() }}) || ' opportunit'
            || case when assembled.lost_opportunities_12m = 1 then 'y' else 'ies' end
            || ' (' || assembled.lost_opportunity_amount_12m_eur_in_words
            || ') lost in 12 months with no competitor recorded; '
            || cast(assembled.lost_customers as {{ dbt.type_string() }}) || ' lost customer'
            || case when assembled.lost_customers = 1 then '' else 's' end
            || ' (' || assembled.revenue_lost_eur_in_words
            || ' revenue in their last year) with no known competitor.'
        else
            assembled.competitor_name || ': seriously considered by '
            || cast(assembled.accounts_considering_alternatives as {{ dbt.type_string() }}) || ' active account'
            || case when assembled.accounts_considering_alternatives = 1 then '' else 's' end
            || ' (' || assembled.revenue_ttm_eur_of_those_accounts_in_words || ' revenue in 12 months); '
            || 'main competitor at ' || cast(assembled.accounts_with_main_competitor as {{ dbt.type_string() }})
            || ' active account' || case when assembled.accounts_with_main_competitor = 1 then '' else 's' end
            || ' in the CRM; '
            || cast(assembled.lost_opportunities_12m as {{ dbt.type_string() }}) || ' opportunit'
            || case when assembled.lost_opportunities_12m = 1 then 'y' else 'ies' end
            || ' (' || assembled.lost_opportunity_amount_12m_eur_in_words || ') lost to it in 12 months; '
            || cast(assembled.lost_customers as {{ dbt.type_string() }}) || ' lost customer'
            || case when assembled.lost_customers = 1 then '' else 's' end
            || ' (' || assembled.revenue_lost_eur_in_words || ' revenue in their last year) went to it.'
    end as {{ dbt.type_string() }}) as signal_summary,
    cast(period.as_of_date as date) as as_of_date
from worded as assembled
cross join period
