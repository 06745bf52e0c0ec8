{#- The columns together identify a row. -#}
{% test unique_combination(model, combination_of_columns) %}

select {{ combination_of_columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
