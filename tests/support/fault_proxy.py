"""A loopback HTTP proxy that breaks AWS calls on purpose: delays, 5xx, throttling, 403, resets, silence.

Contract:
- :func:`fault_proxy` starts a threaded TCP server on ``127.0.0.1`` (port chosen by the OS) in
  front of ``upstream`` (normally the moto server of ``tests/support/moto_server.py``), yields a
  :class:`FaultProxy` whose ``url`` is the endpoint to give boto3 (``AWS_ENDPOINT_URL``), and on exit
  closes every connection it holds and stops. Only loopback; every wait is bounded.
- ``mode`` (changeable while running with :meth:`FaultProxy.set_mode`):

  - ``pass``: relay bytes both ways; ``delay`` seconds are waited before each request is relayed.
  - ``error-500`` / ``error-503``: answer every request with that status and an ``InternalError`` /
    ``ServiceUnavailable`` body in the protocol the request used.
  - ``throttle``: 400 ``ThrottlingException`` (JSON), ``Throttling`` (query XML) or 503 ``SlowDown``
    (S3), as AWS answers a throttled call.
  - ``forbidden``: 403 ``AccessDenied``/``AccessDeniedException`` whose message holds a fake access
    key id (:data:`LEAKY_MESSAGE`): the message must never be printed.
  - ``reset``: read the request, then reset the connection (RST): ``ConnectionClosedError``.
  - ``close``: read the request, then close without answering.
  - ``silence``: read the request and never answer (until the proxy stops).

- The wire protocol of a request is told from its headers as botocore sends them: ``X-Amz-Target``
  means the JSON protocol (SageMaker, KMS, ECR, Application Auto Scaling, EventBridge...), a form
  body with ``Action=`` the query protocol (IAM, SNS, CloudWatch), anything else REST (S3's REST-XML and
  Lambda's REST-JSON; the error bodies are S3's XML).
- ``only`` (``json``, ``query`` or ``rest``) limits the fault to connections whose first request uses
  that protocol; the others are relayed as in ``pass``. botocore keeps one connection pool per
  client, so a connection carries one service: ``only="rest"`` breaks S3 and Lambda and nothing
  else (a partial refresh).
- :attr:`FaultProxy.requests` counts requests seen (for bounds in tests).
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

LEAKY_MESSAGE = "User AKIAFAULTPROXY0LEAK1 is not authorized; secret=abc123Leak"
PROTOCOLS = ("json", "query", "rest")
MODES = ("pass", "error-500", "error-503", "throttle", "forbidden", "reset", "close", "silence")
MAX_REQUEST_BYTES = 16 << 20
IO_TIMEOUT = 30.0


@dataclass
class FaultProxy:
    """A running proxy: its ``url``, current ``mode`` and ``delay``, and how many requests it saw."""

    url: str
    mode: str
    delay: float = 0.0
    only: str | None = None
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sockets: set[socket.socket] = field(default_factory=set)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def set_mode(self, mode: str, delay: float = 0.0, only: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {MODES}")
        if only not in (None, *PROTOCOLS):
            raise ValueError(f"unknown protocol {only!r}; one of {PROTOCOLS}")
        self.mode, self.delay, self.only = mode, delay, only

    def _count(self) -> None:
        with self._lock:
            self.requests += 1


def _read_request(conn: socket.socket, buffer: bytes) -> tuple[bytes, bytes] | None:
    """One whole HTTP request (headers and Content-Length body) from ``buffer`` + ``conn``;
    returns (request, leftover) or None when the client closed."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
        if len(buffer) > MAX_REQUEST_BYTES:
            return None
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def _protocol(request: bytes) -> str:
    head, _, body = request.partition(b"\r\n\r\n")
    lowered = head.lower()
    if b"\r\nx-amz-target:" in lowered:
        return "json"
    if b"application/x-www-form-urlencoded" in lowered or body.startswith(b"Action="):
        return "query"
    return "rest"


