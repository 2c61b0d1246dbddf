"""``python -m quality run``: the suites and quarantine summaries against a warehouse, outside
Dagster (for operators and benchmarks). Prints one JSON line per check; exits 1 when an ERROR
check fails."""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

from ingestion.contract import ENTITIES
from quality.config import load_thresholds
from quality.gx_runner import CHUNK_ROWS, docs_index, run_suites
from quality.mart_suites import mart_suites
from quality.quarantine import summarise_quarantine
from quality.raw_suites import raw_suites
from quality.suite import Severity

DEFAULT_WAREHOUSE = "data/warehouse.duckdb"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m quality", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="validate the warehouse and rebuild the Data Docs")
    run.add_argument(
        "--warehouse",
        type=Path,
        default=Path(os.environ.get("UNIONWH_WAREHOUSE_PATH") or DEFAULT_WAREHOUSE),
    )
    run.add_argument("--layer", choices=("raw", "marts", "all"), default="all")
    run.add_argument("--chunk-rows", type=int, default=CHUNK_ROWS)
    run.add_argument(
        "--whole",
        action="store_true",
        help="validate every row with great-expectations, not only the rows whose verdict is "
        "news (of loads not validated yet, or that may fail; the others are counted in DuckDB)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    thresholds = load_thresholds()
    suites = (raw_suites() if args.layer != "marts" else []) + (
        mart_suites() if args.layer != "raw" else []
    )
    blocking = 0
    if args.layer != "marts":
        for q in summarise_quarantine(args.warehouse, list(ENTITIES.values()), thresholds):
            blocking += not q.passed and q.severity is Severity.ERROR
            print(json.dumps({"check": f"raw/{q.entity.source}/{q.entity.name}:quarantine",
                              "passed": q.passed, "severity": q.severity.value,
                              **q.metadata()}, ensure_ascii=False))  # fmt: skip
    for o in run_suites(
        args.warehouse, suites, thresholds, chunk_rows=args.chunk_rows, whole=args.whole
    ):
        blocking += not o.passed and o.severity == Severity.ERROR.value
        print(json.dumps({"check": f"{'/'.join(o.asset)}:{o.check}", "passed": o.passed,
                          "severity": o.severity, "rows": o.rows, "gx_rows": o.gx_rows,
                          "chunks": o.chunks,
                          "seconds": round(o.seconds, 3),
                          "failed": [e.label for e in o.failed]}))  # fmt: skip
    logging.info("Data Docs: %s", docs_index(args.warehouse).resolve())
    return 1 if blocking else 0
