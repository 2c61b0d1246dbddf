"""Service system (file drops in a landing directory) into the raw layer.

Four entities, committed together in one load of source ``services``:

- ``program`` and ``station``: monthly full snapshots. Only the newest file is the truth, so
  only it is read, and only when it is new; older files are recorded as processed without
  being read. All its accepted rows are written, because the raw store's ``snapshot`` rule
  takes the rows of the newest committed load as the current state.
- ``delivery``: one CSV per district and day, UTF-8 or GB18030, possibly revised by
  ``-rN`` files that replace every row of the earlier revisions. Every row of every new file
  is written with its ``_revision`` and ``_file_group``; the ``revisioned`` rule picks the
  live revision, then the latest ``recorded_at``. ``ingestion.services.revisions`` measures
  revisions and resends for the report.
- ``station_visit``: monthly xlsx workbooks with Chinese headers.

Files are immutable, so each is read once: a file is new when its path is not in
``meta.files``, which is what makes every load incremental (the delivery watermark is only
informational). The PII remark of a delivery is dropped inside the CSV reader: it is never
validated, hashed, quarantined or written. Parsing and validation happen before anything is
written, so a contract break (``ContractViolation``) leaves the warehouse untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import polars as pl

from core.crash_points import crash_point
from core.settings import PipelineSettings
from core.warehouse import LOCK_WAIT_SECONDS
from ingestion.batches import entity_rows, latest_per_key, max_cursor, rejected_records, with_flags
from ingestion.contract import DELIVERY, PROGRAM, STATION, STATION_VISIT, Entity
from ingestion.raw_store import EntityBatch, EntityResult, RawStore, beijing_now
from ingestion.services.files import CsvText, Landing, LandingFile, read_visits, scan_landing
from ingestion.services.revisions import REPORT_KEYS, reconcile
from ingestion.validation import Validated, validate

logger = logging.getLogger(__name__)

SOURCE = "services"
ENTITIES = (PROGRAM, STATION, DELIVERY, STATION_VISIT)
# Chunks parsed but not yet validated; bounds the text held in memory.
PENDING_CHUNKS = 2


@dataclass(frozen=True)
class ServicesLoad:
    """Where the landing directory is (local path or fsspec URL) and the PII key."""

    landing_dir: str
    pii_key: bytes


def config_from(settings: PipelineSettings) -> ServicesLoad:
    """The services load ``settings`` describe (the command line's and Dagster's)."""
    return ServicesLoad(landing_dir=settings.services_landing_dir, pii_key=settings.pii_key_bytes)


def _key(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.when(text != "").then(text)


def _keyed(key: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """Adds ``_record_key``: the stripped key column, null when blank."""
    return lambda text: text.with_columns(_key(key).alias("_record_key"))


# Per-file columns of delivery rows: a revision file replaces its group's earlier revisions.
_DELIVERY_FILE_COLUMNS: dict[str, pl.DataType] = {
    "_revision": pl.Int64(),
    "_file_group": pl.String(),
}
# Rejected visit rows keep the key as written; accepted ones get the ISO date (_visit_rows).
_VISIT_TEXT_KEY = (_key("station_id") + "|" + pl.col("visit_date").str.strip_chars()).alias(
    "_record_key"
)


def _csv_text(entity: Entity) -> CsvText:
    return CsvText(entity, extra=_DELIVERY_FILE_COLUMNS if entity is DELIVERY else {})


def _text_shape(
    entity: Entity,
) -> tuple[dict[str, pl.DataType], Callable[[pl.DataFrame], pl.DataFrame]]:
    """The text chunks' columns of ``entity`` and what is added to them before validation."""
    if entity is STATION_VISIT:
        schema: dict[str, pl.DataType] = {c.name: pl.String() for c in STATION_VISIT.columns}
        schema |= {"_source_file": pl.String(), "_source_line": pl.Int64()}
        return schema, lambda text: text.with_columns(_VISIT_TEXT_KEY)
    return _csv_text(entity).schema, _keyed(entity.key)


