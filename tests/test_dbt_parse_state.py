"""dbt's partial-parse state carried from one invocation to the next
(``orchestration/defs/dbt/project.keep_parse_state``): the next invocation on the same
warehouse parses only what changed; one on another warehouse parses the whole project, since
the warehouse path is part of the profile dbt parsed with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pipeline import pipeline_env, run_dbt

from orchestration.defs.dbt import project
from orchestration.defs.dbt.assets import dbt_build_args

FULL_PARSE = "Unable to do partial parsing"


def _parse(env: dict[str, str], target: Path, shared: Path) -> bool:
    """``dbt parse`` starting from ``shared`` as dagster-dbt starts an invocation (a copy in
    its own target directory); whether dbt reused that state."""
    target.mkdir(parents=True)
    if shared.exists():
        shutil.copy(shared, target / shared.name)
    done = run_dbt(env, target, "parse", "--target", "duckdb")
    assert done.returncode == 0, done.stdout[-4000:]
    logged = "".join(p.read_text() for p in (target / "logs").glob("dbt.log*"))
    assert (target / "manifest.json").is_file()
    return FULL_PARSE not in logged


def test_the_next_invocation_on_the_same_warehouse_parses_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared" / project.PARSE_STATE.name
    shared.parent.mkdir()
    monkeypatch.setattr(project, "PARSE_STATE", shared)
    # dbt parse reads no source; only the warehouse path in the profile matters here.
    here = pipeline_env(tmp_path / "sources", tmp_path / "here")
    elsewhere = pipeline_env(tmp_path / "sources", tmp_path / "elsewhere")

    assert not _parse(here, tmp_path / "first", shared)  # nothing to start from
    project.keep_parse_state(tmp_path / "first")
    assert shared.read_bytes() == (tmp_path / "first" / shared.name).read_bytes()
    assert _parse(here, tmp_path / "second", shared)
    assert not _parse(elsewhere, tmp_path / "third", shared)
    assert list(shared.parent.iterdir()) == [shared]  # nothing staged is left


def test_build_and_docs_name_the_same_target() -> None:
    # dbt reuses parse state only for the target it parsed for; the docs name "duckdb".
    assert dbt_build_args("duckdb", False)[:3] == ["build", "--target", "duckdb"]
    assert dbt_build_args("spark", True)[:3] == ["build", "--target", "spark"]
