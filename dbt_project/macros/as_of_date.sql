{#-
    The day the build computes "as of" (ages, age bands): today, unless UNIONWH_AS_OF_DATE
    (yyyy-mm-dd) pins it. A pinned day makes a rebuild reproduce an earlier build exactly,
    whatever the clock says; a build that straddles midnight otherwise labels a member whose
    birthday it is differently from the build before it.
-#}
{% macro as_of_date() -%}
    {%- set pinned = env_var('UNIONWH_AS_OF_DATE', '') | trim -%}
    {%- if pinned == '' -%}
        current_date
    {%- elif modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', pinned) -%}
        cast('{{ pinned }}' as date)
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "UNIONWH_AS_OF_DATE must be a date as yyyy-mm-dd, not '" ~ pinned ~ "'"
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- When the build happened, as recorded in meta: now, or the pinned day's midnight. -#}
{% macro as_of_timestamp() -%}
    {%- if env_var('UNIONWH_AS_OF_DATE', '') | trim == '' -%}
        current_timestamp
    {%- else -%}
        cast({{ as_of_date() }} as timestamp)
    {%- endif -%}
{%- endmacro %}
