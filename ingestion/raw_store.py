"""The raw layer: append-only Parquet per load, committed through the DuckDB warehouse file.

Layout under the raw directory (default: ``<warehouse dir>/<warehouse stem>_raw``)::

    <source>/<entity>/<load_id>.parquet        new record versions of that load
    <source>/_quarantine/<load_id>__<entity>.parquet   rejected records (no PII, no content)
    <source>/_deletions/<load_id>__<entity>.parquet    keys found hard-deleted at the source
    <source>/_loads/<load_id>.parquet, <load_id>.files.parquet   the load's ``meta.loads``
                                                      and ``meta.files`` rows (manifest)

A load writes its Parquet files first, then commits one DuckDB transaction that records them
in ``meta.loads`` and rebuilds the views over exactly the committed files. A crash before the
commit leaves orphan files that no view reads; the next load of that source deletes them. So
a load is all-or-nothing, raw history replays from Parquet, and readers of other schemas never
wait for an extraction: the DuckDB file is only held for the short commit.

The manifest is written inside the commit's transaction, before it commits, so every
committed load has one: ``restore_from_raw`` rebuilds ``meta`` and every view of a lost or
broken warehouse file from the raw directory alone (``python -m ingestion rebuild``). The
manifests, that restore and the removal of orphan files live in ``ingestion.raw_recovery``.

Views and tables in the warehouse file:
- ``raw.<entity>`` (view): every committed version (history; ``_load_id``, ``_loaded_at``,
  ``_source_file``, ``_source_line``, ``_record_key``, ``_row_hash``, ``_quality_flags``).
- ``raw.<entity>_current`` (table): the reconciled current state, one row per key, with
  ``_is_deleted``/``_deleted_at`` (``ingestion.raw_views``: the rule per entity, one SQL
  text for DuckDB, the PostgreSQL peer and Spark). A load's commit reconciles again only the
  keys it changed and replaces their rows, so its cost follows the load, and every reader
  (dbt, the checks, the next load) scans a table instead of reconciling the whole history;
  it is rebuilt whole on a restore, for a snapshot entity, and when the history gains a
  column.
- ``raw.deletions``, ``quarantine.records``: tombstones and rejected records of all sources.

Every entity has both views from the first load of any source on (``RawStore.ensure``), even
before its source delivered a record: until then they select no rows, with the columns and
types a load gives them (``ingestion.raw_schemas``), and switch to the data files when the
first one is committed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from core.crash_points import crash_point
from core.warehouse import LOCK_WAIT_SECONDS, connect
from ingestion.contract import ENTITIES, Entity
from ingestion.pii import record_digest
from ingestion.raw_recovery import (
    backfill_manifests,
    remove_orphans,
    restore_from_raw,
    write_manifest,
)
from ingestion.raw_views import CURRENT_RULES, current_view_sql
from ingestion.sql_literals import sql_ident, sql_list, sql_string

logger = logging.getLogger(__name__)

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")

QUARANTINE_SCHEMA = {
    "source": pl.String,
    "entity": pl.String,
    "record_key": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "rule": pl.String,
    "column_name": pl.String,
    "value": pl.String,
    "record_digest": pl.String,
}
DELETION_SCHEMA = {"source": pl.String, "entity": pl.String, "record_key": pl.String}
BOOKKEEPING = ("_record_key", "_source_file", "_source_line", "_quality_flags")


def default_raw_dir(warehouse_path: Path) -> Path:
    return warehouse_path.parent / f"{warehouse_path.stem}_raw"


def beijing_now() -> dt.datetime:
    """Naive Beijing wall-clock time: every timestamp in the warehouse is Beijing local."""
    return dt.datetime.now(BEIJING).replace(tzinfo=None)


def row_hashes(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """A digest of each row's ``columns`` (content only, no bookkeeping), in row order.

    DuckDB does it vectorised, without a Python string per row: at SF1 that is the
    difference between seconds and gigabytes.
    """
    if frame.height == 0:
        return pl.Series("_row_hash", [], dtype=pl.String)
    content = frame.select(columns).to_arrow()  # noqa: F841 - read by DuckDB by name
    packed = ", ".join(f'"{c}" := "{c}"' for c in columns)
    with duckdb.connect() as con:
        hashes = con.sql(f"select md5(to_json(struct_pack({packed}))) as h from content")
        return pl.Series("_row_hash", hashes.to_arrow_table().column("h"))


def hashed(rows: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with ``_row_hash``, the digest of their content (no bookkeeping) columns."""
    content = [c for c in rows.columns if c not in BOOKKEEPING and not c.startswith("_")]
    return rows.with_columns(row_hashes(rows, content))


