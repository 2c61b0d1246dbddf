{#-
    A date (or timestamp) as text in a strftime `format` (DuckDB's own). Only the codes the
    warehouse uses translate elsewhere: %Y %m %d (digits), %A %B (English day and month
    names). PostgreSQL: to_char with the matching template (FM drops the name padding).
-#}
{% macro format_date(date, format) -%}
    {{ return(adapter.dispatch('format_date', 'union_warehouse')(date, format)) }}
{%- endmacro %}

{#- `format` with each strftime code replaced by the engine's pattern for it (`codes`). -#}
{% macro format_date_template(format, codes) -%}
    {%- set template = namespace(text=format) -%}
    {%- for code, pattern in codes.items() -%}
        {%- set template.text = template.text.replace(code, pattern) -%}
    {%- endfor -%}
    {%- if '%' in template.text -%}
        {{ exceptions.raise_compiler_error("format_date: unsupported format " ~ format) }}
    {%- endif -%}
    {{ template.text }}
{%- endmacro %}

{% macro default__format_date(date, format) -%}
    {%- set codes = {'%Y': 'YYYY', '%m': 'MM', '%d': 'DD', '%A': 'FMDay', '%B': 'FMMonth'} -%}
    to_char({{ date }}, '{{ format_date_template(format, codes) }}')
{%- endmacro %}

{% macro duckdb__format_date(date, format) -%}
    strftime({{ date }}, '{{ format }}')
{%- endmacro %}

{#- Spark: date_format() with Java DateTimeFormatter patterns (English names). -#}
{% macro spark__format_date(date, format) -%}
    {%- set codes = {'%Y': 'yyyy', '%m': 'MM', '%d': 'dd', '%A': 'EEEE', '%B': 'MMMM'} -%}
    date_format({{ date }}, '{{ format_date_template(format, codes) }}')
{%- endmacro %}
