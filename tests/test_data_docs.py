"""GX Data Docs work offline: vendored assets, relative paths, no request to an outside host."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import re
from pathlib import Path

import pytest
from browser import fenced_page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from quality.data_docs import (
    ASSETS,
    CDN,
    VENDOR,
    ExternalResourceError,
    external_resources,
    local_path,
    make_offline,
)
from quality.gx_runner import KEEP_RESULTS, GxWorkspace, docs_index, quality_dir, run_suites
from quality.mart_suites import mart_suites
from quality.raw_suites import raw_suites

S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
# GX's renderer: page templates and the default styles it inlines (found without importing GX)
GX_VIEW = Path(importlib.util.find_spec("great_expectations").origin).parent / "render" / "view"


def _page(body: str) -> str:
    return f"""<!DOCTYPE html><html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css">
<style>.navbar-brand a {{ background: url('{S3}full_logo_dark.png') 0 0 no-repeat; }}</style>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-ApNbgh9B+Y1QKtv3Rn7W3mgPxhU9K/ScQsAP7hUibX39j7fakFPskvXusvfa0b4Q" crossorigin="anonymous"></script>
</head><body>
<img class="NO-CACHE" src="{S3}logo-long.png?d=20240101T000000.000000Z&dataContextId=f40a3fb2-5574" alt="GX"/>
<a href="https://greatexpectations.io">Great Expectations</a>
{body}
</body></html>
"""  # noqa: E501  (the CDN lines exactly as GX writes them)


@pytest.fixture
def fake_site(tmp_path: Path) -> Path:
    """A built site in miniature: the index, a validation page seven folders down, GX's logo."""
    site = tmp_path / "local_site"
    (site / "static" / "images").mkdir(parents=True)
    (site / "static" / "images" / "logo-long.png").write_bytes(b"\x89PNG fake")
    (site / "index.html").write_text(_page("index"), encoding="utf-8")
    nested = site / "validations/raw/disputes/case/freshness/__none__/20240101T000000Z"
    nested.mkdir(parents=True)
    (nested / "page.html").write_text(_page("validation"), encoding="utf-8")
    return site


def _references(text: str) -> list[str]:
    return re.findall(r"""(?:src|href)="([^"]+)"|url\('([^']+)'\)""", text)


def test_make_offline_points_every_page_at_local_files(fake_site: Path) -> None:
    assert make_offline(fake_site) == 2
    for page in (fake_site / "index.html", *fake_site.glob("validations/**/page.html")):
        text = page.read_text(encoding="utf-8")
        for found in _references(text):
            ref = next(r for r in found if r)
            if ref == "https://greatexpectations.io":
                continue  # a plain link may stay
            assert not ref.startswith(("http:", "https:", "/")), (page, ref)
            assert (page.parent / ref).resolve().is_file(), (page, ref)
        assert external_resources(text) == []
        for gone in ("amazonaws", "dataContextId", "integrity=", "crossorigin"):
            assert gone not in text, (page, gone)
        assert '<a href="https://greatexpectations.io">' in text
    index = (fake_site / "index.html").read_text(encoding="utf-8")
    assert '<script src="static/vendor/jquery-3.7.1/jquery.min.js">' in index
    assert "url('static/images/logo-long.png')" in index
    deep = next(fake_site.glob("validations/**/page.html")).read_text(encoding="utf-8")
    assert f'src="{"../" * 7}static/images/logo-long.png"' in deep
    # font-awesome's CSS finds its fonts beside it
    assert (fake_site / VENDOR / "fontawesome-free-6.6.0/webfonts/fa-solid-900.woff2").is_file()
    # a second pass (a rebuild over the same site) changes nothing
    make_offline(fake_site)
    assert (fake_site / "index.html").read_text(encoding="utf-8") == index


def test_an_unknown_outside_resource_fails_loudly(fake_site: Path) -> None:
    page = next(fake_site.glob("validations/**/page.html"))
    html = page.read_text(encoding="utf-8")
    new_cdn = "https://cdn.example.org/new-widget@2/widget.min.js"
    page.write_text(html.replace("validation", f'<script src="{new_cdn}"></script>'), "utf-8")
    with pytest.raises(ExternalResourceError) as failure:
        make_offline(fake_site)
    message = str(failure.value)
    assert page.relative_to(fake_site).as_posix() in message
    assert new_cdn in message


