-- Every churned account: when and how it left, the revenue it took with it, what it said on the way
-- out, and which competitor it went to.
with

churn as (
    select * from {{ ref('int_churn_events') }}
),

accounts as (
    select * from {{ ref('dim_account') }}
),

account_months as (
    select * from {{ ref('fct_account_month') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

revenue_before_churn as (
    select
        churn.account_id,
        sum(account_months.revenue_eur) as revenue_lost_eur,
        sum(account_months.gross_margin_eur) as gross_margin_lost_eur
    from churn
    inner join account_months
        on churn.account_id = account_months.account_id
        and churn.churn_month > account_months.month_start
        and account_months.month_start >= {{ add_months('churn.churn_month', -12) }}
    group by 1
),

exit_answers as (
    select
        account_id,
        reason_left,
        preferred_competitor,
        row_number() over (partition by account_id order by response_date desc, response_id desc) as recency
    from responses
    where survey_type = 'exit'
),

lost_deals as (
    select
        churn.account_id,
        opportunities.competitor,
        row_number() over (
            partition by churn.account_id
            order by opportunities.close_date desc nulls last, opportunities.opportunity_id asc
        ) as recency
    from churn
    inner join opportunities
        on churn.account_id = opportunities.account_id
        and opportunities.opportunity_stage = 'lost'
        and opportunities.competitor is not null
)

select
    accounts.account_key,
    churn.account_id,
    accounts.account_name,
    accounts.segment_key,
    cast({{ date_key('churn.churn_month') }} as integer) as churn_month_date_key,
    churn.churn_month,
    churn.churn_type,
    churn.last_invoice_month,
    {{ money('coalesce(revenue_before_churn.revenue_lost_eur, 0)') }} as revenue_lost_eur,
    {{ money('coalesce(revenue_before_churn.gross_margin_lost_eur, 0)') }} as gross_margin_lost_eur,
    exit_answers.reason_left as exit_reason,
    exit_answers.account_id is not null as answered_exit_survey,
    coalesce(exit_answers.preferred_competitor, lost_deals.competitor) as competitor_lost_to,
    case
        when exit_answers.preferred_competitor is not null then 'exit survey'
        when lost_deals.competitor is not null then 'lost opportunity'
    end as competitor_source
from churn
inner join accounts on churn.account_id = accounts.account_id
left join revenue_before_churn on churn.account_id = revenue_before_churn.account_id
left join exit_answers on churn.account_id = exit_answers.account_id and exit_answers.recency = 1
left join lost_deals on churn.account_id = lost_deals.account_id and lost_deals.recency = 1
