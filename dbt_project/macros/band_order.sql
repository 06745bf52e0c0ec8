{#- Sort order of a band for BI (Power BI's sortByColumn): business order, not alphabetical. -#}

{#- Size band: the order of size_band_labels() (Small, Medium, Large, Unknown last); 'All' (dim_segment's
    all-segments member) first. The labels and their thresholds stay in business_rules.sql. -#}
{% macro size_band_order(band) -%}
    cast(case {{ band }}
        when 'All' then 0
        {%- for label in size_band_labels() %}
        when '{{ label }}' then {{ loop.index }}
        {%- endfor %}
    end as integer)
{%- endmacro %}

{#- Risk band: its first (most at risk) decile over the table, so high sorts before elevated, moderate and
    low without restating which deciles make a band (that rule is the vars risk_band_*, applied in scoring). -#}
{% macro risk_band_order(band, decile) -%}
    cast(min({{ decile }}) over (partition by {{ band }}) as integer)
{%- endmacro %}
