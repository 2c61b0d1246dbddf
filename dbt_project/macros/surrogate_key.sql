{#- A warehouse surrogate key: md5 of the natural key's parts, null-safe and separator-safe. -#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append('coalesce(cast(' ~ c ~ ' as ' ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- endfor -%}
    md5(concat_ws('|', {{ parts | join(', ') }}))
{%- endmacro %}

{#- The key of every dimension's "unknown" member, for facts whose key is not (yet) known. -#}
{% macro unknown_key() -%}
    '00000000000000000000000000000000'
{%- endmacro %}
