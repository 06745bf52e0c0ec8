{#- Spark: tables over Parquet files, for the tables Python writes and dbt's sources read (raw, ml, insight).
    `dbt run-operation register_parquet_tables --args '{tables: [{schema: raw, name: crm__accounts,
    path: /srv/raw/crm__accounts}]}'` (re)creates each as an external Parquet table in the metastore, over the
    files in its folder; the files stay where they are. Names are identifiers and paths absolute: anything
    else is refused, never pasted into SQL. -#}
{% macro register_parquet_tables(tables) %}
    {%- for table in tables -%}
        {%- for name in [table.schema, table.name] -%}
            {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]*', name) -%}
                {{ exceptions.raise_compiler_error("not an identifier: " ~ name) }}
            {%- endif -%}
        {%- endfor -%}
        {%- if not modules.re.fullmatch("/[^'\\\\]*", table.path) -%}
            {{ exceptions.raise_compiler_error("not an absolute path without quotes: " ~ table.path) }}
        {%- endif -%}
        {%- do run_query('create schema if not exists ' ~ table.schema) -%}
        {%- do run_query('drop table if exists ' ~ table.schema ~ '.' ~ table.name) -%}
        {%- do run_query('create table ' ~ table.schema ~ '.' ~ table.name ~ " using parquet location '"
            ~ table.path ~ "'") -%}
        {{ log('registered ' ~ table.schema ~ '.' ~ table.name, info=true) }}
    {%- endfor -%}
{% endmacro %}
