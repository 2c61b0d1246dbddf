"""Dispute & 12351 hotline system (REST API or JSON-lines export) into the raw layer.

One load reads cases and hotline requests through one transport: the API when a URL is
configured, else the export directory. Records are checked by ``ingestion.disputes.records``
whichever way they came, and both entities are committed together in one ``RawStore.commit``
only after everything was read, so a failed page or a broken file commits nothing.

Incremental: the export by file (each file is read once); the API by ``updated_since`` = the
last watermark minus ``WATERMARK_OVERLAP``, the overlap's re-sent rows being dropped by the
store as unchanged. Within a load the greatest ``updated_at`` per key wins (tie: the later
file, then line; for the API the later position).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from core.settings import PipelineSettings
from ingestion.batches import WATERMARK_OVERLAP
from ingestion.contract import CASE, HOTLINE_REQUEST, Entity
from ingestion.disputes.api import (
    ENDPOINTS,
    MAX_LIMIT,
    DisputesApi,
    FetchStats,
    RetryPolicy,
    since_param,
)
from ingestion.disputes.export import read_export
from ingestion.disputes.records import SHAPES, Checked, RecordCollector
from ingestion.raw_store import EntityBatch, EntityResult, RawStore, beijing_now

logger = logging.getLogger(__name__)

SOURCE = "disputes"
ENTITIES = (CASE, HOTLINE_REQUEST)


@dataclass(frozen=True)
class DisputesLoad:
    """Where to read and how to protect. The API is used when ``api_url`` is set."""

    export_dir: Path | None
    api_url: str | None
    api_token: str | None
    pii_key: bytes
    page_limit: int = MAX_LIMIT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __repr__(self) -> str:
        # The token and the key must not reach a log line through a printed config.
        return (
            f"DisputesLoad(export_dir={self.export_dir!r}, api_url={self.api_url!r}, "
            f"page_limit={self.page_limit}, retry={self.retry!r})"
        )


def config_from(settings: PipelineSettings) -> DisputesLoad:
    """The disputes load ``settings`` describe (the command line's and Dagster's)."""
    return DisputesLoad(
        export_dir=settings.disputes_export_dir,
        api_url=settings.disputes_api_url,
        api_token=settings.disputes_api_token,
        pii_key=settings.pii_key_bytes,
    )


def _batch(
    collector: RecordCollector,
    checked: Checked,
    previous: dt.datetime | None,
    report: dict[str, Any],
    files: list[tuple[str, int]] | None = None,
) -> EntityBatch:
    entity = collector.shape.entity
    report = {**report, "duplicates": checked.duplicates, "malformed_lines": checked.malformed}
    if checked.schema_drift:
        report["schema_drift"] = checked.schema_drift
        logger.warning(
            "disputes.%s: fields outside the contract, not loaded: %s",
            entity.name,
            checked.schema_drift,
        )
    latest = [w for w in (previous, checked.latest) if w is not None]
    return EntityBatch(
        entity=entity,
        rows=checked.rows,
        rejected=checked.rejected,
        rows_read=checked.rows_read,
        files=files or [],
        watermark=max(latest) if latest else None,
        report=report,
        skip_unchanged=True,
        reconciled={"duplicate_key": checked.duplicates},
    )


def _from_export(
    export_dir: Path, store: RawStore, key: bytes, now: dt.datetime
) -> list[EntityBatch]:
    batches = []
    for entity in ENTITIES:
        collector = RecordCollector(SHAPES[entity.name], key)
        read = read_export(export_dir, collector, store.processed_files(entity))
        report: dict[str, Any] = {
            "transport": "export",
            "files_read": len(read.files),
            "files_already_processed": read.skipped,
        }
        if read.changed:
            report["files_changed_after_processing"] = read.changed
        checked = collector.finish(now.date(), now)
        batches.append(_batch(collector, checked, store.last_watermark(entity), report, read.files))
    return batches


def _from_api(config: DisputesLoad, store: RawStore, now: dt.datetime) -> list[EntityBatch]:
    if not config.api_token:
        raise ValueError("a dispute API URL is set but no token (UNIONWH_DISPUTES_API_TOKEN)")
    assert config.api_url is not None
    api = DisputesApi(config.api_url, config.api_token, config.retry)
    collectors = []
    try:
        # Every page of both entities arrives before anything is checked or committed.
        for entity in ENTITIES:
            previous = store.last_watermark(entity)
            since = since_param(previous, WATERMARK_OVERLAP)
            stats = FetchStats(ENDPOINTS[entity.name], since)
            collector = RecordCollector(SHAPES[entity.name], config.pii_key)
            records = api.records(entity.name, since, config.page_limit, stats)
            for position, record in enumerate(records, start=1):
                collector.add(record, None, position, _raw(record), stats.endpoint)
            logger.info(
                "dispute API %s: %d records in %d pages, retries %s",
                stats.endpoint, stats.records, stats.pages, stats.retries,
            )  # fmt: skip
            collectors.append((collector, previous, stats))
    finally:
        api.close()
    return [
        _batch(
            collector,
            collector.finish(now.date(), now),
            previous,
            {"transport": "api", **stats.report()},
        )
        for collector, previous, stats in collectors
    ]


def _raw(record: object) -> str:
    """The text that identifies a served value which is not a record (objects need none)."""
    return (
        "" if isinstance(record, dict) else json.dumps(record, sort_keys=True, ensure_ascii=False)
    )


def empty_rows(entity: Entity, key: bytes, load_date: dt.date) -> pl.DataFrame:
    """The rows a load hands the raw store when no record of ``entity`` came: the raw
    layer's columns and types, through the same checks as every record."""
    now = dt.datetime.combine(load_date, dt.time())
    return RecordCollector(SHAPES[entity.name], key).finish(load_date, now).rows


def load(
    config: DisputesLoad, store: RawStore, now: dt.datetime | None = None
) -> list[EntityResult]:
    """One load of cases and hotline requests, committed together."""
    now = now or beijing_now()
    store.ensure()
    if config.api_url:
        batches = _from_api(config, store, now)
    elif config.export_dir is not None:
        batches = _from_export(Path(config.export_dir), store, config.pii_key, now)
    else:
        raise ValueError("neither a dispute API URL nor an export directory is configured")
    return store.commit(SOURCE, store.new_load_id(SOURCE, now), now, batches, config.pii_key)
