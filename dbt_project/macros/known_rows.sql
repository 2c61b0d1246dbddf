{#-
    The import of a dimension's known rows: every row of `dimension` (a model name) but its
    "unknown" row (README, "Keys"). Facts link their natural keys to these rows (by
    scd2_as_of_join for an SCD2 dimension, by a plain left join otherwise) and coalesce a key
    with no match to unknown_key(); joining the unknown row itself would match nothing or, for
    a null natural key, the wrong row. Written once so every fact imports its dimensions the
    same way. Renders a select (use it as an import CTE body).
-#}
{% macro known_rows(dimension) -%}
    select * from {{ ref(dimension) }}
    where not is_unknown
{%- endmacro %}
