{#-
    The age band of an age in completed years (`age_years`, an integer expression): '<25',
    '25-34', '35-44', '45-54', '55-64', '65+'; null for a null age. Written once so every
    model that bands ages (members' SCD2 versions, and any later one) cuts the bands the same
    way; the accepted_values tests of age_band list the same labels. Plain SQL, the same on
    every engine.
-#}
{% macro age_band(age_years) -%}
    case
        when {{ age_years }} < 25 then '<25'
        when {{ age_years }} < 35 then '25-34'
        when {{ age_years }} < 45 then '35-44'
        when {{ age_years }} < 55 then '45-54'
        when {{ age_years }} < 65 then '55-64'
        when {{ age_years }} >= 65 then '65+'
    end
{%- endmacro %}
