"""The raw store's guarantees, on hand-made batches: current-state rules, tombstones,
quarantine de-duplication, and waiting for the DuckDB lock instead of failing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from core.warehouse import connect
from ingestion.contract import HONOR
from ingestion.raw_store import EntityBatch, RawStore

KEY = b"k"
T0 = dt.datetime(2024, 12, 31, 10, 0)


def honors(*rows: tuple[str, str, dt.datetime, int]) -> pl.DataFrame:
    """Rows of (honor_id, level, updated_at, line)."""
    return pl.DataFrame(
        {
            "honor_id": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "updated_at": [r[2] for r in rows],
            "_record_key": [r[0] for r in rows],
            "_source_file": ["f"] * len(rows),
            "_source_line": [r[3] for r in rows],
            "_quality_flags": [[] for _ in rows],
        },
        schema={
            "honor_id": pl.String,
            "level": pl.String,
            "updated_at": pl.Datetime("us"),
            "_record_key": pl.String,
            "_source_file": pl.String,
            "_source_line": pl.Int64,
            "_quality_flags": pl.List(pl.String),
        },
    )


def no_rejects() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "_record_key": pl.String,
            "_source_file": pl.String,
            "_source_line": pl.Int64,
            "rule": pl.String,
            "column_name": pl.String,
            "value": pl.String,
        }
    )


def commit(store: RawStore, rows: pl.DataFrame, at: dt.datetime, **kw: object) -> object:
    store.ensure()
    rejected = kw.pop("rejected", no_rejects())
    read = kw.pop("rows_read", rows.height + rejected.height)  # type: ignore[call-overload]
    batch = EntityBatch(entity=HONOR, rows=rows, rejected=rejected,  # type: ignore[arg-type]
                        rows_read=read, **kw)  # type: ignore[arg-type]  # fmt: skip
    (result,) = store.commit("membership", store.new_load_id("membership", at), at, [batch], KEY)
    return result


def current(store: RawStore) -> list[tuple[str, str, bool]]:
    return store.query(
        "select honor_id, level, _is_deleted from raw.honor_current order by 1"
    ).rows()


def test_greatest_cursor_wins_and_a_tie_goes_to_the_later_load(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "w.duckdb")
    first = commit(store, honors(("A1", "DISTRICT", T0, 1), ("A2", "DISTRICT", T0, 2)), T0)
    assert (first.rows_new, first.rows_updated) == (2, 0)
    later = T0 + dt.timedelta(hours=1)
    # A1: an older version arriving late must not win; A2: same cursor, later load wins.
    second = commit(
        store,
        honors(("A1", "NATIONAL", T0 - dt.timedelta(minutes=5), 1), ("A2", "MUNICIPAL", T0, 2)),
        later,
    )
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (0, 2, 0)
    assert current(store) == [("A1", "DISTRICT", False), ("A2", "MUNICIPAL", False)]
    assert store.query("select count(*) from raw.honor").item() == 4


def test_identical_rows_are_not_stored_again(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "w.duckdb")
    rows = honors(("A1", "DISTRICT", T0, 1))
    commit(store, rows, T0)
    again = commit(store, rows, T0 + dt.timedelta(hours=1))
    assert (again.rows_new, again.rows_updated, again.rows_unchanged) == (0, 0, 1)
    assert store.query("select count(*) from raw.honor").item() == 1


def test_a_tombstone_hides_a_key_until_it_comes_back(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "w.duckdb")
    commit(store, honors(("A1", "DISTRICT", T0, 1), ("A2", "DISTRICT", T0, 2)), T0)
    gone = commit(store, honors(), T0 + dt.timedelta(hours=1), deleted_keys=["A2"])
    assert gone.rows_deleted == 1
    assert current(store) == [("A1", "DISTRICT", False), ("A2", "DISTRICT", True)]
    assert store.current(HONOR)["_record_key"].to_list() == ["A1"]
    back = T0 + dt.timedelta(hours=2)
    commit(store, honors(("A2", "NATIONAL", back, 1)), back)
    assert current(store) == [("A1", "DISTRICT", False), ("A2", "NATIONAL", False)]


def test_the_same_rejected_record_is_quarantined_once(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "w.duckdb")
    rejected = no_rejects().vstack(
        pl.DataFrame(
            {
                "_record_key": ["A9"],
                "_source_file": [None],
                "_source_line": [None],
                "rule": ["unknown_code"],
                "column_name": ["level"],
                "value": ["GALACTIC"],
            },
            schema=no_rejects().schema,
        )
    )
    first = commit(store, honors(), T0, rejected=rejected)
    second = commit(store, honors(), T0 + dt.timedelta(hours=1), rejected=rejected)
    assert (first.rows_quarantined, second.rows_quarantined) == (1, 0)
    assert second.reconciled_by_reason == {"quarantined_before": 1}
    assert (first.unaccounted, second.unaccounted) == (0, 0)
    assert store.query("select record_key, rule, value from quarantine.records").rows() == [
        ("A9", "unknown_code", "GALACTIC")
    ]


def test_every_row_read_is_accounted_for_once(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "w.duckdb")
    commit(store, honors(("A1", "DISTRICT", T0, 1)), T0)
    later = T0 + dt.timedelta(hours=1)
    # Read 6: A1 again unchanged, two versions of the new key A2 (new once, then updated),
    # A3 new, and two rows the loader superseded before handing the batch over.
    rows = honors(
        ("A1", "DISTRICT", T0, 1),
        ("A2", "DISTRICT", later, 2),
        ("A2", "NATIONAL", later, 3),
        ("A3", "DISTRICT", later, 4),
    )
    second = commit(store, rows, later, rows_read=6, reconciled={"duplicate_key": 2})
    assert (second.rows_new, second.rows_updated, second.rows_unchanged) == (2, 1, 1)
    assert (second.rows_reconciled, second.reconciled_by_reason) == (2, {"duplicate_key": 2})
    assert second.unaccounted == 0
    # A loader that loses a row is committed all the same and recorded as unbalanced.
    third = commit(store, honors(("A4", "DISTRICT", later, 1)), later + dt.timedelta(hours=1),
                   rows_read=3)  # fmt: skip
    assert third.unaccounted == 2
    assert store.query(
        "select rows_read, rows_new, rows_reconciled, report->>'$.reconciled' from meta.loads "
        "order by loaded_at"
    ).rows() == [(1, 1, 0, "{}"), (6, 2, 2, '{"duplicate_key":2}'), (3, 1, 0, "{}")]


def test_a_writer_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    RawStore(path).ensure()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
         "time.sleep(2); c.close()"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    start = time.monotonic()
    with connect(path, wait=30) as con:
        waited = time.monotonic() - start
        assert con.execute("select 1").fetchone() == (1,)
    holder.wait(timeout=10)
    assert waited > 1.0


def test_a_writer_gives_up_after_its_wait(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    RawStore(path).ensure()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
         "time.sleep(5)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(Exception, match="(?i)lock"), connect(path, wait=0.5):
            pass
    finally:
        holder.kill()
        holder.wait()
