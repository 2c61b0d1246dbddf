"""Spark local beside DuckDB: the same dbt project built on both engines from the same raw layer.

    .venv/bin/python -m bench.spark --scale 0.1 1         # JSON and Markdown in bench/out/

Per scale factor, one work directory ``bench/out/spark-sf<scale>``: the simulator's sources
(seed 42), the three loads into the raw layer (``python -m ingestion load``), then, each its own
measured process, ``dbt build`` on DuckDB, the registration of the raw layer in the local Spark
catalog (``python -m ingestion spark-raw``) and ``dbt build --target spark`` (dbt-spark's
``session`` method: pyspark in the dbt process, ``local[*]``). Every seed, model, data test and
unit test runs on both. Last, the Spark build's ``marts.kpi_values`` (its Parquet files) is
compared row for row with DuckDB's.

CPU and peak RSS are of the whole process tree, sampled every 0.5 s (``bench.measure``,
``tree=True``): Spark's JVM runs under the dbt process, which never reaps it, so ``wait4``
alone (``cpu_s``, ``peak_rss_gib`` in the JSON) counts only the Python side.
``spark_driver_memory`` is the JVM's heap cap.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb

from bench.measure import measure, python_module
from bench.run import (
    DBT_PROJECT,
    OUT,
    SOURCES,
    dbt_build,
    dbt_node_seconds,
    dbt_parse,
    environment,
    machine,
)
from ingestion.spark_catalog import mart_files, session_conf

SEED = 42
KPI_COLUMNS = "kpi_code, period_grain, period_start, district_code, value"


def prepare(work: Path, scale: float, env: dict[str, str]) -> dict[str, Any]:
    """Sources and raw layer of ``work`` (reused when a previous run left them complete)."""
    stages: dict[str, Any] = {}
    done = work / "raw-loaded"
    if done.exists():
        return json.loads(done.read_text())
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stages["generate"] = measure(python_module([
        "simulator", "generate", "--scale", str(scale), "--seed", str(SEED),
        "--out", str(work / "sources"), "--quiet"]), env)  # fmt: skip
    for source in SOURCES:
        stages[f"ingest_{source}"] = measure(
            python_module(["ingestion", "load", "--source", source]), env
        )
    done.write_text(json.dumps(stages))
    return stages


def kpi_agreement(warehouse: Path, spark_dir: Path) -> dict[str, int]:
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as duck (read_only)")
        duck = f"select {KPI_COLUMNS} from duck.marts.kpi_values"
        spark = f"select {KPI_COLUMNS} from read_parquet('{mart_files(spark_dir, 'kpi_values')}')"
        total = con.execute(f"select count(*) from ({duck})").fetchall()[0][0]
        spark_rows = con.execute(f"select count(*) from ({spark})").fetchall()[0][0]
        equal = con.execute(f"select count(*) from ({duck} intersect all {spark})").fetchall()[0][0]
    return {"duckdb_rows": total, "spark_rows": spark_rows, "equal_rows": equal}


def bench_scale(scale: float, out: Path = OUT) -> dict[str, Any]:
    work = (out / f"spark-sf{scale:g}").resolve()
    env = environment(work)
    spark_dir = work / "warehouse_spark"
    env["UNIONWH_SPARK_DIR"] = str(spark_dir)
    prepared = prepare(work, scale, env)
    shutil.rmtree(spark_dir, ignore_errors=True)

    dbt_parse(work, env, "duckdb")
    duck = measure(dbt_build(work, env, "duckdb"), env, cwd=DBT_PROJECT, tree=True)
    duck["node_seconds"] = dbt_node_seconds(work / "dbt-duckdb")
    register = measure(python_module(["ingestion", "spark-raw"]), env, tree=True)
    dbt_parse(work, env, "spark")
    spark = measure(dbt_build(work, env, "spark", "spark"), env, cwd=DBT_PROJECT, tree=True)
    spark["node_seconds"] = dbt_node_seconds(work / "dbt-spark")
    return {
        "scale": scale,
        "seed": SEED,
        "prepare": prepared,
        "duckdb_dbt": duck,
        "spark_register_raw": register,
        "spark_dbt": spark,
        "spark_driver_memory": session_conf(spark_dir)["spark.driver.memory"],
        "spark_master": session_conf(spark_dir)["spark.master"],
        "kpi_values": kpi_agreement(Path(env["UNIONWH_WAREHOUSE_PATH"]), spark_dir),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "| SF | engine | step | wall s | CPU s | peak RSS GiB | SQL s (models / tests) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["scales"]:
        sf = f"{row['scale']:g}"
        for engine, step, stage in (
            ("DuckDB", "`dbt build`", row["duckdb_dbt"]),
            ("Spark local", "raw layer registered", row["spark_register_raw"]),
            ("Spark local", "`dbt build --target spark`", row["spark_dbt"]),
        ):
            nodes = stage.get("node_seconds")
            sql = f"{nodes.get('model', 0)} / {nodes.get('test', 0)}" if nodes else ""
            lines.append(
                f"| {sf} | {engine} | {step} | {stage['wall_s']} | {stage['tree_cpu_s']} | "
                f"{stage['tree_peak_rss_gib']} | {sql} |"
            )
        kpi = row["kpi_values"]
        lines.append(
            f"| {sf} | | kpi_values equal | {kpi['equal_rows']:,} of {kpi['duckdb_rows']:,} "
            f"(Spark {kpi['spark_rows']:,}) | | | |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spark", description=__doc__)
    parser.add_argument("--scale", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--prepare-only", action="store_true",
        help="generate the sources and load the raw layer (kept for the next run), no builds",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.prepare_only:
        for scale in args.scale:
            work = (args.out / f"spark-sf{scale:g}").resolve()
            prepare(work, scale, environment(work))
        return 0
    result: dict[str, Any] = {"machine": machine(), "scales": []}
    for scale in args.scale:
        row = bench_scale(scale, args.out)
        print(json.dumps({k: row[k] for k in ("scale", "kpi_values")}), flush=True)
        result["scales"].append(row)
    name = "spark-" + "-".join(f"sf{s:g}" for s in args.scale)
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (args.out / f"{name}.md").write_text(markdown(result) + "\n")
    print(markdown(result))
    agree = [r["kpi_values"] for r in result["scales"]]
    return 0 if all(k["equal_rows"] == k["duckdb_rows"] == k["spark_rows"] for k in agree) else 1


if __name__ == "__main__":
    raise SystemExit(main())
