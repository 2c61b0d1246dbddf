"""Benchmark of the data-quality suites: every great-expectations suite and quarantine summary
(``python -m quality run``) over a freshly built warehouse, with wall time, CPU time and the
peak RSS of that one process.

    .venv/bin/python -m bench.quality --scale 0.1 1

Sources come from bench/out/sources-sf<scale>/ (made by bench.ingest, or generated here).
"""

from __future__ import annotations

import shutil

from bench.ingest import _run, run_scales
from bench.warehouse import built_warehouse


def bench_scale(scale: float, seed: int) -> dict[str, object]:
    work, env = built_warehouse(scale, seed, "quality")
    warehouse = work / "warehouse.duckdb"
    run = _run(["quality", "run", "--warehouse", str(warehouse)], env)
    checks = run.pop("summary")
    suites = [c for c in checks if "seconds" in c]
    slowest = sorted(suites, key=lambda c: c["seconds"], reverse=True)[:3]
    row = {
        "scale": scale,
        "quality": run,
        "checks": len(checks),
        "suites_s": round(sum(c["seconds"] for c in suites), 1),
        "rows_validated": sum(c["rows"] for c in suites),
        "largest_batch": max(suites, key=lambda c: c["rows"]),
        "slowest": slowest,
        "failed": [(c["check"], c["severity"]) for c in checks if not c["passed"]],
    }
    shutil.rmtree(work, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    rows = run_scales(__doc__, "quality.json", bench_scale, argv)
    print("| scale | checks | rows validated | largest batch | suites s | process wall s "
          "| CPU s | peak RSS GiB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        q, big = r["quality"], r["largest_batch"]
        print(f"| {r['scale']:g} | {r['checks']} | {r['rows_validated']:,} "
              f"| {big['rows']:,} ({big['check']}, {big['chunks']} chunks) | {r['suites_s']} "
              f"| {q['wall_s']} | {q['cpu_s']} | {q['peak_rss_gib']} |")  # fmt: skip
    for r in rows:
        slow = ", ".join(f"{c['check']} {c['seconds']} s" for c in r["slowest"])
        print(f"\nSF{r['scale']:g} slowest: {slow}; failed: {r['failed']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
