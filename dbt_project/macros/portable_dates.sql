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

{% macro months_between(start_month, end_month) -%}
    {{ dbt.datediff(start_month, end_month, 'month') }}
{%- endmacro %}

{% macro days_between(start_date, end_date) -%}
    {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}

{#- Division that gives null, not an error, for a zero denominator, and never integer division; double
    precision on every engine (dbt.type_float() is single precision on DuckDB). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0))
{%- endmacro %}

{#- Exponentially weighted mean of expression over an account's months up to the current one, with the
    given half-life in months: sum of x_k 2^(-(t-k)/h) over the sum of the weights of the months where x
    is known. Weighted by 2^(k/h) in running window sums (the common factor 2^(-t/h) cancels in the ratio),
    so it is plain window sums on every engine; month_number counts the account's months from 1 (2^(240/1)
    is still far inside double precision). -#}
{% macro decayed_mean(expression, half_life, month_number, partition_by, order_by) -%}
    (sum(cast({{ expression }} as double precision) * power(cast(2 as double precision), cast({{ month_number }} as double precision) / {{ half_life }})) over (
        partition by {{ partition_by }} order by {{ order_by }} rows between unbounded preceding and current row)
    / nullif(sum(case when {{ expression }} is not null then power(cast(2 as double precision), cast({{ month_number }} as double precision) / {{ half_life }}) end) over (
        partition by {{ partition_by }} order by {{ order_by }} rows between unbounded preceding and current row), 0))
{%- endmacro %}
