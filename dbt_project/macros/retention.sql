{#- Retention contacts against a holdout (DESIGN.md, "Retention effect"; docs/decisions.md). The split is
    a seeded hash, so the same data and seed give the same split on every engine and in Python
    (pipeline/insight/retention.py, tested equal): u = the first 8 hex digits of
    md5('<account_id>|<YYYY-MM-DD>|<retention_split_seed>') read as an unsigned 32-bit number / 2^32, uniform
    in [0, 1). md5 is in DuckDB and PostgreSQL alike; reading hex and formatting a date are not, so those
    are dispatched (DuckDB, PostgreSQL as the default, Spark). -#}

{% macro retention_split_key(account_id, cohort_month) -%}
    (cast({{ account_id }} as {{ dbt.type_string() }}) || '|' || {{ iso_date_string(cohort_month) }}
        || '|' || '{{ var("retention_split_seed") }}')
{%- endmacro %}

{% macro retention_split_uniform(account_id, cohort_month) -%}
    (cast({{ hex8_to_bigint('substr(md5(' ~ retention_split_key(account_id, cohort_month) ~ '), 1, 8)') }}
        as {{ type_double() }}) / 4294967296.0)
{%- endmacro %}

{#- The holdout: the split's number below retention_holdout_share. -#}
{% macro is_retention_holdout(account_id, cohort_month) -%}
    ({{ retention_split_uniform(account_id, cohort_month) }} < {{ var('retention_holdout_share') }})
{%- endmacro %}

{#- A retention contact: a CRM activity marked campaign 'retention' (staging lower-cases and trims). -#}
{% macro is_retention_contact(campaign) -%}
    (coalesce({{ campaign }}, '') = 'retention')
{%- endmacro %}

{#- Eight hex digits as an unsigned number. -#}
{% macro hex8_to_bigint(hex_text) -%}
    {{ return(adapter.dispatch('hex8_to_bigint')(hex_text)) }}
{%- endmacro %}

{% macro default__hex8_to_bigint(hex_text) -%}
    cast(cast('x' || lpad({{ hex_text }}, 16, '0') as bit(64)) as bigint)
{%- endmacro %}

{% macro duckdb__hex8_to_bigint(hex_text) -%}
    cast('0x' || {{ hex_text }} as bigint)
{%- endmacro %}

{% macro spark__hex8_to_bigint(hex_text) -%}
    cast(conv({{ hex_text }}, 16, 10) as bigint)
{%- endmacro %}

{#- A date as YYYY-MM-DD whatever the session's date style. -#}
{% macro iso_date_string(date_expression) -%}
    {{ return(adapter.dispatch('iso_date_string')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_date_string(date_expression) -%}
    to_char(cast({{ date_expression }} as date), 'YYYY-MM-DD')
{%- endmacro %}

{% macro duckdb__iso_date_string(date_expression) -%}
    strftime(cast({{ date_expression }} as date), '%Y-%m-%d')
{%- endmacro %}

{% macro spark__iso_date_string(date_expression) -%}
    date_format(cast({{ date_expression }} as date), 'yyyy-MM-dd')
{%- endmacro %}

{#- Katz log interval of a risk ratio (a of n1) / (c of n0): ln RR -/+ 1.96 sqrt(1/a - 1/n1 + 1/c - 1/n0); its
    standard error on the log scale, null without a churner on both sides. -#}
{% macro risk_ratio_log_se(a, n1, c, n0) -%}
    (case when {{ a }} > 0 and {{ c }} > 0 and {{ n1 }} > 0 and {{ n0 }} > 0 then sqrt(
        1.0 / {{ a }} - 1.0 / {{ n1 }} + 1.0 / {{ c }} - 1.0 / {{ n0 }}
    ) end)
{%- endmacro %}

{% macro risk_ratio(a, n1, c, n0) -%}
    (case when {{ c }} > 0 and {{ n1 }} > 0 and {{ n0 }} > 0 then
        (cast({{ a }} as {{ type_double() }}) / {{ n1 }}) / (cast({{ c }} as {{ type_double() }}) / {{ n0 }})
    end)
{%- endmacro %}

{#- The relative reduction 1 - RR and its 95% bounds ('low' = 1 - the ratio's upper bound). -#}
{% macro relative_reduction(a, n1, c, n0, bound=none) -%}
    {%- if bound is none -%}
    (1 - {{ risk_ratio(a, n1, c, n0) }})
    {%- else -%}
    (1 - {{ risk_ratio(a, n1, c, n0) }} * exp(
        {{ '' if bound == 'low' else '-' }}{{ interval_z() }} * {{ risk_ratio_log_se(a, n1, c, n0) }}))
    {%- endif -%}
{%- endmacro %}

{#- The counts mart_retention_effect needs, over the rows of int_retention_assignment in a group. -#}
{% macro retention_counts() -%}
    count(*) as accounts_selected,
    sum(case when retention_group = 'contact' then 1 else 0 end) as accounts_contact_group,
    sum(case when retention_group = 'holdout' then 1 else 0 end) as accounts_holdout,
    sum(case when retention_group = 'contact' and is_contacted then 1 else 0 end) as accounts_contacted,
    sum(case when retention_group = 'contact' and is_contacted then 1 else 0 end) as contact_group_contacted,
    sum(case when retention_group = 'holdout' and is_contacted then 1 else 0 end) as holdout_contacted,
    sum(case when retention_group = 'contact' then churned_within_horizon else 0 end) as churned_contact_group,
    sum(case when retention_group = 'holdout' then churned_within_horizon else 0 end) as churned_holdout,
    sum(case when retention_group = 'contact' and is_contacted then churned_within_horizon else 0 end)
        as churned_contacted,
    sum(case when retention_group = 'contact' then coalesce(revenue_12m_eur, 0) else 0 end)
        as revenue_12m_contact_group_eur
{%- endmacro %}

{#- A fraction as a whole percentage, e.g. '25%' (null stays null). -#}
{% macro retention_percent(fraction) -%}
    (cast(cast(round(cast(100 * ({{ fraction }}) as decimal(18, 3)), 0) as integer) as {{ dbt.type_string() }}) || '%')
{%- endmacro %}
