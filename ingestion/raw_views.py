"""How the current state of each raw entity is reconciled from its history, in portable SQL.

One rule per entity (``CURRENT_RULES``), and one SQL text for every engine that reads the raw
layer: DuckDB's ``raw.<entity>_current`` views (``ingestion.raw_store``), the PostgreSQL peer
(``bench.peer``) and Spark (``ingestion.spark_raw``) reconcile the same history on every
read. Window filters are subqueries, not DuckDB's ``qualify``, so the text runs everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingestion.contract import Entity

#   cursor:     greatest cursor wins; tie: later load, later file, later line.
#   snapshot:   the rows of the newest committed snapshot are the truth.
#   revisioned: only the latest revision of each file group counts, then as ``cursor``.
#   file:       later file (then line) wins.
CURRENT_RULES: dict[str, str] = {
    "union_org": "cursor",
    "member": "cursor",
    "membership_event": "cursor",
    "honor": "cursor",
    "case": "cursor",
    "hotline_request": "cursor",
    "program": "snapshot",
    "station": "snapshot",
    "delivery": "revisioned",
    "station_visit": "file",
}


def current_view_sql(
    entity: Entity, columns: Sequence[str], raw_schema: str = "raw", quote: str = '"'
) -> str:
    """The select of ``<raw_schema>.<entity>_current`` over ``<raw_schema>.<entity>`` (the
    history, whose columns are ``columns``) and ``<raw_schema>.deletions``: one row per key,
    with ``_is_deleted`` and ``_deleted_at``. ``quote`` is the engine's identifier quote."""
    rule = CURRENT_RULES[entity.name]

    def ident(name: str) -> str:
        return quote + name.replace(quote, quote * 2) + quote

    history = f"{raw_schema}.{ident(entity.name)}"
    cols = ", ".join(ident(c) for c in columns)
    position = "_load_id desc, _source_file desc nulls last, _source_line desc nulls last"
    if rule == "snapshot":
        latest = (
            f"select {cols} from {history} where _load_id = (select max(_load_id) from {history})"
        )
    else:
        source = history
        if rule == "revisioned":
            source = (
                f"(select {cols} from (select {cols}, max(_revision) over "
                f"(partition by _file_group) as __latest_revision from {history}) as revised "
                f"where _revision = __latest_revision)"
            )
        order = position if rule == "file" else f"{entity.cursor} desc nulls last, {position}"
        latest = (
            f"select {cols} from (select {cols}, row_number() over (partition by _record_key "
            f"order by {order}) as __rank from {source} as history) as ranked where __rank = 1"
        )
    return f"""
        with latest as ({latest}),
        deletions as (
            select record_key, max(_load_id) as deleted_load_id, max(_loaded_at) as deleted_at
            from {raw_schema}.deletions
            where source = '{entity.source}' and entity = '{entity.name}'
            group by record_key
        )
        select
            latest.*,
            deletions.deleted_load_id is not null as _is_deleted,
            deletions.deleted_at as _deleted_at
        from latest
        left join deletions
            on deletions.record_key = latest._record_key
            and deletions.deleted_load_id > latest._load_id
    """