@pytest.mark.parametrize(
    ("snippet", "loads"),
    [
        ('<script src="https://x.example/a.js"></script>', True),
        ("<img src='//x.example/a.png'>", True),
        ('<link rel="icon" href="https://x.example/favicon.ico">', True),
        ("<style>@import 'https://x.example/a.css';</style>", True),
        ('<div style="background: url(https://x.example/bg.png)">', True),
        ('<a href="https://greatexpectations.io/">docs</a>', False),
        ('<img src="../../static/images/logo-long.png">', False),
        ("<style>i { background: url('data:image/svg+xml,<svg xmlns=\"http://x.org\">') }", False),
    ],
)  # fmt: skip
def test_external_resources_tells_loads_from_links(snippet: str, loads: bool) -> None:
    assert bool(external_resources(snippet)) is loads


def _template_urls() -> list[tuple[Path, str, str]]:
    """(file, url, text before it) for every http(s) URL in GX's templates and styles."""
    found = []
    for path in sorted(GX_VIEW.rglob("*")):
        if path.suffix not in {".j2", ".css", ".html"}:
            continue
        text = path.read_text(encoding="utf-8")
        for url in re.finditer(r"""https?://[^"'\s)]+""", text):
            found.append((path, url[0], text[max(0, url.start() - 80) : url.start()]))
    return found


def test_every_outside_resource_in_gx_templates_is_vendored() -> None:
    """A GX upgrade that adds or moves a CDN URL fails here, naming it."""
    urls = _template_urls()
    assert len(urls) > 20  # the scan sees the templates at all
    missing = []
    for path, url, before in urls:
        if re.search(r"""<a\b[^>]*\bhref=["']$""", before) or before.endswith("]("):
            continue  # navigation (HTML or markdown link), never fetched by the page
        if url.endswith("/"):
            # a base the template appends file names to: top_navbar's S3 image folder
            text = path.read_text(encoding="utf-8")
            names = re.findall(r'static_images_dir \+ "([^"]+)"', text) or [""]
            missing += [f"{path.name}: {url}{n}" for n in names if local_path(url + n) is None]
        elif local_path(url) is None:
            missing.append(f"{path.name}: {url}")
    assert missing == []
    for local in CDN.values():
        assert (ASSETS / local).is_file(), local


def test_vendored_files_match_gx_sri_hashes() -> None:
    pinned = 0
    for path in GX_VIEW.rglob("*.j2"):
        text = path.read_text(encoding="utf-8")
        for url, algorithm, digest in re.findall(
            r'src="([^"]+)"\s+integrity="(sha\d+)-([^"]+)"', text
        ):
            data = (ASSETS / CDN[url]).read_bytes()
            assert base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == digest
            pinned += 1
    assert pinned == 2  # popper and bootstrap's scripts


def test_vendored_folder_holds_only_referenced_files_with_licences() -> None:
    files = {p.relative_to(ASSETS).as_posix() for p in ASSETS.rglob("*") if p.is_file()}
    packages = {f.split("/")[0] for f in files if "/" in f}
    assert packages == {local.split("/")[0] for local in CDN.values()}
    for package in packages:
        assert any(re.fullmatch(rf"{re.escape(package)}/LICENSE(\.\w+)?", f) for f in files)
    fonts = set()
    for css in (ASSETS / local for local in CDN.values() if local.endswith(".css")):
        for ref in re.findall(r"""url\(\s*["']?([^"')]+)""", css.read_text(encoding="utf-8")):
            if ref.startswith("data:"):
                continue
            target = (css.parent / ref).resolve()
            if ref.endswith(".ttf"):  # the fallback after the .woff2 every browser here takes
                target = target.with_suffix(".woff2")
            assert target.is_file(), (css, ref)
            fonts.add(target.relative_to(ASSETS.resolve()).as_posix())
    licences = {f for f in files if re.search(r"/LICENSE(\.\w+)?$", f)}
    assert files == set(CDN.values()) | fonts | licences | {"README.md"}


# --- the real site, in Chromium ---------------------------------------------------------------

TABLE = "#section-1-content-block-2-1-body-table"  # the index's Validation Results table
ASSET_NAMES = f"""
() => {{
  const table = document.querySelector("{TABLE}");
  const column = [...table.querySelectorAll("thead th")]
    .findIndex((th) => th.dataset.field === "asset_name");
  return [...table.querySelectorAll("tbody tr.clickable-row")]
    .map((row) => row.children[column].innerText.trim());
}}
"""


