"""The marts a dbt build on Spark made, landed in the DuckDB warehouse.

With ``UNIONWH_ENGINE=spark`` dbt builds the marts as Parquet tables of Spark's ``marts``
database; the quality suites, the publication and BI read the DuckDB warehouse's ``marts``
schema. After the build, the dbt step (``assets.warehouse_dbt``) replaces those tables with
Spark's. The second half of that step, so it lives beside it; free of Dagster.
"""

import json
from pathlib import Path

from core.warehouse import connect
from ingestion.spark_catalog import mart_files


def land_marts(warehouse_path: Path, spark_dir: Path, tables: list[str]) -> dict[str, int]:
    """Replace ``marts.<table>`` of the DuckDB warehouse with Spark's, for each of
    ``tables``, in one transaction; returns the rows landed per table."""
    rows: dict[str, int] = {}
    with connect(warehouse_path) as con:
        con.begin()
        try:
            con.execute("create schema if not exists marts")
            for table in tables:
                con.execute(
                    f'create or replace table marts."{table}" as select * from '
                    f"read_parquet({_duck_string(mart_files(spark_dir, table))})"
                )
                rows[table] = con.execute(f'select count(*) from marts."{table}"').fetchall()[0][0]
            con.commit()
        except BaseException:
            con.rollback()
            raise
    return rows


def built_marts(target_path: Path) -> list[str]:
    """The tables of schema ``marts`` that this dbt invocation built. A mart built as a view
    is refused: its SQL is Spark's, so it cannot be landed in the DuckDB warehouse."""
    results = json.loads((target_path / "run_results.json").read_text(encoding="utf-8"))
    manifest = json.loads((target_path / "manifest.json").read_text(encoding="utf-8"))
    tables = []
    for result in results["results"]:
        node = manifest["nodes"].get(result["unique_id"], {})
        if node.get("resource_type") != "model" or node.get("schema") != "marts":
            continue
        materialized = node.get("config", {}).get("materialized")
        if materialized not in ("table", "incremental"):
            raise RuntimeError(
                f"mart {node['alias']} is a {materialized} on Spark and cannot be landed in the "
                "warehouse: materialize it as a table there (config by target.type)"
            )
        if result["status"] == "success":
            tables.append(node["alias"])
    return sorted(tables)


def _duck_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
