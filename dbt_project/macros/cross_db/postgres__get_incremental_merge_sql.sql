{#-
    The merge of an incremental model with `merge_clauses` (dbt-duckdb's config, used by
    fct_service_deliveries: delete the matched rows a batch withdraws, update the others,
    insert the new ones) on PostgreSQL, whose adapter only knows the plain upsert merge.
    Overrides dbt's dispatch of get_incremental_merge_sql for postgres; a model without
    merge_clauses gets dbt's default merge. PostgreSQL 15's MERGE has the clauses needed:
    when_matched with a condition and action update (mode explicit: every column of the
    target, or update.include / exclude / set_expressions) or delete or do_nothing;
    when_not_matched with a condition and action insert (mode explicit with insert.columns
    and insert.values, or by_name: every column of the target) or do_nothing. Other clauses
    (by source, update by position, error) fail to compile.
-#}
{% macro postgres__get_incremental_merge_sql(arg_dict) -%}
    {%- set merge_clauses = config.get('merge_clauses') -%}
    {%- if not merge_clauses -%}
        {{ return(dbt.default__get_incremental_merge_sql(arg_dict)) }}
    {%- endif -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set dest_columns = arg_dict['dest_columns'] -%}
    {%- set predicates = [] + (arg_dict.get('incremental_predicates') or []) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- for key in keys -%}
        {%- do predicates.append(
            'dbt_internal_source.' ~ key ~ ' = dbt_internal_dest.' ~ key) -%}
    {%- endfor -%}
    {%- set all_columns = dest_columns | map(attribute='quoted') | list -%}

    merge into {{ target }} as dbt_internal_dest
    using {{ source }} as dbt_internal_source
    on ({{ predicates | join(') and (') if predicates else 'false' }})

    {%- for clause in merge_clauses.get('when_matched', []) %}
    when matched{{ _merge_clause_condition(clause) }} then
        {%- if clause.get('action') == 'update' and clause.get('mode', 'explicit') in ('explicit', 'by_name', 'star') %}
        {%- set update = clause.get('update', {}) -%}
        {%- set set_expressions = update.get('set_expressions', {}) -%}
        {%- set update_columns = get_merge_update_columns(
            update.get('include', []), update.get('exclude', []), dest_columns) %}
        update set
        {%- for column, expression in set_expressions.items() %}
            {{ column }} = {{ expression }}{{ ',' if not loop.last or update_columns }}
        {%- endfor %}
        {%- for column in update_columns if column.replace('"', '') not in set_expressions %}
            {{ column }} = dbt_internal_source.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
        {%- elif clause.get('action') == 'delete' %}
        delete
        {%- elif clause.get('action') == 'do_nothing' %}
        do nothing
        {%- else %}
        {{ exceptions.raise_compiler_error(
            'merge_clauses on postgres: unsupported when_matched clause ' ~ clause) }}
        {%- endif %}
    {%- endfor %}

    {%- for clause in merge_clauses.get('when_not_matched', []) %}
    {%- if clause.get('by') and clause.get('by') | lower != 'target' %}
        {{ exceptions.raise_compiler_error(
            'merge_clauses on postgres: unsupported when_not_matched clause ' ~ clause) }}
    {%- endif %}
    when not matched{{ _merge_clause_condition(clause) }} then
        {%- if clause.get('action') == 'insert' and clause.get('mode') == 'explicit' %}
        {%- set insert = clause.get('insert', {}) %}
        insert ({{ insert.get('columns') | join(', ') }})
        values ({{ insert.get('values') | join(', ') }})
        {%- elif clause.get('action') == 'insert' and clause.get('mode', 'by_name') in ('by_name', 'star') %}
        insert ({{ all_columns | join(', ') }})
        values (
            {%- for column in all_columns -%}
                dbt_internal_source.{{ column }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
        {%- elif clause.get('action') == 'do_nothing' %}
        do nothing
        {%- else %}
        {{ exceptions.raise_compiler_error(
            'merge_clauses on postgres: unsupported when_not_matched clause ' ~ clause) }}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}

{% macro _merge_clause_condition(clause) -%}
    {%- set condition = clause.get('condition') -%}
    {%- if condition is string %} and ({{ condition }})
    {%- elif condition %} and ({{ condition | join(') and (') }})
    {%- endif -%}
{%- endmacro %}
