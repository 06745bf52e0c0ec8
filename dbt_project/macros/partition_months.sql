{#
    The monthly models (fct_account_month, feat_account_snapshot) are incremental by month: a Dagster run
    for a range of monthly partitions passes vars partition_month_start (first day of the first month) and
    partition_month_end (first day of the month after the last), and only those months are rebuilt
    (delete+insert keyed on the month). Without the vars, or on a first build, every month is built.
    The vars come from configuration: anything but an ISO date is refused, never pasted into SQL.
#}
{% macro within_partition_months(column) -%}
    {%- set start = var('partition_month_start', none) -%}
    {%- set end = var('partition_month_end', none) -%}
    {%- if start is not none or end is not none -%}
        {%- for value in [start, end] -%}
            {%- if value is none or not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-01', value | string) -%}
                {{ exceptions.raise_compiler_error(
                    "partition_month_start and partition_month_end must both be first days of months "
                    ~ "(YYYY-MM-01); got " ~ start ~ " and " ~ end) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if is_incremental() and start is not none -%}
        ({{ column }} >= cast('{{ start }}' as date) and {{ column }} < cast('{{ end }}' as date))
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}
