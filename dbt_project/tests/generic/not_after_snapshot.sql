{#- Point-in-time rule: a date a feature was computed from lies on or before the last day of the
    row's snapshot month. Any row returned is a feature that saw the future. -#}
{% test not_after_snapshot(model, column_name, snapshot_column='snapshot_month') %}

select {{ snapshot_column }}, {{ column_name }} as date_after_snapshot
from {{ model }}
where {{ column_name }} > {{ month_end(snapshot_column) }}

{% endtest %}
