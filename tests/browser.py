"""Pages in the system's headless Chromium, driven by Playwright, with the network fenced.

Playwright never downloads a browser here: it drives Debian's ``chromium`` (``make browser``).
Without one the page tests skip, except in CI (``CI=true``), where they must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def require_chromium() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("CI") == "true":
        pytest.fail("CI=true but no Chromium on PATH: `make browser` installs it (Debian)")
    pytest.skip("Chromium is not installed (Debian: chromium; `make browser`)")


@dataclass
class Fence:
    """Requests the page made outside the allowed origins (aborted), failed loads, and
    uncaught script errors."""

    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def fenced_page(
    allowed_hosts: tuple[str, ...] = (), width: int = 1400, height: int = 1000
) -> Iterator[tuple[Page, Fence]]:
    """A page that may load file:// URLs and URLs on ``allowed_hosts`` (``host:port``) only:
    any other request is aborted and recorded, as on a network with no way out."""
    executable = require_chromium()
    fence = Fence()

    def guard(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("file", "data", "blob") or url.netloc in allowed_hosts:
            route.continue_()
        else:
            fence.blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route("**/*", guard)
            page.on(
                "requestfailed",
                lambda request: fence.failed.append(f"{request.url}: {request.failure}"),
            )
            page.on("pageerror", lambda error: fence.errors.append(str(error)))
            yield page, fence
        finally:
            browser.close()
