"""The dbt docs site of the warehouse, published beside it and served from there.

The pipeline generates the site after each build, under the warehouse pool (the catalog
reads the warehouse file, which only one process may open while it is written), and copies
it to ``<warehouse dir>/<warehouse stem>_docs/``. Serving it never touches the warehouse.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import shutil
from pathlib import Path

import duckdb

# What the static site needs: the page, and the two documents it fetches.
SITE_FILES = ("index.html", "manifest.json", "catalog.json")
# What the published site was generated from (see ``site_inputs``).
INPUTS_FILE = ".inputs"


def site_inputs(con: duckdb.DuckDBPyConnection, manifest: Path) -> str:
    """A digest of everything the site shows: the dbt project (its manifest) and the
    warehouse's relations and columns. DuckDB's catalog carries no row counts or sizes, so a
    load that changes only rows leaves the site as it is."""
    digest = hashlib.sha256(manifest.read_bytes())
    columns = con.execute(
        "select table_schema, table_name, column_name, data_type, ordinal_position "
        "from information_schema.columns where table_catalog = current_database() order by all"
    ).fetchall()
    digest.update(repr(columns).encode())
    return digest.hexdigest()


def is_current(out: Path, inputs: str) -> bool:
    """Whether the site in ``out`` is complete and was generated from ``inputs``."""
    stamp = out / INPUTS_FILE
    complete = all((out / name).is_file() for name in SITE_FILES)
    return complete and stamp.is_file() and stamp.read_text(encoding="utf-8") == inputs


def docs_dir(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.stem}_docs")


def publish_docs(target: Path, out: Path, inputs: str = "") -> Path:
    """Copy the site that ``dbt docs generate`` wrote to ``target`` into ``out``; each file is
    swapped in whole, so a reader never sees a half-written one. ``inputs`` (``site_inputs``)
    is stamped last. Returns the index page."""
    missing = [name for name in SITE_FILES if not (target / name).is_file()]
    if missing:
        raise FileNotFoundError(f"dbt docs generate left no {', '.join(missing)} in {target}")
    out.mkdir(parents=True, exist_ok=True)
    for name in SITE_FILES:
        staged = out / f".{name}.{os.getpid()}"
        shutil.copyfile(target / name, staged)
        os.replace(staged, out / name)
    (out / INPUTS_FILE).write_text(inputs, encoding="utf-8")
    return out / "index.html"


def serve_docs(site: Path, host: str, port: int) -> None:
    """Serve the published site until interrupted (the page fetches its JSON over HTTP, which
    a browser refuses for a file:// page)."""
    if not (site / "index.html").is_file():
        raise FileNotFoundError(
            f"no dbt docs in {site}: every pipeline run writes them after the dbt build. Run "
            "`make run`, or materialize serving/dbt_docs in the Dagster UI (`make ui`), first."
        )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        print(f"dbt docs of {site} on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
