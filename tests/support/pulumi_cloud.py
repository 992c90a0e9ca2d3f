"""A stand-in for the Pulumi Cloud REST API on 127.0.0.1, serving recorded stack exports.

It speaks the documented protocol (https://www.pulumi.com/docs/reference/cloud-rest-api/):
``Authorization: token <token>`` on every request (401 otherwise), ``GET /api/user`` ->
``{"githubLogin": <user>, ...}``, ``GET /api/stacks/<org>/<project>/<stack>/export`` -> the stack's
deployment as ``pulumi stack export`` prints it (an ``UntypedDeployment``: ``{"version", "deployment"}``),
404 for a stack it does not have. It is a stand-in, not Pulumi Cloud: nothing else is served.

:func:`running_pulumi_cloud` binds an OS-chosen port, yields the server (``url``, ``requests``: every
request's path and headers) and always shuts it down.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class CloudStandIn:
    url: str
    requests: list[dict[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def running_pulumi_cloud(exports: dict[tuple[str, str, str], bytes], *, token: str,
                         user: str = "octocat", status: int | None = None) -> Iterator[CloudStandIn]:
    """Serve ``exports`` keyed by (org, project, stack); ``status`` forces every answer's code."""
    state = CloudStandIn(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            state.requests.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            if status is not None:
                return self._send(status, b'{"code": %d, "message": "forced"}' % status)
            if self.headers.get("Authorization") != f"token {token}":
                return self._send(401, b'{"code": 401, "message": "Unauthorized: No credentials provided or are invalid."}')
            parts = self.path.strip("/").split("/")
            if parts == ["api", "user"]:
                return self._send(200, json.dumps({"githubLogin": user, "name": user}).encode())
            if len(parts) == 6 and parts[:2] == ["api", "stacks"] and parts[5] == "export":
                body = exports.get((parts[2], parts[3], parts[4]))
                if body is not None:
                    return self._send(200, body)
            return self._send(404, b'{"code": 404, "message": "Not Found: Stack not found"}')

        def _send(self, code: int, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
