"""Re-runs of the uninterrupted baseline (see ``test_crash_recovery.py``): the warehouse and
the raw layer lost and rebuilt; the same load twice more, by two runs started at once while
eight analysts read the serving file (``serving_reader.py``). A module of its own, so that a
parallel test worker runs it beside the crash chain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
from crash_world import (
    RAW_SCHEMAS,
    Outcome,
    World,
    baseline,
    crash_sources,
    open_instance,
    outcome,
    run_ids,
    succeeded,
    world,
)
from pipeline import DAGSTER, MATERIALIZE, ROOT
from serving_reader import IDLE, STAGED, SWAPPED, publication_version, reading
from warehouse_fingerprint import fingerprint

__all__ = ["baseline", "crash_sources", "world"]  # fixtures

READERS = 8


def test_rebuild_from_raw_and_from_sources_equal_the_original(
    world: World, baseline: Outcome, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(baseline.base / "out", out)
    env = world.env(tmp_path)
    raw_layer = {k: v for k, v in baseline.warehouse.items() if k.split(".")[0] in RAW_SCHEMAS}

    def rebuild(origin: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ingestion", "rebuild", "--from", origin],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        loads = dict(
            con.execute(
                "select source, count(distinct load_id) from meta.loads group by all"
            ).fetchall()
        )
    # The warehouse file is lost: its raw layer comes back from the load manifests alone.
    (out / "warehouse.duckdb").unlink()
    printed = rebuild("raw")
    assert json.loads(printed)["restored_loads"] == loads
    assert fingerprint(out / "warehouse.duckdb") == raw_layer
    done = world.run(tmp_path)
    assert succeeded(done), done.stderr[-4000:]
    assert outcome(tmp_path).warehouse == baseline.warehouse
    assert outcome(tmp_path).serving == baseline.serving

    # Raw layer and warehouse are both distrusted: load every source again, old ones kept.
    printed = rebuild("sources")
    assert printed.count('"moved_aside"') == 2
    assert len(list(out.glob("warehouse.replaced-*.duckdb"))) == 1
    assert len(list(out.glob("warehouse_raw.replaced-*"))) == 1
    done = world.run(tmp_path)
    assert succeeded(done), done.stderr[-4000:]
    assert outcome(tmp_path).warehouse == baseline.warehouse


def _pool_intervals(home: Path) -> list[tuple[float, float, str]]:
    """(start, end, run/step) of every step in the warehouse pool, from the instance."""
    instance = open_instance(home)
    spans = []
    for run in instance.get_runs():
        starts: dict[str, float] = {}
        for record in instance.get_records_for_run(run.run_id).records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None or event.step_key == "serving__dashboard":
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                starts[event.step_key] = entry.timestamp
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                spans.append((starts[event.step_key], entry.timestamp, run.run_id))
    return sorted(spans)


def test_the_same_load_twice_by_two_runs_at_once_changes_nothing_and_readers_never_wait(
    world: World, baseline: Outcome, tmp_path: Path
) -> None:
    """Two runs of the baseline's sources started at once on its warehouse and Dagster
    instance, while analysts read the serving file: the runs are serialised in the warehouse
    pool; no reader query fails, waits for a run or sees a mix of versions; and loading the
    same sources twice more leaves the warehouse and the serving file identical, with loads
    that found nothing new."""
    base = tmp_path / "busy"
    shutil.copytree(baseline.base, base, symlinks=True)  # its warehouse and Dagster instance
    before = set(run_ids(baseline.base))
    env = world.env(base)
    serving = base / "out" / "serving.duckdb"
    old = publication_version(serving)
    started = time.monotonic()
    with reading(serving, tmp_path, READERS) as seen:
        time.sleep(2)
        runs = [
            subprocess.Popen(
                [str(DAGSTER), *MATERIALIZE],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        # Serialised, the two take twice one run's time: 15 minutes on a slow hour beside
        # the suite's other workers (CI, 2026-12-05). The limit only catches a hang.
        outputs = [run.communicate(timeout=1800) for run in runs]
        new = publication_version(serving)
        time.sleep(2)
    elapsed = time.monotonic() - started
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "RUN_SUCCESS" in err, err[-4000:]
    assert new != old
    assert [s["failures"] for s in seen] == [[]] * READERS, seen
    assert [s["mixed"] for s in seen] == [0] * READERS
    # Each reader saw the baseline's publication, then the runs', the last one at the end.
    assert all(s["versions"].get(old, 0) > 0 and s["versions"].get(new, 0) > 0 for s in seen), (
        old,
        new,
        seen,
    )
    assert all(len(s["versions"]) <= 3 for s in seen), seen
    # Every reader read throughout the runs and around their publications; some queries
    # opened the file while a new one was being written beside it.
    assert all(s["moments"].get(IDLE, 0) >= 10 for s in seen), seen
    assert all(s["moments"].get(STAGED, 0) + s["moments"].get(SWAPPED, 0) > 0 for s in seen), seen
    assert sum(s["moments"].get(STAGED, 0) for s in seen) > 0, seen
    spans = [span for span in _pool_intervals(base / "dagster_home") if span[2] not in before]
    assert len({run for _, _, run in spans}) == 2
    # No two warehouse steps of the two runs ever ran at the same time.
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert start >= end
    again = outcome(base)
    assert again.warehouse == baseline.warehouse
    assert again.serving == baseline.serving
    loads = "select source, load_id, rows_new + rows_updated + rows_deleted + rows_quarantined "
    loads += "from meta.loads"
    with duckdb.connect(str(baseline.base / "out" / "warehouse.duckdb"), read_only=True) as con:
        first = set(con.execute(loads).fetchall())
    with duckdb.connect(str(base / "out" / "warehouse.duckdb"), read_only=True) as con:
        twice = set(con.execute(loads).fetchall()) - first
    # Each run loaded each source once more, and found nothing to add, change or delete.
    sources = ("disputes", "membership", "services")
    assert sorted((source, changed) for source, _, changed in twice) == sorted(
        [(source, 0) for source in sources] * 2
    )
    moments = sum((Counter(s["moments"]) for s in seen), Counter())
    print(f"two concurrent runs in {elapsed:.0f} s; reader queries, none failed: {moments}")