def stamped(rows: pl.DataFrame, load_id: str, loaded_at: dt.datetime) -> pl.DataFrame:
    """``rows`` with the load that commits them, as every raw file stores them."""
    return rows.with_columns(
        pl.lit(load_id).alias("_load_id"), pl.lit(loaded_at).alias("_loaded_at")
    )


@dataclass
class EntityBatch:
    """What one load produced for one entity, before it is committed.

    ``rows``: accepted, PII-free records with the bookkeeping columns (``BOOKKEEPING``).
    ``rejected``: the rejected records with ``_record_key``, ``_source_file``,
    ``_source_line``, ``rule``, ``column_name``, ``value`` and any other (content) columns,
    which only feed a keyed digest and are never written.
    ``skip_unchanged``: drop rows identical to the current version (re-extracted overlap).
    ``reconciled``: rows read that the loader resolved without keeping them, by reason (a
    duplicate superseded by a later version of its key in this load, a withdrawn revision's
    rows): with them, every row read is accounted for (``EntityResult.unaccounted``).
    """

    entity: Entity
    rows: pl.DataFrame
    rejected: pl.DataFrame
    rows_read: int
    deleted_keys: list[str] = field(default_factory=list)
    files: list[tuple[str, int]] = field(default_factory=list)
    watermark: dt.datetime | None = None
    report: dict[str, Any] = field(default_factory=dict)
    skip_unchanged: bool = True
    reconciled: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EntityResult:
    """What a committed load did to one entity; becomes Dagster asset metadata.

    Every row read is counted once: new (the first row of a key not live before), updated
    (another version of a key), unchanged (identical to the live version), quarantined
    (rejected, first seen), or reconciled (resolved without a version of its own: see
    ``reconciled_by_reason``)."""

    entity: str
    load_id: str
    rows_read: int
    rows_new: int
    rows_updated: int
    rows_unchanged: int
    rows_deleted: int
    rows_quarantined: int
    rows_flagged: int
    watermark: dt.datetime | None
    files: int
    report: dict[str, Any]
    quarantined_by_rule: dict[str, int]
    flagged_by_rule: dict[str, int]
    rows_reconciled: int = 0
    reconciled_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def unaccounted(self) -> int:
        """Rows read less new, updated, unchanged, quarantined and reconciled: 0 when the
        load balances."""
        return self.rows_read - (
            self.rows_new
            + self.rows_updated
            + self.rows_unchanged
            + self.rows_quarantined
            + self.rows_reconciled
        )


