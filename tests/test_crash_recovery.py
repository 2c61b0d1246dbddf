"""kill -9 of the pipeline run at named points, then re-runs.

Every run here is the contract's ``dagster asset materialize --select '*'``, with disputes
read from the dispute API on loopback. ``UNIONWH_CRASH_AT`` (``core/crash_points.py``)
makes the run SIGKILL its own process group at one point: the Dagster process and the dbt
process it started die at once, like a power cut. After the crash the serving file must be
absent or a complete version; after a clean re-run the warehouse and serving file must equal,
relation by relation (``warehouse_fingerprint``), those of a run that was never interrupted:
no record lost, none doubled.

The default test kills one run after another at every point, each re-run being the next
crash's victim, then re-runs cleanly: one chain, as cheap as one run per point. The long
variant (``pytest -m long``) starts each point from an empty warehouse. The world and the
baseline are in ``crash_world.py``; the re-runs of the baseline in ``test_crash_reruns.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from crash_world import (
    KILLED,
    TOKEN,
    Outcome,
    World,
    baseline,
    open_instance,
    outcome,
    succeeded,
    world,
)
from pii_scan import planted_pii, scan_tree
from pipeline import PII_KEY, ROOT
from warehouse_fingerprint import fingerprint

from core.crash_points import ENV_CRASH_AT, POINTS
from quality.raw_suites import raw_suites

# Where each run dies. A point's n-th pass (``@n``) picks the place within the run: the
# membership entity, the delivery file, the dbt node, the quality suite. Ingestion commits
# sources in the order disputes, membership, services.
__all__ = ["baseline", "world"]  # fixtures

RAW_SUITES = len(raw_suites())
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


def latest_record(base: Path) -> dg.EventLogEntry:
    """The newest event-log record of the newest run of ``base``'s instance."""
    instance = open_instance(base / "dagster_home")
    (run,) = instance.get_runs(limit=1)
    (record,) = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
    return record.event_log_entry


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
