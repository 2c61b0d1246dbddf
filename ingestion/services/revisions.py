"""Deliveries reconciled across files: revisions, resends and withdrawn files.

The raw store's ``revisioned`` rule already makes the current view right in the usual case:
only the highest revision of a file group counts, then the greatest ``recorded_at`` per
delivery. This module measures what each revision and resend changed, for the load's report,
and handles the one case that rule cannot see: a revision without any accepted row (every
delivery of the file withdrawn). Such a revision writes nothing, so the view would keep the
rows it replaced; here those rows are kept out of the batch (same load) or tombstoned
(earlier loads).

Earlier loads are read from ``raw.delivery`` (plain Parquet history, filtered by key or file
group), not from ``raw.delivery_current``, whose window over every delivery costs seconds at
SF1 whatever the filter. Which stored revision is live comes from ``meta.files``: a group's
highest processed revision, even one that wrote no row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ingestion.raw_store import BOOKKEEPING, RawStore, row_hashes
from ingestion.services.files import LandingFile

# Keys listed per finding in the report; the counts are always complete.
REPORT_KEYS = 100
_REVISION = re.compile(r"-r(\d+)\.csv$")
_GROUP = re.compile(r"(-r\d+)?\.csv$")
_STORED = {
    "_record_key": pl.String,
    "_file_group": pl.String,
    "_revision": pl.Int64,
    "_row_hash": pl.String,
}


@dataclass
class Reconciled:
    rows: pl.DataFrame
    deleted_keys: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    # rows of this load's files that a newer revision without rows withdrew before storing
    withdrawn_rows: int = 0


def _content(rows: pl.DataFrame) -> list[str]:
    # The same columns the raw store hashes into ``_row_hash``, so stored hashes compare.
    return [c for c in rows.columns if c not in BOOKKEEPING and not c.startswith("_")]


def _hashed(rows: pl.DataFrame, content: list[str]) -> pl.DataFrame:
    return rows.select("_record_key", "_file_group", "_revision").with_columns(
        row_hashes(rows, content).alias("_row_hash")
    )


def _keys(frame: pl.DataFrame) -> list[str]:
    return frame["_record_key"].drop_nulls().unique().sort().head(REPORT_KEYS).to_list()


def processed_revisions(processed: dict[str, int]) -> dict[str, set[int]]:
    """Revisions of each file group already loaded, including revisions without rows."""
    known: dict[str, set[int]] = {}
    for name in processed:
        match = _REVISION.search(name)
        known.setdefault(_GROUP.sub("", name), set()).add(int(match.group(1)) if match else 1)
    return known


def _stored(store: RawStore, where: str, values: list[str]) -> pl.DataFrame:
    """Rows of earlier loads whose ``where`` column is one of ``values``."""
    if not values or not store.has_view("raw", "delivery"):
        return pl.DataFrame(schema=_STORED)
    return store.query(
        "select _record_key, _file_group, _revision::bigint as _revision, _row_hash "
        f"from raw.delivery where {where} in (select unnest(?::varchar[]))",
        [values],
    ).cast(_STORED)  # type: ignore[arg-type]


def _live(frame: pl.DataFrame, top: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``frame`` in the highest revision of their group according to ``top``."""
    return frame.join(top, on="_file_group", how="left").filter(
        pl.col("_top").is_null() | (pl.col("_revision") >= pl.col("_top"))
    )


