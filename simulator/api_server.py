"""HTTP server playing the dispute & hotline system's REST API (SOURCES.md section 2).

It serves the same records the simulator writes to its JSON-lines export, so the
pipeline's API transport and export transport can be checked against each other.
Only the standard library is used so the simulator runs anywhere the project does.

Records are served exactly as read, planted bad codes and extra fields included:
quarantining them is the pipeline's job. Only lines that cannot be served at all
(not a JSON object, no id, no parseable ``updated_at``) are skipped and counted.
"""

import argparse
import base64
import binascii
import copy
import gzip
import hmac
import ipaddress
import json
import logging
import os
import random
import re
import socket
import socketserver
import sys
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

TOKEN_ENV = "UNIONWH_DISPUTES_API_TOKEN"
DEFAULT_TOKEN = "demo-token"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8351
DEFAULT_LIMIT = 100
MAX_LIMIT = 500

# The source system runs in Beijing time; a timestamp without an offset means that.
SOURCE_TZ = timezone(timedelta(hours=8))

CASES = "cases"
HOTLINE = "hotline-requests"
KINDS = (CASES, HOTLINE)
ID_FIELDS = {CASES: "case_id", HOTLINE: "request_id"}
_FILE_PREFIX_KIND = {"cases": CASES, "hotline": HOTLINE}
_ROUTES = {f"/v1/{kind}": kind for kind in KINDS}
# `.part` and every other name fail this pattern, which is how they are ignored.
_EXPORT_NAME = re.compile(r"(cases|hotline)-(\d{8})\.jsonl(\.gz)?")

SKIP_REASONS = ("invalid_json", "missing_id", "bad_updated_at", "unreadable_file")

Key = tuple[datetime, str]


# ---------------------------------------------------------------------------
# Reading the export


@dataclass(frozen=True)
class _ExportFile:
    path: Path
    kind: str
    date: str
    size: int
    mtime_ns: int


def _export_files(export_dir: Path) -> list[_ExportFile]:
    files = []
    for entry in os.scandir(export_dir):
        match = _EXPORT_NAME.fullmatch(entry.name)
        if match is None or not entry.is_file():
            continue
        st = entry.stat()
        files.append(
            _ExportFile(
                Path(entry.path), _FILE_PREFIX_KIND[match[1]], match[2], st.st_size, st.st_mtime_ns
            )
        )
    # Date order decides ties on updated_at; the name only makes same-date files deterministic.
    files.sort(key=lambda f: (f.date, f.path.name))
    return files


def _signature(files: list[_ExportFile]) -> tuple[tuple[str, int, int], ...]:
    return tuple((f.path.name, f.size, f.mtime_ns) for f in files)


def parse_timestamp(value: object) -> datetime | None:
    """Parse an ISO-8601 string to an aware datetime (naive means +08:00); None if invalid."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=SOURCE_TZ)


def _reject_constant(name: str) -> Any:
    # NaN/Infinity are not JSON; echoing them would make the API answer invalid JSON.
    raise ValueError(f"non-JSON constant {name}")


def _read_lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        yield from fh


@dataclass(frozen=True)
class ExportSnapshot:
    """The current version of every record, plus what had to be skipped to get there."""

    records: dict[str, list[dict[str, Any]]]
    keys: dict[str, list[Key]]
    skipped: dict[str, dict[str, int]]
    files: tuple[str, ...]

    def page(
        self, kind: str, since: datetime | None, after: Key | None, limit: int
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """Records with updated_at >= since and key > after; also the key to resume from."""
        keys = self.keys[kind]
        start = 0
        if since is not None:
            # "" sorts before every id, so this lands on the first record at `since`.
            start = bisect_left(keys, (since, ""))
        if after is not None:
            start = max(start, bisect_right(keys, after))
        end = start + limit
        resume = keys[end - 1] if end < len(keys) else None
        return self.records[kind][start:end], resume


def scan_export(export_dir: Path) -> ExportSnapshot:
    """Read the export directory like load_records, keeping the skip counts as well."""
    return _scan(_export_files(export_dir))


def _scan(files: list[_ExportFile]) -> ExportSnapshot:
    best: dict[str, dict[str, tuple[datetime, dict[str, Any]]]] = {kind: {} for kind in KINDS}
    skipped = {kind: dict.fromkeys(SKIP_REASONS, 0) for kind in KINDS}
    for f in files:
        current, counts, id_field = best[f.kind], skipped[f.kind], ID_FIELDS[f.kind]
        try:
            for raw in _read_lines(f.path):
                line = raw.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
                except (UnicodeDecodeError, ValueError, RecursionError):
                    record = None
                if not isinstance(record, dict):
                    counts["invalid_json"] += 1
                    continue
                record_id = record.get(id_field)
                if not isinstance(record_id, str) or not record_id:
                    counts["missing_id"] += 1
                    continue
                updated = parse_timestamp(record.get("updated_at"))
                if updated is None:
                    counts["bad_updated_at"] += 1
                    continue
                held = current.get(record_id)
                # `>=` because files and lines arrive in order: the later one wins a tie.
                if held is None or updated >= held[0]:
                    current[record_id] = (updated, record)
        except (OSError, EOFError) as exc:
            # A truncated .gz or a file removed mid-scan: keep what was read, carry on.
            logger.warning("cannot read %s: %s", f.path.name, exc)
            counts["unreadable_file"] += 1
    records: dict[str, list[dict[str, Any]]] = {}
    keys: dict[str, list[Key]] = {}
    for kind in KINDS:
        ordered = sorted(best[kind].items(), key=lambda item: (item[1][0], item[0]))
        keys[kind] = [(updated, record_id) for record_id, (updated, _) in ordered]
        records[kind] = [record for _, (_, record) in ordered]
    return ExportSnapshot(records, keys, skipped, tuple(f.path.name for f in files))


def load_records(export_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Current version of each record, keyed "cases"/"hotline-requests", in (updated_at, id)."""
    return scan_export(export_dir).records


