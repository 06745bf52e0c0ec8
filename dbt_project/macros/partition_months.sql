{#
    The monthly models (fct_account_month, feat_account_snapshot) are incremental by month: a Dagster run
    for a range of monthly partitions passes vars partition_month_start (first day of the first month) and
    partition_month_end (first day of the month after the last), and only those months are rebuilt
    (delete+insert keyed on the month). A var left out is open: a run from the first partition passes no
    start, so months of data older than the partitions are rebuilt too (never skipped), and a run to the
    newest partition passes no end. Without either var, or on a first build, every month is built.
    The vars come from configuration: anything but an ISO date is refused, never pasted into SQL.
#}
{% macro within_partition_months(column) -%}
    {%- set start = var('partition_month_start', none) -%}
    {%- set end = var('partition_month_end', none) -%}
    {%- for value in [start, end] -%}
        {%- if value is not none and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-01', value | string) -%}
            {{ exceptions.raise_compiler_error(
                "partition_month_start and partition_month_end must be first days of months "
                ~ "(YYYY-MM-01); got " ~ start ~ " and " ~ end) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if is_incremental() and (start is not none or end is not none) -%}
        ({% if start is not none %}{{ column }} >= cast('{{ start }}' as date){% else %}1 = 1{% endif %}
         and {% if end is not none %}{{ column }} < cast('{{ end }}' as date){% else %}1 = 1{% endif %})
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}
