"""kill -9 of the pipeline run at named points, re-runs, and two runs at once.

Every run here is the contract's ``dagster asset materialize --select '*'``, with disputes
read from the dispute API on loopback. ``UNIONWH_CRASH_AT`` (``core/crash_points.py``)
makes the run SIGKILL its own process group at one point: the Dagster process and the dbt
process it started die at once, like a power cut. After the crash the serving file must be
absent or a complete version; after a clean re-run the warehouse and serving file must equal,
relation by relation (``warehouse_fingerprint``), those of a run that was never interrupted:
no record lost, none doubled.

The default test kills one run after another at every point, each re-run being the next
crash's victim, then re-runs cleanly: one chain, as cheap as one run per point. The long
variant (``pytest -m long``) starts each point from an empty warehouse.

The chain and the re-runs of the baseline are two groups that parallel test workers run side
by side (each builds its own baseline, one run).
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from pii_scan import planted_pii, scan_tree
from pipeline import DAGSTER, MATERIALIZE, PII_KEY, ROOT, pipeline_env, run_dagster
from warehouse_fingerprint import fingerprint

from core.crash_points import ENV_CRASH_AT, POINTS
from quality.raw_suites import raw_suites
from simulator.api_server import RunningServer, start_server
from simulator.generate import generate

SCALE = 0.002
SEED = 11
TOKEN = "crash-test-token"
KILLED = -signal.SIGKILL

# Where each run dies. A point's n-th pass (``@n``) picks the place within the run: the
# membership entity, the delivery file, the dbt node, the quality suite. Ingestion commits
# sources in the order disputes, membership, services.
RAW_SUITES = len(raw_suites())
RAW_SCHEMAS = ("raw", "quarantine")
CRASHES = (
    "disputes.api_page@1",  # cases fetched, hotline requests not yet
    "raw.files_written@1",  # disputes' Parquet written, not committed
    "membership.extracted@2",  # two of four tables read and validated
    "raw.recorded@2",  # membership's load recorded inside its open transaction
    "services.file@3000",  # 3000 of 7552 delivery files parsed
    "raw.committed@3",  # services committed, Dagster not told
    "quality.suite@3",  # a raw-layer suite of disputes
    "dbt.started@1",  # dbt running; the run's latest records are plain log messages
    "dbt.result@10",  # seeds and first staging views
    "dbt.result@300",  # models built, data tests running
    f"quality.suite@{RAW_SUITES + 2}",  # the marts' suites
    "serving.staged@1",  # the new serving file half written
    "serving.kept@1",  # kept as a version, not yet live
    "serving.swapped@1",  # live, old versions not yet pruned
)


@dataclass(frozen=True)
class World:
    sources: Path
    api: RunningServer

    def env(self, base: Path, **extra: str) -> dict[str, str]:
        own = {
            "UNIONWH_DISPUTES_API_URL": self.api.url,
            "UNIONWH_DISPUTES_API_TOKEN": TOKEN,
        }
        return pipeline_env(self.sources, base, **{**own, **extra})

    def run(self, base: Path, crash: str | None = None) -> subprocess.CompletedProcess[str]:
        extra = {ENV_CRASH_AT: crash} if crash else {}
        return run_dagster(self.env(base, **extra), base)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("crash-world")
    generate(root / "sources", SCALE, SEED, quiet=True)
    with start_server(root / "sources" / "disputes", TOKEN) as api:
        yield World(root / "sources", api)


@dataclass(frozen=True)
class Outcome:
    base: Path
    warehouse: dict[str, tuple[int, str]]
    serving: dict[str, tuple[int, str]]


def outcome(base: Path) -> Outcome:
    out = base / "out"
    return Outcome(base, fingerprint(out / "warehouse.duckdb"), fingerprint(out / "serving.duckdb"))


def succeeded(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode == 0 and "RUN_SUCCESS" in done.stderr


@pytest.fixture(scope="module")
def baseline(world: World, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    base = tmp_path_factory.mktemp("uninterrupted")
    done = world.run(base)
    assert succeeded(done), done.stderr[-4000:]
    return outcome(base)


def assert_serving_is_a_complete_version(base: Path) -> None:
    serving = base / "out" / "serving.duckdb"
    if not serving.exists():
        return
    with duckdb.connect(str(serving), read_only=True) as con:
        (version, tables), *_ = con.execute(
            "select version, tables::varchar from meta.publication"
        ).fetchall()
        for table, rows in json.loads(tables).items():
            assert con.execute(f"select count(*) from {table}").fetchall()[0][0] == rows
    assert (base / "out" / "serving_versions" / f"{version}.duckdb").samefile(serving)


def assert_nothing_left_behind(base: Path) -> None:
    """No staged serving file, no Parquet that no committed load references."""
    out = base / "out"
    assert not list(out.glob(".serving.duckdb.*")), "a dead publication's staged file is left"
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        committed = {
            f
            for (f,) in con.execute(
                "select unnest([data_file, quarantine_file, deletions_file, "
                "source || '/_loads/' || load_id || '.parquet', "
                "source || '/_loads/' || load_id || '.files.parquet']) from meta.loads"
            ).fetchall()
            if f
        }
    raw = out / "warehouse_raw"
    on_disk = {p.relative_to(raw).as_posix() for p in raw.rglob("*") if p.is_file()}
    assert on_disk == committed


def run_statuses(base: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(base / "dagster_home" / "history" / "runs.db") as con:
        return [s for (s,) in con.execute("select status from runs order by id")]


def test_every_crash_point_is_in_the_chain() -> None:
    # The chain reads disputes from the API; the export's point has its own test below.
    assert {c.partition("@")[0] for c in CRASHES} == set(POINTS) - {"disputes.export_file"}
    assert len(CRASHES) >= 12


def _load_disputes_export(world: World, base: Path, crash: str | None = None) -> int:
    env = world.env(base, UNIONWH_DISPUTES_API_URL="", **({ENV_CRASH_AT: crash} if crash else {}))
    done = subprocess.run(
        [sys.executable, "-m", "ingestion", "load", "--source", "disputes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, start_new_session=True,
    )  # fmt: skip
    assert done.returncode in (0, KILLED), done.stderr[-3000:]
    return done.returncode


def test_export_load_killed_between_files_then_rerun_loads_each_record_once(
    world: World, tmp_path: Path
) -> None:
    """The dispute export (no Dagster): killed after 40 of its files were read."""
    whole, crashed = tmp_path / "whole", tmp_path / "crashed"
    assert _load_disputes_export(world, whole) == 0
    assert _load_disputes_export(world, crashed, "disputes.export_file@40") == KILLED
    assert not (crashed / "out" / "warehouse_raw" / "disputes" / "_loads").exists()
    assert _load_disputes_export(world, crashed) == 0
    assert fingerprint(crashed / "out" / "warehouse.duckdb") == fingerprint(
        whole / "out" / "warehouse.duckdb"
    )


@dataclass(frozen=True)
class Chain:
    base: Path
    final: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def chain(world: World, tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """One warehouse through a run killed at every point in turn, then a clean run."""
    base = tmp_path_factory.mktemp("chain")
    for crash in CRASHES:
        done = world.run(base, crash)
        assert done.returncode == KILLED, f"{crash} was never reached: {done.stderr[-3000:]}"
        assert_serving_is_a_complete_version(base)
        if crash.startswith("dbt.started"):
            # What made a dead run undecidable before: no process id in its latest record.
            assert latest_record(base).dagster_event is None
    return Chain(base, world.run(base))


@pytest.mark.xdist_group("crash-chain")
def test_killed_at_every_point_then_rerun_equals_an_uninterrupted_run(
    chain: Chain, baseline: Outcome
) -> None:
    base, done = chain.base, chain.final
    assert succeeded(done), done.stderr[-4000:]

    assert outcome(base).warehouse == baseline.warehouse
    assert outcome(base).serving == baseline.serving
    assert_nothing_left_behind(base)
    # The first run after each crash found the dead run holding the warehouse pool, marked
    # it failed and freed its slot (orchestration/lib/executor.py); without that it waits
    # forever.
    assert run_statuses(base) == ["FAILURE"] * len(CRASHES) + ["SUCCESS"]
    assert done.stderr.count("is gone: it died without finishing the run") == 1


def _run_ids(base: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(base / "dagster_home" / "history" / "runs.db") as con:
        return [r for (r,) in con.execute("select run_id from runs order by id")]


@pytest.mark.xdist_group("crash-chain")
def test_no_personal_data_or_secret_in_anything_the_runs_wrote(chain: Chain, world: World) -> None:
    """Warehouse, serving file and its versions, raw Parquet and quarantine (by query), GX
    Data Docs, Dagster's event logs and compute logs, the runs' output, and dbt's target
    directories of these runs and its log (as bytes): no planted name, ID number or phone,
    and neither the PII key nor the API token."""
    pii = planted_pii(world.sources)
    pii.secrets = {PII_KEY, TOKEN}
    assert len(pii.numbers) > 5_000 and len(pii.names) > 500
    dbt_dirs = [
        target
        for run_id in _run_ids(chain.base)
        for target in (ROOT / "dbt_project" / "target").glob(f"warehouse_dbt-{run_id[:7]}-*")
    ]
    # Every run that got as far as dbt: all but the seven killed in ingestion and raw checks.
    assert len(dbt_dirs) == len(CRASHES) + 1 - 7
    findings = scan_tree(chain.base, pii)
    for folder in [*dbt_dirs, ROOT / "dbt_project" / "logs"]:
        findings |= scan_tree(folder, pii)
    assert findings == {}


@pytest.mark.xdist_group("crash-reruns")
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


@pytest.mark.xdist_group("crash-reruns")
def test_the_same_load_twice_gives_an_identical_warehouse(world: World, baseline: Outcome) -> None:
    done = world.run(baseline.base)
    assert succeeded(done), done.stderr[-4000:]
    again = outcome(baseline.base)
    assert again.warehouse == baseline.warehouse
    assert again.serving == baseline.serving
    with duckdb.connect(str(baseline.base / "out" / "warehouse.duckdb"), read_only=True) as con:
        second = con.execute(
            "select sum(rows_new + rows_updated + rows_deleted + rows_quarantined) "
            "from meta.loads where load_id in "
            "(select max(load_id) from meta.loads group by source)"
        ).fetchall()[0][0]
    assert second == 0


def _read_until(serving: Path, stop: threading.Event, tally: dict[str, int]) -> None:
    """An analyst querying the serving file over and over, a new connection each time."""
    while not stop.is_set():
        try:
            with duckdb.connect(str(serving), read_only=True) as con:
                con.execute("select count(*), sum(value) from marts.kpi_values").fetchall()
            tally["queries"] += 1
        except duckdb.Error as exc:
            tally["errors"] += 1
            tally.setdefault("first_error", str(exc))  # type: ignore[arg-type]


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def latest_record(base: Path) -> dg.EventLogEntry:
    """The newest event-log record of the newest run of ``base``'s instance."""
    instance = _instance(base / "dagster_home")
    (run,) = instance.get_runs(limit=1)
    (record,) = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
    return record.event_log_entry


