"""dbt docs: published by the pipeline beside the warehouse, served without opening it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import fenced_page
from pipeline import ROOT
from servers import free_port, wait_until_up

from serving.dbt_docs import INPUTS_FILE, SITE_FILES, docs_dir, is_current, site_inputs


@pytest.fixture(scope="module")
def site(pipeline_run: dict) -> Path:
    return docs_dir(pipeline_run["out"] / "warehouse.duckdb")


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """``make docs``: ``python -m serving docs`` on the published site."""
    port = free_port()
    warehouse = site.with_name("warehouse.duckdb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "serving", "docs", "--warehouse", str(warehouse),
         "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, 30)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_run_published_the_site_with_every_model_and_its_catalog(site: Path) -> None:
    assert sorted(p.name for p in site.iterdir()) == sorted((*SITE_FILES, INPUTS_FILE))
    manifest = json.loads((site / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert {"kpi_values", "dim_member", "fct_service_deliveries"} <= models
    # The catalog is of the built warehouse: every model's relation with its columns.
    built = {n["metadata"]["name"] for n in catalog["nodes"].values()}
    assert models <= built
    assert "value" in catalog["nodes"]["model.union_warehouse.kpi_values"]["columns"]
    # dbt's page reports usage unless the project turns it off.
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False


def test_the_site_is_regenerated_only_when_project_or_schema_changed(
    site: Path, tmp_path: Path
) -> None:
    import duckdb

    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"nodes": {}}', encoding="utf-8")
    out = tmp_path / "docs"
    for name in SITE_FILES:
        (out / name).parent.mkdir(exist_ok=True)
        (out / name).write_text("{}", encoding="utf-8")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create table t (a integer)")
        first = site_inputs(con, manifest)
        (out / INPUTS_FILE).write_text(first, encoding="utf-8")
        con.execute("insert into t values (1), (2)")  # rows only: the site stays
        assert site_inputs(con, manifest) == first and is_current(out, first)
        con.execute("alter table t add column b varchar")  # a new column: regenerated
        assert site_inputs(con, manifest) != first
        con.execute("alter table t drop column b")
    assert site_inputs(duckdb.connect(str(tmp_path / "w.duckdb")), manifest) == first
    manifest.write_text('{"nodes": {"x": 1}}', encoding="utf-8")  # the project changed
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert site_inputs(con, manifest) != first
    (out / "catalog.json").unlink()  # an incomplete site is never current
    assert not is_current(out, first)
    # the pipeline's own site is stamped with what it was generated from
    assert len((site / INPUTS_FILE).read_text(encoding="utf-8")) == 64


def test_make_docs_before_any_run_says_what_to_do(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "serving", "docs", "--warehouse", str(tmp_path / "w.duckdb")],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no dbt docs in" in done.stdout and "make run" in done.stdout
    assert not (tmp_path / "w.duckdb").exists()


def test_served_docs_render_offline(served: str, tmp_path: Path) -> None:
    host = served.removeprefix("http://")
    with fenced_page(allowed_hosts=(host,)) as (page, fence):
        page.goto(f"{served}/#!/model/model.union_warehouse.kpi_values")
        page.get_by_text("kpi_values", exact=True).first.wait_for(timeout=60_000)
        # exact: the test unique_combination_of_columns holds the word too, in a hidden span
        page.get_by_text("Columns", exact=True).first.wait_for(timeout=30_000)
        shot = page.screenshot(path=str(tmp_path / "dbt_docs.png"), full_page=False)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 30_000
    assert fence.blocked == []
    # dbt's AngularJS page asks for an icon by its template text before compiling it, and
    # Chromium drops that request: the only failures allowed.
    assert [f for f in fence.failed if "%7B%7B%20getIcon(" not in f] == []
