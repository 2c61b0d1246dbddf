"""The world the crash tests run in: small simulated sources with the dispute API on loopback,
a run of the contract's command on them, and the uninterrupted baseline every interrupted or
repeated run must equal (``test_crash_recovery.py``, ``test_crash_reruns.py``)."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from pipeline import pipeline_env, run_dagster
from warehouse_fingerprint import fingerprint

from core.crash_points import ENV_CRASH_AT
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


def open_instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))
