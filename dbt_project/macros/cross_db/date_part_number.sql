{#-
    A calendar number of a date as bigint: `part` is one of year, quarter, month, day,
    dayofyear, isodow (1 = Monday), isoyear, week (ISO week). DuckDB has a function per part
    (year(d), isodow(d)...); elsewhere extract(), whose result type varies (numeric on
    PostgreSQL), cast to bigint like DuckDB's.
-#}
{% macro date_part_number(part, date) -%}
    {{ return(adapter.dispatch('date_part_number', 'union_warehouse')(part, date)) }}
{%- endmacro %}

{#- extract() of the engine's field for `part` (`fields`), as bigint. -#}
{% macro extract_date_part(part, date, fields) -%}
    {%- if part not in fields -%}
        {{ exceptions.raise_compiler_error("date_part_number: unsupported part " ~ part) }}
    {%- endif -%}
    cast(extract({{ fields[part] }} from {{ date }}) as bigint)
{%- endmacro %}

{% macro default__date_part_number(part, date) -%}
    {{ extract_date_part(part, date, {
        'year': 'year', 'quarter': 'quarter', 'month': 'month', 'day': 'day',
        'dayofyear': 'doy', 'isodow': 'isodow', 'isoyear': 'isoyear', 'week': 'week',
    }) }}
{%- endmacro %}

{% macro duckdb__date_part_number(part, date) -%}
    {{ part }}({{ date }})
{%- endmacro %}

{% macro spark__date_part_number(part, date) -%}
    {{ extract_date_part(part, date, {
        'year': 'YEAR', 'quarter': 'QUARTER', 'month': 'MONTH', 'day': 'DAY',
        'dayofyear': 'DOY', 'isodow': 'DAYOFWEEK_ISO', 'isoyear': 'YEAROFWEEK', 'week': 'WEEK',
    }) }}
{%- endmacro %}
