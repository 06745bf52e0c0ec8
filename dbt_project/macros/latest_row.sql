{#-
    The current version of each key in a raw table that keeps every drop: the row from the latest drop
    (extract date, then file name, then the later row within the file). Portable: no QUALIFY.
-#}
{% macro latest_row(relation, key_columns) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by _extract_date desc, _file desc, _row_number desc
            ) as _version_rank
        from {{ relation }}
    ) as versions
    where _version_rank = 1
{%- endmacro %}
