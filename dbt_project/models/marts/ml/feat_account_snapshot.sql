{{
    config(
        materialized='incremental',
        incremental_strategy=monthly_incremental_strategy(),
        partition_by=monthly_partition_by('snapshot_month'),
        unique_key='snapshot_month',
        on_schema_change='fail',
        tags=['monthly']
    )
}}
-- The churn model's feature table: one row per account active at the end of snapshot month s, with
-- features computed only from data dated on or before the last day of s, and the label "churns within
-- months s+1 .. s+6" where no later data can change it (null, never a guessed 0, until then).
--
-- A label of 0 is final once the data reaches s + 6 and the account invoiced in some month >= s + 6
-- (so no silent churn can be dated into the window), or once the data reaches s + 6 + silent_churn_months
-- (every silent churn dated into the window is confirmed by then).
with

account_months as (
    select * from {{ ref('fct_account_month') }}
),

accounts as (
    select * from {{ ref('int_accounts') }}
),

churn as (
    select * from {{ ref('int_churn_events') }}
),

survey_months as (
    select * from {{ ref('int_survey_by_account_month') }}
),

engagement as (
    select * from {{ ref('int_engagement_by_account_month') }}
),

snapshots as (
    select * from {{ ref('stg_crm__account_snapshots') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

months_with_meetings as (
    select
        account_months.*,
        engagement.last_meeting_date as last_meeting_date_in_month
    from account_months
    left join engagement
        on account_months.account_id = engagement.account_id
        and account_months.month_start = engagement.month_start
),

rolling as (
    select
        account_months.account_id,
        account_months.month_start as snapshot_month,
        account_months.is_active,
        account_months.revenue_eur as revenue_1m,
        sum(account_months.revenue_eur) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 2 preceding and current row) as revenue_3m,
        sum(account_months.revenue_eur) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 5 preceding and 3 preceding) as revenue_prior_3m,
        sum(account_months.revenue_eur) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as revenue_12m,
        sum(account_months.revenue_eur) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 23 preceding and 12 preceding) as revenue_prior_12m,
        sum(account_months.gross_margin_eur) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as gross_margin_12m,
        sum(account_months.late_payments) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as late_payments_12m,
        sum(account_months.invoices_due) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as invoices_due_12m,
        sum(account_months.late_payments) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 2 preceding and current row) as late_payments_3m,
        sum(account_months.invoices_due) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 2 preceding and current row) as invoices_due_3m,
        sum(account_months.activities) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 2 preceding and current row) as activities_3m,
        sum(account_months.activities) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as activities_12m,
        sum(account_months.meetings) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as meetings_12m,
        sum(account_months.meetings) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 2 preceding and current row) as meetings_3m,
        sum(account_months.respondents) over (
            partition by account_months.account_id order by account_months.month_start
            rows between 11 preceding and current row) as respondents_12m,
        max(case when account_months.revenue_eur > 0 then account_months.month_start end) over (
            partition by account_months.account_id order by account_months.month_start
            rows between unbounded preceding and current row) as last_invoice_month,
        max(case when account_months.respondents > 0 then account_months.month_start end) over (
            partition by account_months.account_id order by account_months.month_start
            rows between unbounded preceding and current row) as latest_survey_month,
        max(account_months.last_meeting_date_in_month) over (
            partition by account_months.account_id order by account_months.month_start
            rows between unbounded preceding and current row) as last_meeting_date,
        count(*) over (
            partition by account_months.account_id order by account_months.month_start
            rows between unbounded preceding and current row) as months_in_data
    from months_with_meetings as account_months
),

surveys_with_previous as (
    select
        account_id,
        month_start as survey_month,
        account_nps,
        lag(account_nps) over (partition by account_id order by month_start) as previous_account_nps,
        average_nps_score,
        lag(average_nps_score) over (partition by account_id order by month_start) as previous_average_nps_score,
        considering_alternatives,
        preferred_competitor
    from survey_months
),

-- CRM attributes as known at the snapshot: the newest snapshot extracted on or before its month end;
-- for months before the first snapshot, the first snapshot (attributes such as industry do not move).
crm_as_of as (
    select
        rolling.account_id,
        rolling.snapshot_month,
        snapshots.employees,
        snapshots.industry,
        snapshots.estimated_annual_potential_eur,
        snapshots.main_competitor,
        row_number() over (
            partition by rolling.account_id, rolling.snapshot_month
            order by
                case when snapshots.snapshot_date <= {{ month_end('rolling.snapshot_month') }} then 0 else 1 end,
                case when snapshots.snapshot_date <= {{ month_end('rolling.snapshot_month') }}
                    then snapshots.snapshot_date end desc,
                snapshots.snapshot_date
        ) as preference
    from rolling
    inner join snapshots on rolling.account_id = snapshots.account_id
),

future_revenue as (
    select
        rolling.account_id,
        rolling.snapshot_month,
        max(later.month_start) as last_revenue_month_known
    from rolling
    inner join account_months as later
        on rolling.account_id = later.account_id
        and later.revenue_eur > 0
        and later.month_start >= {{ add_months('rolling.snapshot_month', 6) }}
    group by 1, 2
),

