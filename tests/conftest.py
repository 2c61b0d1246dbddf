"""Shared pytest fixtures and hooks."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432


@cache
def postgres_reachable() -> bool:
    try:
        with socket.create_connection((POSTGRES_HOST, POSTGRES_PORT), timeout=0.5):
            return True
    except OSError:
        return False


# The suite runs on parallel workers (pytest-xdist, `--dist loadfile` in pyproject): a
# module's tests stay together on one worker, so that its module-scoped fixtures (a pipeline
# run, a running `dagster dev`) are built once. A worker takes the next module as it starts the
# last test of its current one (tests/scheduling.py); the modules that take longest start first
# (measured on the 2-core machine from each test's start, 2026-12-05: Spark 565 s, the late
# crash chain 560 s, ... the hostile inputs 108 s; the late chain, 2026-12-06, publishing
# alone: 384 s of the default tier's 24 minutes), so that the workers finish together
# instead of one waiting for the last long module. (xdist's `loadgroup` would split a module
# finer, but its groups are lost under pytest 9.)
LONGEST_FIRST = (
    "test_spark",
    "test_crash_reruns",
    "test_crash_recovery",
    "test_shapes",
    "test_dagster_ui_runs",
    "test_crash_chain_late",
    "test_postgres_peer",
    "test_empty_sources",
    "test_kpis",
    "test_bench_run",
    "test_incremental_equivalence",
    "test_hostile_input",
    "test_ingest_disputes",
    "test_ingest_services",
    "test_simulator_shapes",
)


@pytest.hookimpl(optionalhook=True)  # without xdist (-p no:xdist) there is no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from scheduling import ModuleWhenDone

    return ModuleWhenDone(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are cores (``--maxprocesses`` caps it). Measured
    on 2 cores, two workers kept the cores busy 64 % of the time: the suite waits on the
    subprocesses it starts, on servers it polls and on schedule ticks; a third worker fills
    those gaps (84 %). A fourth took no minute off (2026-12-06: 24m10s against 24m37s, the
    same CPU time) and slowed each module down by as much."""
    return (os.cpu_count() or 1) + 1


def _rank(item: pytest.Item) -> int:
    module = item.path.stem
    return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if hasattr(config, "workerinput"):  # a parallel worker: the collection is its schedule
        items.sort(key=_rank)  # stable: the rest in the order of their files
    # PostgreSQL is optional for contributors; without it the postgres tests skip, not fail.
    postgres_items = [item for item in items if "postgres" in item.keywords]
    if postgres_items and not postgres_reachable() and os.environ.get("CI") == "true":
        raise pytest.UsageError(
            f"CI=true but no PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}: the postgres tests "
            "must run in CI, not skip"
        )
    if postgres_items and not postgres_reachable():
        skip = pytest.mark.skip(reason=f"no PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
        for item in postgres_items:
            item.add_marker(skip)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave dbt_project/target/ as a pipeline run leaves it: its newest run directories only
    (the test runs keep all of theirs while the session lasts, see pipeline.py)."""
    if hasattr(session.config, "workerinput"):
        return  # a worker: the controller, or the only process, prunes once at the end
    targets = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
    if len(list(targets.glob("warehouse_dbt-*"))) > 10:
        from orchestration.defs.dbt.assets import KEEP_DBT_TARGETS, prune_targets

        prune_targets(targets, "warehouse_dbt-*", KEEP_DBT_TARGETS)
        prune_targets(targets / "parse_states", "*.msgpack", KEEP_DBT_TARGETS)


@pytest.fixture
def clean_unionwh_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Remove every ``UNIONWH_*`` variable so a test sees only what it sets itself."""
    for name in list(os.environ):
        if name.startswith("UNIONWH_"):
            monkeypatch.delenv(name)
    yield monkeypatch


DEMO_SCALE = 0.01
DEMO_SEED = 42


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Any]
) -> tuple[Path, Any]:
    """``folder`` and what ``build(folder)`` returned (JSON), built once per test session
    however many parallel workers ask: the first builds into ``folder`` while the others
    wait, then all read it. A session fixture alone would be built once per worker: every
    worker would run the demo pipeline. What is built here is read-only for the tests that
    share it.

    A build that fails leaves nothing behind: the next worker that asks builds again."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's temporary directory, above every worker's own
    folder, value = root / f"once-{name}", root / f"once-{name}.json"
    with (root / f"once-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not value.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            value.write_text(json.dumps(build(folder)), encoding="utf-8")
    return folder, json.loads(value.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulator's demo sources (scale 0.01, seed 42), generated once per session.

    Read-only: a test that changes sources (``advance``) works on ``demo_copy``.
    """
    from simulator.generate import generate

    def build(out: Path) -> None:
        generate(out, DEMO_SCALE, DEMO_SEED, quiet=True)

    return built_once(tmp_path_factory, "demo-sources", build)[0]


@pytest.fixture(scope="session")
def demo_manifest(demo_sources: Path) -> dict[str, Any]:
    return json.loads((demo_sources / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo_copy(demo_sources: Path, tmp_path: Path) -> Path:
    """A private copy of the demo sources that a test may advance or damage."""
    target = tmp_path / "sources"
    shutil.copytree(demo_sources, target)
    return target


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL), dropped after the test."""
    import uuid

    import sqlalchemy as sa

    name = f"unionwh_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/postgres",
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def pipeline_run(demo_sources: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The contract's run over the demo sources, once per session (``built_once``).
    Read-only: a test that changes the warehouse works on a copy."""
    from pipeline import materialize

    def build(base: Path) -> dict[str, Any]:
        done = materialize(demo_sources, base)
        return {"args": done.args, "stdout": done.stdout, "stderr": done.stderr}

    base, done = built_once(tmp_path_factory, "pipeline", build)
    completed = subprocess.CompletedProcess(done["args"], 0, done["stdout"], done["stderr"])
    return {"base": base, "out": base / "out", "done": completed}


# The relations the quality suites read, copied as plain tables so a test can damage them.
QUALITY_SCHEMAS = ("raw", "meta", "quarantine", "marts")


@pytest.fixture(scope="session")
def quality_base(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-contained copy of the demo pipeline's warehouse: raw current views, load
    metadata, quarantine and marts as tables (no Parquet behind them)."""
    import duckdb

    source = pipeline_run["out"] / "warehouse.duckdb"
    target = tmp_path_factory.mktemp("quality") / "warehouse.duckdb"
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{source}' as demo (read_only)")
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'demo' and table_schema in ?",
            [list(QUALITY_SCHEMAS)],
        ).fetchall()
        for schema in QUALITY_SCHEMAS:
            con.execute(f"create schema {schema}")
        for schema, name in relations:
            con.execute(f'create table {schema}."{name}" as select * from demo.{schema}."{name}"')
    return target


@pytest.fixture
def quality_copy(quality_base: Path, tmp_path: Path) -> Path:
    """A private copy of ``quality_base`` that a test may plant bad data in."""
    target = tmp_path / "wh" / "warehouse.duckdb"
    target.parent.mkdir()
    shutil.copy(quality_base, target)
    return target
