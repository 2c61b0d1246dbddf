"""`dbt` for sqlfluff's jinja templater: the few ``dbt.*`` cross-database type macros the models
call, rendered as DuckDB's types (sqlfluff lints the DuckDB SQL, as ``adapter.py`` does)."""

from __future__ import annotations


def type_string() -> str:
    return "varchar"