def _snapshot_rows(entity: Entity, accepted: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """One row per key of a snapshot's accepted rows, and how many duplicates were dropped."""
    rows, duplicates = latest_per_key(accepted, None)
    return entity_rows(entity, with_flags(rows, [])), duplicates


def _delivery_rows(accepted: pl.DataFrame) -> pl.DataFrame:
    return entity_rows(DELIVERY, with_flags(accepted, []))


def _visit_rows(accepted: pl.DataFrame) -> pl.DataFrame:
    rows = accepted.with_columns(
        (pl.col("station_id") + "|" + pl.col("visit_date").dt.strftime("%Y-%m-%d")).alias(
            "_record_key"
        )
    )
    return entity_rows(STATION_VISIT, with_flags(rows, []))


def empty_rows(entity: Entity, load_date: dt.date) -> pl.DataFrame:
    """The rows a load hands the raw store when it finds no file of ``entity``: the raw
    layer's columns and types, through the same steps as the extract functions (a delivery
    load's ``reconcile`` only filters rows, so it is left out)."""
    schema, prepare = _text_shape(entity)
    with ChunkChecker(entity, load_date, schema, prepare) as checker:
        accepted = checker.result().accepted
    if entity is DELIVERY:
        return _delivery_rows(accepted)
    if entity is STATION_VISIT:
        return _visit_rows(accepted)
    return _snapshot_rows(entity, accepted)[0]


def _without_pii(frame: pl.DataFrame, entity: Entity) -> pl.DataFrame:
    # ``validate`` adds every absent contract column, PII ones included, as null.
    return frame.drop([c.name for c in entity.columns if c.pii], strict=False)


def _rejected(checked_rejected: pl.DataFrame, text: CsvText | None = None) -> pl.DataFrame:
    parts = [checked_rejected]
    if text is not None and text.bad_rows:
        parts.append(text.wrong_field_count())
    return pl.concat(parts, how="diagonal_relaxed")


class ChunkChecker:
    """Validates chunks of text records on a worker thread while the caller parses more.

    CSV parsing is Python and holds the GIL; validation is polars and releases it, so on two
    cores they overlap. No whole-batch text frame ever exists: each chunk's text is dropped
    once validated, which keeps a 5M-row load's memory to its typed rows.
    """

    def __init__(
        self,
        entity: Entity,
        load_date: dt.date,
        schema: dict[str, pl.DataType],
        prepare: Callable[[pl.DataFrame], pl.DataFrame],
    ) -> None:
        self.entity = entity
        self.load_date = load_date
        self.schema = schema
        self.prepare = prepare
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="services-validate")
        self._pending: deque[Future[Validated]] = deque()
        self._done: list[Validated] = []

    def __enter__(self) -> ChunkChecker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _check(self, text: pl.DataFrame) -> Validated:
        checked = validate(self.prepare(text), self.entity, self.load_date)
        return Validated(
            accepted=_without_pii(checked.accepted, self.entity),
            rejected=_without_pii(checked.rejected, self.entity),
        )

    def __call__(self, text: pl.DataFrame) -> None:
        while len(self._pending) >= PENDING_CHUNKS:
            self._done.append(self._pending.popleft().result())
        self._pending.append(self._pool.submit(self._check, text))

    def result(self) -> Validated:
        """Every chunk's outcome, in the order the chunks came."""
        while self._pending:
            self._done.append(self._pending.popleft().result())
        if not self._done:
            return self._check(pl.DataFrame(schema=self.schema))
        checked = Validated(
            accepted=pl.concat([v.accepted for v in self._done], how="vertical_relaxed"),
            rejected=pl.concat([v.rejected for v in self._done], how="diagonal_relaxed"),
        )
        self._done = []
        return checked


def _file_report(
    landing: Landing, entity: Entity, files: list[LandingFile], processed: dict[str, int]
) -> dict[str, Any]:
    """What the landing directory held for ``entity`` beyond the files read."""
    report: dict[str, Any] = {}
    changed = [f.path for f in files if f.path in processed and processed[f.path] != f.size]
    if changed:
        # Files are immutable by contract; a changed one is not re-read, only reported.
        logger.warning(
            "services.%s: files changed after they were loaded: %s", entity.name, changed
        )
        report["changed_after_load"] = changed
    if landing.partial.get(entity.name):
        report["partial_files_ignored"] = landing.partial[entity.name]
    unrecognised = landing.unrecognised.get(entity.name, [])
    if entity is DELIVERY:
        unrecognised = unrecognised + landing.unrecognised.get("landing", [])
    if unrecognised:
        logger.warning("services: files outside the contract's layout: %s", unrecognised)
        report["unrecognised_files"] = unrecognised
    return report


def _text_report(text: CsvText) -> dict[str, Any]:
    report: dict[str, Any] = {"encodings": dict(sorted(text.encodings.items()))}
    if text.drift:
        report["schema_drift"] = text.drift
        logger.warning("services: columns outside the contract: %s", text.drift)
    return report


def extract_snapshot(
    landing: Landing, entity: Entity, store: RawStore, load_date: dt.date
) -> EntityBatch:
    """The newest snapshot of ``entity`` when it is new; older unread files are skipped."""
    files = sorted(landing.files[entity.name], key=lambda f: (f.stamp, f.path))
    processed = store.processed_files(entity)
    new = [f for f in files if f.path not in processed]
    newest = files[-1] if files else None
    read = [newest] if newest is not None and newest.path not in processed else []

    text = _csv_text(entity)
    with ChunkChecker(entity, load_date, *_text_shape(entity)) as checker:
        text.sink = checker
        for file, data in landing.fetch(read):
            text.add(file, data)
        text.finish()
        checked = checker.result()
    rows, duplicates = _snapshot_rows(entity, checked.accepted)

    report: dict[str, Any] = {
        "snapshot_file": read[0].path if read else None,
        "older_snapshots_skipped": len(new) - len(read),
        **_file_report(landing, entity, files, processed),
    }
    if read:
        report |= _text_report(text)
        report["duplicates"] = duplicates
        # Keys the new snapshot no longer lists drop out of the current view, which shows the
        # newest snapshot only. They count as deleted here but get no tombstone: a later
        # snapshot may list them again, and the snapshot rule would then show them.
        before = store.current(entity, "_record_key")["_record_key"]
        absent = before.filter(~before.is_in(rows["_record_key"].implode())).sort()
        report["deleted"] = absent.len()
        report["deleted_keys"] = absent.head(REPORT_KEYS).to_list()
        if rows.height == 0:
            logger.warning("services.%s: %s has no accepted row", entity.name, read[0].path)
    return EntityBatch(
        entity=entity,
        rows=rows,
        rejected=_rejected(rejected_records(checked), text),
        rows_read=text.rows_read,
        files=[(f.path, f.size) for f in new],
        report=report,
        skip_unchanged=False,
        reconciled={"duplicate_key": duplicates},
    )


