{#- Business rules used in more than one model: one definition each. -#}

{#- Company size band from the CRM's employee count. -#}
{#- The bands' labels follow the vars (pipeline/rules.py writes the same labels for Python). -#}
{% macro size_band_labels() -%}
    {%- set medium = var('size_band_medium_min_employees') -%}
    {%- set large = var('size_band_large_min_employees') -%}
    {{ return([
        'Small (<' ~ medium ~ ')',
        'Medium (' ~ medium ~ '-' ~ (large - 1) ~ ')',
        'Large (' ~ large ~ '+)',
        'Unknown'
    ]) }}
{%- endmacro %}

{% macro size_band(employees) -%}
    {%- set labels = size_band_labels() -%}
    case
        when {{ employees }} is null then '{{ labels[3] }}'
        when {{ employees }} < {{ var('size_band_medium_min_employees') }} then '{{ labels[0] }}'
        when {{ employees }} < {{ var('size_band_large_min_employees') }} then '{{ labels[1] }}'
        else '{{ labels[2] }}'
    end
{%- endmacro %}

{#- A respondent's NPS class from the 0-10 score: promoter, passive or detractor (null stays null). -#}
{% macro nps_class(score) -%}
    case
        when {{ score }} >= {{ var('nps_promoter_min_score') }} then 'promoter'
        when {{ score }} >= {{ var('nps_passive_min_score') }} then 'passive'
        when {{ score }} is not null then 'detractor'
    end
{%- endmacro %}

{#- A respondent's NPS score mapped to its contribution to NPS: +100 promoter, 0 passive, -100 detractor. -#}
{% macro nps_points(score) -%}
    case
        when {{ score }} >= {{ var('nps_promoter_min_score') }} then 100.0
        when {{ score }} >= {{ var('nps_passive_min_score') }} then 0.0
        else -100.0
    end
{%- endmacro %}

{#- Whether a 0-10 answer on "considering another supplier" counts as considering it. -#}
{% macro is_considering_alternatives(answer) -%}
    {{ answer }} >= {{ var('considering_alternatives_threshold') }}
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
