"""Steps every loader shares between validation and the raw store: quality flags, rejected
records in quarantine shape, latest-version-per-key, watermarks."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ingestion.contract import Entity
from ingestion.pii import uscc_valid
from ingestion.validation import REJECT_COLUMN, REJECT_RULE, REJECT_VALUE, Validated

# A watermark overlaps this much: a row may commit up to 10 minutes after its cursor value.
WATERMARK_OVERLAP = dt.timedelta(minutes=10)


def with_flags(frame: pl.DataFrame, flags: list[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """Add ``_quality_flags``: the names of the ``flags`` whose expression is true."""
    if not flags:
        return frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("_quality_flags"))
    parts = [pl.when(expr.fill_null(False)).then(pl.lit(name)) for name, expr in flags]
    return frame.with_columns(pl.concat_list(parts).list.drop_nulls().alias("_quality_flags"))


def uscc_flags(*columns: str) -> list[tuple[str, pl.Expr]]:
    """One ``invalid_uscc_check`` flag, raised when any of ``columns`` has a bad USCC."""
    bad = pl.any_horizontal(uscc_valid(c) == False for c in columns)  # noqa: E712
    return [("invalid_uscc_check", bad)]


def person_flags(gender: str | None = None) -> list[tuple[str, pl.Expr]]:
    """Flags over the columns ``pii.protect_identity`` derives."""
    flags = [
        ("invalid_id_check", pl.col("id_valid") == False),  # noqa: E712
        ("invalid_phone", pl.col("phone_valid") == False),  # noqa: E712
    ]
    if gender is not None:
        flags.insert(1, ("gender_mismatch", pl.col("id_gender") != pl.col(gender)))
    return flags


def rejected_records(validated: Validated) -> pl.DataFrame:
    """Rejected rows renamed for ``RawStore`` (``rule``, ``column_name``, ``value``)."""
    return validated.rejected.rename(
        {REJECT_RULE: "rule", REJECT_COLUMN: "column_name", REJECT_VALUE: "value"}
    )


def latest_per_key(frame: pl.DataFrame, cursor: str | None) -> tuple[pl.DataFrame, int]:
    """Keep one row per ``_record_key``: greatest cursor, then later file, then later line.

    Returns the rows kept and how many duplicates were dropped.
    """
    order = [c for c in (cursor, "_source_file", "_source_line") if c is not None]
    kept = frame.sort(order, nulls_last=False).unique(
        subset=["_record_key"], keep="last", maintain_order=True
    )
    return kept, frame.height - kept.height


def max_cursor(
    frame: pl.DataFrame, cursor: str, previous: dt.datetime | None
) -> dt.datetime | None:
    """The new watermark: the greatest cursor seen (never moving backwards)."""
    seen = frame.select(pl.col(cursor).max()).item() if frame.height else None
    candidates = [v for v in (seen, previous) if v is not None]
    return max(candidates) if candidates else None


def entity_rows(entity: Entity, frame: pl.DataFrame) -> pl.DataFrame:
    """Contract columns (minus PII) first, then derived and bookkeeping columns."""
    contract = [c.name for c in entity.columns if not c.pii and c.name in frame.columns]
    rest = [c for c in frame.columns if c not in contract]
    return frame.select(contract + rest)
