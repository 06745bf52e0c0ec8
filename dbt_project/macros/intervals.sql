{#- 95% intervals of the figures the marts publish, one definition each, in portable SQL (sqrt, ln, exp, casts
    and arithmetic only; DuckDB and PostgreSQL alike; the models call nothing else, so an engine with other
    types, e.g. Spark, changes these macros only). Every bound is null where the figure has no interval (no
    observations, a zero denominator). -#}

{#- The normal quantile of a two-sided 95% interval. -#}
{% macro interval_z() -%}
    1.96
{%- endmacro %}

{#- Wilson score interval of a proportion: successes out of trials, bound 'low' or 'high'.
    (p + z^2/2n -/+ z sqrt(p(1 - p)/n + z^2/4n^2)) / (1 + z^2/n). Unlike p -/+ z sqrt(p(1-p)/n) it stays inside
    0..1 and does not collapse to a point at 0 of n or n of n. -#}
{% macro wilson_interval(successes, trials, bound) -%}
    {%- set z = interval_z() -%}
    {%- set n = 'nullif(cast(' ~ trials ~ ' as ' ~ type_double() ~ '), 0)' -%}
    {%- set p = '(cast(' ~ successes ~ ' as ' ~ type_double() ~ ') / ' ~ n ~ ')' -%}
    (
        ({{ p }} + {{ z }} * {{ z }} / (2 * {{ n }})
            {{ '-' if bound == 'low' else '+' }} {{ z }} * sqrt(
                {{ p }} * (1 - {{ p }}) / {{ n }} + {{ z }} * {{ z }} / (4 * {{ n }} * {{ n }})
            ))
        / (1 + {{ z }} * {{ z }} / {{ n }})
    )
{%- endmacro %}

{#- Normal interval of a mean: mean -/+ z * standard deviation / sqrt(n); null below two observations. -#}
{% macro mean_interval(mean, standard_deviation, observations, bound) -%}
    (case when {{ observations }} >= 2 then
        cast({{ mean }} as {{ type_double() }})
        {{ '-' if bound == 'low' else '+' }} {{ interval_z() }} * cast({{ standard_deviation }} as {{ type_double() }})
            / sqrt(cast({{ observations }} as {{ type_double() }}))
    end)
{%- endmacro %}

{#- Delta-method interval of a ratio R = A / B of two estimates with variances var_a and var_b and covariance
    cov_ab: var(R) ~ (var_a - 2 R cov_ab + R^2 var_b) / B^2. For a ratio of two sums over the same accounts
    (revenue growth, gross margin share) A and B are the means, var_a = s_a^2 / n, var_b = s_b^2 / n and
    cov_ab = s_ab / n (the ratio estimator); for a group's mean against the mean of all, A = the group's
    mean, B = all's, and cov_ab = var_a * n_group / n_all (the group is part of all). -#}
{% macro ratio_interval(numerator, denominator, numerator_variance, denominator_variance, covariance, bound) -%}
    {%- set a = 'cast(' ~ numerator ~ ' as ' ~ type_double() ~ ')' -%}
    {%- set b = 'nullif(cast(' ~ denominator ~ ' as ' ~ type_double() ~ '), 0)' -%}
    {%- set r = '(' ~ a ~ ' / ' ~ b ~ ')' -%}
    (
        {{ r }} {{ '-' if bound == 'low' else '+' }} {{ interval_z() }} * sqrt(greatest(
            cast({{ numerator_variance }} as {{ type_double() }})
            - 2 * {{ r }} * cast({{ covariance }} as {{ type_double() }})
            + {{ r }} * {{ r }} * cast({{ denominator_variance }} as {{ type_double() }}),
            0
        )) / abs({{ b }})
    )
{%- endmacro %}

{#- Fisher interval of a correlation r over n observations: tanh(atanh(r) -/+ z / sqrt(n - 3)), written with
    ln and exp (atanh and tanh are missing on some engines); null below four observations or at |r| = 1. -#}
{% macro correlation_interval(correlation, observations, bound) -%}
    {%- set r = 'cast(' ~ correlation ~ ' as ' ~ type_double() ~ ')' -%}
    {%- set fisher = '(0.5 * ln((1 + ' ~ r ~ ') / (1 - ' ~ r ~ ')) ' ~ ('-' if bound == 'low' else '+')
        ~ ' ' ~ interval_z() ~ ' / sqrt(cast(' ~ observations ~ ' as ' ~ type_double() ~ ') - 3))' -%}
    (case when {{ observations }} > 3 and abs({{ r }}) < 1 then
        (exp(2 * {{ fisher }}) - 1) / (exp(2 * {{ fisher }}) + 1)
    end)
{%- endmacro %}
