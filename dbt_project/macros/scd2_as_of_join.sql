{#-
    Left join of an SCD2 dimension's versions as of a point in time: the version of natural
    key `key` (the fact's column `fact_key`) with valid_from < `as_of` <= valid_to. Facts link
    their dimension keys this way ("the version in effect at the end of the day" = as_of is
    the date + 1 day); written once so every fact uses the same half-open interval and a key
    with no version (left join, no row) falls back to the unknown key in the caller's coalesce.
    `versions` is the relation or CTE of known versions; `alias` names it when one fact joins
    the same dimension twice (e.g. counterpart unions).
-#}
{% macro scd2_as_of_join(versions, key, fact_key, as_of, alias=none) -%}
    {%- set v = alias or versions -%}
    left join {{ versions }}{% if alias %} as {{ alias }}{% endif %}
        on
            {{ fact_key }} = {{ v }}.{{ key }}
            and {{ as_of }} > {{ v }}.valid_from
            and {{ as_of }} <= {{ v }}.valid_to
{%- endmacro %}
