"""The dispute system's REST API: paged reads with retries.

``GET {url}/v1/cases`` and ``/v1/hotline-requests`` answer ``{"data": [...], "next_cursor"}``
ordered by (``updated_at``, id). 429 (with ``Retry-After``), 5xx, dropped connections and
timeouts are transient: retried with exponential backoff, a bounded number of times. 401/403
and other 4xx are not. Pages are only collected here; the caller commits once, after every
page of every entity has arrived, so a page that fails for good leaves the warehouse as it
was and the next run starts from the same watermark: nothing lost, nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from core.crash_points import crash_point
from ingestion.disputes.records import SURROGATE_ESCAPE, unicode_text
from ingestion.validation import ContractViolation

logger = logging.getLogger(__name__)

ENDPOINTS = {"case": "/v1/cases", "hotline_request": "/v1/hotline-requests"}
MAX_LIMIT = 500
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class DisputesApiError(RuntimeError):
    """The API refused the request, or kept failing after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Delays in seconds; ``base_delay`` doubles per attempt up to
    ``max_delay``; a 429's ``Retry-After`` is honoured up to ``retry_after_cap``."""

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 60.0
    timeout: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt ``attempt`` (1-based), with jitter so that several
        clients do not retry in lockstep."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)

    def retry_after(self, header: str | None, attempt: int) -> float:
        """Delay after a 429: its ``Retry-After`` seconds (capped), else the backoff."""
        try:
            seconds = float(header) if header is not None else None
        except ValueError:
            seconds = None  # an HTTP date, or garbage: fall back to our own schedule
        if seconds is None or seconds < 0:
            return self.backoff(attempt)
        return min(seconds, self.retry_after_cap)


@dataclass
class FetchStats:
    """What fetching one endpoint took, for the load report."""

    endpoint: str
    since: str | None
    pages: int = 0
    records: int = 0
    retries: dict[str, int] = field(default_factory=lambda: {"429": 0, "5xx": 0, "connection": 0})

    def report(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "updated_since": self.since,
            "pages": self.pages,
            "records": self.records,
            "retries": dict(self.retries),
        }


def since_param(watermark: dt.datetime | None, overlap: dt.timedelta) -> str | None:
    """``updated_since`` for a naive Beijing watermark, overlapped; None on a first load."""
    if watermark is None:
        return None
    return (watermark - overlap).isoformat(timespec="seconds") + "+08:00"


class DisputesApi:
    """A client for one API base URL and token."""

    def __init__(
        self,
        url: str,
        token: str,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._url = url.rstrip("/")
        self._policy = policy
        self._sleep = sleep
        self._session = requests.Session()
        # Explicit auth: without it requests would let a ~/.netrc entry replace the token.
        self._session.auth = _Bearer(token)
        self._session.headers["Accept"] = "application/json"

    def close(self) -> None:
        self._session.close()

    def records(
        self, entity: str, since: str | None, limit: int, stats: FetchStats
    ) -> Iterator[Any]:
        """Every record changed since ``since`` (all pages), in the API's order."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"page limit must be within 1..{MAX_LIMIT}, got {limit}")
        path = ENDPOINTS[entity]
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if since is not None:
                params["updated_since"] = since
            if cursor is not None:
                params["cursor"] = cursor
            page = self._page(path, params, stats)
            stats.pages += 1
            stats.records += len(page["data"])
            yield from page["data"]
            crash_point("disputes.api_page")
            following = page["next_cursor"]
            if following is None:
                return
            if following == cursor:
                raise ContractViolation(f"dispute API {path}: next_cursor does not advance")
            cursor = following

    def _page(self, path: str, params: dict[str, str | int], stats: FetchStats) -> dict[str, Any]:
        policy = self._policy
        page = stats.pages + 1
        failure = ""
        for attempt in range(1, policy.max_attempts + 1):
            try:
                response = self._session.get(
                    self._url + path, params=params, timeout=policy.timeout
                )
            except _TRANSIENT as exc:
                # The exception's text names host and URL only; the token is in a header.
                failure, kind, delay = type(exc).__name__, "connection", policy.backoff(attempt)
            else:
                status = response.status_code
                if status == 200:
                    return _body(path, response)
                if status in (401, 403):
                    raise DisputesApiError(
                        f"dispute API {path} refused the token (HTTP {status}); check "
                        "UNIONWH_DISPUTES_API_TOKEN"
                    )
                if status == 429:
                    failure, kind = "HTTP 429", "429"
                    delay = policy.retry_after(response.headers.get("Retry-After"), attempt)
                elif status >= 500:
                    failure, kind, delay = f"HTTP {status}", "5xx", policy.backoff(attempt)
                else:
                    raise DisputesApiError(
                        f"dispute API {path} answered HTTP {status} ({_error_code(response)})"
                    )
            if attempt == policy.max_attempts:
                break
            stats.retries[kind] += 1
            logger.warning(
                "dispute API %s page %d: %s (attempt %d of %d), retrying in %.2f s",
                path, page, failure, attempt, policy.max_attempts, delay,
            )  # fmt: skip
            self._sleep(delay)
        raise DisputesApiError(
            f"dispute API {path} page {page}: still failing after {policy.max_attempts} "
            f"attempts (last: {failure}); nothing of this load is committed"
        )


_SURROGATE_ESCAPE_BYTES = re.compile(SURROGATE_ESCAPE.pattern.encode("ascii"))


class _Bearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_Bearer(<token>)"


def _body(path: str, response: requests.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("data"), list)
        or not isinstance(body.get("next_cursor"), str | None)
    ):
        raise ContractViolation(
            f"dispute API {path}: the answer is not {{'data': [...], 'next_cursor': ...}}"
        )
    if _SURROGATE_ESCAPE_BYTES.search(response.content):
        # A record holding a lone surrogate is malformed, as in the export: it is passed on
        # as its ASCII-escaped text, which is no object, so it is quarantined by its digest.
        body["data"] = [
            r if unicode_text(r) else json.dumps(r, ensure_ascii=True) for r in body["data"]
        ]
    return body


def _error_code(response: requests.Response) -> str:
    """The API's short error code (never its free text, never the request's headers)."""
    try:
        code = response.json().get("error")
    except (ValueError, AttributeError):
        code = None
    return code if isinstance(code, str) and len(code) <= 40 else "no error code"
