{#-
    Use a folder's custom schema verbatim (marts, staging, ...) instead of dbt's default
    "<target schema>_<custom schema>", because analysts and BI query `marts.kpi_values`.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