_CODES = {
    "error-500": (500, {"json": "InternalFailure", "query": "InternalError", "rest": "InternalError"}),
    "error-503": (503, {"json": "ServiceUnavailableException", "query": "ServiceUnavailable", "rest": "ServiceUnavailable"}),
    "throttle": (400, {"json": "ThrottlingException", "query": "Throttling", "rest": "SlowDown"}),
    "forbidden": (403, {"json": "AccessDeniedException", "query": "AccessDenied", "rest": "AccessDenied"}),
}


def _error_response(mode: str, protocol: str) -> bytes:
    status, codes = _CODES[mode]
    code = codes[protocol]
    if mode == "throttle" and protocol == "rest":
        status = 503
    message = LEAKY_MESSAGE if mode == "forbidden" else f"injected by the fault proxy ({mode})"
    if protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        ctype = b"application/x-amz-json-1.1"
    elif protocol == "query":
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>fault-proxy</RequestId></ErrorResponse>").encode()
        ctype = b"text/xml"
    else:
        body = f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>".encode()
        ctype = b"application/xml"
    reason = {400: b"Bad Request", 403: b"Forbidden", 500: b"Internal Server Error", 503: b"Service Unavailable"}
    return (b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nx-amzn-RequestId: fault-proxy\r\n\r\n"
            % (status, reason[status], ctype, len(body)) + body)


def _relay(proxy: FaultProxy, conn: socket.socket, upstream: tuple[str, int], first: bytes) -> None:
    """``pass`` mode: one upstream connection, requests relayed with the delay before each."""
    with socket.create_connection(upstream, timeout=IO_TIMEOUT) as up:
        proxy._sockets.add(up)
        stop = threading.Event()

        def back() -> None:
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    data = up.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_WR)

        threading.Thread(target=back, daemon=True).start()
        buffer = first
        while not proxy._stopping.is_set():
            got = _read_request(conn, buffer)
            if got is None:
                break
            request, buffer = got
            proxy._count()
            if proxy.delay:
                time.sleep(proxy.delay)
            up.sendall(request)
        stop.set()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy, conn = self.server.proxy, self.request
        conn.settimeout(IO_TIMEOUT)
        proxy._sockets.add(conn)
        try:
            self._serve(proxy, conn)
        except OSError:
            pass
        finally:
            proxy._sockets.discard(conn)

    def _serve(self, proxy: FaultProxy, conn: socket.socket) -> None:
        buffer = b""
        while not proxy._stopping.is_set():
            if proxy.mode == "pass":
                _relay(proxy, conn, self.server.upstream, buffer)
                return
            got = _read_request(conn, buffer)
            if got is None:
                return
            request, buffer = got
            if proxy.only is not None and _protocol(request) != proxy.only:
                _relay(proxy, conn, self.server.upstream, request + buffer)  # another service: untouched
                return
            proxy._count()
            if proxy.mode == "silence":
                proxy._stopping.wait(IO_TIMEOUT)
                return
            if proxy.mode == "close":
                return
            if proxy.mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            conn.sendall(_error_response(proxy.mode, _protocol(request)))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy, upstream: tuple[str, int]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.proxy = proxy
        self.upstream = upstream


@contextlib.contextmanager
def fault_proxy(upstream_url: str, mode: str = "pass", delay: float = 0.0,
                only: str | None = None) -> Iterator[FaultProxy]:
    """Run a fault proxy in front of ``upstream_url`` (``http://127.0.0.1:PORT``) for the context."""
    host_port = upstream_url.split("://", 1)[1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError("the fault proxy only fronts loopback servers")
    proxy = FaultProxy(url="", mode="pass")
    proxy.set_mode(mode, delay, only)
    server = _Server(proxy, (host, int(port)))
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy._stopping.set()
        server.shutdown()
        server.server_close()
        for sock in list(proxy._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        thread.join(timeout=5)
