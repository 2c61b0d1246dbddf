"""The PostgreSQL peer of the warehouse, for the "PostgreSQL / DuckDB" benchmark: the raw layer
of a built DuckDB warehouse copied into a fresh PostgreSQL database, then the same dbt project
built there (`dbt build --target postgres`, profile target ``postgres`` in
dbt_project/profiles.yml).

    .venv/bin/python -m bench.peer --warehouse data/warehouse.duckdb --database unionwh_peer

prints one JSON line for the load and one for the build, with their wall times.

The copy: the raw history of every entity a dbt source names (``raw.<entity>``, every version
of every load) and ``raw.deletions`` become PostgreSQL tables with the same columns; the
``raw.<entity>_current`` views are re-created over them with the raw store's reconciliation
rules in portable SQL (``ingestion.raw_views``, the text DuckDB and Spark run), so PostgreSQL
reconciles the history on every read exactly as DuckDB does. Types: VARCHAR → text, integers →
the same width, DOUBLE → double precision, DECIMAL(p,s) → numeric(p,s), DATE/TIMESTAMP/BOOLEAN
alike, a LIST of scalars → an array (text[] ...), and a STRUCT, MAP or LIST of STRUCT → jsonb
(DuckDB's to_json: a timestamp becomes "yyyy-mm-dd hh:mm:ss", which the models cast back; see
dbt_project/macros/cross_db/); a type without a faithful PostgreSQL peer (BLOB...) is refused.
Rows stream from DuckDB in Arrow batches, are written as CSV (values rendered as text by
DuckDB) and arrive through COPY ... FROM STDIN, so a table of millions of rows never sits in
memory. PostgreSQL's parsing of the COPY is the bottleneck (~170k rows/s of the delivery
table's width on this machine); two relations loading at once were no faster on two cores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import psycopg
import pyarrow.csv as pa_csv
import yaml
from psycopg import sql

from ingestion.contract import ENTITIES
from ingestion.raw_views import current_view_sql

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")

# The schemas of the warehouse: the raw layer and the dbt layers (generate_schema_name).
SCHEMAS = ("raw", "reference", "staging", "intermediate", "marts")
RAW = "raw"
BATCH_ROWS = 100_000

_SCALAR_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(39, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def source_relations(project: Path = PROJECT) -> list[str]:
    """The raw relations the dbt sources read (identifier, else name), sorted."""
    names: set[str] = set()
    for path in sorted((project / "models").rglob("_*__sources.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in spec.get("sources", []):
            if source.get("schema", source["name"]) != RAW:
                raise ValueError(f"{path}: source {source['name']} is not in schema {RAW}")
            for table in source.get("tables", []):
                names.add(table.get("identifier") or table["name"])
    return sorted(names)


def _scalar_type(duck_type: str) -> str | None:
    """The PostgreSQL type of a DuckDB scalar type, or None for a nested or unknown one."""
    if duck_type in _SCALAR_TYPES:
        return _SCALAR_TYPES[duck_type]
    decimal = _DECIMAL.fullmatch(duck_type)
    if decimal:
        return f"numeric({decimal[1]}, {decimal[2]})"
    return None


def column_plan(duck_type: str, column: str) -> tuple[str, str]:
    """For one DuckDB column: its PostgreSQL type, and the DuckDB expression that renders a
    value as the text PostgreSQL's COPY (CSV) reads into that type (null stays null)."""
    ident = '"' + column.replace('"', '""') + '"'
    scalar = _scalar_type(duck_type)
    if scalar is not None:
        return scalar, f"cast({ident} as varchar)"
    element = _scalar_type(duck_type[:-2]) if duck_type.endswith("[]") else None
    if element is not None and element != "jsonb":
        # An array literal: {"a","b",NULL}, each element quoted with \ and " escaped.
        quoted = (
            "coalesce('\"' || replace(replace(cast(x as varchar), '\\', '\\\\'), '\"', '\\\"')"
            " || '\"', 'NULL')"
        )
        return (
            f"{element}[]",
            f"'{{' || array_to_string(list_transform({ident}, lambda x: {quoted}), ',') || '}}'",
        )
    if duck_type.startswith(("STRUCT(", "MAP(", "UNION(")) or duck_type.endswith("]"):
        # A struct, map or union, or a list of them (or of lists): its JSON.
        return "jsonb", f"cast(to_json({ident}) as varchar)"
    raise ValueError(f"column {column}: no PostgreSQL type for DuckDB type {duck_type}")


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    rows = con.execute(f"describe select * from {RAW}.{_duck_ident(relation)}").fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