def extract_deliveries(landing: Landing, store: RawStore, load_date: dt.date) -> EntityBatch:
    """Every row of every new delivery file, revisions included."""
    files = landing.files[DELIVERY.name]
    processed = store.processed_files(DELIVERY)
    new = sorted(
        (f for f in files if f.path not in processed), key=lambda f: (f.group, f.revision, f.path)
    )
    text = _csv_text(DELIVERY)
    with ChunkChecker(DELIVERY, load_date, *_text_shape(DELIVERY)) as checker:
        text.sink = checker
        for file, data in landing.fetch(new):
            text.add(file, data, (file.revision, file.group))
            crash_point("services.file")
        text.finish()
        checked = checker.result()
    rows = _delivery_rows(checked.accepted)
    reconciled = reconcile(rows, new, processed, store)
    previous = store.last_watermark(DELIVERY)

    report: dict[str, Any] = {
        **_text_report(text),
        **reconciled.report,
        "repeated_in_file": rows.height - rows.select("_record_key", "_source_file").n_unique(),
        **_file_report(landing, DELIVERY, files, processed),
    }
    return EntityBatch(
        entity=DELIVERY,
        rows=reconciled.rows,
        rejected=_rejected(rejected_records(checked), text),
        rows_read=text.rows_read,
        deleted_keys=reconciled.deleted_keys,
        files=[(f.path, f.size) for f in new],
        watermark=max_cursor(reconciled.rows, "recorded_at", previous),
        report=report,
        skip_unchanged=False,
        reconciled={"withdrawn_revision": reconciled.withdrawn_rows},
    )


def extract_visits(landing: Landing, store: RawStore, load_date: dt.date) -> EntityBatch:
    """Every row of every new monthly station-visit workbook."""
    files = landing.files[STATION_VISIT.name]
    processed = store.processed_files(STATION_VISIT)
    new = sorted((f for f in files if f.path not in processed), key=lambda f: (f.stamp, f.path))
    drift: dict[str, list[str]] = {}
    rows_read = 0
    with ChunkChecker(STATION_VISIT, load_date, *_text_shape(STATION_VISIT)) as checker:
        for file, data in landing.fetch(new):
            part, extra = read_visits(file, data)
            rows_read += part.height
            checker(part)
            if extra:
                drift[file.path] = extra
        checked = checker.result()
    rows = _visit_rows(checked.accepted)

    report: dict[str, Any] = {
        "duplicates": rows.height - rows["_record_key"].n_unique(),
        **_file_report(landing, STATION_VISIT, files, processed),
    }
    if drift:
        report["schema_drift"] = drift
        logger.warning("services.station_visit: headers outside the contract: %s", drift)
    return EntityBatch(
        entity=STATION_VISIT,
        rows=rows,
        rejected=rejected_records(checked),
        rows_read=rows_read,
        files=[(f.path, f.size) for f in new],
        report=report,
    )


def unloaded_files(
    landing_dir: str, store: RawStore, wait: float = LOCK_WAIT_SECONDS
) -> list[LandingFile]:
    """The complete landing files of the contract's folders that no committed load has
    recorded: what the next load would read (a missing landing directory holds none)."""
    try:
        landing = scan_landing(landing_dir)
    except FileNotFoundError:
        return []
    loaded = store.loaded_files(SOURCE, wait)
    return [
        file
        for files in landing.files.values()
        for file in files
        if (file.entity, file.path) not in loaded
    ]


def load(
    config: ServicesLoad, store: RawStore, now: dt.datetime | None = None
) -> list[EntityResult]:
    """One load of every new file in the landing directory, committed together."""
    now = now or beijing_now()
    store.ensure()
    landing = scan_landing(config.landing_dir)
    batches = [
        extract_snapshot(landing, PROGRAM, store, now.date()),
        extract_snapshot(landing, STATION, store, now.date()),
        extract_deliveries(landing, store, now.date()),
        extract_visits(landing, store, now.date()),
    ]
    for batch in batches:
        logger.info(
            "services.%s: %d files, %d rows read, %d accepted, %d rejected",
            batch.entity.name,
            len(batch.files),
            batch.rows_read,
            batch.rows.height,
            batch.rejected.height,
        )
    return store.commit(SOURCE, store.new_load_id(SOURCE, now), now, batches, config.pii_key)
