{#- Business rules used in more than one model: one definition each. -#}

{#- Company size band from the CRM's employee count. -#}
{% macro size_band(employees) -%}
    case
        when {{ employees }} is null then 'Unknown'
        when {{ employees }} < 50 then 'Small (<50)'
        when {{ employees }} < 250 then 'Medium (50-249)'
        else 'Large (250+)'
    end
{%- endmacro %}

{#- A respondent's NPS score mapped to its contribution to NPS: +100 promoter, 0 passive, -100 detractor. -#}
{% macro nps_points(score) -%}
    case when {{ score }} >= 9 then 100.0 when {{ score }} >= 7 then 0.0 else -100.0 end
{%- endmacro %}

{#- Integer date key yyyymmdd, -1 for an unknown date. -#}
{% macro date_key(date_expression) -%}
    coalesce(
        cast(extract(year from {{ date_expression }}) as integer) * 10000
        + cast(extract(month from {{ date_expression }}) as integer) * 100
        + cast(extract(day from {{ date_expression }}) as integer),
        -1
    )
{%- endmacro %}

{#- Money as BI expects it: DECIMAL(18,2). -#}
{% macro money(expression) -%}
    cast({{ expression }} as decimal(18, 2))
{%- endmacro %}
