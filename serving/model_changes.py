"""What dbt's incremental builds changed in a mart since a given build, from the warehouse's
``meta.model_changes`` log (``dbt_project/macros/incremental/revisits.sql``).

Every build of a ``replace_keys`` model appends, in the transaction that writes the model's
rows, one row for the build and one per key it revisited (deleted and inserted again, or
added); a build that wrote every row (the first, ``--full-refresh``, a changed definition)
names no key column. So a table that reflected build ``X`` equals the model's table now once
the rows of every key revisited by the builds after ``X`` are replaced, provided none of them
wrote every row and ``X`` is still in the log.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb


@dataclass(frozen=True, slots=True)
class Since:
    """The builds of a model after a given one: none (the table is as it was), or the key
    column and the invocations whose revisited keys must be replaced."""

    key_column: str | None
    invocations: tuple[str, ...]


def latest_builds(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    """The invocation of each logged model's latest build, by model name (empty when the
    warehouse has no log yet)."""
    if not _has_log(con, catalog):
        return {}
    return dict(
        con.execute(
            f"select model_name, arg_max(invocation_id, recorded_at) "
            f"from {catalog}.meta.model_changes where changed_key is null group by model_name"
        ).fetchall()
    )


def changes_since(
    con: duckdb.DuckDBPyConnection, catalog: str, model: str, invocation: str
) -> Since | None:
    """The builds of ``model`` after ``invocation``; None when the log cannot tell (the
    invocation was pruned or never logged, a later build wrote every row, or the later
    builds name different key columns)."""
    if not _has_log(con, catalog):
        return None
    builds = con.execute(
        f"select invocation_id, recorded_at, key_column from {catalog}.meta.model_changes "
        "where model_name = ? and changed_key is null order by recorded_at, invocation_id",
        [model],
    ).fetchall()
    at = next((i for i, (inv, *_) in enumerate(builds) if inv == invocation), None)
    if at is None:
        return None
    later = builds[at + 1 :]
    if not later:
        return Since(None, ())
    keys = {key for _, _, key in later}
    if None in keys or len(keys) != 1:
        return None
    return Since(keys.pop(), tuple(inv for inv, *_ in later))


def changed_keys_sql(catalog: str, model: str, since: Since) -> str:
    """A select of the distinct keys (as text) the builds in ``since`` revisited."""
    invocations = ", ".join("'" + i.replace("'", "''") + "'" for i in since.invocations)
    name = model.replace("'", "''")
    return (
        f"select distinct changed_key from {catalog}.meta.model_changes "
        f"where model_name = '{name}' and changed_key is not null "
        f"and invocation_id in ({invocations})"
    )


def _has_log(con: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = ? "
            "and schema_name = 'meta' and table_name = 'model_changes'",
            [catalog],
        ).fetchall()[0][0]
    )
