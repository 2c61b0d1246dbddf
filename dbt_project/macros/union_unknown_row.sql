{#-
    A dimension's rows plus its "unknown" row (README, "Keys": every dimension has one, key
    unknown_key(), for facts whose natural key is not (yet) known). Each dimension used to
    spell the unknown row out column by column, with a cast(null as <type>) per column that
    had to be kept in step with the known rows by hand. Here the unknown row is unioned by
    name, so it has every column of `known` (names, order and types of `known`), null except
    those in `unknown_values`, a dict of column name → SQL expression (key, labels,
    is_unknown...). Renders a select (use it as a CTE body); `known` is the known rows' CTE.
-#}
{% macro union_unknown_row(known, unknown_values) -%}
    select * from {{ known }}
    union all by name
    select {% for c, e in unknown_values.items() %}{{ e }} as {{ c }}{{ ', ' if not loop.last }}{% endfor %}
{%- endmacro %}
