{#-
    One field of a struct from the raw layer, as `data_type`. DuckDB keeps the raw layer's
    structs typed (struct_extract needs no cast); the PostgreSQL peer stores them as jsonb
    objects (bench/peer.py), whose fields come out as text and are cast to `data_type`.
-#}
{% macro struct_field(struct, field, data_type) -%}
    {{ return(adapter.dispatch('struct_field', 'union_warehouse')(struct, field, data_type)) }}
{%- endmacro %}

{% macro default__struct_field(struct, field, data_type) -%}
    cast({{ struct }} ->> '{{ field }}' as {{ data_type }})
{%- endmacro %}

{% macro duckdb__struct_field(struct, field, data_type) -%}
    struct_extract({{ struct }}, '{{ field }}')
{%- endmacro %}

{% macro spark__struct_field(struct, field, data_type) -%}
    {{ struct }}.{{ field }}
{%- endmacro %}
