"""Columnar reads from a SQLite membership database, bypassing Python row objects.

SQLAlchemy hands every cell to Python as an object before polars sees it, which was 40 % of a
full membership load at SF1. For a SQLite file (the default source), the ADBC driver runs the
same SQL and returns Arrow batches straight from C. Other databases keep the SQLAlchemy path.
"""

from __future__ import annotations

import pyarrow as pa
import sqlalchemy as sa


def sqlite_arrow(engine: sa.Engine, query: sa.Select) -> pa.Table | None:
    """``query``'s result as an Arrow table when ``engine`` is a SQLite file, else None."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    # The driver manager directly: its DB-API module imports pandas (1.4 s a process).
    import adbc_driver_manager as adbc
    import adbc_driver_sqlite

    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    # Read-only, and never create a missing file (SQLAlchemy's path would fail the same way).
    with (
        adbc_driver_sqlite.connect(f"file:{database}?mode=ro") as db,
        adbc.AdbcConnection(db) as conn,
        adbc.AdbcStatement(conn) as statement,
    ):
        statement.set_sql_query(sql)
        stream, _ = statement.execute_query()
        return pa.RecordBatchReader._import_from_c(stream.address).read_all()
