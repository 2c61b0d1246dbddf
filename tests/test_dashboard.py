"""The pipeline writes the work-report dashboard, and it renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def dashboard(pipeline_run: dict) -> Path:
    return pipeline_run["out"] / "dashboard.html"


def test_dashboard_holds_the_report_and_charts(dashboard: Path) -> None:
    page = dashboard.read_text(encoding="utf-8")
    assert "<script" not in page and "http" not in page  # self-contained, nothing fetched
    assert "2024年工会工作报告指标" in page
    rows = re.findall(r"<tr><td>(.*?)</td>", page)
    assert len(rows) == 19 and rows[0] == "新增单独基层工会"
    assert page.count('<svg class="line"') == page.count('<svg class="bars"') == 6
    assert page.count("<polyline") == 6
    assert len(re.findall(r"<circle ", page)) == 6 * 24  # two years of months per KPI
    assert len(re.findall(r"<rect ", page)) == 6 * 16  # every district per KPI


def test_dashboard_shows_what_the_checks_found(dashboard: Path, pipeline_run: dict) -> None:
    """The panel lists every failed check of the serving file, in Chinese and English."""
    import duckdb

    with duckdb.connect(str(pipeline_run["out"] / "serving.duckdb"), read_only=True) as con:
        (failed,) = con.execute(
            "select count(*) from marts.data_quality where not passed"
        ).fetchall()[0]
    page = dashboard.read_text(encoding="utf-8")
    panel = page[page.index('id="data-quality"') : page.index("</section>")]
    items = re.findall(r'<li class="(warn|error)">(.*?)<br><small>(.*?)</small></li>', panel)
    assert len(items) == failed > 0
    assert (
        "warn",
        "2 个工会的统一社会信用代码校验位无效",
        "2 unions with an invalid USCC",
    ) in items
    assert (
        "warn",
        "1 条服务记录的会员尚未知晓",
        "1 service delivery whose member is not yet known",
    ) in items
    assert not [item for item in items if item[0] == "error"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: chromium)")
def test_dashboard_renders_in_headless_chromium(dashboard: Path, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    done = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1300,1000", f"--screenshot={shot}", dashboard.resolve().as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # A blank page compresses to a few KB; text and charts do not.
    assert len(data) > 50_000
