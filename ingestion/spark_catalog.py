"""The warehouse's tables in a Spark catalog, for ``dbt build --target spark``.

In: the raw layer. The committed Parquet files of the raw directory are registered as Spark
tables and views with the same names and the same reconciliation as the DuckDB warehouse's
``raw`` schema, so Spark reads the same raw data (``python -m ingestion spark-raw``).
Out: the marts. What dbt built in Spark's ``marts`` database is Parquet under the Spark
warehouse directory (``mart_files``); the dbt step lands it in the DuckDB warehouse after the
build (``UNIONWH_ENGINE=spark``, orchestration/defs/dbt/spark_marts.py).

What is committed comes from the warehouse file's commit log (``meta.loads``, opened
read-only for a moment): each entity's folder ``<raw>/<source>/<entity>/`` becomes an external
Parquet table ``raw.<entity>__files`` (schemas merged across loads; files of a load that never
committed are filtered out by ``_load_id``), ``raw.<entity>`` the committed history over it,
``raw.<entity>_current`` the current state by ``ingestion.raw_views`` (the same portable SQL
the PostgreSQL peer uses), and ``raw.deletions`` the tombstones of every source. An entity
without committed data gets a ``raw.<entity>`` of no rows with the types Spark reads from its
files once they exist (``ingestion.raw_schemas``), as in the DuckDB warehouse. Spark reads
the files where they lie: nothing is copied, a load committed after registration shows up at
the next registration.

The local Spark (the ``session`` method of dbt-spark, pyspark in this venv) keeps its catalog
in an embedded Derby metastore and its tables under ``UNIONWH_SPARK_DIR`` (default
``<warehouse dir>/<warehouse stem>_spark``); ``session_conf`` is the one place those settings
live, and dbt's ``spark`` target reads the same variables (dbt_project/profiles.yml).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from core.warehouse import connect
from ingestion.contract import ENTITIES, Entity
from ingestion.raw_schemas import empty_history
from ingestion.raw_store import DELETION_SCHEMA, RawStore
from ingestion.raw_views import current_view_sql

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RAW = "raw"
# Databases the dbt project writes on Spark (generate_schema_name) besides raw.
SCHEMAS = ("raw", "reference", "staging", "intermediate", "marts", "main")


def session_conf(spark_dir: Path) -> dict[str, str]:
    """The local Spark session's settings (dbt_project/profiles.yml, target ``spark``, sets
    the same ones from the same variables; tests/test_spark.py holds them equal)."""
    spark_dir = spark_dir.resolve()
    return {
        "spark.master": os.environ.get("UNIONWH_SPARK_MASTER", "local[*]"),
        "spark.driver.memory": os.environ.get("UNIONWH_SPARK_DRIVER_MEMORY", "4g"),
        "spark.sql.warehouse.dir": str(spark_dir / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_dir / 'metastore_db'};create=true"
        ),
        # derby.log lands in derby.system.home, else in the working directory.
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_dir}",
        # Every timestamp in the warehouse is naive Beijing wall-clock time: UTC as the
        # session zone keeps Spark from shifting them when it casts.
        "spark.sql.session.timeZone": "UTC",
        # ... and `timestamp` is a naive (NTZ) timestamp, as in DuckDB and the Parquet raw
        # files; written as plain microseconds, the type DuckDB reads back as TIMESTAMP.
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.mergeSchema": "true",
        "spark.sql.shuffle.partitions": os.environ.get("UNIONWH_SPARK_SHUFFLE_PARTITIONS", "8"),
        "spark.ui.enabled": "false",
        # The progress bar shares dbt's stdout and breaks the JSON lines Dagster reads.
        "spark.ui.showConsoleProgress": "false",
    }


@contextmanager
def spark_session(spark_dir: Path) -> Iterator[SparkSession]:
    """A local Spark session over the project's catalog; stopped (the Derby metastore
    released for dbt) on exit."""
    from pyspark.sql import SparkSession

    spark_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("union-warehouse raw").enableHiveSupport()
    for key, value in session_conf(spark_dir).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def committed_loads(store: RawStore) -> dict[tuple[str, str], list[str]]:
    """Load ids per (source, entity) of the committed loads that wrote data, and of those
    that wrote deletions under ("", "deletions")."""
    with connect(store.warehouse_path, read_only=True) as con:
        rows = con.execute(
            "select source, entity, load_id, data_file is not null, deletions_file is not null "
            "from meta.loads order by load_id"
        ).fetchall()
    loads: dict[tuple[str, str], list[str]] = {}
    for source, entity, load_id, has_data, has_deletions in rows:
        if has_data:
            loads.setdefault((source, entity), []).append(load_id)
        if has_deletions:
            loads.setdefault(("", "deletions"), []).append(load_id)
    return loads


def _files_table(spark: SparkSession, table: str, location: str) -> None:
    spark.sql(f"drop table if exists {RAW}.{table}")
    spark.sql(
        f"create table {RAW}.{table} using parquet "
        f"options (path {_string(location)}, mergeSchema 'true', pathGlobFilter '*.parquet')"
    )


def _committed(table: str, load_ids: list[str]) -> str:
    ids = ", ".join(_string(i) for i in sorted(set(load_ids)))
    return f"select * from {RAW}.{table} where _load_id in ({ids})"


def _empty_history(spark: SparkSession, entity: Entity) -> str:
    """A select of no rows with the columns and types Spark reads from ``entity``'s raw
    files once data arrived (the DuckDB warehouse's empty views hold the same)."""
    with tempfile.TemporaryDirectory(prefix="unionwh-empty-") as folder:
        # Written and read back as Parquet: the types are those of the data files.
        path = Path(folder) / f"{entity.name}.parquet"
        empty_history(entity).write_parquet(path)
        fields = spark.read.parquet(str(path)).schema.fields
    columns = ", ".join(
        f"cast(null as {field.dataType.simpleString()}) as {_quote(field.name)}" for field in fields
    )
    return f"select {columns} where false"


def register_raw(
    spark: SparkSession, store: RawStore, loads: Mapping[tuple[str, str], list[str]]
) -> dict[str, int]:
    """(Re)create the raw tables and views in ``spark``'s catalog; returns the committed
    history rows per entity (and of ``deletions``)."""
    for schema in SCHEMAS:
        spark.sql(f"create database if not exists {schema}")
    counts: dict[str, int] = {}
    deletion_ids = loads.get(("", "deletions"), [])
    if deletion_ids:
        _files_table(spark, "deletions__files", str(store.raw_dir / "*" / "_deletions"))
        body = _committed("deletions__files", deletion_ids)
    else:
        spark_types = {"String": "string", "Int64": "bigint", "Datetime": "timestamp"}
        columns = {**DELETION_SCHEMA, "_load_id": "String", "_loaded_at": "Datetime"}
        body = "select " + ", ".join(
            f"cast(null as {spark_types[str(kind).split('(')[0]]}) as {name}"
            for name, kind in columns.items()
        ) + " where false"  # fmt: skip
    spark.sql(f"create or replace view {RAW}.deletions as {body}")
    counts["deletions"] = spark.table(f"{RAW}.deletions").count()

    for entity in ENTITIES.values():
        load_ids = loads.get((entity.source, entity.name))
        history = f"{RAW}.{_quote(entity.name)}"
        if load_ids:
            files = f"{entity.name}__files"
            _files_table(spark, files, str(store.raw_dir / entity.source / entity.name))
            body = _committed(files, load_ids)
        else:
            body = _empty_history(spark, entity)
        spark.sql(f"create or replace view {history} as {body}")
        columns = spark.table(history).columns
        current = current_view_sql(entity, columns, raw_schema=RAW, quote="`")
        spark.sql(f"create or replace view {RAW}.{_quote(entity.name + '_current')} as {current}")
        counts[entity.name] = spark.table(history).count()
    return counts


def register(store: RawStore, spark_dir: Path) -> dict[str, int]:
    """Register the warehouse's committed raw layer in the local Spark catalog."""
    loads = committed_loads(store)
    if not loads:
        raise FileNotFoundError(f"{store.warehouse_path}: no committed loads to register")
    with spark_session(spark_dir) as spark:
        return register_raw(spark, store, loads)


def mart_files(spark_dir: Path, table: str) -> str:
    """The Parquet files of a managed table of Spark's ``marts`` database (a glob)."""
    return str(spark_dir.resolve() / "warehouse" / "marts.db" / table / "*.parquet")
