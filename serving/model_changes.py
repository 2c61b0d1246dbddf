"""What dbt's incremental builds changed in a mart since a given build, from the warehouse's
``meta.model_changes`` log (``dbt_project/macros/incremental/revisits.sql``).

Every build of a ``replace_keys`` or ``merge_logged`` model appends, in the transaction that
writes the model's rows, one row for the build and one per key it changed (deleted and
inserted again, added, merged); a build that wrote every row (the first,
``--full-refresh``, a changed definition) names no key column. So a table that reflected
build ``X`` equals the model's table now once the rows of every key changed by the builds
after ``X`` are replaced, provided none of them wrote every row and ``X`` is still in the log.
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


Builds = dict[str, list[tuple[str, str | None]]]


def build_log(con: duckdb.DuckDBPyConnection, catalog: str) -> Builds:
    """Each logged model's builds, oldest first: (invocation, key column or None for a build
    of every row). Empty when the warehouse has no log yet. Read once per publication."""
    if not _has_log(con, catalog):
        return {}
    builds: Builds = {}
    for model, invocation, key in con.execute(
        f"select model_name, invocation_id, key_column from {catalog}.meta.model_changes "
        "where changed_key is null order by model_name, recorded_at, invocation_id"
    ).fetchall():
        builds.setdefault(model, []).append((invocation, key))
    return builds


def changes_since(builds: list[tuple[str, str | None]], invocation: str) -> Since | None:
    """The builds (of one model, ``build_log``) after ``invocation``; None when the log cannot
    tell (the invocation was pruned or never logged, a later build wrote every row, or the
    later builds name different key columns)."""
    at = next((i for i, (inv, _) in enumerate(builds) if inv == invocation), None)
    if at is None:
        return None
    later = builds[at + 1 :]
    if not later:
        return Since(None, ())
    keys = {key for _, key in later}
    if None in keys or len(keys) != 1:
        return None
    return Since(keys.pop(), tuple(inv for inv, _ in later))


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