def _pool_intervals(home: Path) -> list[tuple[float, float, str]]:
    """(start, end, run/step) of every step in the warehouse pool, from the instance."""
    instance = _instance(home)
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


@pytest.mark.xdist_group("crash-reruns")
def test_two_runs_at_once_are_serialised_and_readers_never_wait(
    world: World, baseline: Outcome, tmp_path: Path
) -> None:
    base = tmp_path / "busy"
    shutil.copytree(baseline.base / "out", base / "out")
    env = world.env(base)
    # As `make dagster-home` does: two processes creating a new instance's databases at once
    # leave its schedule storage with two alembic heads, unusable.
    _instance(base / "dagster_home")
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
        outputs = [run.communicate(timeout=900) for run in runs]
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    elapsed = time.monotonic() - started
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0 and "RUN_SUCCESS" in err, err[-4000:]
    assert tally["errors"] == 0, tally
    assert tally["queries"] > 50
    spans = _pool_intervals(base / "dagster_home")
    assert len({run for _, _, run in spans}) == 2
    # No two warehouse steps of the two runs ever ran at the same time.
    for (_, end, _), (start, _, _) in zip(spans, spans[1:], strict=False):
        assert start >= end
    assert outcome(base).warehouse == baseline.warehouse
    print(f"two concurrent runs in {elapsed:.0f} s; {tally['queries']} reader queries, 0 errors")


@pytest.mark.long
@pytest.mark.parametrize("crash", CRASHES)
def test_killed_once_then_rerun_equals_an_uninterrupted_run(
    world: World, baseline: Outcome, tmp_path: Path, crash: str
) -> None:
    done = world.run(tmp_path, crash)
    assert done.returncode == KILLED, f"{crash} was never reached: {done.stderr[-3000:]}"
    assert_serving_is_a_complete_version(tmp_path)
    done = world.run(tmp_path)
    assert succeeded(done), done.stderr[-4000:]
    assert outcome(tmp_path).warehouse == baseline.warehouse
    assert outcome(tmp_path).serving == baseline.serving
    assert_nothing_left_behind(tmp_path)
