{#- What differs between the engines the same models run on: DuckDB (the default), PostgreSQL and Apache
    Spark (issue 23; docs/decisions.md, "Spark"). Each difference is one dispatched macro here; the models
    call the macro, never test the target themselves. dbt-databricks dispatches to the spark__ versions.
    Elsewhere: exact decimals carry their precision (bare numeric is decimal(18,3) on DuckDB, unbounded on
    PostgreSQL, decimal(10,0) on Spark): the models write decimal(18, 3), DuckDB's meaning; months_between
    (portable_dates.sql) and the retention split's hex and date text (retention.sql) have spark__ versions. -#}

{#- A double-precision float: `double precision` on DuckDB and PostgreSQL, `double` on Spark (dbt.type_float()
    is single precision on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    {{ return('double precision') }}
{%- endmacro %}

{% macro spark__type_double() -%}
    {{ return('double') }}
{%- endmacro %}

{#- The contracts' `text` columns: Spark has no type of that name; its string type is `string`. dbt renders
    a contract's types through dbt.cast (get_empty_schema_sql), so the yml keeps `text` (what the manifest,
    pandera, Great Expectations and Power BI read) and Spark reads it as `string`. -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ 'string' if type | trim | lower == 'text' else type }})
{%- endmacro %}

{#- Monthly incremental models (fct_account_month, feat_account_snapshot; macros/partition_months.sql): a run
    replaces the months it builds. DuckDB and PostgreSQL delete the months' rows and insert them again
    (delete+insert keyed on the month); Spark's Parquet tables have no delete: the table is partitioned by the
    month and a run overwrites the partitions it builds (insert_overwrite, dynamic partition overwrite). -#}
{% macro monthly_incremental_strategy() -%}
    {{ return(adapter.dispatch('monthly_incremental_strategy')()) }}
{%- endmacro %}

{% macro default__monthly_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__monthly_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro monthly_partition_by(column) -%}
    {{ return(adapter.dispatch('monthly_partition_by')(column)) }}
{%- endmacro %}

{% macro default__monthly_partition_by(column) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__monthly_partition_by(column) -%}
    {{ return([column]) }}
{%- endmacro %}

{#- Models kept current by key (the event staging tables, fct_invoice_lines): incremental delete+insert on
    the key where the engine can delete rows; on Spark's Parquet tables (no MERGE without Delta or Iceberg) a
    full rebuild each run, the same rows (is_incremental() is false for a table). -#}
{% macro keyed_incremental_materialization() -%}
    {{ return(adapter.dispatch('keyed_incremental_materialization')()) }}
{%- endmacro %}

{% macro default__keyed_incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__keyed_incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