labelled as (
    select
        rolling.*,
        case
            when churn.churn_month > rolling.snapshot_month
                and churn.churn_month <= {{ add_months('rolling.snapshot_month', var('churn_horizon_months')) }}
                then 1
            when {{ add_months('rolling.snapshot_month', var('churn_horizon_months')) }} <= period.as_of_month
                and future_revenue.last_revenue_month_known is not null
                then 0
            when {{ add_months('rolling.snapshot_month', var('churn_horizon_months') + var('silent_churn_months')) }}
                <= period.as_of_month
                then 0
        end as churned_within_6m
    from rolling
    cross join period
    left join churn on rolling.account_id = churn.account_id
    left join future_revenue
        on rolling.account_id = future_revenue.account_id and rolling.snapshot_month = future_revenue.snapshot_month
)

select
    labelled.account_id,
    labelled.snapshot_month,
    cast({{ date_key('labelled.snapshot_month') }} as integer) as snapshot_date_key,
    cast(labelled.months_in_data as integer) as months_in_data,
    cast(case when accounts.created_date is not null
        then {{ months_between('accounts.created_date', 'labelled.snapshot_month') }} end as integer) as tenure_months,
    -- Optional in the CRM (and unknown for an account seen only in invoices or surveys): a category the
    -- model one-hot encodes, so never null.
    coalesce(crm_as_of.industry, 'Unknown') as industry,
    accounts.country_code,
    {{ size_band('crm_as_of.employees') }} as size_band,
    cast(crm_as_of.employees as integer) as employees,
    {{ money('labelled.revenue_1m') }} as revenue_1m_eur,
    {{ money('labelled.revenue_3m') }} as revenue_3m_eur,
    {{ money('labelled.revenue_12m') }} as revenue_12m_eur,
    cast(case when labelled.months_in_data >= 24 and labelled.revenue_prior_12m > 0
        then {{ safe_divide('labelled.revenue_12m', 'labelled.revenue_prior_12m') }} - 1 end as decimal(18, 6))
        as revenue_trend_yoy,
    cast(case when labelled.months_in_data >= 6 and labelled.revenue_prior_3m > 0
        then {{ safe_divide('labelled.revenue_3m', 'labelled.revenue_prior_3m') }} - 1 end as decimal(18, 6))
        as revenue_trend_3m,
    cast({{ safe_divide('labelled.gross_margin_12m', 'labelled.revenue_12m') }} as decimal(18, 6))
        as gross_margin_pct_12m,
    -- Net revenue floored at zero: credit notes that outweigh a year's invoices (a short history can show
    -- that) use none of the potential; a negative share would mean nothing.
    cast({{ safe_divide('greatest(labelled.revenue_12m, 0)', 'crm_as_of.estimated_annual_potential_eur') }}
        as decimal(18, 6)) as share_of_wallet,
    labelled.last_invoice_month,
    cast(case when labelled.last_invoice_month is not null
        then {{ months_between('labelled.last_invoice_month', 'labelled.snapshot_month') }} end as integer)
        as months_since_last_invoice,
    cast(labelled.late_payments_12m as integer) as late_payments_12m,
    cast({{ safe_divide('labelled.late_payments_12m', 'labelled.invoices_due_12m') }} as decimal(18, 6))
        as late_payment_share_12m,
    cast({{ safe_divide('labelled.late_payments_3m', 'labelled.invoices_due_3m') }} as decimal(18, 6))
        as late_payment_share_3m,
    cast(labelled.activities_3m as integer) as activities_3m,
    cast(labelled.meetings_3m as integer) as meetings_3m,
    cast(labelled.activities_12m as integer) as activities_12m,
    cast(labelled.meetings_12m as integer) as meetings_12m,
    labelled.last_meeting_date,
    cast(case when labelled.last_meeting_date is not null
        then {{ days_between('labelled.last_meeting_date', month_end('labelled.snapshot_month')) }} end
        as integer) as days_since_last_meeting,
    cast(labelled.respondents_12m as integer) as respondents_12m,
    labelled.latest_survey_month,
    cast(voice.account_nps as decimal(18, 6)) as nps_latest,
    cast(voice.account_nps - voice.previous_account_nps as decimal(18, 6)) as nps_change,
    cast(voice.average_nps_score as decimal(18, 6)) as recommend_score_latest,
    cast(voice.previous_average_nps_score as decimal(18, 6)) as recommend_score_previous,
    cast(voice.considering_alternatives as decimal(18, 6)) as considering_alternatives_latest,
    coalesce(voice.preferred_competitor is not null, false) as named_preferred_competitor,
    crm_as_of.main_competitor is not null as has_known_competitor,
    cast(labelled.churned_within_6m as integer) as churned_within_6m
from labelled
left join accounts on labelled.account_id = accounts.account_id
left join surveys_with_previous as voice
    on labelled.account_id = voice.account_id and labelled.latest_survey_month = voice.survey_month
left join crm_as_of
    on labelled.account_id = crm_as_of.account_id
    and labelled.snapshot_month = crm_as_of.snapshot_month
    and crm_as_of.preference = 1
where labelled.is_active
    -- A run for a range of snapshot months rebuilds those months only; windows above still see all history.
    and {{ within_partition_months('labelled.snapshot_month') }}
