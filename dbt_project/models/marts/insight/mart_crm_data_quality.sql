-- How complete the CRM fields are that the analyses stand on, per account owner and for all owners,
-- over active customer accounts: potential estimates (share of wallet, growth headroom, care models),
-- contact roles and decision makers (relationship strength), recent activity (engagement), and the
-- competitor on lost opportunities (competitor signals; published, not judged). Each row names its weakest
-- field and, in plain words, which analyses it weakens, so the fix can go to the person who owns the
-- accounts.
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

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
    where is_active
),

activities as (
    select * from {{ ref('stg_crm__activities') }}
),

opportunities as (
    select * from {{ ref('stg_crm__opportunities') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

active_accounts as (
    select
        accounts.account_id,
        accounts.estimated_annual_potential_eur,
        -- The owner is an employee: BI gets a pseudonymous key, never the name (docs/decisions.md).
        coalesce({{ dbt.hash('crm_accounts.account_owner') }}, 'Unassigned') as account_owner_key
    from accounts
    inner join ttm on accounts.account_id = ttm.account_id
    left join crm_accounts on accounts.account_id = crm_accounts.account_id
    where ttm.is_active_customer
),

-- Staging turns a missing role into 'other', so 'other' cannot be told apart from a missing role; the
-- analyses use decision maker, influencer and user, and only those count as known.
contact_roles as (
    select
        account_id,
        count(*) as active_contacts,
        sum(case when contact_role in ('decision_maker', 'influencer', 'user') then 1 else 0 end)
            as contacts_with_known_role,
        sum(case when contact_role = 'decision_maker' then 1 else 0 end) as decision_makers
    from contacts
    group by 1
),

recent_activity as (
    select distinct activities.account_id
    from activities
    cross join period
    where activities.activity_date > {{ add_days('period.as_of_date', -var('crm_activity_days')) }}
        and activities.activity_date <= period.as_of_date
),

lost_12m as (
    select
        opportunities.account_id,
        count(*) as lost_opportunities,
        sum(case when opportunities.competitor is not null then 1 else 0 end) as lost_with_competitor
    from opportunities
    cross join period
    where opportunities.opportunity_stage = 'lost'
        and opportunities.close_date > {{ add_months('period.as_of_date', -12) }}
        and opportunities.close_date <= period.as_of_date
    group by 1
),

account_checks as (
    select
        active_accounts.account_owner_key,
        case when active_accounts.estimated_annual_potential_eur > 0 then 1 else 0 end as has_potential_estimate,
        case when contact_roles.active_contacts > 0
                and contact_roles.contacts_with_known_role = contact_roles.active_contacts
            then 1 else 0 end as has_contact_roles,
        case when contact_roles.decision_makers > 0 then 1 else 0 end as has_decision_maker,
        case when recent_activity.account_id is not null then 1 else 0 end as has_activity,
        coalesce(lost_12m.lost_opportunities, 0) as lost_opportunities,
        coalesce(lost_12m.lost_with_competitor, 0) as lost_with_competitor
    from active_accounts
    left join contact_roles on active_accounts.account_id = contact_roles.account_id
    left join recent_activity on active_accounts.account_id = recent_activity.account_id
    left join lost_12m on active_accounts.account_id = lost_12m.account_id
),

-- Each account belongs to its owner's row and to the 'All owners' row.
owner_groups as (
    select * from account_checks
    union all
    select
        'All owners' as account_owner_key,
        has_potential_estimate,
        has_contact_roles,
        has_decision_maker,
        has_activity,
        lost_opportunities,
        lost_with_competitor
    from account_checks
),

-- Shares in double precision, the same type on DuckDB and PostgreSQL (the sixth decimal must agree). A
-- group always has an account, so count(*) > 0.
shares as (
    select
        account_owner_key,
        count(*) as accounts,
        cast(sum(has_potential_estimate) as {{ type_double() }}) / count(*) as share_with_potential_estimate,
        cast(sum(has_contact_roles) as {{ type_double() }}) / count(*) as share_with_contact_roles,
        cast(sum(has_decision_maker) as {{ type_double() }}) / count(*) as share_with_decision_maker,
        cast(sum(has_activity) as {{ type_double() }}) / count(*) as share_with_activity_90d,
        sum(lost_opportunities) as lost_opportunities_12m,
        cast(sum(lost_with_competitor) as {{ type_double() }})
            / nullif(cast(sum(lost_opportunities) as {{ type_double() }}), 0) as share_lost_with_competitor
    from owner_groups
    group by 1
),

-- One row per checked field, so the weakest can be picked portably (no least()/arg_min); the order breaks
-- ties. The competitor on lost opportunities is published but not judged here: a deal lost on price or
-- timing has no competitor to record, and the CRM's free-text lost reason cannot tell those apart.
field_shares as (
    select
        account_owner_key,
        1 as field_order,
        'Potential estimate' as field_name,
        share_with_potential_estimate as share_complete,
        'Potential estimate missing for ' as sentence_start,
        '% of accounts: share of wallet, growth headroom and the grow/develop care models are weaker for them'
            as sentence_end
    from shares
    -- The later branches take the first branch's column names (aliasing.expression off until the end of the CTE).
    -- noqa: disable=AL03
    union all
    select
        account_owner_key, 2, 'Contact roles', share_with_contact_roles,
        'Contact roles missing or unknown for ',
        '% of accounts: relationship strength (roles covered) and role-based survey invitations are weaker for them'
    from shares
    union all
    select
        account_owner_key, 3, 'Decision-maker contact', share_with_decision_maker,
        'No decision-maker contact for ',
        '% of accounts: relationship strength and the executive-meeting actions are weaker for them'
    from shares
    union all
    select
        account_owner_key, 4, 'Recent activity', share_with_activity_90d,
        'No activity logged in {{ var("crm_activity_days") }} days for ',
        '% of accounts: engagement, relationship strength and the churn-risk reasons are weaker for them'
    from shares
    -- noqa: enable=AL03
),

ranked_fields as (
    select
        field_shares.*,
        row_number() over (
            partition by field_shares.account_owner_key
            order by field_shares.share_complete nulls last, field_shares.field_order
        ) as weakness_rank
    from field_shares
),

weakest as (
    select
        account_owner_key,
        field_name,
        share_complete,
        sentence_start,
        sentence_end,
        cast(round(cast(100 * (1 - share_complete) as decimal(18, 3)), 0) as integer) as percent_missing
    from ranked_fields
    where weakness_rank = 1
)

select
    cast(shares.account_owner_key as {{ dbt.type_string() }}) as account_owner_key,
    cast(shares.accounts as integer) as accounts,
    cast(shares.share_with_potential_estimate as decimal(18, 6)) as share_with_potential_estimate,
    cast(shares.share_with_contact_roles as decimal(18, 6)) as share_with_contact_roles,
    cast(shares.share_with_decision_maker as decimal(18, 6)) as share_with_decision_maker,
    cast(shares.share_with_activity_90d as decimal(18, 6)) as share_with_activity_90d,
    cast(shares.lost_opportunities_12m as integer) as lost_opportunities_12m,
    cast(shares.share_lost_with_competitor as decimal(18, 6)) as share_lost_with_competitor,
    cast(weakest.field_name as {{ dbt.type_string() }}) as weakest_field,
    cast(weakest.share_complete as decimal(18, 6)) as weakest_field_share,
    -- Below the target the sentence says what is weakened; at or above it, that nothing needs fixing.
    cast(case
        when weakest.share_complete < {{ var('crm_completeness_target') }}
            then weakest.sentence_start || cast(weakest.percent_missing as {{ dbt.type_string() }})
                || weakest.sentence_end
        else 'Every checked field is at least {{ (100 * var('crm_completeness_target')) | round | int }}% complete; '
            || 'the weakest is '
            || weakest.field_name || ' ('
            || cast(100 - weakest.percent_missing as {{ dbt.type_string() }}) || '% complete)'
    end as {{ dbt.type_string() }}) as analyses_weakened,
    cast(period.as_of_date as date) as as_of_date
from shares
cross join period
left join weakest on shares.account_owner_key = weakest.account_owner_key
