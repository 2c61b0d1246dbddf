{#-
    dbt-postgres's column introspection with array columns typed (text[]) instead of
    information_schema's bare "ARRAY", which is no type: dbt casts unit-test fixtures to the
    introspected types, and `cast(null as ARRAY)` fails (dbt-labs/dbt-adapters#939). The
    PostgreSQL peer's raw layer has arrays (_quality_flags, claim_types: bench/peer.py), so
    every unit test whose input is a staging model or raw source needs this. Overrides dbt's
    dispatch of get_columns_in_relation for postgres; otherwise the same query.
-#}
{% macro postgres__get_columns_in_relation(relation) -%}
    {% call statement('get_columns_in_relation', fetch_result=True) %}
        select
            column_name,
            case
                when data_type = 'ARRAY' then substr(udt_name, 2) || '[]'
                else data_type
            end as data_type,
            character_maximum_length,
            numeric_precision,
            numeric_scale
        from {{ relation.information_schema('columns') }}
        where
            table_name = '{{ relation.identifier }}'
            {% if relation.schema %}
                and table_schema = '{{ relation.schema }}'
            {% endif %}
        order by ordinal_position
    {% endcall %}
    {% set table = load_result('get_columns_in_relation').table %}
    {{ return(sql_convert_columns_in_relation(table)) }}
{%- endmacro %}
