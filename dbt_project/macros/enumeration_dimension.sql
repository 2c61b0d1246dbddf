{#-
    A small dimension over one domain of the enumerations seed: one row per code with its
    zh/en labels and surrogate key, plus the "unknown" row (key unknown_key(), null code,
    labels 未知 / Unknown) that facts link a missing or not (yet) listed code to (README,
    "Keys"). Several marts dims were the same copy-pasted select with other names; this keeps
    their shape identical. Renders a select (use it as a CTE body) with columns `key`,
    `column`, `column`_label_zh, `column`_label_en and, with `is_unknown_flag`, is_unknown.
    `enumerations` names the model's import CTE of ref('enumerations').
-#}
{% macro enumeration_dimension(
    domain,
    key,
    column,
    is_unknown_flag=false,
    enumerations='enumerations'
) -%}
    select
        {{ surrogate_key(['code']) }} as {{ key }},
        code as {{ column }},
        label_zh as {{ column }}_label_zh,
        label_en as {{ column }}_label_en{{ ', false as is_unknown' if is_unknown_flag }}
    from {{ enumerations }}
    where domain = '{{ domain }}'
    union all
    select
        {{ unknown_key() }} as {{ key }},
        cast(null as {{ dbt.type_string() }}) as {{ column }},
        '未知' as {{ column }}_label_zh,
        'Unknown' as {{ column }}_label_en{{ ', true as is_unknown' if is_unknown_flag }}
{%- endmacro %}