def reconcile(
    rows: pl.DataFrame,
    new_files: list[LandingFile],
    processed: dict[str, int],
    store: RawStore,
) -> Reconciled:
    """Report revisions and resends of ``rows`` (this load's accepted deliveries)."""
    content = _content(rows)
    known = processed_revisions(processed)
    in_batch: dict[str, set[int]] = {}
    for f in new_files:
        in_batch.setdefault(f.group, set()).add(f.revision)
    revised = sorted(g for g, revs in in_batch.items() if max(revs) > 1 or g in known)
    group_rows = _stored(store, "_file_group", revised)
    hashed_cache: dict[str, pl.DataFrame] = {}

    def revision_rows(group: str, revision: int) -> pl.DataFrame:
        if revision in in_batch.get(group, set()):
            if group not in hashed_cache:
                hashed_cache[group] = _hashed(rows.filter(pl.col("_file_group") == group), content)
            part = hashed_cache[group]
        else:
            part = group_rows.filter(pl.col("_file_group") == group)
        return part.filter(pl.col("_revision") == revision).select("_record_key", "_row_hash")

    revisions: list[dict[str, Any]] = []
    stale: list[str] = []
    for f in sorted(new_files, key=lambda f: (f.group, f.revision)):
        loaded = known.get(f.group, set())
        if loaded and max(loaded) > f.revision:
            stale.append(f.path)  # an older revision arriving late replaces nothing
            continue
        if f.revision == 1:
            continue
        below = {r for r in loaded | in_batch[f.group] if r < f.revision}
        if not below:
            revisions.append({"file": f.path, "replaces": None, "withdrawn": 0, "corrected": 0})
            continue
        previous = max(below)
        old = revision_rows(f.group, previous)
        new = revision_rows(f.group, f.revision)
        withdrawn = old.join(new, on="_record_key", how="anti")
        both = old.join(new, on="_record_key", how="inner", suffix="_new")
        corrected = both.filter(pl.col("_row_hash") != pl.col("_row_hash_new"))
        revisions.append(
            {
                "file": f.path,
                "replaces": previous,
                "withdrawn": withdrawn["_record_key"].n_unique(),
                "corrected": corrected["_record_key"].n_unique(),
                "withdrawn_keys": _keys(withdrawn),
                "corrected_keys": _keys(corrected),
            }
        )

    # A newest revision without accepted rows withdrew every delivery of its file but writes
    # nothing the view could rank: keep the rows it replaced from counting.
    emptied = sorted(
        group
        for group, revs in in_batch.items()
        if max(revs) > 1
        and max(revs) > max(known.get(group, {0}))
        and rows.filter((pl.col("_file_group") == group) & (pl.col("_revision") == max(revs)))
        .select(pl.len())
        .item()
        == 0
    )
    withdrawn_rows = 0
    if emptied:
        kept = rows.filter(~pl.col("_file_group").is_in(emptied))
        withdrawn_rows = rows.height - kept.height
        rows = kept

    top_before = pl.DataFrame(
        {"_file_group": list(known), "_top": [max(r) for r in known.values()]},
        schema={"_file_group": pl.String, "_top": pl.Int64},
    )
    history = _stored(store, "_record_key", rows["_record_key"].unique().to_list())
    deleted = _withdrawn_by_empty_revision(group_rows, history, rows, emptied, top_before)
    resend, changed = _resends(rows, _live(history, top_before), content, set(known))
    report: dict[str, Any] = {
        "revision_files": len(revisions),
        "revision_withdrawn": sum(r["withdrawn"] for r in revisions),
        "revision_corrected": sum(r["corrected"] for r in revisions),
        "revisions": revisions,
        "resend": resend.height,
        "resend_keys": _keys(resend),
        "resend_changed": changed.height,
        "resend_changed_keys": _keys(changed),
    }
    if stale:
        report["stale_revisions"] = stale
    if emptied:
        report["revisions_without_rows"] = emptied
    return Reconciled(rows=rows, deleted_keys=deleted, report=report, withdrawn_rows=withdrawn_rows)


def _withdrawn_by_empty_revision(
    group_rows: pl.DataFrame,
    history: pl.DataFrame,
    rows: pl.DataFrame,
    emptied: list[str],
    top_before: pl.DataFrame,
) -> list[str]:
    """Keys loaded earlier whose only live copy is in a file group now emptied."""
    if not emptied:
        return []
    gone = _live(group_rows.filter(pl.col("_file_group").is_in(emptied)), top_before)
    elsewhere = pl.concat(
        [
            _live(history, top_before)
            .filter(~pl.col("_file_group").is_in(emptied))
            .select("_record_key"),
            rows.select("_record_key"),
        ]
    )
    keys = gone.join(elsewhere, on="_record_key", how="anti")["_record_key"]
    return keys.unique().sort().to_list()


def _resends(
    rows: pl.DataFrame, before: pl.DataFrame, content: list[str], loaded_groups: set[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deliveries this load brings again in another file: identical (``resend``, one row per
    extra copy) or changed (one row per delivery; the greatest ``recorded_at`` wins).

    ``before`` holds the live copies earlier loads stored of this load's keys. Only copies
    in file groups never loaded before count, so neither a revision of a file that held a
    resent row nor a later load counts that resend again.
    """
    empty = pl.DataFrame(schema={"_record_key": pl.String})
    if rows.height == 0:
        return empty, empty
    # The highest revision of each group in this load speaks for that group.
    live = rows.filter(pl.col("_revision") == pl.col("_revision").max().over("_file_group"))
    pairs = pl.concat(
        [live.select("_record_key", "_file_group"), before.select("_record_key", "_file_group")]
    )
    multi = (
        pairs.group_by("_record_key")
        .agg(pl.col("_file_group").n_unique().alias("groups"))
        .filter(pl.col("groups") > 1)
        .select("_record_key")
    )
    if multi.height == 0:
        return empty, empty
    batch = (
        _hashed(live.join(multi, on="_record_key", how="semi"), content)
        .select("_record_key", "_file_group", "_row_hash")
        .with_columns(pl.col("_file_group").is_in(sorted(loaded_groups)).alias("_loaded"))
    )
    earlier = (
        before.join(multi, on="_record_key", how="semi")
        .select("_record_key", "_file_group", "_row_hash")
        .with_columns(pl.lit(True).alias("_loaded"))
    )
    copies = pl.concat([batch, earlier]).unique(subset=["_record_key", "_file_group", "_row_hash"])
    by_version = copies.group_by("_record_key", "_row_hash").agg(
        pl.col("_file_group").filter(~pl.col("_loaded")).n_unique().alias("new"),
        pl.col("_loaded").any().alias("had"),
    )
    identical = by_version.select(
        "_record_key",
        (pl.col("new") - pl.when(pl.col("had")).then(0).otherwise(1)).clip(0).alias("n"),
    ).filter(pl.col("n") > 0)
    resend = identical.select(pl.col("_record_key").repeat_by("n").explode())
    changed = (
        copies.group_by("_record_key")
        .agg(
            pl.col("_row_hash").n_unique().alias("versions"),
            (~pl.col("_loaded")).any().alias("fresh"),
        )
        .filter((pl.col("versions") > 1) & pl.col("fresh"))
        .select("_record_key")
    )
    return resend, changed