def test_data_docs_render_offline_in_chromium(pipeline_run: dict, tmp_path: Path) -> None:

    index = docs_index(pipeline_run["out"] / "warehouse.duckdb").resolve()
    suites = raw_suites() + mart_suites()
    with fenced_page(width=1280) as (page, fence):
        page.goto(index.as_uri())
        # bootstrap-table builds the rows from the page's inline data
        try:
            page.wait_for_selector(f"{TABLE} tbody tr.clickable-row", timeout=20_000)
        except PlaywrightTimeout:
            pytest.fail(f"the index lists nothing; blocked: {fence.blocked}, {fence.failed}")
        info = page.locator("#Validation-Results .pagination-info").inner_text()
        assert f"of {len(raw_suites()) + len(mart_suites())} rows" in info
        shot = tmp_path / "data_docs_index.png"
        page.screenshot(path=shot)
        page.evaluate(f"$('{TABLE}').bootstrapTable('togglePagination')")  # every row
        names = page.evaluate(ASSET_NAMES)
        # each suite is validated once in a fresh run, and listed once
        assert len(names) == len(raw_suites()) + len(mart_suites())
        assert sorted(names) == sorted(s.gx_name for s in suites)
        assert page.evaluate("document.querySelector('.navbar-brand img').naturalWidth") > 0

        # a result page, reached the way a reader does: by clicking its row
        with page.expect_navigation():
            page.locator(f"{TABLE} tbody tr.clickable-row").first.click()
        page.wait_for_load_state("load")
        assert "/validations/" in page.url
        navbar = page.evaluate(
            "(() => { const s = getComputedStyle(document.querySelector('nav.navbar'));"
            " return [s.display, s.position]; })()"
        )
        assert navbar == ["flex", "sticky"]  # Bootstrap's .navbar and .sticky-top
        assert "Font Awesome 6 Free" in page.evaluate(
            "getComputedStyle(document.querySelector('i.fas')).fontFamily"
        )
        # the dark theme's logo, once an S3 url() in the inline CSS, is the local one
        page.emulate_media(color_scheme="dark")
        logo = page.evaluate(
            "getComputedStyle(document.querySelector('.navbar-brand a')).backgroundImage"
        )
        assert logo == f'url("{(index.parent / "static/images/logo-long.png").as_uri()}")'

        # GX's Vega charts (the outcome mix's distributions) draw from the vendored Vega
        charts = [
            (path, path.read_text(encoding="utf-8").count("vegaEmbed("))
            for path in sorted((index.parent / "validations").rglob("*.html"))
        ]
        chart_page, embeds = max(charts, key=lambda found: found[1])
        assert embeds > 0
        page.goto(chart_page.as_uri())
        expect(page.locator(".vega-embed canvas")).to_have_count(embeds)
        page.wait_for_load_state("networkidle")

    assert fence.blocked == []
    assert fence.failed == []
    assert fence.errors == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank page compresses to a few KB; the table does not


def _site(site: Path) -> dict[str, list[str]]:
    """Every page of a Data Docs site, with the pages it links to."""
    return {
        page.relative_to(site).as_posix(): sorted(
            set(re.findall(r'href="([^"]+\.html)"', page.read_text(encoding="utf-8")))
        )
        for page in site.rglob("*.html")
    }


def test_a_site_rendered_run_by_run_equals_one_rendered_whole(quality_copy: Path) -> None:
    """Each check run renders only its own results' pages (``build_docs(new_results=...)``);
    after more runs than results are kept, the site holds the pages, links and offline
    assets that rendering every stored result at once gives."""
    suites = raw_suites()[:2]
    for _ in range(KEEP_RESULTS + 1):
        run_suites(quality_copy, suites)
    workspace = GxWorkspace(quality_dir(quality_copy))
    by_run = _site(workspace.site)
    validations = [page for page in by_run if page.startswith("validations/")]
    assert len(validations) == len(suites) * KEEP_RESULTS  # the oldest run's pages pruned
    written = {page: page.read_bytes() for page in workspace.site.rglob("*.html")}
    make_offline(workspace.site)
    assert {page: page.read_bytes() for page in written} == written  # all already offline
    workspace.build_docs()  # everything rendered at once
    assert _site(workspace.site) == by_run