HOST = os.environ.get("UNIONWH_PG_HOST", "127.0.0.1")
PORT = int(os.environ.get("UNIONWH_PG_PORT", "5432"))


def reachable(host: str = HOST, port: int = PORT) -> bool:
    """Whether a PostgreSQL server answers at ``host:port`` (the peer is skipped otherwise)."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _pg_conninfo(database: str, host: str, port: int, user: str) -> str:
    return psycopg.conninfo.make_conninfo(host=host, port=port, user=user, dbname=database)


def recreate_database(database: str, host: str, port: int, user: str) -> None:
    """Drop ``database`` (closing its sessions) if it exists and create it empty."""
    with psycopg.connect(_pg_conninfo("postgres", host, port, user), autocommit=True) as pg:
        name = sql.Identifier(database)
        pg.execute(sql.SQL("drop database if exists {} with (force)").format(name))
        pg.execute(sql.SQL("create database {}").format(name))


def drop_database(database: str, host: str = "127.0.0.1", port: int = 5432,
                  user: str = "postgres") -> None:  # fmt: skip
    with psycopg.connect(_pg_conninfo("postgres", host, port, user), autocommit=True) as pg:
        pg.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(database)))  # fmt: skip


def _copy_relation(con: duckdb.DuckDBPyConnection, pg: psycopg.Connection, relation: str) -> int:
    """Create ``raw.<relation>`` in PostgreSQL and stream the DuckDB relation into it."""
    plans = [(name, *column_plan(duck_type, name)) for name, duck_type in _columns(con, relation)]
    table = sql.Identifier(RAW, relation)
    columns = sql.SQL(", ").join(sql.Identifier(name) for name, _, _ in plans)
    pg.execute(
        sql.SQL("create table {} ({})").format(
            table,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type))
                for name, pg_type, _ in plans
            ),
        )
    )
    select = ", ".join(f"{expr} as {_duck_ident(name)}" for name, _, expr in plans)
    reader = con.sql(f"select {select} from {RAW}.{_duck_ident(relation)}").to_arrow_reader(
        BATCH_ROWS
    )
    options = pa_csv.WriteOptions(include_header=False)
    rows = 0
    # FREEZE: the table is new in this transaction, so its rows are written frozen (no
    # hint-bit rewrite or vacuum freeze when dbt first reads them).
    copy_sql = sql.SQL("copy {} ({}) from stdin (format csv, freeze true)").format(table, columns)
    with pg.cursor() as cur, cur.copy(copy_sql) as copy:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            buffer = io.BytesIO()
            pa_csv.write_csv(batch, buffer, options)
            copy.write(buffer.getbuffer())
            rows += batch.num_rows
    return rows


CURRENT_SUFFIX = "_current"


def load_raw(
    warehouse: Path,
    database: str,
    host: str = "127.0.0.1",
    port: int = 5432,
    user: str = "postgres",
) -> dict[str, int]:
    """(Re)create PostgreSQL database ``database`` with the warehouse's schemas and a copy of
    every raw relation the dbt sources read (``raw.<name>`` tables, analyzed). Opens the
    DuckDB warehouse read-only. Returns the rows copied per relation name."""
    relations = source_relations()
    recreate_database(database, host, port, user)
    counts: dict[str, int] = {}
    with (
        duckdb.connect(str(warehouse), read_only=True) as con,
        psycopg.connect(_pg_conninfo(database, host, port, user)) as pg,
    ):
        for schema in SCHEMAS:
            pg.execute(sql.SQL("create schema {}").format(sql.Identifier(schema)))
        pg.commit()
        # The histories and the deletion log are copied; the current views are re-created
        # over them, so both engines reconcile the same history on every read.
        tables = sorted(
            {r.removesuffix(CURRENT_SUFFIX) for r in relations if r.endswith(CURRENT_SUFFIX)}
            | {r for r in relations if not r.endswith(CURRENT_SUFFIX)}
        )
        for relation in tables:
            counts[relation] = _copy_relation(con, pg, relation)
            pg.commit()
        for relation in relations:
            if relation.endswith(CURRENT_SUFFIX):
                entity = relation.removesuffix(CURRENT_SUFFIX)
                columns = [name for name, _ in _columns(con, entity)]
                view = sql.SQL(current_view_sql(ENTITIES[entity], columns))  # type: ignore[arg-type]
                pg.execute(
                    sql.SQL("create view {} as ").format(sql.Identifier(RAW, relation)) + view
                )
        pg.commit()
    with psycopg.connect(_pg_conninfo(database, host, port, user), autocommit=True) as pg:
        for relation in tables:
            pg.execute(sql.SQL("analyze {}").format(sql.Identifier(RAW, relation)))
    return counts


def dbt_build(database: str, target_dir: Path, env: Mapping[str, str] | None = None) -> None:
    """``dbt build --target postgres`` of dbt_project/ into PostgreSQL database ``database``
    (UNIONWH_PG_DATABASE; host, port and user from UNIONWH_PG_* in ``env`` or the
    environment), compiling into ``target_dir`` and logging to ``target_dir``/logs. dbt's
    output is captured; on failure it goes to stderr and CalledProcessError is raised."""
    run_env = {**os.environ, **(env or {}), "UNIONWH_PG_DATABASE": database}
    try:
        subprocess.run(
            [str(DBT), "build", "--target", "postgres", "--profiles-dir", ".",
             "--target-path", str(target_dir), "--log-path", str(Path(target_dir) / "logs")],
            cwd=PROJECT, env=run_env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    except subprocess.CalledProcessError as failed:
        # dbt reports on stdout: keep it out of the caller's (JSON) output but show a failure.
        print(failed.stdout[-20_000:], failed.stderr[-5_000:], sep="\n", file=sys.stderr)
        raise


def _emit(record: Mapping[str, object]) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peer",
        description="Load a DuckDB warehouse's raw layer into PostgreSQL and dbt build there.",
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="DuckDB warehouse file")
    parser.add_argument("--database", required=True, help="PostgreSQL database to (re)create")
    parser.add_argument("--host", default=os.environ.get("UNIONWH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("UNIONWH_PG_PORT", "5432")))
    parser.add_argument("--user", default=os.environ.get("UNIONWH_PG_USER", "postgres"))
    parser.add_argument(
        "--target-path", type=Path, default=None,
        help="dbt target directory (default bench/out/peer-<database>/target)",
    )  # fmt: skip
    parser.add_argument("--load-only", action="store_true", help="copy the raw layer, no build")
    args = parser.parse_args(None if argv is None else list(argv))
    target = args.target_path or ROOT / "bench" / "out" / f"peer-{args.database}" / "target"

    start = time.perf_counter()
    counts = load_raw(args.warehouse, args.database, args.host, args.port, args.user)
    _emit({
        "step": "load", "database": args.database, "wall_s": round(time.perf_counter() - start, 2),
        "tables": len(counts), "rows": sum(counts.values()), "rows_per_table": counts,
    })  # fmt: skip
    if args.load_only:
        return

    env = {"UNIONWH_PG_HOST": args.host, "UNIONWH_PG_PORT": str(args.port),
           "UNIONWH_PG_USER": args.user}  # fmt: skip
    start = time.perf_counter()
    dbt_build(args.database, target.resolve(), env)
    _emit({"step": "build", "database": args.database,
           "wall_s": round(time.perf_counter() - start, 2)})  # fmt: skip


if __name__ == "__main__":
    main()
