"""Great-expectations Data Docs that work offline and call no outside host.

GX renders every page with scripts and styles from public CDNs and its logo from an S3 URL
that carries the data context id: offline the index lists nothing (bootstrap-table renders
it from inline data), and online every view tells outside hosts that the docs were opened.
After GX has built the site, ``make_offline`` copies the vendored files
(``data_docs_assets/``, provenance in its README) into the site, points every page at them
by relative paths, and names every page that still loads anything from outside, so a GX
upgrade that adds a CDN is reported (and fails the tests) instead of quietly calling home.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from shutil import copytree

ASSETS = Path(__file__).with_name("data_docs_assets")
# Site-relative: where the vendored files go, and GX's own copy of its logo in every site.
VENDOR = "static/vendor"
LOGO = "static/images/logo-long.png"

# Every CDN URL in GX's page templates and the vendored file with the same content.
CDN: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (
        "popper.js-1.12.9/umd/popper.min.js"
    ),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (
        "bootstrap-4.3.1/js/bootstrap.min.js"
    ),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (
        "bootstrap-4.3.1/css/bootstrap.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/extensions/filter-control/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/"
    "bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.0/extensions/filter-control/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/"
    "bootstrap-datepicker.min.css": "bootstrap-datepicker-1.9.0/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/"
    "bootstrap-datepicker.min.js": "bootstrap-datepicker-1.9.0/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/"
    "bootstrap-prefers-dark.css": "bootstrap-dark-1.1.0/css/bootstrap-prefers-dark.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (
        "fontawesome-free-6.6.0/css/all.min.css"
    ),
    # jsDelivr serves a bare package's "jsdelivr" file; these versions are what @5/@6 were.
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}

# GX's web-assets bucket: the navbar logo (``?d=<time>&dataContextId=<id>``) and the dark
# theme's logo in the inline CSS. Both become the site's own logo, which drops the id.
_S3_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
    r"(?:logo-long|full_logo_dark)\.png(?:\?.*)?"
)

_TAG = re.compile(r"<(?:script|link|img)\b[^>]*>", re.IGNORECASE)
_URL_ATTR = re.compile(r"""\b(src|href)\s*=\s*(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_SRI_ATTR = re.compile(r"""\s+(?:integrity|crossorigin)(?:\s*=\s*(["']).*?\1)?""", re.I)
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]*)\1\s*\)""", re.IGNORECASE)

# What loads a resource: src-like attributes, any <link href>, CSS url() and @import.
# Scheme-relative URLs count too: they reach the network once the site is served over http.
_EXT = r"""(?:https?:)?//[^"'\s)>]+"""
_RESOURCE = re.compile(
    rf"""\b(?:src|srcset|poster|data)\s*=\s*["']?\s*({_EXT})"""
    rf"""|<link\b[^>]*?\bhref\s*=\s*["']?\s*({_EXT})"""
    rf"""|url\(\s*["']?\s*({_EXT})"""
    rf"""|@import\s+["']\s*({_EXT})""",
    re.IGNORECASE,
)


class ExternalResourceError(RuntimeError):
    """A Data Docs page still loads something from outside the site."""


def local_path(url: str) -> str | None:
    """The site-relative path of the local copy of ``url``; None when there is none."""
    url = html.unescape(url).strip()
    if url in CDN:
        return f"{VENDOR}/{CDN[url]}"
    return LOGO if _S3_LOGO.fullmatch(url) else None


def rewrite(text: str, up: str) -> str:
    """``text`` of a page with every known external asset replaced by its local copy;
    ``up`` leads from the page's folder back to the site root (``""`` or ``"../"``...)."""

    def tag(match: re.Match[str]) -> str:
        def attr(found: re.Match[str]) -> str:
            local = local_path(found[3])
            return found[0] if local is None else f'{found[1]}="{up}{local}"'

        old = match[0]
        new = _URL_ATTR.sub(attr, old)
        # SRI needs a CORS fetch, which Chromium refuses for file:// pages; the tests check
        # the vendored files against GX's hashes instead.
        return _SRI_ATTR.sub("", new) if new != old else old

    def css(match: re.Match[str]) -> str:
        local = local_path(match[2])
        return match[0] if local is None else f"url('{up}{local}')"

    return _CSS_URL.sub(css, _TAG.sub(tag, text))


def external_resources(text: str) -> list[str]:
    """The outside URLs ``text`` would load (plain ``<a href>`` links are not loads)."""
    return [next(url for url in found if url) for found in _RESOURCE.findall(text)]


def make_offline(site: Path, since: float | None = None) -> int:
    """Make the Data Docs ``site`` GX has just built self-contained; returns how many pages
    (HTML and CSS) it checked: all, or those written at or after ``since`` (epoch seconds),
    when GX rendered only some. Raises ``ExternalResourceError`` naming each page and URL
    that still loads from outside."""
    vendor = site / VENDOR
    copytree(ASSETS, vendor, dirs_exist_ok=True)
    pages = [
        p
        for p in sorted(site.rglob("*"))
        if p.suffix in {".html", ".css"}
        and not p.is_relative_to(vendor)
        and (since is None or p.stat().st_mtime >= since)
    ]
    leaks: list[str] = []
    for page in pages:
        name = page.relative_to(site).as_posix()
        # bytes in and out: the pages keep their line endings and everything not rewritten
        text = page.read_bytes().decode("utf-8")
        new = rewrite(text, "../" * name.count("/"))
        if new != text:
            page.write_bytes(new.encode("utf-8"))
        leaks += [f"{name}: {url}" for url in external_resources(new)]
    if leaks:
        raise ExternalResourceError(
            f"Data Docs in {site} still load {len(leaks)} resource(s) from outside (a GX "
            "upgrade? vendor the file, see quality/data_docs_assets/README.md, and map it "
            "in quality/data_docs.py CDN):\n" + "\n".join(leaks[:20])
        )
    return len(pages)
