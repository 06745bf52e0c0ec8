-- What each analysis in the release needs, and for this company's data whether its figures are
-- available, computed in a weaker form (degraded) or withheld (null), why, and what would enable them.
-- Everything else is still built and published: a company without a survey tool gets no NPS, with the
-- reason here, and all its revenue figures. The needs are documented in docs/customer_insight.md.
with

inventory as (
    select * from {{ ref('int_data_inventory') }}
),

churn_model_status as (
    select * from {{ ref('stg_ml__churn_model_status') }}
),

churn_scores as (
    select * from {{ ref('stg_ml__churn_scores') }}
),

retention_assignment as (
    select * from {{ ref('int_retention_assignment') }}
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

-- Retention effect: cohorts past the horizon with final outcomes, and contacts marked in the CRM.
retention as (
    select
        (
            select count(distinct cohort_month) from retention_assignment
            where is_horizon_passed and churned_within_horizon is not null
        ) as retention_cohorts_past_horizon,
        (select count(distinct cohort_month) from retention_assignment) as retention_cohorts,
        (select count(*) from activities where {{ is_retention_contact('campaign') }}) as retention_contacts_marked
),

-- The newest scored month: how many accounts, by which model (none before a model exists).
newest_scores as (
    select max(snapshot_month) as scored_month from churn_scores
),

scored as (
    select
        newest_scores.scored_month,
        count(churn_scores.account_id) as accounts_scored,
        max(churn_scores.model_version) as scoring_model
    from newest_scores
    left join churn_scores on newest_scores.scored_month = churn_scores.snapshot_month
    group by newest_scores.scored_month
),

-- Exactly one row, also before the first segmentation run (no status yet).
segmentation as (
    select
        max(status) as segmentation_status,
        max(reason) as segmentation_reason,
        max(accounts) as segmentation_accounts
    from {{ ref('stg_insight__segmentation') }}
),

-- Exactly one row, also before the first training (no status yet).
model_status as (
    select
        max(model_status) as model_status,
        max(model_status_reason) as model_status_reason,
        max(model_enable_hint) as model_enable_hint
    from churn_model_status
),

facts as (
    select
        inventory.*,
        coalesce(model_status.model_status, 'not trained') as model_status,
        model_status.model_status_reason,
        model_status.model_enable_hint,
        scored.scored_month,
        scored.accounts_scored,
        scored.scoring_model,
        segmentation.segmentation_status,
        segmentation.segmentation_reason,
        segmentation.segmentation_accounts,
        retention.retention_cohorts_past_horizon,
        retention.retention_cohorts,
        retention.retention_contacts_marked
    from inventory
    cross join model_status
    cross join scored
    cross join segmentation
    cross join retention
),

analyses as (
    select
        1 as analysis_order,
        'monthly facts' as analysis,
        'fct_account_month, feat_account_snapshot' as published_in,
        'Accounts and at least one month of dated facts (invoices, activities or responses)' as needs,
        case when accounts > 0 then 'available' else 'withheld' end as status,
        case when accounts > 0
            then cast(months_of_data as {{ dbt.type_string() }}) || ' months of data, '
                || cast(first_month as {{ dbt.type_string() }}) || ' to '
                || cast(as_of_month as {{ dbt.type_string() }})
            else 'no accounts in the data' end as reason,
        case when accounts = 0 then 'drop crm/accounts exports into the landing zone' end as enable_hint
    from facts

    -- The later branches take the first branch's column names (aliasing.expression off until the end of the CTE).
    -- noqa: disable=AL03

    union all

    select
        2,
        'churn model',
        'mart_churn_scores, mart_model_performance, mart_account_360.churn_probability',
        'Snapshot months with final churn labels (3 evaluation + 3 calibration + the churn horizon; 12 with the '
            || 'default six-month horizon) and at least 30 churners in each of the fit, calibration '
            || 'and evaluation months',
        case model_status when 'trained' then 'available' when 'kept_champion' then 'degraded' else 'withheld' end,
        coalesce(model_status_reason, 'churn model: no training has run yet'),
        case when model_status = 'not trained' then 'run the refresh_and_train job'
            when model_status <> 'trained' then model_enable_hint end
    from facts

    union all

    select
        3,
        'churn scores',
        'mart_churn_scores, mart_account_360.churn_probability, risk_decile, churn_reasons',
        'A champion churn model and the features of the scored month',
        case when accounts_scored > 0 then 'available' else 'withheld' end,
        case when accounts_scored > 0
            then cast(accounts_scored as {{ dbt.type_string() }}) || ' accounts scored for '
                || cast(scored_month as {{ dbt.type_string() }}) || ' by model ' || scoring_model
            else 'no account has a churn score: no churn model to score with' end,
        case when coalesce(accounts_scored, 0) = 0 then 'see the churn model row; then run the score_month job' end
    from facts

    union all

    select
        4,
        'lifetime value and margin at risk',
        'mart_account_360.customer_lifetime_value_eur, margin_at_risk_eur',
        'Each account''s churn probability (the churn model) and gross margin (invoices)',
        case when model_status in ('trained', 'kept_champion') and invoice_lines > 0 then 'available'
            else 'withheld' end,
        case when invoice_lines = 0 then 'no invoice lines: there is no gross margin to value'
            when model_status not in ('trained', 'kept_champion')
                then 'no churn model: lifetime value needs each account''s churn probability'
            else 'from the champion model''s churn probability' end,
        case when invoice_lines = 0 then 'add finance/invoice_lines exports'
            when model_status not in ('trained', 'kept_champion') then 'see the churn model row' end
    from facts

    union all

    select
        5,
        'care model and recommended action',
        'mart_account_360.care_model, care_model_basis, recommended_action',
        'Value tier and growth headroom; churn risk deciles for "retain"',
        case when model_status in ('trained', 'kept_champion') then 'available' else 'degraded' end,
        case when model_status in ('trained', 'kept_champion') then 'tier, churn risk and growth headroom'
            else 'no churn scores: care models rest on tier and growth headroom only (no "retain" by risk)' end,
        case when model_status not in ('trained', 'kept_champion') then 'see the churn model row' end
    from facts

    union all

    select
        6,
        'revenue and value tiers',
        'fct_invoice_lines, fct_account_month, mart_account_360 (revenue, tiers), mart_lost_customers (silent churn)',
        'Invoice lines (finance/invoice_lines)',
        case when invoice_lines > 0 then 'available' else 'withheld' end,
        case when invoice_lines > 0 then cast(invoice_lines as {{ dbt.type_string() }}) || ' invoice lines'
            else 'no invoice lines: revenue is zero, tiers and silent churn cannot be told; churn comes only '
                || 'from CRM closures' end,
        case when invoice_lines = 0 then 'add finance/invoice_lines exports' end
    from facts

    union all

    select
        7,
        'gross margin',
        'mart_account_360.gross_margin_ttm_eur, gross_margin_pct; fct_invoice_lines.gross_margin_eur',
        'Cost of goods per invoice line (cost_amount_eur, optional)',
        case when invoice_lines = 0 then 'withheld'
            when invoice_lines_with_cost = 0 then 'degraded' else 'available' end,
        case when invoice_lines = 0 then 'no invoice lines'
            when invoice_lines_with_cost = 0
                then 'no cost of goods in the invoice lines: gross margin equals revenue and tiers rank by revenue'
            else cast(invoice_lines_with_cost as {{ dbt.type_string() }}) || ' of '
                || cast(invoice_lines as {{ dbt.type_string() }}) || ' invoice lines carry a cost of goods' end,
        case when invoice_lines = 0 then 'add finance/invoice_lines exports'
            when invoice_lines_with_cost = 0 then 'export cost_amount_eur with the invoice lines' end
    from facts

    union all

    select
        8,
        'customer profitability',
        'mart_account_360.customer_profitability_ttm_eur, cost_to_serve_ttm_eur',
        'Gross margin and monthly cost to serve (finance/cost_to_serve)',
        case when invoice_lines = 0 then 'withheld'
            when cost_to_serve_rows = 0 then 'degraded' else 'available' end,
        case when invoice_lines = 0 then 'no invoice lines'
            when cost_to_serve_rows = 0
                then 'no cost-to-serve data: profitability is the gross margin (cost to serve counted as zero)'
            else 'gross margin minus cost to serve' end,
        case when invoice_lines = 0 then 'add finance/invoice_lines exports'
            when cost_to_serve_rows = 0 then 'add finance/cost_to_serve exports' end
    from facts

    union all

    select
        9,
        'share of wallet and growth headroom',
        'mart_account_360.share_of_wallet, growth_headroom_eur',
        'Sales'' estimate of each account''s annual potential (estimated_annual_potential_eur, optional)',
        case when accounts_with_potential = 0 then 'withheld'
            when accounts_with_potential < crm_accounts then 'degraded' else 'available' end,
        case when accounts_with_potential = 0 then 'no account has an estimated annual potential in the CRM'
            else 'known for ' || cast(accounts_with_potential as {{ dbt.type_string() }}) || ' of '
                || cast(crm_accounts as {{ dbt.type_string() }}) || ' CRM accounts' end,
        case when accounts_with_potential = 0 or accounts_with_potential < crm_accounts
            then 'record estimated_annual_potential_eur in the CRM export' end
    from facts

    union all

    select
        10,
        'payment behaviour',
        'fct_account_month late payments; churn model inputs',
        'Payments (finance/payments) and invoice due dates',
        case when payments = 0 then 'withheld'
            when invoice_lines_with_due_date = 0 then 'degraded' else 'available' end,
        case when payments = 0 then 'no payments: late payments are unknown and counted as none'
            when invoice_lines_with_due_date = 0
                then 'no due dates: invoices count as due 30 days after the invoice date'
            else cast(payments as {{ dbt.type_string() }}) || ' payments' end,
        case when payments = 0 then 'add finance/payments exports'
            when invoice_lines_with_due_date = 0 then 'export due_date with the invoice lines' end
    from facts

    union all

    select
        11,
        'NPS',
        'mart_nps_summary, fct_survey_responses, mart_account_360.nps_latest',
        'Survey responses; each NPS figure at least ' || cast({{ var('min_respondents') }} as {{ dbt.type_string() }})
            || ' respondents',
        case when responses = 0 then 'withheld'
            when responses < {{ var('min_respondents') }} then 'degraded' else 'available' end,
        case when responses = 0 then 'no survey responses'
            when responses < {{ var('min_respondents') }}
                then 'only ' || cast(responses as {{ dbt.type_string() }})
                    || ' responses: NPS figures are withheld below '
                    || cast({{ var('min_respondents') }} as {{ dbt.type_string() }})
            else cast(responses as {{ dbt.type_string() }}) || ' responses' end,
        case when responses < {{ var('min_respondents') }} then 'add survey/responses exports' end
    from facts

    union all

    select
        12,
        'response-bias-adjusted NPS',
        'mart_nps_summary (adjusted NPS, effective n)',
        'Relationship-survey invitations and responses (who was asked, who answered)',
        case when invitations = 0 or relationship_responses = 0 then 'withheld' else 'available' end,
        case when invitations = 0 then 'no survey invitations: the adjustment needs who was invited'
            when relationship_responses = 0 then 'no relationship-survey responses'
            else cast(invitations as {{ dbt.type_string() }}) || ' invitations' end,
        case when invitations = 0 then 'add survey/invitations exports'
            when relationship_responses = 0 then 'add relationship-survey responses' end
    from facts

    union all

    select
        13,
        'driver analysis',
        'mart_driver_analysis',
        'Relationship-survey responses with driver_* ratings; each figure at least '
            || cast({{ var('min_respondents') }} as {{ dbt.type_string() }}) || ' respondents',
        case when relationship_responses < {{ var('min_respondents') }} or responses_with_driver_ratings = 0
            then 'withheld' else 'available' end,
        case when responses_with_driver_ratings = 0 then 'no driver ratings (driver_* columns) in the responses'
            when relationship_responses < {{ var('min_respondents') }}
                then 'only ' || cast(relationship_responses as {{ dbt.type_string() }})
                    || ' relationship-survey responses'
            else cast(responses_with_driver_ratings as {{ dbt.type_string() }}) || ' responses with driver ratings' end,
        case when responses_with_driver_ratings = 0 then 'export the driver_* ratings with the survey responses'
            when relationship_responses < {{ var('min_respondents') }} then 'add relationship-survey responses' end
    from facts

    union all

    select
        14,
        'competitor signals',
        'mart_competitor_signals, mart_competitor_driver_gaps',
        'Any of: considering_alternatives answers, preferred or main competitors, opportunities lost to a competitor',
        case when responses_considering_answered + responses_with_preferred_competitor
                + accounts_with_main_competitor + opportunities_with_competitor = 0 then 'withheld'
            when responses_considering_answered = 0 then 'degraded' else 'available' end,
        case when responses_considering_answered + responses_with_preferred_competitor
                + accounts_with_main_competitor + opportunities_with_competitor = 0
                then 'no competitor data in the CRM or the survey'
            when responses_considering_answered = 0
                then 'no considering_alternatives answers: the driver gaps against competitors are withheld'
            else cast(responses_considering_answered as {{ dbt.type_string() }})
                || ' considering_alternatives answers' end,
        case when responses_considering_answered = 0
            then 'ask considering_alternatives (0-10) in the relationship survey' end
    from facts

    union all

    select
        15,
        'relationship strength',
        'mart_account_360.relationship_strength_index and its components',
        'Contacts and activities from the CRM; survey voice',
        case when contacts = 0 and activities = 0 then 'withheld'
            when contacts = 0 or activities = 0 or responses = 0 then 'degraded' else 'available' end,
        case when contacts = 0 and activities = 0 then 'no contacts or activities in the CRM'
            when contacts = 0 then 'no contacts: contact breadth counts as none'
            when activities = 0 then 'no activities: engagement counts as none'
            when responses = 0 then 'no survey responses: survey voice counts as none'
            else 'every component available' end,
        case when contacts = 0 then 'add crm/contacts exports'
            when activities = 0 then 'add crm/activities exports'
            when responses = 0 then 'add survey/responses exports' end
    from facts

    union all

    select
        16,
        'survey coverage',
        'mart_survey_coverage',
        'Survey invitations or responses',
        case when invitations = 0 and responses = 0 then 'withheld' else 'available' end,
        case when invitations = 0 and responses = 0 then 'no survey data: every account is without a voice'
            else cast(invitations as {{ dbt.type_string() }}) || ' invitations' end,
        case when invitations = 0 and responses = 0 then 'add survey/invitations and survey/responses exports' end
    from facts

    union all

    select
        17,
        'segments',
        'mart_segments, mart_account_360.segment_number, segment',
        'At least ' || cast({{ var('segment_min_accounts') }} as {{ dbt.type_string() }})
            || ' active accounts invoiced in the last twelve months; driver ratings in the relationship survey '
            || 'for the needs side',
        case segmentation_status when 'segmented' then 'available'
            when 'segmented on behaviour only' then 'degraded' else 'withheld' end,
        coalesce(segmentation_reason, 'segments: the segmentation has not run yet'),
        case when segmentation_status is null then 'run the analyses (the score_month job)'
            when segmentation_status = 'withheld'
                then 'more active customers with invoices: at least '
                    || cast({{ var('segment_min_accounts') }} as {{ dbt.type_string() }})
            when segmentation_status = 'segmented on behaviour only'
                then 'add survey/responses with driver_<name> ratings to segment on needs too' end
    from facts

    union all

    select
        18,
        'retention effect',
        'mart_retention_effect, mart_retention_contacts',
        'Churn scores for months whose churn horizon has passed, and retention contacts marked in the CRM '
        || '(crm/activities with campaign retention)',
        case when retention_cohorts_past_horizon > 0 and retention_contacts_marked > 0 then 'available'
            else 'withheld' end,
        case
            when retention_cohorts = 0 then 'no account selected for a retention contact yet (no scored month)'
            when retention_contacts_marked = 0
                then 'no retention contact marked in the CRM: contacts cannot be told from other activities'
            when retention_cohorts_past_horizon = 0
                then 'no cohort month has passed the '
                    || cast({{ var('churn_horizon_months') }} as {{ dbt.type_string() }})
                    || '-month churn horizon yet'
            else cast(retention_cohorts_past_horizon as {{ dbt.type_string() }})
                || ' cohort months past the horizon'
        end,
        case
            when retention_cohorts = 0 then 'score a month with the churn model (score_month)'
            when retention_contacts_marked = 0
                then 'log retention calls as crm/activities with campaign retention (or map a campaign column to it)'
            when retention_cohorts_past_horizon = 0
                then 'keep scoring monthly and calling mart_retention_contacts: the first cohort matures '
                    || cast({{ var('churn_horizon_months') }} as {{ dbt.type_string() }})
                    || ' months after it is scored'
        end
    from facts
    -- noqa: enable=AL03
)

select
    cast(analysis_order as integer) as analysis_order,
    cast(analysis as {{ dbt.type_string() }}) as analysis,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(enable_hint as {{ dbt.type_string() }}) as enable_hint,
    cast(needs as {{ dbt.type_string() }}) as needs,
    cast(published_in as {{ dbt.type_string() }}) as published_in
from analyses
