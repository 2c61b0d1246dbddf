"""The loads whose rows each raw suite has validated, so that the next run hands
great-expectations only the rows of the loads since: a day's checks cost the day's rows.

One small JSON file per suite in the warehouse's quality directory. It is a cache, never a
source of truth: the counts of the rows it covers are taken from the warehouse afresh on every
run (``quality.gx_runner``), so a lost, torn or stale file costs time only (its loads' rows
are validated again), never a wrong figure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path


def _path(root: Path, suite: str) -> Path:
    return root / "loads_seen" / f"{suite}.json"


def read(root: Path, suite: str) -> frozenset[str] | None:
    """The loads ``suite`` has validated; None when it has not run, or its file is unreadable
    (every row is validated then)."""
    try:
        loads = json.loads(_path(root, suite).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(loads, list) or not all(isinstance(load, str) for load in loads):
        return None
    return frozenset(loads)


def write(root: Path, suite: str, loads: Iterable[str]) -> None:
    """Replace what ``suite`` has seen, atomically: a crash leaves the old file or the new."""
    path = _path(root, suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(sorted(loads)), encoding="utf-8")
    os.replace(staged, path)
