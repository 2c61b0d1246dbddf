{#-
    The day the build computes "as of" (ages, age bands): today, unless UNIONWH_AS_OF_DATE
    (yyyy-mm-dd) pins it. A pinned day makes a rebuild reproduce an earlier build exactly,
    whatever the clock says; a build that straddles midnight otherwise labels a member whose
    birthday it is differently from the build before it.
-#}
{% macro as_of_date() -%}
    {%- set pinned = pinned_as_of() -%}
    {{ "cast('" ~ pinned ~ "' as date)" if pinned else 'current_date' }}
{%- endmacro %}

{#- When the build happened, as recorded in meta: now, or the pinned day's midnight. -#}
{% macro as_of_timestamp() -%}
    {{ 'cast(' ~ as_of_date() ~ ' as timestamp)' if pinned_as_of() else 'current_timestamp' }}
{%- endmacro %}

{#- UNIONWH_AS_OF_DATE, checked ('yyyy-mm-dd'), or '' when the build runs as of today. -#}
{% macro pinned_as_of() -%}
    {%- set pinned = env_var('UNIONWH_AS_OF_DATE', '') | trim -%}
    {%- if pinned and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', pinned) -%}
        {{ exceptions.raise_compiler_error(
            "UNIONWH_AS_OF_DATE must be a date as yyyy-mm-dd, not '" ~ pinned ~ "'"
        ) }}
    {%- endif -%}
    {{ return(pinned) }}
{%- endmacro %}
