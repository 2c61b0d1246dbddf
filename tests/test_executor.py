"""The run executor's recovery tells local run storage apart, through the project's one use
of Dagster internals: an upgrade that moves them fails here, saying what to fix."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.lib.executor import run_storage_is_local


def test_a_local_instance_keeps_its_runs_on_this_machine(tmp_path: Path) -> None:
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        local = run_storage_is_local(instance)
        storage = type(instance.run_storage).__name__
    assert local, (
        f"a new local instance keeps its runs in {storage}, which run_storage_is_local "
        "(orchestration/lib/executor.py) does not count as local: Dagster renamed its SQLite "
        "run storage class, and runs whose worker died would keep their warehouse pool slot"
    )


def test_an_ephemeral_instance_is_not_reaped() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert not run_storage_is_local(instance)
