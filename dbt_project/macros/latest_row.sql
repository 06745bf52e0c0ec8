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

{#-
    Incremental event staging, exactly equal to latest_row over all of raw. On an incremental run the model
    reads only the drops (files) it holds no row of (``unseen_drops``), takes the current version of each
    key among them (latest_row), and keeps a version only where it is newer than the one the table holds
    (``newer_than_held``), in latest_row's order; delete+insert on the key then replaces the held version.
    A correction re-sent under an old key therefore replaces its row, and a late file with an older extract
    date loses to the version held, as a full rebuild decides. A drop whose every row was superseded is read
    again on each run and loses again: correct, and rare.
-#}
{% macro unseen_drops() -%}
    _file not in (select held._file from {{ this }} as held)
{%- endmacro %}

{% macro newer_than_held(relation, key_columns) -%}
    select candidate.*
    from {{ relation }} as candidate
    left join {{ this }} as held
        on {% for key in key_columns %}held.{{ key }} = candidate.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
    where held.{{ key_columns[0] }} is null
        or candidate._extract_date > held._extract_date
        or (candidate._extract_date = held._extract_date and candidate._file > held._file)
        or (
            candidate._extract_date = held._extract_date
            and candidate._file = held._file
            and candidate._row_number > held._row_number
        )
{%- endmacro %}
