"""A reader process for the serving concurrency test: query the serving file in a loop, the
way a BI tool does, until a stop file appears; report what it saw as JSON.

    python tests/serving_reader.py <serving file> <stop file> <report file>
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb

CHECKED = ("marts.kpi_values", "marts.fct_dispute_cases", "marts.dim_member", "marts.dim_date")


def main(serving: str, stop: Path, report: Path) -> None:
    versions: Counter[str] = Counter()
    failures: list[str] = []
    mixed = 0
    queries = 0
    while not stop.exists():
        queries += 1
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
        time.sleep(0.1)  # a dashboard refreshing often, not a busy loop
    report.write_text(
        json.dumps(
            {"queries": queries, "versions": versions, "failures": failures, "mixed": mixed}
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
