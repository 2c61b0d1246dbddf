"""Publishing the marts: copy them into a fresh DuckDB file, then swap it in atomically.

Readers keep the file they opened (on POSIX a rename never changes an open inode), so they
never see a half-written file and never hold a lock the pipeline needs. A failed publication
leaves the previous file untouched; only the dims, facts and KPI tables of ``marts`` are
copied, never raw, staging, quarantine or pseudonyms.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

PUBLISHED_SCHEMAS = ("marts",)


@dataclass(frozen=True, slots=True)
class Publication:
    path: Path
    published_at: datetime
    tables: dict[str, int]  # "<schema>.<table>" -> rows


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def publish(warehouse: Path, serving: Path) -> Publication:
    """Write the marts of ``warehouse`` to a new file and rename it over ``serving``."""
    serving.parent.mkdir(parents=True, exist_ok=True)
    staged = serving.with_name(f".{serving.name}.{os.getpid()}.publishing")
    staged.unlink(missing_ok=True)
    published_at = datetime.now(UTC).replace(tzinfo=None)
    tables: dict[str, int] = {}
    try:
        with duckdb.connect(str(staged)) as con:
            con.execute(f"attach {_literal(warehouse.resolve())} as warehouse (read_only)")
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"create schema {_quote(schema)}")
                names = con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'warehouse' and table_schema = ? order by table_name",
                    [schema],
                ).fetchall()
                for (name,) in names:
                    target = f"{_quote(schema)}.{_quote(name)}"
                    con.execute(
                        f"create table {target} as "
                        f"select * from warehouse.{_quote(schema)}.{_quote(name)}"
                    )
                    tables[f"{schema}.{name}"] = con.execute(
                        f"select count(*) from {target}"
                    ).fetchall()[0][0]
            con.execute("detach warehouse")
            con.execute("create schema meta")
            con.execute(
                "create table meta.publication as select ?::timestamp as published_at, "
                "?::varchar as tables",
                [published_at, ",".join(tables)],
            )
            con.execute("checkpoint")
        os.replace(staged, serving)
    finally:
        staged.unlink(missing_ok=True)
        staged.with_name(staged.name + ".wal").unlink(missing_ok=True)
    return Publication(serving, published_at, tables)


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
