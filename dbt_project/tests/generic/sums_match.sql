{#- The column's total equals another relation's total, to the cent. -#}
{% test sums_match(model, column_name, to, field, tolerance=0.005) %}

with

this_total as (
    select coalesce(sum({{ column_name }}), 0) as total from {{ model }}
),

other_total as (
    select coalesce(sum({{ field }}), 0) as total from {{ to }}
)

select this_total.total as this_total, other_total.total as other_total
from this_total
cross join other_total
where abs(this_total.total - other_total.total) > {{ tolerance }}

{% endtest %}
