{#- A size band as the size_band macro writes it from the vars (macros/business_rules.sql), or one of
    ``also`` (the "All" member of a segment dimension, say). Returns each other value with its row count. -#}
{% test is_size_band(model, column_name, also=[]) %}
{%- set accepted = size_band_labels() + also -%}

select {{ column_name }} as unexpected_size_band, count(*) as rows_with_it
from {{ model }}
where {{ column_name }} not in ({% for value in accepted %}'{{ value }}'{% if not loop.last %}, {% endif %}{% endfor %})
group by {{ column_name }}

{% endtest %}
