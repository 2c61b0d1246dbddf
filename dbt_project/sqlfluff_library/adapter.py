"""`adapter` for sqlfluff's jinja templater (``.sqlfluff``: library_path).

The project's cross-database macros (``macros/cross_db/``) pick their implementation with
``adapter.dispatch(name, 'union_warehouse')``, which only dbt provides. sqlfluff lints the
SQL as DuckDB's (``dialect = duckdb``), so here dispatch resolves to the ``duckdb__``
implementation, then ``default__``, among the macros sqlfluff loaded from
``dbt_project/macros``.
"""

from __future__ import annotations

from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context


@pass_context
def dispatch(context: Context, macro_name: str, macro_namespace: str | None = None) -> Any:
    for prefix in ("duckdb", "default"):
        macro = context.resolve_or_missing(f"{prefix}__{macro_name}")
        if callable(macro):
            return macro
    raise KeyError(f"no duckdb__ or default__ implementation of macro {macro_name!r}")


def get_relation(database: Any, schema: str, identifier: str) -> None:
    return None
