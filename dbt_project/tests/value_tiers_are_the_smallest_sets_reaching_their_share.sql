-- DESIGN.md, "Key-account tiers", checked on the published mart: among active accounts with positive
-- trailing-twelve-month gross profit, tier A makes up at least tier_a_share (80%) of their gross profit and
-- removing its smallest member drops it below that share (the smallest such set); tiers A and B together
-- make up at least tier_b_share (95%) and removing the smallest B member drops them below it; every A
-- account has at least the gross profit of any other ranked account; only ranked accounts are A or B.
-- Each returned row is a broken rule.
with

accounts as (
    select * from {{ ref('mart_account_360') }}
),

ranked as (
    select * from accounts
    where is_active_customer and gross_margin_ttm_eur > 0
),

total as (
    select sum(gross_margin_ttm_eur) as gross_profit from ranked
),

tier_a as (
    select coalesce(sum(gross_margin_ttm_eur), 0) as gross_profit, min(gross_margin_ttm_eur) as smallest
    from accounts
    where value_tier = 'A'
),

tier_ab as (
    select
        coalesce(sum(gross_margin_ttm_eur), 0) as gross_profit,
        min(case when value_tier = 'B' then gross_margin_ttm_eur end) as smallest_b
    from accounts
    where value_tier in ('A', 'B')
),

largest_outside_a as (
    select max(gross_margin_ttm_eur) as gross_profit from ranked where value_tier <> 'A'
),

failures as (
    select 'tier A does not reach tier_a_share of the gross profit' as failure
    from total cross join tier_a
    where total.gross_profit > 0 and tier_a.gross_profit < {{ var('tier_a_share') }} * total.gross_profit

    union all

    select 'tier A without its smallest member still reaches tier_a_share: not the smallest set'
    from total cross join tier_a
    where tier_a.gross_profit - tier_a.smallest >= {{ var('tier_a_share') }} * total.gross_profit

    union all

    select 'tiers A and B do not reach tier_b_share of the gross profit'
    from total cross join tier_ab
    where total.gross_profit > 0 and tier_ab.gross_profit < {{ var('tier_b_share') }} * total.gross_profit

    union all

    select 'tiers A and B without the smallest B member still reach tier_b_share'
    from total cross join tier_ab
    where tier_ab.gross_profit - tier_ab.smallest_b >= {{ var('tier_b_share') }} * total.gross_profit

    union all

    select 'an account outside tier A has more gross profit than a tier A account'
    from tier_a cross join largest_outside_a
    where largest_outside_a.gross_profit > tier_a.smallest

    union all

    select 'account ' || account_id || ' is tier ' || value_tier || ' without positive gross profit or while churned'
    from accounts
    where value_tier in ('A', 'B') and not (is_active_customer and gross_margin_ttm_eur > 0)
)

select * from failures
