{#- Date helpers that give a DATE (not a timestamp) on DuckDB and PostgreSQL alike. -#}

{% macro month_start(date_expression) -%}
    cast({{ dbt.date_trunc('month', date_expression) }} as date)
{%- endmacro %}

{% macro add_months(date_expression, months) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{% macro add_days(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{% macro month_end(date_expression) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, dbt.date_trunc('month', date_expression))) }} as date)
{%- endmacro %}

{#- Calendar months from one date's month to another's (PostgreSQL's and DuckDB's datediff by month).
    dbt-spark's datediff by month rests on Spark's months_between, which counts one more when both dates are
    month ends (2023-01-31 to 2026-02-28: 38, not 37): on Spark, year and month arithmetic. -#}
{% macro months_between(start_month, end_month) -%}
    {{ return(adapter.dispatch('months_between')(start_month, end_month)) }}
{%- endmacro %}

{% macro default__months_between(start_month, end_month) -%}
    {{ dbt.datediff(start_month, end_month, 'month') }}
{%- endmacro %}

{% macro spark__months_between(start_month, end_month) -%}
    ((year({{ end_month }}) * 12 + month({{ end_month }})) - (year({{ start_month }}) * 12 + month({{ start_month }})))
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- Division that gives null, not an error, for a zero denominator, and never integer division; double
    precision on every engine (dbt.type_float() is single precision on DuckDB). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}
