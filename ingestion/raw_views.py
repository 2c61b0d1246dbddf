"""How the current state of each raw entity is reconciled from its history, in portable SQL.

One rule per entity (``CURRENT_RULES``), and one SQL text for every engine that reads the raw
layer: DuckDB's ``raw.<entity>_current`` tables (``ingestion.raw_store``: built whole, then
brought up to date by each load for the keys it changed), the PostgreSQL peer's views
(``bench.peer``) and Spark's (``ingestion.spark_raw``), which reconcile the history on every
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
    entity: Entity,
    columns: Sequence[str],
    raw_schema: str = "raw",
    quote: str = '"',
    keys: str | None = None,
    candidates: str | None = None,
) -> str:
    """The select of ``<raw_schema>.<entity>_current`` over ``<raw_schema>.<entity>`` (the
    history, whose columns are ``columns``) and ``<raw_schema>.deletions``: one row per key,
    with ``_is_deleted`` and ``_deleted_at``. ``quote`` is the engine's identifier quote.

    ``keys``, a select of record keys, limits the result to those keys: the current rows a
    load changed, computed from their keys' history alone (every version of each key; for a
    revisioned entity every row of each file group those keys were stored in, which decides
    the group's latest revision). Not for a snapshot entity, whose every key a load
    changes.

    ``candidates``, with ``keys`` under the cursor and file rules: a select of the versions
    to choose from instead of the keys' history (the keys' current rows and the versions a
    load stored: the latest of those is the latest of the history, without reading it)."""
    rule = CURRENT_RULES[entity.name]
    if keys is not None and rule == "snapshot":
        raise ValueError(f"{entity.name}: a snapshot's current rows are the whole snapshot")

    def ident(name: str) -> str:
        return quote + name.replace(quote, quote * 2) + quote

    history = f"{raw_schema}.{ident(entity.name)}"
    cols = ", ".join(ident(c) for c in columns)
    position = "_load_id desc, _source_file desc nulls last, _source_line desc nulls last"
    scope, deletion_scope, key_scope = history, "", ""
    if keys is not None:
        deletion_scope = f" and record_key in ({keys})"
        key_scope = f" where _record_key in ({keys})"
        if rule == "revisioned":
            scope = (
                f"(select {cols} from {history} where _file_group in (select _file_group "
                f"from {history} where _record_key in ({keys})) or _file_group is null)"
            )
        elif candidates is not None and rule in ("cursor", "file"):
            scope = f"({candidates})"
        else:
            scope = f"(select {cols} from {history}{key_scope})"
    if rule == "snapshot":
        latest = (
            f"select {cols} from {history} where _load_id = (select max(_load_id) from {history})"
        )
    else:
        source = scope
        if rule == "revisioned":
            source = (
                f"(select {cols} from (select {cols}, max(_revision) over "
                f"(partition by _file_group) as __latest_revision from {scope} as scoped) "
                f"as revised where _revision = __latest_revision)"
            )
        order = position if rule == "file" else f"{entity.cursor} desc nulls last, {position}"
        latest = (
            f"select {cols} from (select {cols}, row_number() over (partition by _record_key "
            f"order by {order}) as __rank from {source} as history) as ranked where __rank = 1"
        )
    if rule == "revisioned" and keys is not None:
        latest = f"select {cols} from ({latest}) as grouped{key_scope}"
    return f"""
        with latest as ({latest}),
        deletions as (
            select record_key, max(_load_id) as deleted_load_id, max(_loaded_at) as deleted_at
            from {raw_schema}.deletions
            where source = '{entity.source}' and entity = '{entity.name}'{deletion_scope}
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
