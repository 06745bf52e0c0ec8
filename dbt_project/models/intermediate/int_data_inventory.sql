-- What this company's data holds, in one row: rows per entity and how often the optional columns that an
-- analysis depends on are filled. mart_analysis_status reads it to say, per analysis, whether the figure
-- can be computed, is computed in a weaker form, or is withheld, and what would enable it.
with

accounts as (
    select * from {{ ref('int_accounts') }}
),

crm_accounts as (
    select * from {{ ref('stg_crm__accounts') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

invoice_lines as (
    select * from {{ ref('stg_finance__invoice_lines') }}
),

payments as (
    select * from {{ ref('stg_finance__payments') }}
),

cost_to_serve as (
    select * from {{ ref('stg_finance__cost_to_serve') }}
),

invitations as (
    select * from {{ ref('stg_survey__invitations') }}
),

responses as (
    select * from {{ ref('stg_survey__responses') }}
),

driver_ratings as (
    select * from {{ ref('stg_survey__driver_ratings') }}
),

account_months as (
    select * from {{ ref('int_account_months') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

crm_counts as (
    select
        count(*) as crm_accounts,
        count(industry) as accounts_with_industry,
        count(employees) as accounts_with_employees,
        count(estimated_annual_potential_eur) as accounts_with_potential,
        count(main_competitor) as accounts_with_main_competitor
    from crm_accounts
),

invoice_counts as (
    select
        count(*) as invoice_lines,
        sum(case when has_cost_of_goods then 1 else 0 end) as invoice_lines_with_cost,
        count(due_date) as invoice_lines_with_due_date
    from invoice_lines
),

response_counts as (
    select
        count(*) as responses,
        sum(case when survey_type = 'relationship' then 1 else 0 end) as relationship_responses,
        count(considering_alternatives) as responses_considering_answered,
        count(preferred_competitor) as responses_with_preferred_competitor
    from responses
)

select
    (select count(*) from accounts) as accounts,
    crm_counts.crm_accounts,
    crm_counts.accounts_with_industry,
    crm_counts.accounts_with_employees,
    crm_counts.accounts_with_potential,
    crm_counts.accounts_with_main_competitor,
    (select count(*) from contacts) as contacts,
    (select count(*) from activities) as activities,
    (select count(*) from opportunities) as opportunities,
    (select count(opportunities.competitor) from opportunities) as opportunities_with_competitor,
    invoice_counts.invoice_lines,
    coalesce(invoice_counts.invoice_lines_with_cost, 0) as invoice_lines_with_cost,
    invoice_counts.invoice_lines_with_due_date,
    (select count(*) from payments) as payments,
    (select count(*) from cost_to_serve) as cost_to_serve_rows,
    (select count(*) from invitations) as invitations,
    response_counts.responses,
    coalesce(response_counts.relationship_responses, 0) as relationship_responses,
    response_counts.responses_considering_answered,
    response_counts.responses_with_preferred_competitor,
    (select count(distinct driver_ratings.response_id) from driver_ratings) as responses_with_driver_ratings,
    -- From the month the facts begin (the first invoice, activity or response), not the oldest account.
    (select count(distinct account_months.month_start) from account_months) as months_of_data,
    (select min(account_months.month_start) from account_months) as first_month,
    period.as_of_month
from crm_counts
cross join invoice_counts
cross join response_counts
cross join period
