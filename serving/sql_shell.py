"""``python -m serving sql``: a SQL shell on any DuckDB file of the project, on the Python DuckDB.

The DuckDB CLI in ``.venv`` (``duckdb-cli``, the newest on PyPI) bundles DuckDB 1.5: it opens
the serving files (written in DuckDB 1.5's storage format) but not the warehouse, which the
pipeline's DuckDB 2.0 writes in its own format. This shell runs on that same engine, so it opens
every file: the warehouse by default, or ``--warehouse data/serving.duckdb``.

- Read-only unless ``--write``. The file is opened for each statement (or each ``-c`` batch)
  and closed right after, so an open shell never holds a lock a pipeline run needs; a setting
  or temporary table therefore lasts one batch only.
- When a writer holds the file, it waits up to ``--wait`` seconds, then says so and exits 2.
- ``-c "SQL; SQL"`` runs the statements and exits (1 on the first error); SQL on standard input
  does the same; otherwise an interactive prompt with line editing and history
  (``~/.unionwh_sql_history``): statements end with ``;``, ``.tables`` lists the tables,
  ``.quit`` (or Ctrl-D) leaves.
- Results print as a text table, at most ``--max-rows`` rows (0: all).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

import duckdb

DEFAULT_MAX_ROWS = 1000
DEFAULT_WAIT_SECONDS = 10.0
HISTORY = Path("~/.unionwh_sql_history")
TABLES_SQL = """
select table_schema as schema, table_name as name, lower(table_type) as type
from information_schema.tables
where table_catalog = current_database()
order by all
"""
HELP = """\
Statements end with ';' and may span lines.
.tables   list the tables and views
.help     this text
.quit     leave (or Ctrl-D)"""


class Locked(Exception):
    """The file stayed locked by another process for the whole wait."""


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` as an aligned text table: a header, a rule, numbers right-aligned."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max([_width(name), *(_width(row[i]) for row in cells)]) for i, name in enumerate(columns)
    ]
    right = [any(_numeric(row[i]) for row in rows) for i in range(len(columns))]

    def line(values: Sequence[str], align_right: Sequence[bool]) -> str:
        padded = []
        for text, width, to_right in zip(values, widths, align_right, strict=True):
            pad = " " * (width - _width(text))
            padded.append(pad + text if to_right else text + pad)
        return " " + " | ".join(padded).rstrip() if padded else ""

    rule = "-+-".join("-" * width for width in widths)
    body = [line(row, right) for row in cells]
    return "\n".join([line(columns, [False] * len(columns)), "-" + rule + "-", *body])


@contextlib.contextmanager
def connect(path: Path, *, write: bool, wait: float) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open ``path`` (read-only unless ``write``), waiting up to ``wait`` s for a writer's lock."""
    deadline = time.monotonic() + wait
    while True:
        try:
            con = duckdb.connect(str(path), read_only=not write)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise Locked(str(exc)) from exc
            time.sleep(0.25)
    try:
        yield con
    finally:
        con.close()


def run_sql(
    con: duckdb.DuckDBPyConnection, sql: str, out: TextIO, max_rows: int = DEFAULT_MAX_ROWS
) -> None:
    """Run every statement of ``sql``, printing each result; raises ``duckdb.Error``."""
    for statement in duckdb.extract_statements(sql):
        con.execute(statement)
        if con.description is None:
            continue
        columns = [column[0] for column in con.description]
        rows = con.fetchall() if max_rows <= 0 else con.fetchmany(max_rows + 1)
        if not rows and statement.type != duckdb.StatementType.SELECT:
            continue  # CREATE, SET, ATTACH ...: nothing to show
        more = max_rows > 0 and len(rows) > max_rows
        rows = rows[:max_rows] if more else rows
        print(render(columns, rows), file=out)
        if more:
            print(f"(first {max_rows} rows; add a limit, or --max-rows 0 for all)", file=out)
        else:
            print(f"({len(rows)} row{'' if len(rows) == 1 else 's'})", file=out)


def _batch(path: Path, sql: str, *, write: bool, wait: float, max_rows: int) -> int:
    """One connection for ``sql``: 0 on success, 1 on an SQL error, 2 when locked."""
    try:
        with connect(path, write=write, wait=wait) as con:
            run_sql(con, sql, sys.stdout, max_rows)
    except Locked as exc:
        print(
            f"{path} is locked by another process (a pipeline run writing it?); "
            f"waited {wait:g} s.\n{exc}\n"
            "Try again when it has finished, or query the published copy "
            "(--warehouse data/serving.duckdb).",
            file=sys.stderr,
        )
        return 2
    except duckdb.Error as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # DuckDB's answer to Ctrl-C during a query
        if "interrupted" not in str(exc).lower():
            raise
        raise KeyboardInterrupt from exc
    finally:
        sys.stdout.flush()
    return 0


def _readline() -> None:
    """Line editing and a history file for the prompt, where the platform has readline."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows
        return
    import atexit

    history = HISTORY.expanduser()
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)
    atexit.register(_save, readline, history)


def _save(readline: Any, history: Path) -> None:
    with contextlib.suppress(OSError):
        readline.write_history_file(history)


def _interactive(path: Path, *, write: bool, wait: float, max_rows: int) -> int:
    _readline()
    mode = "read-write" if write else "read-only"
    print(f"{path} ({mode}, DuckDB {duckdb.__version__}). .help for help, .quit to leave.")
    buffer: list[str] = []
    while True:
        try:
            line = input(f"{path.name}> " if not buffer else "...> ")
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            buffer.clear()
            continue
        command = line.strip()
        if not buffer and command.startswith("."):
            if command in (".quit", ".exit", ".q"):
                return 0
            if command == ".tables":
                _batch(path, TABLES_SQL, write=False, wait=wait, max_rows=0)
            else:
                print(HELP)
            continue
        buffer.append(line)
        if command.endswith(";"):
            sql, buffer = "\n".join(buffer), []
            try:
                _batch(path, sql, write=write, wait=wait, max_rows=max_rows)
            except KeyboardInterrupt:
                print("\ninterrupted", file=sys.stderr)


def main(
    path: Path,
    command: str | None = None,
    *,
    write: bool = False,
    wait: float = DEFAULT_WAIT_SECONDS,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> int:
    """The ``sql`` subcommand: ``command``, else standard input, else the interactive prompt."""
    if not path.is_file():
        print(
            f"{path}: no such DuckDB file (make run writes data/warehouse.duckdb)", file=sys.stderr
        )
        return 1
    if command is None and not sys.stdin.isatty():
        command = sys.stdin.read()
    if command is None:
        return _interactive(path, write=write, wait=wait, max_rows=max_rows)
    try:
        return _batch(path, command, write=write, wait=wait, max_rows=max_rows)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