class RawStore:
    """The warehouse file and its raw directory."""

    def __init__(self, warehouse_path: Path, raw_dir: Path | None = None) -> None:
        self.warehouse_path = Path(warehouse_path).resolve()
        self.raw_dir = Path(raw_dir or default_raw_dir(self.warehouse_path)).resolve()
        self._reader: duckdb.DuckDBPyConnection | None = None

    # -- reading state -------------------------------------------------------------------

    def ensure(self) -> None:
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        with connect(self.warehouse_path) as con:
            for schema in ("meta", "raw", "quarantine"):
                con.execute(f"create schema if not exists {schema}")
            con.execute(
                """
                create table if not exists meta.loads (
                    load_id varchar not null,
                    source varchar not null,
                    entity varchar not null,
                    loaded_at timestamp not null,
                    load_date date not null,
                    rows_read bigint, rows_new bigint, rows_updated bigint,
                    rows_unchanged bigint, rows_deleted bigint, rows_quarantined bigint,
                    rows_flagged bigint,
                    watermark timestamp,
                    data_file varchar, quarantine_file varchar, deletions_file varchar,
                    report json,
                    rows_reconciled bigint,
                    primary key (load_id, entity)
                )
                """
            )
            # Warehouses from before the balance was recorded: their loads stay unjudged.
            con.execute("alter table meta.loads add column if not exists rows_reconciled bigint")
            con.execute(
                """
                create table if not exists meta.files (
                    source varchar not null, entity varchar not null, file varchar not null,
                    size bigint, load_id varchar not null,
                    primary key (source, entity, file)
                )
                """
            )
            self._rebuild_shared_views(con)
            self._ensure_entity_views(con)
            backfill_manifests(self, con)

    def has_view(self, schema: str, name: str) -> bool:
        return (
            self.query(
                "select count(*) as n from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).item()
            > 0
        )

    def last_watermark(self, entity: Entity) -> dt.datetime | None:
        return self.query(
            "select max(watermark) as w from meta.loads where source = ? and entity = ?",
            [entity.source, entity.name],
        ).item()

    def processed_files(self, entity: Entity) -> dict[str, int]:
        frame = self.query(
            "select file, size from meta.files where source = ? and entity = ?",
            [entity.source, entity.name],
        )
        return dict(zip(frame["file"].to_list(), frame["size"].to_list(), strict=True))

    def loaded_files(self, source: str, wait: float = LOCK_WAIT_SECONDS) -> set[tuple[str, str]]:
        """(entity, file) of every file a committed load of ``source`` recorded; empty before
        the first load. Waits at most ``wait`` seconds for a writer's lock."""
        if not self.warehouse_path.exists():
            return set()
        with connect(self.warehouse_path, read_only=True, wait=wait) as con:
            known = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'meta' and table_name = 'files'"
            ).fetchall()[0][0]
            if not known:
                return set()
            rows = con.execute(
                "select entity, file from meta.files where source = ?", [source]
            ).fetchall()
        return {(entity, file) for entity, file in rows}

    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Serve this store's reads (``query``) from one read-only connection, which it
        yields, until the block ends. Opening the warehouse file reads its catalog, a tenth
        of a second or more at SF1, and a load's reads came to a dozen openings (py-spy).
        Keep the block short: while it is open, no other process can open the file to
        write. The file must exist (``ensure`` creates it): DuckDB opens no missing file
        read-only."""
        if self._reader is not None:
            yield self._reader
            return
        with connect(self.warehouse_path, read_only=True) as con:
            self._reader = con
            try:
                yield con
            finally:
                self._reader = None

    def query(
        self, sql: str, params: list[Any] | None = None, **frames: pl.DataFrame
    ) -> pl.DataFrame:
        """The rows of ``sql`` over the warehouse (read-only), with ``frames`` registered as
        relations of those names."""
        with self.reading() as con:
            return _rows(con, sql, params, frames)

    def current(
        self,
        entity: Entity,
        columns: str = "_record_key, _row_hash",
        keys: pl.Series | None = None,
    ) -> pl.DataFrame:
        """Live (not deleted) current rows of ``entity``, only those of ``keys`` when given
        (a semi-join in DuckDB: a day's rows against millions held); empty before its first
        load."""
        with self.reading():
            if not self.has_view("raw", f"{entity.name}_current"):
                return pl.DataFrame(
                    {"_record_key": [], "_row_hash": []},
                    schema={"_record_key": pl.String, "_row_hash": pl.String},
                ).select(c.strip() for c in columns.split(","))
            sql = f"select {columns} from raw.{entity.name}_current where not _is_deleted"
            if keys is None:
                return self.query(sql)
            wanted = pl.DataFrame({"_record_key": keys.cast(pl.String)}).unique()
            return self.query(
                f"{sql} and _record_key in (select _record_key from _wanted)", _wanted=wanted
            )

    def live_keys_absent(self, entity: Entity, keys: pl.Series) -> list[str]:
        """The live keys of ``entity`` that ``keys`` (a source's every key) lacks, sorted: an
        anti-join in DuckDB, which reads only the key column of the current rows."""
        with self.reading():
            if not self.has_view("raw", f"{entity.name}_current"):
                return []
            given = pl.DataFrame({"_record_key": keys.cast(pl.String)}).drop_nulls()
            return self.query(
                f"select _record_key from raw.{entity.name}_current "
                "anti join _given using (_record_key) where not _is_deleted order by 1",
                _given=given,
            )["_record_key"].to_list()

    # -- writing a load ------------------------------------------------------------------

    def new_load_id(self, source: str, now: dt.datetime) -> str:
        return f"{now:%Y%m%dT%H%M%S%f}-{source}"

    def commit(
        self,
        source: str,
        load_id: str,
        loaded_at: dt.datetime,
        batches: list[EntityBatch],
        pii_key: bytes,
    ) -> list[EntityResult]:
        """Write every batch's Parquet files, then record them in one transaction."""
        remove_orphans(self, source)
        with self.reading():
            plans = [self._prepare(source, load_id, loaded_at, b, pii_key) for b in batches]
        crash_point("raw.files_written")
        with connect(self.warehouse_path) as con:
            con.begin()
            try:
                for plan in plans:
                    self._record(con, source, load_id, loaded_at, plan)
                # The deletions first: the current tables join this load's tombstones.
                self._rebuild_shared_views(con)
                for plan in plans:
                    self._rebuild_entity_views(con, plan.batch.entity, load_id)
                write_manifest(self, con, source, load_id)
                crash_point("raw.recorded")
                con.commit()
            except BaseException:
                con.rollback()
                raise
        crash_point("raw.committed")
        return [plan.result for plan in plans]

    @dataclass
    class _Plan:
        batch: EntityBatch
        result: EntityResult
        data_file: str | None
        quarantine_file: str | None
        deletions_file: str | None

    def _prepare(
        self, source: str, load_id: str, loaded_at: dt.datetime, batch: EntityBatch, key: bytes
    ) -> RawStore._Plan:
        entity = batch.entity
        rows = hashed(batch.rows)

        current = self.current(entity, keys=rows["_record_key"])
        joined = rows.join(
            current.rename({"_row_hash": "_current_hash"}), on="_record_key", how="left"
        )
        # A key new to the entity is new once: its later rows in this load (a revision, a
        # resend) are further versions of it.
        is_new = pl.col("_current_hash").is_null() & pl.col("_record_key").is_first_distinct()
        unchanged = pl.col("_current_hash") == pl.col("_row_hash")
        counts = joined.select(new=is_new.sum(), unchanged=unchanged.fill_null(False).sum()).row(
            0, named=True
        )
        if batch.skip_unchanged:
            joined = joined.filter(~unchanged.fill_null(False))
        rows = stamped(joined.drop("_current_hash"), load_id, loaded_at)
        n_new = int(counts["new"])
        n_unchanged = int(counts["unchanged"])
        n_updated = batch.rows.height - n_new - n_unchanged

        quarantine = self._quarantine_rows(source, entity, batch.rejected, key)
        reconciled = {reason: n for reason, n in batch.reconciled.items() if n}
        if batch.rejected.height > quarantine.height:
            reconciled["quarantined_before"] = batch.rejected.height - quarantine.height
        deletions = pl.DataFrame(
            {"source": source, "entity": entity.name, "record_key": batch.deleted_keys},
            schema=DELETION_SCHEMA,
        )

        data_file = self._write(rows, f"{source}/{entity.name}/{load_id}.parquet")
        quarantine_file = self._write(
            stamped(quarantine, load_id, loaded_at),
            f"{source}/_quarantine/{load_id}__{entity.name}.parquet",
        )
        deletions_file = self._write(
            stamped(deletions, load_id, loaded_at),
            f"{source}/_deletions/{load_id}__{entity.name}.parquet",
        )
        flags = batch.rows.select(pl.col("_quality_flags").explode().drop_nulls().alias("flag"))
        result = EntityResult(
            entity=entity.name,
            load_id=load_id,
            rows_read=batch.rows_read,
            rows_new=n_new,
            rows_updated=n_updated,
            rows_unchanged=n_unchanged,
            rows_deleted=len(batch.deleted_keys),
            rows_quarantined=quarantine.height,
            rows_flagged=int(
                batch.rows.select(pl.col("_quality_flags").list.len().gt(0).sum()).item()
            ),
            watermark=batch.watermark,
            files=len(batch.files),
            report=batch.report,
            quarantined_by_rule=_count_by(quarantine, "rule"),
            flagged_by_rule=_count_by(flags, "flag"),
            rows_reconciled=sum(reconciled.values()),
            reconciled_by_reason=reconciled,
        )
        if result.unaccounted:
            # Committed all the same, so nothing read is lost; load_balance blocks publication.
            logger.error(
                "%s.%s does not balance: %d rows read, %d of them not accounted for",
                source, entity.name, result.rows_read, result.unaccounted,
            )  # fmt: skip
        return RawStore._Plan(batch, result, data_file, quarantine_file, deletions_file)

    def _quarantine_rows(
        self, source: str, entity: Entity, rejected: pl.DataFrame, key: bytes
    ) -> pl.DataFrame:
        if rejected.height == 0:
            return pl.DataFrame(schema=QUARANTINE_SCHEMA)
        content = sorted(c for c in rejected.columns if not c.startswith("_"))
        encoded = rejected.select(
            pl.struct(pl.col(content).cast(pl.String)).struct.json_encode()
        ).to_series()
        out = rejected.select(
            pl.lit(source).alias("source"),
            pl.lit(entity.name).alias("entity"),
            pl.col("_record_key").cast(pl.String).alias("record_key"),
            pl.col("_source_file").cast(pl.String).alias("file"),
            pl.col("_source_line").cast(pl.Int64).alias("line"),
            pl.col("rule").cast(pl.String),
            pl.col("column_name").cast(pl.String),
            pl.col("value").cast(pl.String),
            pl.Series([record_digest(s, key) for s in encoded]).alias("record_digest"),
        )
        # A rejected row re-read in a later overlap window is the same finding: keep it once.
        if self.has_view("quarantine", "records"):
            seen = self.query(
                "select distinct record_digest from quarantine.records "
                "where source = ? and entity = ?",
                [source, entity.name],
            )
            out = out.join(seen, on="record_digest", how="anti")
        return out.unique(
            subset=["record_digest", "file", "line"], keep="first", maintain_order=True
        )

    def _write(self, frame: pl.DataFrame, relative: str) -> str | None:
        if frame.height == 0:
            return None
        path = self.raw_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        tmp.replace(path)
        return relative

    def _record(
        self,
        con: duckdb.DuckDBPyConnection,
        source: str,
        load_id: str,
        loaded_at: dt.datetime,
        plan: RawStore._Plan,
    ) -> None:
        r = plan.result
        report = {**r.report, "reconciled": r.reconciled_by_reason}
        con.execute(
            "insert into meta.loads by name select ? as load_id, ? as source, ? as entity, "
            "? as loaded_at, ? as load_date, ? as rows_read, ? as rows_new, "
            "? as rows_updated, ? as rows_unchanged, ? as rows_deleted, "
            "? as rows_quarantined, ? as rows_flagged, ? as rows_reconciled, "
            "? as watermark, ? as data_file, ? as quarantine_file, ? as deletions_file, "
            "? as report",
            [
                load_id, source, r.entity, loaded_at, loaded_at.date(),
                r.rows_read, r.rows_new, r.rows_updated, r.rows_unchanged, r.rows_deleted,
                r.rows_quarantined, r.rows_flagged, r.rows_reconciled, r.watermark,
                plan.data_file, plan.quarantine_file, plan.deletions_file,
                json.dumps(report, default=str, ensure_ascii=False),
            ],
        )  # fmt: skip
        if plan.batch.files:
            # One statement for all files: a first load records thousands of them.
            files = pl.DataFrame(
                {
                    "source": source,
                    "entity": r.entity,
                    "file": [name for name, _ in plan.batch.files],
                    "size": [size for _, size in plan.batch.files],
                    "load_id": load_id,
                },
                schema={"source": pl.String, "entity": pl.String, "file": pl.String,
                        "size": pl.Int64, "load_id": pl.String},
            )  # fmt: skip
            con.register("_new_files", files.to_arrow())
            con.execute("insert or replace into meta.files select * from _new_files")
            con.unregister("_new_files")

    # -- views ---------------------------------------------------------------------------

    def _files(self, con: duckdb.DuckDBPyConnection, column: str, where: str = "") -> list[str]:
        rows = con.execute(
            f"select {column} from meta.loads where {column} is not null {where} order by load_id"
        ).fetchall()
        return [str(self.raw_dir / r[0]) for r in rows]

    def _data_files(self, con: duckdb.DuckDBPyConnection, entity: Entity) -> list[str]:
        return self._files(
            con, "data_file", f"and source = '{entity.source}' and entity = '{entity.name}'"
        )

    def _ensure_entity_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """Both views of every entity, before its source delivered anything: the checks and
        models read them unconditionally. Views without data are recreated each time, so
        they keep the columns the loaders produce today."""
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        for entity in ENTITIES.values():
            if f"{entity.name}_current" not in present or not self._data_files(con, entity):
                self._rebuild_entity_views(con, entity)

    def _rebuild_entity_views(
        self, con: duckdb.DuckDBPyConnection, entity: Entity, load_id: str | None = None
    ) -> None:
        """``raw.<entity>`` over the committed files, and ``raw.<entity>_current``: with
        ``load_id`` (a load being committed) only the keys that load changed are reconciled
        again and replaced, otherwise the whole table is rebuilt from the history."""
        files = self._data_files(con, entity)
        if files:
            body = f"select * from read_parquet({sql_list(files)}, union_by_name = true)"
        else:
            body = _empty_history_sql(con, entity)
        con.execute(f"create or replace view raw.{entity.name} as {body}")
        columns = [r[0] for r in con.execute(f"describe raw.{entity.name}").fetchall()]
        current = f"raw.{entity.name}_current"
        if load_id is None or not self._current_matches(con, entity, columns):
            if _table_type(con, f"{entity.name}_current") == "VIEW":  # an older warehouse's
                con.execute(f"drop view {current}")
            con.execute(f"create or replace table {current} as {current_view_sql(entity, columns)}")
            return
        load = sql_string(load_id)
        keys = _changed_keys_sql(entity, load)
        if CURRENT_RULES[entity.name] == "revisioned":
            con.execute(f"delete from {current} where _record_key in ({keys})")
            latest = current_view_sql(entity, columns, keys=keys)
            con.execute(f"insert into {current} by name {latest}")
            return
        # The latest version of a changed key is its current row or one this load stored:
        # choosing among those reads the load's files, not the whole history (every version
        # of every key, read in full for a few hundred keys: 0.9 s of a day's member load at
        # SF1, growing with the history).
        cols = ", ".join(sql_ident(c) for c in columns)
        candidates = (
            f"select {cols} from raw.{entity.name} where _load_id = {load} "
            f"union all select {cols} from {current} where _record_key in ({keys})"
        )
        staged = f"{entity.name}_current_changed"
        con.execute(
            f"create or replace temp table {staged} as "
            f"{current_view_sql(entity, columns, keys=keys, candidates=candidates)}"
        )
        con.execute(f"delete from {current} where _record_key in ({keys})")
        con.execute(f"insert into {current} by name select * from {staged}")
        con.execute(f"drop table {staged}")

    @staticmethod
    def _current_matches(
        con: duckdb.DuckDBPyConnection, entity: Entity, columns: list[str]
    ) -> bool:
        """Whether ``raw.<entity>_current`` is a table with the history's columns, so a load
        may update it key by key (a snapshot's every key changes with each load; a new
        column, or a warehouse from when the current state was a view, needs a rebuild)."""
        name = f"{entity.name}_current"
        if CURRENT_RULES[entity.name] == "snapshot" or _table_type(con, name) != "BASE TABLE":
            return False
        found = con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = ? order by ordinal_position",
            [name],
        ).fetchall()
        return [c for (c,) in found] == [*columns, "_is_deleted", "_deleted_at"]

    def rebuild_views(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every view and current table, over the files ``meta.loads`` names, in the
        caller's transaction."""
        self._rebuild_shared_views(con)
        for entity in ENTITIES.values():
            self._rebuild_entity_views(con, entity)

    def _rebuild_shared_views(self, con: duckdb.DuckDBPyConnection) -> None:
        for view, column, schema in (
            ("quarantine.records", "quarantine_file", QUARANTINE_SCHEMA),
            ("raw.deletions", "deletions_file", DELETION_SCHEMA),
        ):
            files = self._files(con, column)
            if files:
                body = f"select * from read_parquet({sql_list(files)}, union_by_name = true)"
            else:
                cols = ", ".join(
                    f"null::{_duck_type(t)} as {n}"
                    for n, t in {**schema, "_load_id": pl.String, "_loaded_at": pl.Datetime}.items()
                )
                body = f"select {cols} where false"
            con.execute(f"create or replace view {view} as {body}")

    # -- recovery (ingestion.raw_recovery) -----------------------------------------------

    def restore_from_raw(self) -> dict[str, int]:
        """Rebuild a new warehouse file from the raw directory's load manifests; returns
        loads per source (``ingestion.raw_recovery.restore_from_raw``)."""
        return restore_from_raw(self)


def _table_type(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """``BASE TABLE`` or ``VIEW`` for ``raw.<name>``, None when there is no such relation."""
    found = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'raw' and table_name = ?",
        [name],
    ).fetchall()
    return str(found[0][0]) if found else None


def _changed_keys_sql(entity: Entity, load: str) -> str:
    """A select of the record keys whose current row a load (``load``: its id as an SQL
    literal) may have changed: the keys it stored a version of or tombstoned and, for a
    revisioned entity, every key stored in a file group it wrote a revision of (a revision
    withdraws the rows it leaves out)."""
    history = f"raw.{entity.name}"
    keys = (
        f"select _record_key from {history} where _load_id = {load} "
        f"union select record_key from raw.deletions where _load_id = {load} "
        f"and source = {sql_string(entity.source)} and entity = {sql_string(entity.name)}"
    )
    if CURRENT_RULES[entity.name] == "revisioned":
        keys += (
            f" union select _record_key from {history} where _file_group in "
            f"(select _file_group from {history} where _load_id = {load})"
        )
    return keys


def _empty_history_sql(con: duckdb.DuckDBPyConnection, entity: Entity) -> str:
    """A select of no rows with the columns and types ``raw.<entity>`` has once data
    arrived: DuckDB's reading of the frame a load without records would store."""
    # Imported here: the loaders that define those frames import this module.
    from ingestion.raw_schemas import empty_history

    con.register("_empty_history", empty_history(entity).to_arrow())
    try:
        described = con.execute("describe select * from _empty_history").fetchall()
    finally:
        con.unregister("_empty_history")
    columns = ", ".join(f"cast(null as {row[1]}) as {sql_ident(row[0])}" for row in described)
    return f"select {columns} where false"


def _count_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.height == 0:
        return {}
    counts = frame.group_by(column).len().sort(column)
    return dict(zip(counts[column].to_list(), counts["len"].to_list(), strict=True))


def _duck_type(dtype: Any) -> str:
    return {pl.String: "varchar", pl.Int64: "bigint", pl.Datetime: "timestamp"}[dtype]


def _rows(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any] | None,
    frames: dict[str, pl.DataFrame],
) -> pl.DataFrame:
    """The rows of ``sql`` on ``con``, with ``frames`` registered under their names for the
    query only (the connection may serve further queries)."""
    for name, frame in frames.items():
        con.register(name, frame.to_arrow())
    try:
        return pl.from_arrow(con.sql(sql, params=params or []).to_arrow_table())  # type: ignore[return-value]
    finally:
        for name in frames:
            con.unregister(name)
