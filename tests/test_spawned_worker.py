"""A run worker that Dagster's code server spawns can import the quality suites.

The code server runs each run in a ``multiprocessing`` child started with ``spawn`` from
``python -m dagster api grpc``: the child's ``__main__`` has neither ``__spec__`` nor
``__file__``. Importing great-expectations imports ``pyspark.sql.connect``, which took that
for a doctest run and called ``sys.exit(0)`` when Spark Connect's dependencies were missing:
every run launched from the UI, the schedule or the sensor died in its first quality step.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
from pathlib import Path


def child(marker: str) -> None:
    from quality.gx_runner import GxWorkspace  # noqa: F401  (imports great_expectations)
    import great_expectations

    Path(marker).write_text(great_expectations.__version__)
"""

MAIN = """
import multiprocessing as mp
import sys

from spawndemo import child

if __name__ == "__main__":
    process = mp.get_context("spawn").Process(target=child, args=(sys.argv[1],))
    process.start()
    process.join()
    sys.exit(process.exitcode)
"""


def test_a_spawned_child_of_a_module_main_imports_great_expectations(tmp_path: Path) -> None:
    package = tmp_path / "spawndemo"
    package.mkdir()
    (package / "__init__.py").write_text(CHILD)
    (package / "__main__.py").write_text(MAIN)
    marker = tmp_path / "imported"
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-m", "spawndemo", str(marker)],
        cwd=tmp_path, env={"PYTHONPATH": f"{tmp_path}:{root}", "PATH": ""},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Skipping doctests" not in done.stderr
    # The child got past the import: a sys.exit(0) inside it would leave no marker.
    assert marker.read_text() != ""