# ---------------------------------------------------------------------------
# Cursors and query parameters


class _BadRequest(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode_cursor(kind: str, key: Key) -> str:
    payload = json.dumps({"k": kind, "u": key[0].isoformat(), "id": key[1]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(kind: str, cursor: str) -> Key:
    """Inverse of encode_cursor; raises _BadRequest for anything this server did not issue."""
    bad = _BadRequest("invalid_cursor", "cursor is not one this API issued")
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad from None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        raise bad
    updated = parse_timestamp(payload.get("u"))
    if updated is None:
        raise bad
    if payload.get("k") != kind:
        raise _BadRequest("invalid_cursor", "cursor belongs to another collection")
    return updated, payload["id"]


@dataclass(frozen=True)
class _Query:
    since: datetime | None
    after: Key | None
    limit: int


def _parse_query(kind: str, query: str) -> _Query:
    params = parse_qs(query, keep_blank_values=True)
    for name, values in params.items():
        if len(values) > 1:
            raise _BadRequest("invalid_query", f"{name} given more than once")
    limit = DEFAULT_LIMIT
    if "limit" in params:
        text = params["limit"][0]
        if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_LIMIT:
            raise _BadRequest("invalid_limit", f"limit must be an integer in 1..{MAX_LIMIT}")
        limit = int(text)
    since = None
    if "updated_since" in params:
        since = parse_timestamp(params["updated_since"][0])
        if since is None:
            raise _BadRequest(
                "invalid_updated_since",
                "updated_since must be ISO-8601 (percent-encode '+' in the offset as %2B)",
            )
    after = decode_cursor(kind, params["cursor"][0]) if "cursor" in params else None
    return _Query(since, after, limit)


# ---------------------------------------------------------------------------
# Faults


@dataclass(frozen=True)
class FaultConfig:
    """Failure knobs for authenticated data requests; rates are probabilities in 0..1."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after: int = 1
    seed: int = 0
    fail_first_n: int = 0

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_5xx", "rate_slow"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {rate}")
        # One draw picks 429, 5xx or success, so their rates share the unit interval.
        if self.rate_429 + self.rate_5xx > 1.0:
            raise ValueError("rate_429 + rate_5xx must not exceed 1")
        if self.slow_seconds < 0 or self.retry_after < 0 or self.fail_first_n < 0:
            raise ValueError("slow_seconds, retry_after and fail_first_n must be >= 0")


@dataclass(frozen=True)
class _Fault:
    status: int | None  # None: answer normally
    delay: float


# ---------------------------------------------------------------------------
# The API state shared by all handler threads


class _Api:
    def __init__(self, export_dir: Path, token: str, faults: FaultConfig) -> None:
        if not token:
            raise ValueError("token must not be empty")
        if not export_dir.is_dir():
            raise FileNotFoundError(f"export directory not found: {export_dir}")
        self.export_dir = export_dir
        self.faults = faults
        self._expected_auth = f"Bearer {token}".encode()
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()  # guards _rng and _counts
        self._load_lock = threading.Lock()  # one reload at a time; readers wait for it
        self._counts: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "data_requests",
                "served",
                "records_served",
                "unauthorized",
                "bad_requests",
                "not_found",
                "method_not_allowed",
                "internal_errors",
                "faults_429",
                "faults_5xx",
                "faults_fail_first_n",
                "faults_slow",
                "loads",
            ),
            0,
        )
        files = _export_files(export_dir)
        self._signature = _signature(files)
        self._snapshot = _scan(files)
        self._counts["loads"] = 1

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        snapshot = self._snapshot
        return counts | {
            "records": {kind: len(snapshot.records[kind]) for kind in KINDS},
            "skipped_lines": copy.deepcopy(snapshot.skipped),
            "files": list(snapshot.files),
        }

    def authorized(self, headers: list[str]) -> bool:
        # Exactly one header, compared in constant time so the token cannot be probed.
        return len(headers) == 1 and hmac.compare_digest(
            headers[0].encode("utf-8", "surrogateescape"), self._expected_auth
        )

    def draw_fault(self) -> _Fault:
        cfg = self.faults
        with self._lock:
            self._counts["data_requests"] += 1
            nth = self._counts["data_requests"]
            # Always three draws per request, so the fault sequence depends only on the
            # seed and request order, not on which branch earlier requests took.
            slow = self._rng.random() < cfg.rate_slow
            outcome = self._rng.random()
            code = self._rng.choice((500, 502, 503))
            if nth <= cfg.fail_first_n:
                status, counter = 503, "faults_fail_first_n"
            elif outcome < cfg.rate_429:
                status, counter = 429, "faults_429"
            elif outcome < cfg.rate_429 + cfg.rate_5xx:
                status, counter = code, "faults_5xx"
            else:
                status, counter = None, None
            if counter is not None:
                self._counts[counter] += 1
            if slow:
                self._counts["faults_slow"] += 1
        return _Fault(status, cfg.slow_seconds if slow else 0.0)

    def current(self) -> ExportSnapshot:
        """The snapshot, reloaded first if the export directory changed since the last look."""
        with self._load_lock:
            try:
                files = _export_files(self.export_dir)
            except OSError as exc:
                logger.warning("cannot list %s, serving the last load: %s", self.export_dir, exc)
                return self._snapshot
            signature = _signature(files)
            if signature != self._signature:
                self._snapshot = _scan(files)
                self._signature = signature
                self.count("loads")
                logger.info("reloaded export: %s", self._snapshot.files)
            return self._snapshot


# ---------------------------------------------------------------------------
# HTTP


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keep-alive like a real API; every response therefore sets Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "UnionWhDisputesSim/1.0"
    # Idle keep-alive connections would otherwise pin a thread for as long as the client lives.
    timeout = 30
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True

    @property
    def api(self) -> _Api:
        return cast(_ApiHTTPServer, self.server).api

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        api = self.api
        api.count("requests")
        try:
            self._route(api)
        except Exception:
            logger.exception("internal error on %s", self.path)
            api.count("internal_errors")
            self._json(500, {"error": "internal_error", "message": "internal error"})

    def _not_allowed(self) -> None:
        self.api.count("requests")
        self.api.count("method_not_allowed")
        # The request body is unread, so the connection cannot carry another request; saying so
        # in the header stops a keep-alive client from reusing the socket the server then closes.
        self._json(
            405,
            {"error": "method_not_allowed", "message": "only GET"},
            {"Allow": "GET", "Connection": "close"},
        )

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed

    def _route(self, api: _Api) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self._json(200, {"status": "ok"})
            return
        if url.path == "/admin/stats":
            api.current()
            self._json(200, api.stats())
            return
        kind = _ROUTES.get(url.path)
        if kind is None:
            api.count("not_found")
            self._json(404, {"error": "not_found", "message": f"no such path: {url.path}"})
            return
        if not api.authorized(self.headers.get_all("Authorization") or []):
            api.count("unauthorized")
            self._json(
                401,
                {"error": "unauthorized", "message": "expected Authorization: Bearer <token>"},
                {"WWW-Authenticate": 'Bearer realm="disputes"'},
            )
            return
        fault = api.draw_fault()
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status == 429:
            retry = str(api.faults.retry_after)
            body = {"error": "rate_limited", "message": f"retry after {retry} s"}
            self._json(429, body, {"Retry-After": retry})
            return
        if fault.status is not None:
            self._json(fault.status, {"error": "unavailable", "message": "injected failure"})
            return
        try:
            query = _parse_query(kind, url.query)
        except _BadRequest as exc:
            api.count("bad_requests")
            self._json(400, {"error": exc.code, "message": exc.message})
            return
        data, resume = api.current().page(kind, query.since, query.after, query.limit)
        api.count("served")
        api.count("records_served", len(data))
        next_cursor = encode_cursor(kind, resume) if resume is not None else None
        self._json(200, {"data": data, "next_cursor": next_cursor})

    def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            # Pages carry personal data: keep them out of any intermediate cache.
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout fired during an injected delay).
            self.close_connection = True


class _ApiHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: _Api) -> None:
        self.api = api
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall for
        # seconds on hosts without DNS; the name is never used, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _ApiHTTPServer6(_ApiHTTPServer):
    address_family = socket.AF_INET6


def is_loopback(host: str) -> bool:
    """True if every address `host` names is a loopback address."""
    if host.lower() == "localhost":
        return True
    if not host:
        return False  # "" binds every interface
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def _make_server(
    export_dir: Path, token: str, host: str, port: int, faults: FaultConfig, allow_remote: bool
) -> tuple[_ApiHTTPServer, str]:
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to bind non-loopback host {host!r}: the API serves personal data "
            "(pass allow_remote / --allow-remote to override)"
        )
    api = _Api(Path(export_dir), token, faults)
    server_cls = _ApiHTTPServer6 if ":" in host else _ApiHTTPServer
    httpd = server_cls((host, port), api)
    bound_port = httpd.server_address[1]
    url = f"http://[{host}]:{bound_port}" if ":" in host else f"http://{host}:{bound_port}"
    return httpd, url


@dataclass
class RunningServer:
    """A server running in a daemon thread; stop() it or use it as a context manager."""

    url: str
    _httpd: _ApiHTTPServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def stats(self) -> dict[str, Any]:
        """A snapshot of the request, fault and load counters."""
        return self._httpd.api.stats()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "RunningServer":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    export_dir: Path,
    token: str,
    host: str = DEFAULT_HOST,
    port: int = 0,
    faults: FaultConfig | None = None,
    *,
    allow_remote: bool = False,
) -> RunningServer:
    """Start the API in a daemon thread; port 0 picks a free port (see `.url`)."""
    httpd, url = _make_server(export_dir, token, host, port, faults or FaultConfig(), allow_remote)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return RunningServer(url, httpd, thread)


def serve_forever(
    export_dir: Path,
    token: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    faults: FaultConfig | None = None,
    *,
    allow_remote: bool = False,
) -> None:
    """Serve until interrupted (Ctrl-C), printing the URL once listening."""
    httpd, url = _make_server(export_dir, token, host, port, faults or FaultConfig(), allow_remote)
    print(f"dispute API simulator serving {export_dir} at {url}", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


# ---------------------------------------------------------------------------
# CLI


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `serve` options to `parser` (see run_from_args)."""
    parser.add_argument("--export-dir", type=Path, required=True, help="export to serve")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (loopback unless --allow-remote)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0: any free)")
    # Resolved in run_from_args, not here, so --help never shows the token's value.
    parser.add_argument(
        "--token",
        default=None,
        help=f"bearer token (default: ${TOKEN_ENV}, else {DEFAULT_TOKEN!r}); "
        "prefer the variable, command lines are visible to other users",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow binding a non-loopback address (the API serves personal data)",
    )
    faults = parser.add_argument_group("fault injection (authenticated data requests only)")
    faults.add_argument("--rate-429", type=_rate, default=0.0, help="share answered 429")
    faults.add_argument("--rate-5xx", type=_rate, default=0.0, help="share answered 500/502/503")
    faults.add_argument("--rate-slow", type=_rate, default=0.0, help="share delayed")
    faults.add_argument(
        "--slow-seconds", type=_non_negative_float, default=2.0, help="delay of a slow response"
    )
    faults.add_argument(
        "--retry-after", type=_non_negative_int, default=1, help="Retry-After seconds on 429"
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    faults.add_argument(
        "--fail-first-n", type=_non_negative_int, default=0, help="first N data requests get 503"
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Run the server from parsed add_arguments options; returns a process exit code."""
    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN
    try:
        faults = FaultConfig(
            rate_429=args.rate_429,
            rate_5xx=args.rate_5xx,
            rate_slow=args.rate_slow,
            slow_seconds=args.slow_seconds,
            retry_after=args.retry_after,
            seed=args.fault_seed,
            fail_first_n=args.fail_first_n,
        )
        serve_forever(
            args.export_dir, token, args.host, args.port, faults, allow_remote=args.allow_remote
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0
