"""Benchmark of publication: copying the marts of a freshly built warehouse into the serving
file (``python -m serving publish``), cutting the 16 district files, and rendering the
dashboard, with wall time, CPU time, peak RSS and file sizes.

    .venv/bin/python -m bench.serving --scale 0.1 1
"""

from __future__ import annotations

import shutil

from bench.ingest import _run, run_scales
from bench.warehouse import built_warehouse


def bench_scale(scale: float, seed: int) -> dict[str, object]:
    work, env = built_warehouse(scale, seed, "serving")
    warehouse, serving = work / "warehouse.duckdb", work / "serving.duckdb"
    row: dict[str, object] = {"scale": scale}
    row["publish"] = _run(["serving", "publish"], env)
    row["districts"] = _run(["serving", "districts", "--out", str(work / "districts")], env)
    row["dashboard"] = _run(["serving", "dashboard", "--out", str(work / "dashboard.html")], env)
    row["warehouse_mib"] = round(warehouse.stat().st_size / 2**20, 1)
    row["serving_mib"] = round(serving.stat().st_size / 2**20, 1)
    sizes = [p.stat().st_size for p in (work / "districts").glob("*.duckdb")]
    row["district_mib_max"] = round(max(sizes) / 2**20, 1)
    row["district_files"] = len(sizes)
    shutil.rmtree(work, ignore_errors=True)
    return row


def main(argv: list[str] | None = None) -> int:
    rows = run_scales(__doc__, "serving.json", bench_scale, argv)
    print("| scale | warehouse MiB | publish s | CPU s | peak RSS GiB | serving MiB "
          "| 16 district files s | largest district MiB | dashboard s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p, d = r["publish"], r["districts"]
        print(f"| {r['scale']:g} | {r['warehouse_mib']} | {p['wall_s']} | {p['cpu_s']} "
              f"| {p['peak_rss_gib']} | {r['serving_mib']} | {d['wall_s']} "
              f"| {r['district_mib_max']} | {r['dashboard']['wall_s']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
