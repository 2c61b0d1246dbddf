"""The declared dependencies match what the code imports, and the two lock files match them.

Run-time code (everything ``make run`` and the documented ``python -m`` commands import) may
import only distributions of ``[project] dependencies``: those are all ``requirements.lock``
installs on a machine without the ``dev`` extra. Tests may import those and the ``dev``
extra's. Imports are read from the source (every ``import``, also inside functions), mapped to
their distributions through the installed metadata.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TOML = tomllib.loads((ROOT / "pyproject.toml").read_text())
PYPROJECT = _TOML["project"]
# The installed packages (pyproject's package list) and bench/, which runs from the tree.
PACKAGES = tuple(
    p for p in _TOML["tool"]["setuptools"]["packages"]["find"]["include"] if "." not in p
)
RUNTIME_DIRS = (*PACKAGES, "bench")
FIRST_PARTY = {*RUNTIME_DIRS, "tests"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>!~;@ ]", requirement, maxsplit=1)[0]).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    return {_name(req): req.split("==", 1)[1].split(";")[0].strip() for req in requirements}


RUNTIME = _pins(PYPROJECT["dependencies"])
DEV = _pins(PYPROJECT["optional-dependencies"]["dev"])


def _lock(name: str) -> dict[str, str]:
    lines = (ROOT / name).read_text().splitlines()
    return {
        _name(line): line.split("==", 1)[1].strip()
        for line in lines
        if line and not line.startswith((" ", "#"))
    }


def _third_party_imports(folder: str) -> dict[str, set[str]]:
    """Top-level third-party module -> the files (relative to the root) that import it."""
    local = {path.stem for path in (ROOT / folder).glob("*.py")} if folder == "tests" else set()
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY | local:
                    continue
                if top == "__future__":
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(folders: tuple[str, ...], allowed: set[str]) -> list[str]:
    distributions = packages_distributions()
    problems = []
    for folder in folders:
        for module, files in sorted(_third_party_imports(folder).items()):
            names = {_name(dist) for dist in distributions.get(module, [])}
            if not names & allowed:
                problems.append(
                    f"{module} (from {sorted(names) or 'no installed distribution'})"
                    f" imported by {sorted(files)[0]}"
                )
    return problems


def test_runtime_code_imports_only_runtime_dependencies():
    assert _undeclared(RUNTIME_DIRS, set(RUNTIME)) == []


def test_tests_import_only_declared_dependencies():
    assert _undeclared(("tests",), set(RUNTIME) | set(DEV)) == []


def test_dev_tools_are_not_runtime_dependencies():
    assert not set(DEV) & set(RUNTIME)
    assert {"pytest", "ruff", "sqlfluff", "hypothesis", "playwright"} <= set(DEV)


def test_runtime_lock_pins_the_runtime_dependencies_only():
    lock = _lock("requirements.lock")
    assert {name: lock.get(name) for name in RUNTIME} == RUNTIME
    assert not set(DEV) & set(lock), "a dev tool in requirements.lock"


def test_dev_lock_is_the_runtime_lock_plus_the_dev_extra():
    runtime, dev = _lock("requirements.lock"), _lock("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert {name: dev.get(name) for name in DEV} == DEV
