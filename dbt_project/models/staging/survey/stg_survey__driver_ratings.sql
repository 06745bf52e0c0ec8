-- Driver ratings in long form: one row per response and driver. Any driver_<name> column the survey
-- tool exports is picked up, so adding a question to the survey needs no change here.
{%- set driver_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(source('survey', 'responses')) -%}
        {%- if column.name.lower().startswith('driver_') -%}
            {%- do driver_columns.append(column.name.lower()) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
with

-- Unread when the survey export has no driver_<name> column (ratings is then empty): noqa for that render.
responses as (  -- noqa: ST03
    {{ latest_row(source('survey', 'responses'), ['response_id']) }}
),

ratings as (
    {%- for column in driver_columns %}
    select
        response_id,
        '{{ column[7:] }}' as driver_name,
        {{ column }} as rating
    from responses
    where {{ column }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if driver_columns | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as response_id,
        cast(null as {{ dbt.type_string() }}) as driver_name,
        cast(null as {{ dbt.type_bigint() }}) as rating
    where 1 = 0
    {%- endif %}
)

select * from ratings
