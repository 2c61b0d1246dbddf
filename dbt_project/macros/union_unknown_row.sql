{#-
    A dimension's rows plus its "unknown" row (README, "Keys": every dimension has one, key
    unknown_key(), for facts whose natural key is not (yet) known). Each dimension used to
    spell the unknown row out column by column, with a cast(null as <type>) per column that
    had to be kept in step with the known rows by hand. Here the unknown row has every column
    of `known` (names, order and types of `known`), null except those in `unknown_values`, a
    dict of column name → SQL expression (key, labels, is_unknown...). Renders a select (use
    it as a CTE body); `known` is the known rows' CTE.
    `columns` lists the columns of `known` in order, for engines without a union by name
    (PostgreSQL): there both selects name them, the unknown row's other columns are nulls
    typed by the known rows. DuckDB unions by name and needs no list; the PostgreSQL peer test
    checks that every mart has the same columns on both engines, so a list that misses a
    column fails there.
-#}
{% macro union_unknown_row(known, unknown_values, columns) -%}
    {%- for c in unknown_values -%}
        {%- if c not in columns -%}
            {{ exceptions.raise_compiler_error(
                "union_unknown_row: " ~ c ~ " is not in the columns of " ~ known) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(adapter.dispatch('union_unknown_row', 'union_warehouse')(
        known, unknown_values, columns)) }}
{%- endmacro %}

{% macro default__union_unknown_row(known, unknown_values, columns) -%}
    select {{ columns | join(', ') }} from {{ known }}
    union all
    select {% for c in columns %}{{ unknown_values.get(c, 'null') }} as {{ c }}{{ ', ' if not loop.last }}{% endfor %}
{%- endmacro %}

{% macro duckdb__union_unknown_row(known, unknown_values, columns) -%}
    select * from {{ known }}
    union all by name
    select {% for c, e in unknown_values.items() %}{{ e }} as {{ c }}{{ ', ' if not loop.last }}{% endfor %}
{%- endmacro %}
