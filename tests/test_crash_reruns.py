"""Re-runs of the uninterrupted baseline (see ``test_crash_recovery.py``): the warehouse and
the raw layer lost and rebuilt; the same load twice more, by two runs started at once while
analysts read the serving file. A module of its own, so that a parallel test worker runs it
beside the crash chain."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
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
from serving_reader import STAGED, SWAPPED, Pace
from warehouse_fingerprint import fingerprint

__all__ = ["baseline", "crash_sources", "world"]  # fixtures


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


def _read_until(serving: Path, stop: threading.Event, tally: dict[str, int]) -> None:
    """An analyst querying the serving file, a new connection each time, paced as
    ``serving_reader.Pace`` says: back to back around each publication, a query a second
    otherwise."""
    pace = Pace(serving, stop.is_set)
    while (moment := pace.next()) is not None:
        try:
            with duckdb.connect(str(serving), read_only=True) as con:
                con.execute("select count(*), sum(value) from marts.kpi_values").fetchall()
            tally["queries"] += 1
            tally[moment] = tally.get(moment, 0) + 1
        except duckdb.Error as exc:
            tally["errors"] += 1
            tally.setdefault("first_error", str(exc))  # type: ignore[arg-type]


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
    pool, no reader fails, and loading the same sources twice more leaves the warehouse and
    the serving file identical, with loads that found nothing new."""
    base = tmp_path / "busy"
    shutil.copytree(baseline.base, base, symlinks=True)  # its warehouse and Dagster instance
    before = set(run_ids(baseline.base))
    env = world.env(base)
    serving = base / "out" / "serving.duckdb"
    stop, tally = threading.Event(), {"queries": 0, "errors": 0}
    readers = [threading.Thread(target=_read_until, args=(serving, stop, tally)) for _ in range(4)]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    try:
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
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    elapsed = time.monotonic() - started
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "RUN_SUCCESS" in err, err[-4000:]
    assert tally["errors"] == 0, tally
    assert tally["queries"] > 50
    assert tally.get(STAGED, 0) + tally.get(SWAPPED, 0) > 0  # read around the publications
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
    print(f"two concurrent runs in {elapsed:.0f} s; reader queries, 0 errors: {tally}")
