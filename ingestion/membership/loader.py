"""Membership system (relational database, any SQLAlchemy URL) into the raw layer.

Why SQLAlchemy Core and not dlt's ``sql_database``: every row has to be validated, and its
ID number and phone replaced by keyed pseudonyms, before anything is written to disk; dlt's
extract step persists rows to local load packages first. A plain ``select`` of the contract
columns cast to text behaves the same on SQLite, PostgreSQL and MariaDB; from a SQLite file
(the default) it runs through ADBC straight into Arrow (``ingestion.arrow_reads``), elsewhere
through SQLAlchemy in chunks into polars.

Incremental: ``updated_at`` (``recorded_at`` for the append-only events) from the last
watermark minus ``WATERMARK_OVERLAP``; rows identical to what raw already holds are dropped.
Hard deletes are found by comparing every key at the source with the live keys in raw.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from core.crash_points import crash_point
from core.settings import PipelineSettings
from ingestion.arrow_reads import sqlite_arrow
from ingestion.batches import (
    WATERMARK_OVERLAP,
    entity_rows,
    latest_per_key,
    max_cursor,
    person_flags,
    rejected_records,
    uscc_flags,
    with_flags,
)
from ingestion.contract import HONOR, MEMBER, MEMBERSHIP_EVENT, UNION_ORG, Entity
from ingestion.pii import protect_identity
from ingestion.raw_store import EntityBatch, EntityResult, RawStore, beijing_now
from ingestion.validation import ContractViolation, Validated, validate

logger = logging.getLogger(__name__)

SOURCE = "membership"
ENTITIES = (UNION_ORG, MEMBER, MEMBERSHIP_EVENT, HONOR)
# Hard deletes happen in member and union_org; a member's events go with it.
RECONCILED_BY_KEY = {"union_org", "member", "membership_event"}
FETCH_ROWS = 100_000
SLICE_ROWS = 250_000


@dataclass(frozen=True)
class MembershipLoad:
    """Where to read and how to protect: the pieces of configuration this loader needs."""

    db_url: str
    pii_key: bytes


def config_from(settings: PipelineSettings) -> MembershipLoad:
    """The membership load ``settings`` describe (the command line's and Dagster's)."""
    return MembershipLoad(db_url=settings.membership_db_url, pii_key=settings.pii_key_bytes)


def _table(engine: sa.Engine, entity: Entity) -> tuple[sa.Table, list[str]]:
    """The source table with the contract's columns; raises on a contract break."""
    inspector = sa.inspect(engine)
    where = f"table {entity.name!r} of the membership database"
    if not inspector.has_table(entity.name):
        raise ContractViolation(f"{where} does not exist")
    present = [c["name"] for c in inspector.get_columns(entity.name)]
    missing = [c.name for c in entity.columns if c.name not in present]
    required_missing = [c for c in missing if entity.column(c).required]
    if required_missing:
        raise ContractViolation(f"{where}: required column {required_missing[0]!r} is missing")
    drift = [c for c in present if c not in entity.column_names]
    table = sa.table(entity.name, *(sa.column(c) for c in entity.column_names if c in present))
    return table, drift


def _read_text(
    engine: sa.Engine, entity: Entity, table: sa.Table, since: dt.datetime | None
) -> pl.DataFrame:
    """The contract columns of every row changed since ``since``, as text."""
    query = sa.select(*(sa.cast(c, sa.String).label(c.name) for c in table.columns))
    if since is not None and entity.cursor is not None:
        cursor = table.c[entity.cursor]
        if engine.dialect.name == "sqlite":
            # SQLite stores timestamps as text; compare as text in the same layout.
            query = query.where(cursor >= since.strftime("%Y-%m-%d %H:%M:%S"))
        else:
            query = query.where(cursor >= sa.bindparam("since", since, type_=sa.DateTime))
    schema = {c.name: pl.String for c in table.columns}
    arrow = sqlite_arrow(engine, _blank_for_null(query, table))
    if arrow is not None:
        return pl.from_arrow(arrow)  # type: ignore[return-value]
    chunks: list[pl.DataFrame] = []
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(query)
        for part in result.partitions(FETCH_ROWS):
            chunks.append(pl.DataFrame(part, schema=schema, orient="row"))
    return pl.concat(chunks) if chunks else pl.DataFrame(schema=schema)


def _blank_for_null(query: sa.Select, table: sa.Table) -> sa.Select:
    """``query`` with '' for null: Arrow readers type a column by its first batch, where an
    all-null column would read as an integer; the validation reads '' as null anyway."""
    return query.with_only_columns(
        *(sa.func.coalesce(sa.cast(c, sa.String), "").label(c.name) for c in table.columns)
    )


