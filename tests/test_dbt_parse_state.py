"""dbt's partial-parse state carried from one invocation to the next
(``orchestration/defs/dbt/project.keep_parse_state``): the next invocation on the same
warehouse parses only what changed, even after invocations on other warehouses (each keeps its
own state); the first on another warehouse parses the whole project, since the warehouse path
is part of the profile dbt parsed with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pipeline import pipeline_env, run_dbt

from orchestration.defs.dbt import project
from orchestration.defs.dbt.assets import dbt_build_args

FULL_PARSE = "Unable to do partial parsing"


def _parse(env: dict[str, str], target: Path, shared: Path) -> bool:
    """``dbt parse`` in ``target`` as the pipeline runs an invocation: the warehouse's own
    state put there first (``invocation_target``), else the shared one (dagster-dbt copies it
    only into a target without one); whether dbt reused the state it found."""
    warehouse = Path(env["UNIONWH_WAREHOUSE_PATH"])
    project.invocation_target(target, warehouse)
    if shared.exists() and not (target / shared.name).exists():
        shutil.copy(shared, target / shared.name)
    done = run_dbt(env, target, "parse", "--target", "duckdb")
    assert done.returncode == 0, done.stdout[-4000:]
    assert (target / "manifest.json").is_file()
    project.keep_parse_state(target, warehouse)
    # dbt says so on the console (info level); the log file keeps only warnings and errors.
    return FULL_PARSE not in done.stdout


def test_the_next_invocation_on_the_same_warehouse_parses_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared" / project.PARSE_STATE.name
    shared.parent.mkdir()
    monkeypatch.setattr(project, "PARSE_STATE", shared)
    monkeypatch.setattr(project, "PARSE_STATES", shared.with_name("parse_states"))
    # dbt parse reads no source; only the warehouse path in the profile matters here.
    here = pipeline_env(tmp_path / "sources", tmp_path / "here")
    elsewhere = pipeline_env(tmp_path / "sources", tmp_path / "elsewhere")

    assert not _parse(here, tmp_path / "first", shared)  # nothing to start from
    assert shared.read_bytes() == (tmp_path / "first" / shared.name).read_bytes()
    assert _parse(here, tmp_path / "second", shared)
    assert not _parse(elsewhere, tmp_path / "third", shared)  # another warehouse's state
    # The shared state is now the other warehouse's; this one still starts from its own.
    assert _parse(here, tmp_path / "fourth", shared)
    assert _parse(elsewhere, tmp_path / "fifth", shared)
    assert len(list((shared.parent / "parse_states").glob("*.msgpack"))) == 2
    # Nothing staged is left.
    assert sorted(p.name for p in shared.parent.rglob("*")) == sorted(
        [shared.name, "parse_states", *(p.name for p in project.PARSE_STATES.iterdir())]
    )


def test_build_and_docs_name_the_same_target() -> None:
    # dbt reuses parse state only for the target it parsed for; the docs name "duckdb".
    assert dbt_build_args("duckdb", False)[:3] == ["build", "--target", "duckdb"]
    assert dbt_build_args("spark", True)[:3] == ["build", "--target", "spark"]
