"""A content hash of every table and view of a DuckDB file, to prove two warehouses equal.

Each relation hashes to the md5 of its rows' JSON, sorted, so row order does not matter but a
lost or doubled row does. Columns that only say *when* or *in which load* something happened
differ between any two runs and are left out (``VOLATILE``); so are ``meta``, the log of loads
and publications, and ``quality``, the log of check runs, which a re-run after a crash
rightly extends.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

VOLATILE = {
    "_load_id",
    "_loaded_at",
    "_deleted_at",
    "load_id",
    "loaded_at",
    "load_date",
    "source_load_id",
    "source_loaded_at",
    "changed_at",
    "checked_at",
}
SKIPPED_SCHEMAS = ("meta", "quality", "information_schema", "pg_catalog")
# The serving file's findings are those of each check's latest run: after a re-run, the
# latest load of an entity is the re-run's (nothing new read, nothing rejected), so only
# which checks and measures there are, and their severities, must be equal.
ONLY_COLUMNS = {("marts", "data_quality"): ("asset", "check_name", "measure", "severity")}


def relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema not in ? order by all",
        [list(SKIPPED_SCHEMAS)],
    ).fetchall()


def relation_hash(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[int, str]:
    columns = [
        c
        for (c,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_catalog = current_database() and table_schema = ? and table_name = ? "
            "order by ordinal_position",
            [schema, name],
        ).fetchall()
        if c not in VOLATILE and c in ONLY_COLUMNS.get((schema, name), (c,))
    ]
    packed = ", ".join(f'"{c}" := "{c}"' for c in columns)
    rows, digest = con.execute(
        f"select count(*), md5(coalesce(string_agg(h, ',' order by h), '')) from "
        f'(select md5(to_json(struct_pack({packed}))) as h from "{schema}"."{name}")'
    ).fetchall()[0]
    return rows, digest


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    """``schema.relation`` -> (rows, content hash) for every relation outside ``meta``."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {f"{s}.{n}": relation_hash(con, s, n) for s, n in relations(con)}
