-- NPS and results (DESIGN.md): accounts banded by their NPS over a twelve-month period, and each band's
-- revenue, gross margin, customer profitability, revenue growth on the twelve months before and churn in the
-- twelve months after, each with a 95% interval (macros/intervals.sql); one row per period for all banded
-- accounts, whose sentence holds this company's data against the field's claim (NPS above 50 earns about
-- twice the average, -10 to 34 about half). Associations across accounts, not effects of NPS.
-- Periods: the twelve months up to the reporting month and every twelve months before, while the data
-- covers the whole period. An account's NPS in a period: the mean of its relationship answers in it, mapped
-- to +100 / 0 / -100 (DESIGN.md), over at least one answer.

{#- A figure for a sentence: a ratio with one decimal (1.9), a correlation with two (0.24), a share as a whole
    percentage (41%). -#}
{%- set one_decimal -%}
    cast(cast(round(cast(__X__ as decimal(18, 3)), 1) as decimal(18, 1)) as {{ dbt.type_string() }})
{%- endset -%}
{%- set two_decimals -%}
    cast(cast(round(cast(__X__ as decimal(18, 3)), 2) as decimal(18, 2)) as {{ dbt.type_string() }})
{%- endset -%}
{%- set percent_text -%}
    cast(cast(round(cast(100 * (__X__) as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}) || '%'
{%- endset -%}
{%- set labels = nps_band_labels() %}
{#- A band's share of all the accounts' gross margin as a ratio estimator over all accounts: the mean of
    x = the account's margin when in the band (else 0) over the mean margin (macros/intervals.sql). Its moments
    from the band's and all accounts' sums of squares, each rebuilt from the sample variance and the mean. -#}
{%- set n_all = 'cast(all_accounts.accounts as ' ~ type_double() ~ ')' -%}
{%- set band_sum_of_squares -%}
    ((cast(aggregated.accounts as {{ type_double() }}) - 1)
        * coalesce(cast(aggregated.gross_margin_variance as {{ type_double() }}), 0)
        + cast(aggregated.accounts as {{ type_double() }})
        * cast(aggregated.gross_margin_per_account_eur as {{ type_double() }})
        * cast(aggregated.gross_margin_per_account_eur as {{ type_double() }}))
{%- endset -%}
{%- set all_sum_of_squares -%}
    (({{ n_all }} - 1) * coalesce(cast(all_accounts.gross_margin_variance as {{ type_double() }}), 0)
        + {{ n_all }} * cast(all_accounts.gross_margin_per_account_eur as {{ type_double() }})
        * cast(all_accounts.gross_margin_per_account_eur as {{ type_double() }}))
{%- endset -%}
{%- set band_margin_mean = '(cast(aggregated.gross_margin_eur as ' ~ type_double() ~ ') / ' ~ n_all ~ ')' -%}
{%- set all_margin_mean = '(cast(all_accounts.gross_margin_eur as ' ~ type_double() ~ ') / ' ~ n_all ~ ')' -%}
{%- set share_variances = [
    '((' ~ band_sum_of_squares ~ ' / ' ~ n_all ~ ' - ' ~ band_margin_mean ~ ' * ' ~ band_margin_mean ~ ') / ' ~ n_all ~ ')',
    '((' ~ all_sum_of_squares ~ ' / ' ~ n_all ~ ' - ' ~ all_margin_mean ~ ' * ' ~ all_margin_mean ~ ') / ' ~ n_all ~ ')',
    '((' ~ band_sum_of_squares ~ ' / ' ~ n_all ~ ' - ' ~ band_margin_mean ~ ' * ' ~ all_margin_mean ~ ') / ' ~ n_all ~ ')',
] %}

with

accounts as (
    select * from {{ ref('int_account_nps_results') }}
),

period as (
    select * from {{ ref('int_reporting_period') }}
),

periods as (
    select distinct period_end_month, period_start_month, periods_back, is_churn_final from accounts
),

-- Each account counts in its band and in the period's all-accounts row (band order 0).
grouped as (
    select *, nps_band as band from accounts
    union all
    select *, 'All accounts' as band from accounts
),

aggregated as (
    select
        grouped.period_end_month,
        grouped.band,
        count(*) as accounts,
        sum(grouped.answers) as answers,
        avg(grouped.account_nps) as mean_account_nps,
        sum(grouped.revenue_eur) as revenue_eur,
        avg(grouped.revenue_eur) as revenue_per_account_eur,
        stddev_samp(grouped.revenue_eur) as revenue_sd,
        var_samp(grouped.revenue_eur) as revenue_variance,
        sum(grouped.gross_margin_eur) as gross_margin_eur,
        avg(grouped.gross_margin_eur) as gross_margin_per_account_eur,
        var_samp(grouped.gross_margin_eur) as gross_margin_variance,
        covar_samp(grouped.gross_margin_eur, grouped.revenue_eur) as margin_revenue_covariance,
        sum(grouped.customer_profitability_eur) as customer_profitability_eur,
        avg(grouped.customer_profitability_eur) as profitability_per_account_eur,
        stddev_samp(grouped.customer_profitability_eur) as profitability_sd,
        var_samp(grouped.customer_profitability_eur) as profitability_variance,
        -- Growth over the accounts that bought in the twelve months before (new accounts have no growth rate).
        sum(case when grouped.has_prior_revenue then 1 else 0 end) as accounts_with_prior_revenue,
        avg(case when grouped.has_prior_revenue then grouped.revenue_eur end) as growth_revenue_mean,
        avg(case when grouped.has_prior_revenue then grouped.revenue_prior_eur end) as growth_prior_mean,
        var_samp(case when grouped.has_prior_revenue then grouped.revenue_eur end) as growth_revenue_variance,
        var_samp(case when grouped.has_prior_revenue then grouped.revenue_prior_eur end) as growth_prior_variance,
        covar_samp(
            case when grouped.has_prior_revenue then grouped.revenue_eur end,
            case when grouped.has_prior_revenue then grouped.revenue_prior_eur end
        ) as growth_covariance,
        corr(grouped.account_nps, grouped.log_revenue_growth) as nps_growth_correlation,
        count(grouped.log_revenue_growth) as accounts_in_correlation,
        sum(case when grouped.is_customer_at_period_end then 1 else 0 end) as customers_at_period_end,
        sum(case when grouped.is_customer_at_period_end then grouped.churned_next_12m else 0 end)
            as churned_next_12m
    from grouped
    group by 1, 2
),

-- Every band against the period's all-accounts row: its share of the gross margin, its profitability
-- against the average.
compared as (
    select
        aggregated.*,
        periods.period_start_month,
        periods.periods_back,
        periods.is_churn_final,
        aggregated.accounts >= {{ var('min_respondents') }} as is_shown,
        all_accounts.accounts as all_accounts,
        all_accounts.gross_margin_eur as all_gross_margin_eur,
        all_accounts.profitability_per_account_eur as all_profitability_per_account_eur,
        all_accounts.profitability_variance as all_profitability_variance,
        {{ safe_divide('aggregated.gross_margin_eur', 'all_accounts.gross_margin_eur') }} as gross_margin_share,
        {%- for bound in ['low', 'high'] %}
        {{ ratio_interval(band_margin_mean, all_margin_mean, share_variances[0], share_variances[1],
            share_variances[2], bound) }} as gross_margin_share_ci_{{ bound }},
        {%- endfor %}
        {{ correlation_interval('aggregated.nps_growth_correlation', 'aggregated.accounts_in_correlation', 'low') }}
            as correlation_ci_low,
        {{ correlation_interval('aggregated.nps_growth_correlation', 'aggregated.accounts_in_correlation', 'high') }}
            as correlation_ci_high,
        {{ safe_divide('aggregated.profitability_per_account_eur', 'all_accounts.profitability_per_account_eur') }}
            as profitability_vs_average,
        {{ ratio_interval(
            'aggregated.profitability_per_account_eur',
            'all_accounts.profitability_per_account_eur',
            'aggregated.profitability_variance / aggregated.accounts',
            'all_accounts.profitability_variance / all_accounts.accounts',
            'aggregated.profitability_variance / all_accounts.accounts',
            'low') }} as profitability_vs_average_ci_low,
        {{ ratio_interval(
            'aggregated.profitability_per_account_eur',
            'all_accounts.profitability_per_account_eur',
            'aggregated.profitability_variance / aggregated.accounts',
            'all_accounts.profitability_variance / all_accounts.accounts',
            'aggregated.profitability_variance / all_accounts.accounts',
            'high') }} as profitability_vs_average_ci_high
    from aggregated
    inner join periods on aggregated.period_end_month = periods.period_end_month
    inner join aggregated as all_accounts
        on aggregated.period_end_month = all_accounts.period_end_month
        and all_accounts.band = 'All accounts'
),

-- The field's claim, band by band: about twice the average above the top band's threshold, about half in
-- the second band. Reproduced when the 95% interval holds the claimed ratio and not 1 (the average).
judged as (
    select
        compared.*,
        case
            when compared.band = '{{ labels[3] }}' then 2.0
            when compared.band = '{{ labels[1] }}' then 0.5
        end as claimed_ratio
    from compared
),

verdicts as (
    select
        judged.*,
        case
            when judged.claimed_ratio is null then null
            when not judged.is_shown then 'too few accounts to tell'
            when judged.all_profitability_per_account_eur <= 0
                then 'not comparable: the average profitability is not positive'
            when judged.profitability_vs_average_ci_low <= judged.claimed_ratio
                and judged.profitability_vs_average_ci_high >= judged.claimed_ratio
                and (judged.profitability_vs_average_ci_low > 1 or judged.profitability_vs_average_ci_high < 1)
                then 'reproduced'
            when judged.profitability_vs_average_ci_low <= judged.claimed_ratio
                and judged.profitability_vs_average_ci_high >= judged.claimed_ratio
                then 'too uncertain to tell'
            when (judged.claimed_ratio > 1 and judged.profitability_vs_average_ci_low > 1)
                or (judged.claimed_ratio < 1 and judged.profitability_vs_average_ci_high < 1)
                then 'same direction, another size'
            when judged.profitability_vs_average_ci_low <= 1 and judged.profitability_vs_average_ci_high >= 1
                then 'not reproduced: no difference from the average'
            else 'refuted: the opposite direction'
        end as field_claim_verdict
    from judged
),

-- Each claimed band in words, for the period's sentence.
claim_words as (
    select
        period_end_month,
        band,
        field_claim_verdict,
        'accounts with NPS ' || band || ' earned '
        || case when is_shown and profitability_vs_average is not null
            then {{ one_decimal | replace('__X__', 'profitability_vs_average') }}
                || ' times the average customer profitability (95% interval '
                || {{ one_decimal | replace('__X__', 'profitability_vs_average_ci_low') }} || ' to '
                || {{ one_decimal | replace('__X__', 'profitability_vs_average_ci_high') }} || ', '
                || cast(accounts as {{ dbt.type_string() }}) || ' accounts; the field says about '
                || case when claimed_ratio > 1 then 'twice' else 'half' end || '): ' || field_claim_verdict
            else 'an unknown multiple of the average (' || cast(accounts as {{ dbt.type_string() }})
                || ' accounts): ' || field_claim_verdict
        end as words
    from verdicts
    where claimed_ratio is not null
)

select
    cast(
        'Twelve months to ' || cast(extract(year from verdicts.period_end_month) as {{ dbt.type_string() }}) || '-'
        || lpad(cast(extract(month from verdicts.period_end_month) as {{ dbt.type_string() }}), 2, '0')
        as {{ dbt.type_string() }}) as period,
    cast(verdicts.period_start_month as date) as period_start_month,
    cast(verdicts.period_end_month as date) as period_end_month,
    cast(verdicts.periods_back as integer) as periods_back,
    cast(verdicts.band as {{ dbt.type_string() }}) as nps_band,
    {{ nps_band_order('verdicts.band') }} as nps_band_order,
    cast(verdicts.accounts as integer) as accounts,
    cast(verdicts.answers as integer) as answers,
    cast(case when verdicts.is_shown then verdicts.mean_account_nps end as decimal(18, 6)) as mean_account_nps,
    {{ money('case when verdicts.is_shown then verdicts.revenue_eur end') }} as revenue_eur,
    {{ money('case when verdicts.is_shown then verdicts.revenue_per_account_eur end') }} as revenue_per_account_eur,
    {{ money('case when verdicts.is_shown then ' ~ mean_interval(
        'verdicts.revenue_per_account_eur', 'verdicts.revenue_sd', 'verdicts.accounts', 'low') ~ ' end') }}
        as revenue_per_account_ci_low_eur,
    {{ money('case when verdicts.is_shown then ' ~ mean_interval(
        'verdicts.revenue_per_account_eur', 'verdicts.revenue_sd', 'verdicts.accounts', 'high') ~ ' end') }}
        as revenue_per_account_ci_high_eur,
    {{ money('case when verdicts.is_shown then verdicts.gross_margin_eur end') }} as gross_margin_eur,
    cast(case when verdicts.is_shown then verdicts.gross_margin_share end as decimal(18, 6)) as share_of_gross_margin,
    {%- for bound in ['low', 'high'] %}
    cast(case when verdicts.is_shown then verdicts.gross_margin_share_ci_{{ bound }} end as decimal(18, 6))
        as share_of_gross_margin_ci_{{ bound }},
    {%- endfor %}
    cast(case when verdicts.is_shown
        then {{ safe_divide('verdicts.gross_margin_eur', 'verdicts.revenue_eur') }} end as decimal(18, 6))
        as gross_margin_pct,
    {%- for bound in ['low', 'high'] %}
    cast(case when verdicts.is_shown then {{ ratio_interval(
        'verdicts.gross_margin_per_account_eur', 'verdicts.revenue_per_account_eur',
        'verdicts.gross_margin_variance / verdicts.accounts', 'verdicts.revenue_variance / verdicts.accounts',
        'verdicts.margin_revenue_covariance / verdicts.accounts', bound) }} end as decimal(18, 6))
        as gross_margin_pct_ci_{{ bound }},
    {%- endfor %}
    {{ money('case when verdicts.is_shown then verdicts.customer_profitability_eur end') }}
        as customer_profitability_eur,
    {{ money('case when verdicts.is_shown then verdicts.profitability_per_account_eur end') }}
        as profitability_per_account_eur,
    {{ money('case when verdicts.is_shown then ' ~ mean_interval(
        'verdicts.profitability_per_account_eur', 'verdicts.profitability_sd', 'verdicts.accounts', 'low') ~ ' end') }}
        as profitability_per_account_ci_low_eur,
    {{ money('case when verdicts.is_shown then ' ~ mean_interval(
        'verdicts.profitability_per_account_eur', 'verdicts.profitability_sd', 'verdicts.accounts', 'high') ~ ' end') }}
        as profitability_per_account_ci_high_eur,
    cast(case when verdicts.is_shown then verdicts.profitability_vs_average end as decimal(18, 6))
        as profitability_vs_average,
    cast(case when verdicts.is_shown then verdicts.profitability_vs_average_ci_low end as decimal(18, 6))
        as profitability_vs_average_ci_low,
    cast(case when verdicts.is_shown then verdicts.profitability_vs_average_ci_high end as decimal(18, 6))
        as profitability_vs_average_ci_high,
    cast(verdicts.accounts_with_prior_revenue as integer) as accounts_with_prior_revenue,
    cast(case when verdicts.is_shown and verdicts.accounts_with_prior_revenue >= {{ var('min_respondents') }}
        then {{ safe_divide('verdicts.growth_revenue_mean', 'verdicts.growth_prior_mean') }} - 1 end
        as decimal(18, 6)) as revenue_growth_yoy,
    {%- for bound in ['low', 'high'] %}
    cast(case when verdicts.is_shown and verdicts.accounts_with_prior_revenue >= {{ var('min_respondents') }}
        then {{ ratio_interval(
            'verdicts.growth_revenue_mean', 'verdicts.growth_prior_mean',
            'verdicts.growth_revenue_variance / verdicts.accounts_with_prior_revenue',
            'verdicts.growth_prior_variance / verdicts.accounts_with_prior_revenue',
            'verdicts.growth_covariance / verdicts.accounts_with_prior_revenue', bound) }} - 1 end
        as decimal(18, 6)) as revenue_growth_yoy_ci_{{ bound }},
    {%- endfor %}
    cast(verdicts.customers_at_period_end as integer) as customers_at_period_end,
    cast(case when verdicts.is_churn_final then verdicts.churned_next_12m end as integer) as churned_next_12m,
    cast(case when verdicts.is_churn_final and verdicts.is_shown
        then {{ safe_divide('verdicts.churned_next_12m', 'verdicts.customers_at_period_end') }} end
        as decimal(18, 6)) as churn_rate_next_12m,
    {%- for bound in ['low', 'high'] %}
    cast(case when verdicts.is_churn_final and verdicts.is_shown
        then {{ wilson_interval('verdicts.churned_next_12m', 'verdicts.customers_at_period_end', bound) }} end
        as decimal(18, 6)) as churn_rate_next_12m_ci_{{ bound }},
    {%- endfor %}
    -- Across accounts, not within a band (a band's NPS range is too narrow to say anything).
    cast(case when verdicts.band = 'All accounts' then verdicts.accounts_in_correlation end as integer)
        as accounts_in_correlation,
    cast(case when verdicts.band = 'All accounts'
            and verdicts.accounts_in_correlation >= {{ var('min_respondents') }}
        then verdicts.nps_growth_correlation end as decimal(18, 6)) as nps_growth_correlation,
    {%- for bound in ['low', 'high'] %}
    cast(case when verdicts.band = 'All accounts'
            and verdicts.accounts_in_correlation >= {{ var('min_respondents') }}
        then verdicts.correlation_ci_{{ bound }} end as decimal(18, 6)) as nps_growth_correlation_ci_{{ bound }},
    {%- endfor %}
    cast(verdicts.field_claim_verdict as {{ dbt.type_string() }}) as field_claim_verdict,
    cast(case
        when verdicts.band = 'All accounts' then
            'Twelve months to ' || cast(extract(year from verdicts.period_end_month) as {{ dbt.type_string() }})
            || '-' || lpad(cast(extract(month from verdicts.period_end_month) as {{ dbt.type_string() }}), 2, '0')
            || ', ' || cast(verdicts.accounts as {{ dbt.type_string() }}) || ' accounts with an NPS: '
            || coalesce(top_band.words, 'no account had an NPS {{ labels[3] }}') || '; '
            || coalesce(second_band.words, 'no account had an NPS {{ labels[1] }}')
            || '.' || case when verdicts.accounts_in_correlation >= {{ var('min_respondents') }}
                    and verdicts.nps_growth_correlation is not null
                then ' Account NPS and revenue growth on the year before: correlation '
                    || {{ two_decimals | replace('__X__', 'verdicts.nps_growth_correlation') }}
                    || ' (95% interval '
                    || {{ two_decimals | replace('__X__', 'verdicts.correlation_ci_low') }}
                    || ' to '
                    || {{ two_decimals | replace('__X__', 'verdicts.correlation_ci_high') }}
                    || ', ' || cast(verdicts.accounts_in_correlation as {{ dbt.type_string() }}) || ' accounts).'
                else '' end
            || ' Associations across this company''s accounts, not effects of NPS.'
        when not verdicts.is_shown then
            'Too few accounts (' || cast(verdicts.accounts as {{ dbt.type_string() }}) || ') with NPS '
            || verdicts.band || ' to show figures.'
        else
            cast(verdicts.accounts as {{ dbt.type_string() }}) || ' accounts with NPS ' || verdicts.band
            || ' brought ' || {{ percent_text | replace('__X__', 'verdicts.gross_margin_share') }}
            || ' of the gross margin; customer profitability '
            || {{ one_decimal | replace('__X__', 'verdicts.profitability_vs_average') }} || ' times the average.'
    end as {{ dbt.type_string() }}) as results_statement,
    cast(period.as_of_date as date) as as_of_date
from verdicts
cross join period
left join claim_words as top_band
    on verdicts.period_end_month = top_band.period_end_month and top_band.band = '{{ labels[3] }}'
left join claim_words as second_band
    on verdicts.period_end_month = second_band.period_end_month and second_band.band = '{{ labels[1] }}'
