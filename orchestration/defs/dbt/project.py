"""The one cached DbtProject, its dbt executable, and a manifest that is never stale."""

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"

# DbtCliResource and DbtProject's own preparer run a bare "dbt" from PATH, which fails when the
# venv is not activated (`.venv/bin/dagster ...`); use the dbt installed beside this Python.
_BESIDE_PYTHON = Path(sys.executable).with_name("dbt")
DBT_EXECUTABLE = str(_BESIDE_PYTHON) if _BESIDE_PYTHON.exists() else "dbt"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

_INPUTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "snapshots")


def _newest_input() -> float:
    newest = 0.0
    for name in _INPUTS:
        path = DBT_PROJECT_DIR / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
    return newest


def ensure_manifest() -> Path:
    """``dbt parse`` when the manifest is missing or older than any project file.

    ``@dbt_assets`` read the manifest when the code location loads; parsing here means a fresh
    clone, ``dagster dev`` and ``dagster asset materialize`` all work without a build step.

    Processes that load the code location at once (``dagster dev``'s code server beside a CLI
    run, parallel test workers) parse one at a time: dbt writes the manifest in place, and a
    process reading it while another writes it would load half a file; so even a process that
    finds the manifest current waits until no parse is under way.
    """
    manifest = dbt_project.manifest_path
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with (manifest.parent / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest.exists() or manifest.stat().st_mtime < _newest_input():
            subprocess.run(
                [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
                cwd=DBT_PROJECT_DIR,
                check=True,
            )
    return manifest


# Where dagster-dbt looks for dbt's partial-parse state before each invocation (the project's
# target directory, beside the manifest): it copies this file into an invocation's own target
# directory unless that already holds one.
PARSE_STATE = dbt_project.manifest_path.with_name("partial_parse.msgpack")
# Beside it, the state each warehouse's last invocation left, named from the warehouse's path:
# where one project serves several warehouses (benchmarks at several scales, the tests), each
# starts from its own instead of parsing in full after another's.
PARSE_STATES = PARSE_STATE.with_name("parse_states")


def _state_of(warehouse: Path) -> Path:
    key = hashlib.sha256(os.fsencode(warehouse.resolve())).hexdigest()[:16]
    return PARSE_STATES / f"{key}.msgpack"


def invocation_target(target: Path, warehouse: Path) -> Path:
    """``target``, created, holding ``warehouse``'s own parse state when it has one: handed to
    ``DbtCliResource.cli(target_path=...)``, dbt starts from it; without one, dagster-dbt copies
    the shared state (``PARSE_STATE``) in, as before."""
    target.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):  # none yet, or pruned meanwhile: parse in full
        shutil.copyfile(_state_of(warehouse), target / PARSE_STATE.name)
    return target


def keep_parse_state(invocation_target: Path, warehouse: Path) -> None:
    """Make an invocation's partial-parse state the one the next invocation starts from: the
    shared one, and ``warehouse``'s own.

    dbt parses the whole project again (4 s of CPU, two invocations a run) whenever the
    profile it parsed with differs from the one it runs with: the warehouse path is part of it.
    The state beside the manifest is written by ``dbt parse`` when the code location loads,
    under whatever path that process had, so every build and docs run parsed in full. Carried
    forward, the next run on the same warehouse parses only what changed; on another
    warehouse dbt sees the difference and parses in full, as before. Replaced whole, never
    written in place: a process copying it meanwhile gets the old state or the new one."""
    state = invocation_target / PARSE_STATE.name
    if not state.is_file():
        return
    PARSE_STATES.mkdir(exist_ok=True)
    for kept in (PARSE_STATE, _state_of(warehouse)):
        staged = kept.with_name(f".{kept.name}.{os.getpid()}")
        shutil.copyfile(state, staged)
        os.replace(staged, kept)
