{#-
    SCD type 2 versions of an entity from every committed version of its rows (README,
    "history (SCD2)"), shared by the historized intermediate models so they cannot drift on
    how a version's validity is cut. A version is valid on [valid_from, valid_to):
    valid_from is the source's updated_at (the first version reaches back to 1900-01-01),
    valid_to the next version's updated_at, the load that noticed a hard delete
    (_deleted_at) for the last version of a deleted row, or 9999-12-31 while current.
    Versions with equal updated_at collapse to the one committed last (as the raw current
    views do). Renders a select (use it as a CTE body) of every column of `versions` plus
    rank_at_updated_at (always 1), version_number, next_updated_at, deleted_at, is_deleted,
    valid_from, valid_to, is_current.
    `versions` is the staged history relation or CTE (every committed version, with
    updated_at, load_id, source_file, source_line: stg_<source>__<entity>_versions),
    `current` the staged current view with its tombstones (is_deleted, deleted_at:
    base_<source>__<entity>s), `key` the natural key column.
-#}
{% macro scd2_versions(versions, current, key) -%}
    select
        sequenced.*,
        deletions.deleted_at,
        deletions.{{ key }} is not null as is_deleted,
        case
            when sequenced.version_number = 1 then timestamp '1900-01-01'
            else sequenced.updated_at
        end as valid_from,
        coalesce(
            sequenced.next_updated_at,
            case
                when deletions.deleted_at is not null
                    then greatest(deletions.deleted_at, sequenced.updated_at)
            end,
            timestamp '9999-12-31'
        ) as valid_to,
        sequenced.next_updated_at is null and deletions.{{ key }} is null as is_current
    from (
        select
            *,
            row_number() over (partition by {{ key }} order by updated_at) as version_number,
            lead(updated_at) over (
                partition by {{ key }} order by updated_at
            ) as next_updated_at
        from (
            select
                *,
                row_number() over (
                    partition by {{ key }}, updated_at
                    order by load_id desc, source_file desc nulls last, source_line desc nulls last
                ) as rank_at_updated_at
            from {{ versions }}
        ) as ranked_versions
        where rank_at_updated_at = 1
    ) as sequenced
    left join (
        select
            {{ key }},
            deleted_at
        from {{ current }}
        where is_deleted
    ) as deletions
        on sequenced.{{ key }} = deletions.{{ key }}
{%- endmacro %}

{#-
    The CTEs of an incremental SCD2 history (replace_keys on `key`), each followed by a
    comma, ending with `versioned` (scd2_versions' select). A full build versions all of
    `versions` and `current`; an incremental run only the keys of entity `entity` of source
    `source` that `loads` wrote a version of or tombstoned (CTE `revisited`, whose markers
    replace_keys_final adds), with every version of each such key. `incremental` is the
    model's is_incremental() (a unit test's override of it reaches the model, not macros).
-#}
{% macro scd2_versions_ctes(versions, current, key, source, entity, loads, incremental) -%}
    {%- if incremental %}
    deletions as (
        select * from {{ ref('stg_services__deletions') }}
    ),

    revisited as (
        {{ loaded_keys(versions, 'deletions', key, source, entity, loads) }}
    ),

    {%- endif %}

    revisited_versions as (
        {{ revisited_rows(versions, key, incremental) }}
    ),

    revisited_current as (
        {{ revisited_rows(current, key, incremental) }}
    ),

    versioned as (
        {{ scd2_versions('revisited_versions', 'revisited_current', key) }}
    ),
{%- endmacro %}