def _source_keys(engine: sa.Engine, entity: Entity) -> pl.Series:
    query = sa.select(sa.cast(sa.column(entity.key), sa.String)).select_from(sa.table(entity.name))
    arrow = sqlite_arrow(engine, query)
    if arrow is not None:
        return pl.Series("_record_key", arrow.column(0), dtype=pl.String)
    with engine.connect() as conn:
        keys = conn.execute(query).scalars().all()
    return pl.Series("_record_key", keys, dtype=pl.String)


def _with_bookkeeping(entity: Entity, text: pl.DataFrame) -> pl.DataFrame:
    return text.with_columns(
        pl.col(entity.key).alias("_record_key"),
        pl.lit(None, dtype=pl.String).alias("_source_file"),
        pl.lit(None, dtype=pl.Int64).alias("_source_line"),
    )


def _checked_slice(
    entity: Entity, part: pl.DataFrame, key: bytes, load_date: dt.date
) -> tuple[Validated, pl.DataFrame]:
    """One slice of text rows validated, and its accepted rows protected and flagged."""
    columns = [c for c in entity.column_names if c in part.columns]
    # '' stood for null (_blank_for_null).
    checked = validate(
        part.with_columns(pl.col(c).replace("", None) for c in columns), entity, load_date
    )
    return checked, entity_rows(entity, _protect(entity, checked.accepted, key))


def empty_rows(entity: Entity, key: bytes, load_date: dt.date) -> pl.DataFrame:
    """The rows a load hands the raw store when the table has none: the raw layer's
    columns and types for ``entity``, through the same steps as ``extract``."""
    text = pl.DataFrame(schema=dict.fromkeys(entity.column_names, pl.String))
    _, rows = _checked_slice(entity, _with_bookkeeping(entity, text), key, load_date)
    return latest_per_key(rows, entity.cursor)[0]


def _protect(entity: Entity, frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    if entity is MEMBER:
        frame = protect_identity(
            frame, key, id_number="id_number", phone="phone", id_type="id_type", drop=("name",)
        )
        return with_flags(frame, person_flags(gender="gender"))
    if entity is UNION_ORG:
        return with_flags(frame, uscc_flags("union_uscc", "employer_uscc"))
    return with_flags(frame, [])


def extract(
    engine: sa.Engine, store: RawStore, entity: Entity, key: bytes, load_date: dt.date
) -> EntityBatch:
    table, drift = _table(engine, entity)
    previous = store.last_watermark(entity)
    since = previous - WATERMARK_OVERLAP if previous is not None else None
    text = _with_bookkeeping(entity, _read_text(engine, entity, table, since))
    assert entity.cursor is not None
    rows_read = text.height
    # A full load holds the whole table (2.6 M members at SF1): validate and protect it in
    # slices, so only one slice's typed and intermediate copies exist at a time. Row-wise
    # work only; the latest version per key is chosen once, over every slice. (Peak RSS of a
    # full load at SF1: 6.4 GB in one piece, 4.3 GB in slices.)
    protected, rejected, seen = [], [], []
    for offset in range(0, max(rows_read, 1), SLICE_ROWS):
        checked, rows = _checked_slice(entity, text.slice(offset, SLICE_ROWS), key, load_date)
        seen += [f.select(entity.cursor) for f in (checked.accepted, checked.rejected)]
        rejected.append(rejected_records(checked))
        protected.append(rows)
    del text, checked
    rows, duplicates = latest_per_key(pl.concat(protected), entity.cursor)
    del protected
    watermark = max_cursor(pl.concat(seen), entity.cursor, previous)

    deleted: list[str] = []
    if entity.name in RECONCILED_BY_KEY:
        deleted = store.live_keys_absent(entity, _source_keys(engine, entity))

    report: dict[str, object] = {"table": entity.name, "since": since, "duplicates": duplicates}
    if drift:
        report["schema_drift"] = {entity.name: drift}
        logger.warning("membership.%s has columns outside the contract: %s", entity.name, drift)
    return EntityBatch(
        entity=entity,
        rows=rows,
        rejected=pl.concat(rejected, how="diagonal_relaxed"),
        rows_read=rows_read,
        deleted_keys=deleted,
        watermark=watermark,
        report=report,
        reconciled={"duplicate_key": duplicates},
    )


def load(
    config: MembershipLoad, store: RawStore, now: dt.datetime | None = None
) -> list[EntityResult]:
    """One load of every membership entity, committed together."""
    now = now or beijing_now()
    store.ensure()
    engine = sa.create_engine(config.db_url)
    try:
        batches = []
        for entity in ENTITIES:
            batches.append(extract(engine, store, entity, config.pii_key, now.date()))
            crash_point("membership.extracted")
    finally:
        engine.dispose()
    return store.commit(SOURCE, store.new_load_id(SOURCE, now), now, batches, config.pii_key)
