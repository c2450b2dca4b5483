"""The HTTP plumbing shared by the three services: parse a request, hand it to a service,
write its response, record it. Services never touch sockets; this module never knows OSS.

Each service runs its own ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on a free loopback
port in a daemon thread. ``stop()`` shuts the listener down, closes open keep-alive
connections and joins the thread, so a test leaves no socket behind.
"""

from __future__ import annotations

import errno
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Protocol, Union
from urllib.parse import parse_qsl, unquote

log = logging.getLogger(__name__)

# Header values that are credentials: recorded as "[redacted]" (the scheme of Authorization is
# kept, so a test can still tell a V1 from a V4 signature).
_SECRET_HEADERS = ("x-oss-security-token", "x-aliyun-ecs-metadata-token")
# How often serve_forever checks for stop(): short, so a test's teardown is quick.
_POLL_INTERVAL = 0.02
_SECRET_PARAMS = ("OIDCToken", "security-token", "x-oss-security-token", "Signature", "x-oss-signature")


@dataclass(frozen=True)
class HttpRequest:
    """What a service needs of a request; header names lower-cased."""

    method: str
    path: str
    """Raw (still percent-encoded) path, without the query string."""
    query: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        """Decoded query parameters; a parameter given without ``=`` has the value ''."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def decoded_path(self) -> str:
        return unquote(self.path)


@dataclass
class HttpResponse:
    """A service's answer. ``body`` may be an iterable of chunks (with ``length`` set) so a huge
    body is streamed, never built; ``drop`` closes the connection without answering."""

    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None
    drop: bool = False
    # What the request log should know that HTTP does not say.
    error_code: str | None = None
    access_key_id: str | None = None
    credentials_valid: bool | None = None
    signature_version: str | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One request as a test sees it afterwards. Secrets are redacted from ``headers``.

    ``credentials_valid`` is True when the AccessKeyId was known and its set unexpired at the
    time of the request, False when it was unknown, expired or paired with a foreign token,
    None when no key was used. ``status`` is 0 for a connection dropped by ``Faults.drop_every``.
    """

    service: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    error_code: str | None = None
    access_key_id: str | None = None
    credentials_valid: bool | None = None
    signature_version: str | None = None
    time: float = 0.0


class Service(Protocol):
    name: str

    def handle(self, request: HttpRequest) -> HttpResponse: ...

    # Optional: ``cut_body(head: HttpRequest) -> int | None``, the bytes of the body to read
    # before dropping the connection (a mid-upload fault), or None to serve normally; ``head``
    # carries no body yet.


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header copy safe to keep in a log: tokens replaced, Authorization reduced to its scheme."""
    safe = dict(headers)
    for name in _SECRET_HEADERS:
        if name in safe:
            safe[name] = "[redacted]"
    if "authorization" in safe:
        safe["authorization"] = safe["authorization"].split(" ", 1)[0] + " [redacted]"
    return safe


class RequestLog:
    """Thread-safe list of records; ``enabled=False`` keeps nothing (benchmarks)."""

    def __init__(self, *, enabled: bool, clock: Callable[[], float]) -> None:
        self.enabled = enabled
        self._clock = clock
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def add(self, service: str, request: HttpRequest, response: HttpResponse) -> None:
        if not self.enabled:
            return
        record = RequestRecord(
            service=service,
            method=request.method,
            path=request.decoded_path,
            query={k: "[redacted]" if k in _SECRET_PARAMS else v for k, v in request.params.items()},
            headers=redact_headers(request.headers),
            status=0 if response.drop else response.status,
            error_code=response.error_code,
            access_key_id=response.access_key_id,
            credentials_valid=response.credentials_valid,
            signature_version=response.signature_version,
            time=self._clock(),
        )
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "osslist-emulator"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection ends after this many seconds
    # Headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms a request on loopback), which would swamp every latency we emulate.
    disable_nagle_algorithm = True
    server: "_Server"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header from the service's clock (it moves with ``clock_offset``)."""
        return super().date_time_string(self.server.date_clock() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silent: the request log is the record, and stderr stays clean for tests."""

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        head = HttpRequest(self.command, path, query, headers)
        cut_body = getattr(self.server.service, "cut_body", None)
        cut = cut_body(head) if cut_body is not None else None
        if cut is not None:
            self.rfile.read(cut)
            self.server.log.add(self.server.service.name, head, HttpResponse(0, drop=True, error_code="DroppedMidBody"))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        request = HttpRequest(self.command, path, query, headers, self._read_body(headers))
        response = self.server.service.handle(request)
        self.server.log.add(self.server.service.name, request, response)
        if response.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(request, response)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        """The request body, by Content-Length or chunked transfer coding."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _write(self, request: HttpRequest, response: HttpResponse) -> None:
        body = response.body
        length = len(body) if isinstance(body, bytes) else response.length
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(length or 0))
        self.end_headers()
        if request.method == "HEAD":
            return
        try:
            if isinstance(body, bytes):
                self.wfile.write(body)
            else:
                for chunk in body:
                    self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (e.g. a body cap): fine

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _dispatch


_GONE_ERRNOS = frozenset({errno.ENOTCONN, errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ESHUTDOWN})


def _client_went_away(exc: BaseException | None) -> bool:
    """Reset, broken pipe, aborted, timed out, or a shutdown() on a socket already closed."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    return isinstance(exc, OSError) and exc.errno in _GONE_ERRNOS


_Request = Union[socket.socket, tuple[bytes, socket.socket]]  # what socketserver hands a request as


class _Server(ThreadingHTTPServer):
    server_address: tuple[str, int] | tuple[str, int, int, int]  # AF_INET or AF_INET6: the host is text
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # parallel listings open many connections at once

    def __init__(
        self, address: tuple[str, int], service: Service, log: RequestLog, date_clock: Callable[[], float]
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        self.log = log
        self.date_clock = date_clock
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: _Request, client_address: Any) -> None:  # Any: socketserver's own
        with self._open_lock:
            if isinstance(request, socket.socket):  # always, on a TCP server
                self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: _Request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: _Request, client_address: Any) -> None:  # Any: socketserver's own
        """A client that goes away mid-request (reset, killed, timed out, or a test's stop())
        is normal for a server: one debug line, no traceback. Anything else is a bug of ours."""
        exc = sys.exc_info()[1]
        if _client_went_away(exc):
            log.debug("client %s went away mid-request (%s)", client_address, type(exc).__name__)
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServiceServer:
    """One service on one loopback port, served from a daemon thread."""

    def __init__(
        self,
        service: Service,
        log: RequestLog,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        date_clock: Callable[[], float] = time.time,
    ) -> None:
        self._server = _Server((host, port), service, log, date_clock)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"emulator-{service.name}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
