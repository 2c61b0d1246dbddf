"""The run executor's recovery tells local run storage apart, through the project's one use
of Dagster internals: an upgrade that moves them fails here, saying what to fix."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.lib.executor import run_storage_is_local


def test_a_local_instance_keeps_its_runs_on_this_machine(tmp_path: Path) -> None:
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        try:
            local = run_storage_is_local(instance)
        except ImportError as exc:
            pytest.fail(
                "Dagster moved its SQLite run storage class, which run_storage_is_local "
                f"(orchestration/lib/executor.py) imports by its private path ({exc}): point "
                "the import at its new home, or use a public way to tell local run storage"
            )
    assert local, (
        "a new local instance no longer counts as local run storage: runs whose worker died "
        "would keep their warehouse pool slot (orchestration/lib/executor.py)"
    )


def test_an_ephemeral_instance_is_not_reaped() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert not run_storage_is_local(instance)
