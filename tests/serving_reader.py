"""Analysts reading the serving file while the pipeline runs (test_crash_reruns.py).

A reader paces itself as a dashboard does, a query a second, except around a publication,
the one time a run touches the serving file: while a publication's staged file exists, and
for a second after it is gone (the swap, the old versions pruned), it queries back to back.
Paced at ten queries a second throughout, eight reader processes took most of the 2-core
machine for the whole run they watched (each query opens the file anew: ~28 ms of CPU) and
starved the rest of the suite; paced this way they press harder on the window that can break
them and cost little elsewhere.

    python tests/serving_reader.py <serving file> <stop file> <report file>
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from serving.publish import staged_files

CHECKED = ("marts.kpi_values", "marts.fct_dispute_cases", "marts.dim_member", "marts.dim_date")
IDLE_SECONDS = 1.0
LINGER_SECONDS = 1.0
POLL_SECONDS = 0.01
# When a query started: while a publication was staged, within LINGER_SECONDS after it, or
# paced.
STAGED, SWAPPED, IDLE = "staged", "swapped", "idle"


class Pace:
    """When a reader of ``serving`` queries next, until ``stopped()``."""

    def __init__(self, serving: Path, stopped: Callable[[], bool]) -> None:
        self.serving = serving
        self.stopped = stopped
        self._busy_until = 0.0

    def next(self) -> str | None:
        """Wait for the next query and say when it starts (``STAGED``, ``SWAPPED`` or
        ``IDLE``); None once stopped."""
        deadline = time.monotonic() + IDLE_SECONDS
        while not self.stopped():
            now = time.monotonic()
            if staged_files(self.serving):
                self._busy_until = now + LINGER_SECONDS
                return STAGED
            if now < self._busy_until:
                return SWAPPED
            if now >= deadline:
                return IDLE
            time.sleep(POLL_SECONDS)
        return None


def publication_version(serving: Path) -> str | None:
    """The version the serving file says it is, as its readers see it; None before the first
    publication."""
    if not serving.exists():
        return None
    with duckdb.connect(str(serving), read_only=True) as con:
        return con.execute("select version from meta.publication").fetchall()[0][0]


def main(serving: str, stop: Path, report: Path) -> None:
    versions: Counter[str] = Counter()
    moments: Counter[str] = Counter()
    failures: list[str] = []
    mixed = 0
    pace = Pace(Path(serving), stop.exists)
    while (moment := pace.next()) is not None:
        moments[moment] += 1
        try:
            with duckdb.connect(serving, read_only=True) as con:
                version, tables = con.execute(
                    "select version, tables from meta.publication"
                ).fetchall()[0]
                expected = json.loads(tables)
                # every table's rows as that version recorded them: a mix of versions would not
                # match
                counts = {
                    t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in CHECKED
                }
                con.execute(
                    "select sum(value) from marts.kpi_values where period_grain = 'year'"
                ).fetchall()
            versions[version] += 1
            mixed += any(counts[t] != expected[t] for t in CHECKED)
        except Exception as exc:  # every failure is the finding, whatever its type
            failures.append(f"{type(exc).__name__}: {exc}"[:300])
    report.write_text(
        json.dumps(
            {"moments": moments, "versions": versions, "failures": failures, "mixed": mixed}
        ),
        encoding="utf-8",
    )


@contextmanager
def reading(serving: Path, folder: Path, readers: int) -> Iterator[list[dict[str, Any]]]:
    """``readers`` reader processes on ``serving`` while the block runs; the list yielded holds
    their reports once it has ended (one dict per reader: query ``moments``, ``versions``
    seen, ``failures``, ``mixed`` answers)."""
    stop = folder / "readers.stop"
    reports = [folder / f"reader-{i}.json" for i in range(readers)]
    processes = [
        subprocess.Popen([sys.executable, __file__, str(serving), str(stop), str(report)])
        for report in reports
    ]
    seen: list[dict[str, Any]] = []
    try:
        yield seen
    finally:
        stop.touch()
        for process in processes:
            process.wait(timeout=60)
    seen += [json.loads(report.read_text(encoding="utf-8")) for report in reports]


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
