"""DuckDB SQL text for values the raw layer writes into statements: quoted strings,
identifiers and lists of file paths."""

from __future__ import annotations


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_list(paths: list[str]) -> str:
    return "[" + ", ".join(sql_string(p) for p in paths) + "]"
