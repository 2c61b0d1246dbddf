"""The world the crash tests run in: small simulated sources with the dispute API on loopback,
a run of the contract's command on them, and the uninterrupted baseline every interrupted or
repeated run must equal (``test_crash_recovery.py``, ``test_crash_chain_late.py``,
``test_crash_reruns.py``). The sources and the baseline are built once per session, however
many parallel workers run those modules (``conftest.built_once``); read-only."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import built_once
from pii_scan import planted_pii, scan_tree
from pipeline import PII_KEY, ROOT, materialize_args, pipeline_env, run_dagster
from warehouse_fingerprint import fingerprint

from core.crash_points import ENV_CRASH_AT
from quality.raw_suites import raw_suites
from simulator.api_server import RunningServer, start_server
from simulator.generate import generate

SCALE = 0.002
SEED = 11
TOKEN = "crash-test-token"
KILLED = -signal.SIGKILL
RAW_SCHEMAS = ("raw", "quarantine")


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

    def run(
        self, base: Path, crash: str | None = None, select: str = "*"
    ) -> subprocess.CompletedProcess[str]:
        extra = {ENV_CRASH_AT: crash} if crash else {}
        return run_dagster(self.env(base, **extra), base, *materialize_args(select))


@pytest.fixture(scope="session")
def crash_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def build(folder: Path) -> None:
        generate(folder, SCALE, SEED, quiet=True)

    return built_once(tmp_path_factory, "crash-sources", build)[0]


@pytest.fixture(scope="module")
def world(crash_sources: Path) -> Iterator[World]:
    with start_server(crash_sources / "disputes", TOKEN) as api:
        yield World(crash_sources, api)


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


@pytest.fixture(scope="session")
def baseline(crash_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """One uninterrupted run; tests that run again on it work on a copy."""

    def build(base: Path) -> dict[str, dict[str, tuple[int, str]]]:
        with start_server(crash_sources / "disputes", TOKEN) as api:
            done = World(crash_sources, api).run(base)
        assert succeeded(done), done.stderr[-4000:]
        found = outcome(base)
        return {"warehouse": found.warehouse, "serving": found.serving}

    base, found = built_once(tmp_path_factory, "crash-baseline", build)
    as_tuples = {f: {k: tuple(v) for k, v in found[f].items()} for f in found}
    warehouse, serving = as_tuples["warehouse"], as_tuples["serving"]
    return Outcome(base, warehouse, serving)


def open_instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


# Where each run dies. A point's n-th pass (``@n``) picks the place within the run: the
# membership entity, the delivery file, the dbt node, the quality suite. Ingestion commits
# sources in the order disputes, membership, services. Two chains, each a module of its own
# so that parallel workers run them side by side.
BEFORE_DBT = (
    "disputes.api_page@1",  # cases fetched, hotline requests not yet
    "raw.files_written@1",  # disputes' Parquet written, not committed
    "membership.extracted@2",  # two of four tables read and validated
    "raw.recorded@2",  # membership's load recorded inside its open transaction
    "services.file@3000",  # 3000 of 7552 delivery files parsed
    "raw.committed@3",  # services committed, Dagster not told
    "quality.suite@3",  # a raw-layer suite of disputes
)
EARLY_CRASHES = (
    *BEFORE_DBT,
    "dbt.started@1",  # dbt running; the run's latest records are plain log messages
    "dbt.result@10",  # seeds and first staging views
)
# Publication's points, which the late chain reaches by publishing alone (``PUBLISH``), as
# re-executing a failed publication step from the UI does: the whole runs before them have
# built and checked the marts, and the chain's clean run after them is a whole run again.
PUBLICATION_CRASHES = (
    "serving.staged@1",  # the new serving file half written
    "serving.kept@1",  # kept as a version, not yet live
    "serving.swapped@1",  # live, old versions not yet pruned
)
PUBLISH = "serving/warehouse"
LATE_CRASHES = (
    "dbt.result@300",  # models built, data tests running
    f"quality.suite@{len(raw_suites()) + 2}",  # the marts' suites
    *PUBLICATION_CRASHES,
)


@dataclass(frozen=True)
class Chain:
    base: Path
    crashes: tuple[str, ...]
    final: subprocess.CompletedProcess[str]


def run_chain(world: World, base: Path, crashes: tuple[str, ...]) -> Chain:
    """One warehouse through a run killed at each of ``crashes`` in turn (a publication point
    by a run of the publication alone), then a clean whole run."""
    for crash in crashes:
        done = world.run(base, crash, PUBLISH if crash in PUBLICATION_CRASHES else "*")
        assert done.returncode == KILLED, f"{crash} was never reached: {done.stderr[-3000:]}"
        assert_serving_is_a_complete_version(base)
        if crash.startswith("dbt.started"):
            # What made a dead run undecidable before: no process id in its latest record.
            assert latest_record(base).dagster_event is None
    return Chain(base, crashes, world.run(base))


def assert_chain_equals_baseline(chain: Chain, baseline: Outcome) -> None:
    """The chain's clean run succeeded and left what an uninterrupted run leaves."""
    base, done = chain.base, chain.final
    assert succeeded(done), done.stderr[-4000:]
    assert outcome(base).warehouse == baseline.warehouse
    assert outcome(base).serving == baseline.serving
    assert_nothing_left_behind(base)
    # The first run after each crash found the dead run holding the warehouse pool, marked
    # it failed and freed its slot (orchestration/lib/executor.py); without that it waits
    # forever.
    assert run_statuses(base) == ["FAILURE"] * len(chain.crashes) + ["SUCCESS"]
    assert done.stderr.count("is gone: it died without finishing the run") == 1


def assert_no_personal_data_or_secret(chain: Chain, world: World) -> None:
    """Warehouse, serving file and its versions, raw Parquet and quarantine (by query), GX
    Data Docs, Dagster's event logs and compute logs, the runs' output, and dbt's target
    directories of the chain's runs and its log (as bytes): no planted name, ID number or
    phone, and neither the PII key nor the API token."""
    pii = planted_pii(world.sources)
    pii.secrets = {PII_KEY, TOKEN}
    assert len(pii.numbers) > 5_000 and len(pii.names) > 500
    dbt_dirs = [
        target
        for run_id in run_ids(chain.base)
        for target in (ROOT / "dbt_project" / "target").glob(f"warehouse_dbt-{run_id[:7]}-*")
    ]
    # Every run that got as far as dbt: all but those killed in ingestion and raw checks, and
    # the publications alone.
    without_dbt = sum(crash in BEFORE_DBT + PUBLICATION_CRASHES for crash in chain.crashes)
    assert len(dbt_dirs) == len(chain.crashes) + 1 - without_dbt
    findings = scan_tree(chain.base, pii)
    for folder in [*dbt_dirs, ROOT / "dbt_project" / "logs"]:
        findings |= scan_tree(folder, pii)
    assert findings == {}


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


def _runs(base: Path, column: str) -> list[str]:
    with sqlite3.connect(base / "dagster_home" / "history" / "runs.db") as con:
        return [value for (value,) in con.execute(f"select {column} from runs order by id")]


def run_statuses(base: Path) -> list[str]:
    return _runs(base, "status")


def run_ids(base: Path) -> list[str]:
    return _runs(base, "run_id")


def latest_record(base: Path) -> dg.EventLogEntry:
    """The newest event-log record of the newest run of ``base``'s instance."""
    instance = open_instance(base / "dagster_home")
    (run,) = instance.get_runs(limit=1)
    (record,) = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
    return record.event_log_entry
