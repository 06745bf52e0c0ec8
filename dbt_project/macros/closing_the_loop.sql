{#- Closing the loop (DESIGN.md, "Closed loop" and "NPS and results"): the follow-up rule and the account-NPS
    bands, one definition each (vars feedback_follow_up_days and nps_band_*). -#}

{#- Whether an answer is due a follow-up: a detractor (nps_class) or seriously considering another supplier
    (is_considering_alternatives). A missing considering-alternatives answer does not make one due. -#}
{% macro is_follow_up_due(nps_score, considering_alternatives) -%}
    (
        coalesce({{ nps_class(nps_score) }} = 'detractor', false)
        or coalesce({{ is_considering_alternatives(considering_alternatives) }}, false)
    )
{%- endmacro %}

{#- The date a follow-up is due: the answer's date plus the service level in days. -#}
{% macro follow_up_due_date(response_date) -%}
    {{ add_days(response_date, var('feedback_follow_up_days')) }}
{%- endmacro %}

{#- Whether a follow-up came within the service level: an activity on the answer's date or after it, on or
    before the due date (CRM dates carry no time, so an activity on the answer's day counts). -#}
{% macro is_within_follow_up_service_level(activity_date, response_date) -%}
    (
        {{ activity_date }} >= {{ response_date }}
        and {{ activity_date }} <= {{ follow_up_due_date(response_date) }}
    )
{%- endmacro %}

{#- Account-NPS bands: labels in order (pipeline/rules.py's nps_band_labels() writes the same for Python). -#}
{% macro nps_band_labels() -%}
    {%- set lower = var('nps_band_lower_min') -%}
    {%- set middle = var('nps_band_middle_min') -%}
    {%- set top = var('nps_band_top_above') -%}
    {{ return([
        'below ' ~ lower,
        lower ~ ' to ' ~ (middle - 1),
        middle ~ ' to ' ~ top,
        'above ' ~ top
    ]) }}
{%- endmacro %}

{#- The band of an account NPS (-100..100, not only whole numbers): below lower; lower up to (not including)
    middle; middle up to and including top; above top. Null stays null. -#}
{% macro nps_band(account_nps) -%}
    {%- set labels = nps_band_labels() -%}
    case
        when {{ account_nps }} is null then null
        when {{ account_nps }} < {{ var('nps_band_lower_min') }} then '{{ labels[0] }}'
        when {{ account_nps }} < {{ var('nps_band_middle_min') }} then '{{ labels[1] }}'
        when {{ account_nps }} <= {{ var('nps_band_top_above') }} then '{{ labels[2] }}'
        else '{{ labels[3] }}'
    end
{%- endmacro %}

{#- Sort order of a band for BI: 1 (lowest NPS) to 4 (highest); 0 for the all-accounts row. -#}
{% macro nps_band_order(band) -%}
    cast(case {{ band }}
        {%- for label in nps_band_labels() %}
        when '{{ label }}' then {{ loop.index }}
        {%- endfor %}
        else 0
    end as integer)
{%- endmacro %}
