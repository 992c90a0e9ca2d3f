"""A real Prometheus, Alertmanager and Pushgateway on 127.0.0.1, for tests (the one harness).

Contract:
- The servers are the Debian packages ``prometheus``, ``prometheus-alertmanager`` and
  ``prometheus-pushgateway`` (``.ci/run`` installs them with apt-get). :func:`require` skips a test,
  naming what is missing and how to install it, only when a binary is not on PATH.
- :class:`PrometheusStack` starts the three servers, each on a free 127.0.0.1 port (the OS picks a
  port, the server binds it; a server that exits early because the port was taken meanwhile is
  started again on another port, at most :data:`START_ATTEMPTS` times), waits for each one's
  ``/-/ready`` with a bounded deadline, and stops each by its own process id (SIGTERM, then SIGKILL
  after :data:`STOP_TIMEOUT` seconds). Nothing listens on another interface: Alertmanager's
  cluster (gossip) listener is disabled.
- Time runs fast: Prometheus scrapes the Pushgateway (``honor_labels: true``, as the compiled
  ServiceMonitor does; with ``pushgateway_namespace``, the target label ``namespace`` the operator gives it), any extra targets and, with ``scrape_alertmanager``, the stack's own
  Alertmanager (job ``alertmanager``, as kube-prometheus' ServiceMonitor does) every ``scrape_interval`` (1s) and evaluates rules
  every ``evaluation_interval`` (1s); firing alerts are re-sent to Alertmanager every second.
  :func:`compress_time` divides the durations of compiled rules (``for``, ``keep_firing_for`` and
  range selectors) so a ``for: 5m`` scenario runs in seconds.
- Rules: rule files (paths) or rule documents (``{"groups": [...]}``) given at start or later with
  :meth:`PrometheusStack.load_rules` (written to the stack's directory, then ``/-/reload``; the call
  returns once Prometheus lists the new groups).
- Alertmanager: the given configuration (a dict in Alertmanager's YAML shape) or, when none, a
  route sending every alert to :attr:`PrometheusStack.receiver` (a :class:`RecordingReceiver`)
  with ``group_wait: 0s``. :meth:`set_alertmanager_config` replaces it at run time.
- Pushgateway flags: ``pushgateway_args`` (e.g. a compiled Deployment's ``--persistence.file`` and
  ``--persistence.interval``) replace the default ``--persistence.file=`` (nothing kept: Debian's
  build otherwise defaults to a file under /var/lib). :meth:`PrometheusStack.restart_pushgateway`
  stops it with SIGTERM (on which it writes its persistence file) and starts it again on the same
  port when it is still free (else on a new one, and Prometheus' scrape target follows); with
  ``down_for`` it stays stopped that many seconds first (Prometheus' scrapes fail meanwhile).
- Helpers: :meth:`push` / :meth:`delete_group` (Pushgateway), :meth:`query` / :meth:`value`
  (Prometheus instant queries), :meth:`alerts` (Prometheus' view) and :meth:`notifications`
  (Alertmanager's API v2), :func:`wait_until` (a bounded poll that fails with what it last saw).
- On a failed start or a timed-out wait the error carries the tail of each server's log.

Use as a context manager, or the ``prometheus_stack`` fixture factory (module scope is cheapest:
the three servers start in about a second).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

BINARIES: dict[str, tuple[str, ...]] = {
    "prometheus": ("prometheus",),
    "alertmanager": ("prometheus-alertmanager", "alertmanager"),
    "pushgateway": ("prometheus-pushgateway", "pushgateway"),
    "promtool": ("promtool",),
    "amtool": ("amtool",),
}
"""Server/tool -> executable names (Debian's first, upstream's second)."""
DEBIAN_PACKAGES = {"prometheus": "prometheus", "promtool": "prometheus", "alertmanager": "prometheus-alertmanager",
                   "amtool": "prometheus-alertmanager", "pushgateway": "prometheus-pushgateway"}
START_TIMEOUT = 30.0
"""Seconds a server may take to answer ``/-/ready`` (a loaded 2-core machine needs a few)."""
STOP_TIMEOUT = 10.0
START_ATTEMPTS = 3
HTTP_TIMEOUT = 5.0
STOP_POLL = 0.05
"""Seconds between a :class:`RecordingReceiver` accept loop's checks for a stop request
(``serve_forever(poll_interval)``; the 0.5 s default made every :meth:`RecordingReceiver.close` wait about
half a second)."""


def binary(name: str) -> str | None:
    """The path of server/tool ``name`` (a key of :data:`BINARIES`), or None when not installed."""
    for candidate in BINARIES[name]:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def missing(*names: str) -> list[str]:
    return [n for n in names if binary(n) is None]


def require(*names: str) -> None:
    """Skip the calling test when one of ``names`` is not installed, saying how to install it."""
    absent = missing(*(names or ("prometheus", "alertmanager", "pushgateway")))
    if absent:
        packages = " ".join(sorted({DEBIAN_PACKAGES[n] for n in absent}))
        pytest.skip(f"{', '.join(absent)} not installed: apt-get install -y --no-install-recommends {packages} "
                    "(.ci/run does this)")


def free_port() -> int:
    """A port the OS has just handed out on 127.0.0.1 (free now; the caller binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: bytes | str | None = None, *, content_type: str = "application/json",
         timeout: float = HTTP_TIMEOUT) -> tuple[int, bytes]:
    """One HTTP request; returns (status, body) for any status, raises only on connection errors."""
    data = body.encode() if isinstance(body, str) else body
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_until(probe: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition",
               logs: Callable[[], str] | None = None) -> Any:
    """Call ``probe`` until it returns something truthy (returned) or ``timeout`` seconds pass
    (AssertionError naming ``what``, the last value seen and, when given, the servers' logs)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except (OSError, ValueError) as exc:  # a server not up yet, a body not JSON yet
            last = exc
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            detail = f"\n{logs()}" if logs else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last seen: {last!r}{detail}")
        time.sleep(interval)


# --- receivers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request a :class:`RecordingReceiver` got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class RecordingReceiver:
    """An HTTP server on 127.0.0.1 that records every request and answers ``status`` (200).

    Stands in for a notification endpoint (Slack's incoming webhook, a webhook receiver). ``url(path)``
    is where to send; :meth:`received` lists what arrived (optionally for one path);
    :meth:`wait_for` polls until ``count`` requests matched.
    """

    def __init__(self, status: int = 200, reply: bytes = b"ok") -> None:
        self.status = status
        self.reply = reply
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": STOP_POLL},
                                        name="recording-receiver", daemon=True)
        self._thread.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver._received.append(Received(self.command, self.path, dict(self.headers.items()), body,
                                                       time.monotonic()))
                self.send_response(receiver.status)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            do_POST = do_PUT = do_GET = _record

            def log_message(self, fmt: str, *args: Any) -> None:  # quiet
                pass

        return Handler

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    def wait_for(self, count: int = 1, *, path: str | None = None, timeout: float = 30.0,
                 where: Callable[[Received], bool] | None = None) -> list[Received]:
        def probe() -> list[Received]:
            got = [r for r in self.received(path) if where is None or where(r)]
            return got if len(got) >= count else []

        return wait_until(probe, timeout=timeout, what=f"{count} request(s) at {path or 'any path'}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=STOP_TIMEOUT)

    def __enter__(self) -> RecordingReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- server processes ------------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """One server process: started with ``argv(port)``, ready when ``GET /-/ready`` answers 200."""

    name: str
    argv: Callable[[int], list[str]]
    log_path: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = START_TIMEOUT, port: int | None = None) -> None:
        """Start the server on a free port (``port`` first, when given) and wait until it is ready."""
        last_error = ""
        for attempt in range(START_ATTEMPTS):
            self.port = port if port and attempt == 0 else free_port()
            log = self.log_path.open("ab")
            try:
                self.process = subprocess.Popen(self.argv(self.port), stdout=log, stderr=subprocess.STDOUT,
                                                stdin=subprocess.DEVNULL, start_new_session=True)
            finally:
                log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    last_error = f"{self.name} exited with {self.process.returncode}"
                    break
                try:
                    if http("GET", self.url + "/-/ready", timeout=1.0)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            else:
                self.stop()
                raise RuntimeError(f"{self.name} not ready after {timeout:g}s\n{self.log_tail()}")
        raise RuntimeError(f"{self.name} did not start in {START_ATTEMPTS} attempts ({last_error})\n{self.log_tail()}")

    def restart(self, timeout: float = START_TIMEOUT, down_for: float = 0.0) -> None:
        """Stop (SIGTERM, as :meth:`stop`), wait ``down_for`` seconds, and start again, on the same port
        when it is still free."""
        port = self.port
        self.stop()
        time.sleep(down_for)
        self.start(timeout, port=port)

    def stop(self) -> None:
        """Stop this server by its own process id (SIGTERM, SIGKILL after a grace period)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return f"--- {self.name} log ({self.log_path}) ---\n" + "\n".join(text)


# --- the stack -------------------------------------------------------------------------------------

RuleSource = Path | str | Mapping[str, Any]
"""A rule file path, or a rule document ``{"groups": [...]}``."""


def default_alertmanager_config(url: str) -> dict[str, Any]:
    """Every alert to one webhook at ``url``, at once (no grouping delay), resolved ones too."""
    return {"route": {"receiver": "record", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s",
                      "repeat_interval": "1h"},
            "receivers": [{"name": "record", "webhook_configs": [{"url": url, "send_resolved": True}]}]}


@dataclass
class PrometheusStack:
    """Prometheus + Alertmanager + Pushgateway on 127.0.0.1 (see the module contract).

    Fields:
        workdir: where configuration, rule files, data and logs go (a test's ``tmp_path``).
        rules: rule files or documents loaded at start.
        alertmanager_config: Alertmanager's configuration; None routes everything to ``receiver``.
        scrape_targets: extra ``host:port`` targets Prometheus scrapes (job ``extra``).
        scrape_interval, evaluation_interval: Prometheus' global intervals.
        pushgateway_args: Pushgateway flags replacing the default ``--persistence.file=`` (None: that).
        scrape_alertmanager: Prometheus also scrapes the Alertmanager's ``/metrics`` (job ``alertmanager``).
        pushgateway_namespace: the ``namespace`` target label of the Pushgateway scrape (None: none), as
            prometheus-operator's ServiceMonitor scrape sets it (the Service's namespace) and the compiled
            rules select it (``compile/kubernetes/monitoring.py`` ``pushed_labels``).
    """

    workdir: Path
    rules: Iterable[RuleSource] = ()
    alertmanager_config: Mapping[str, Any] | None = None
    scrape_targets: Iterable[str] = ()
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"
    start_timeout: float = START_TIMEOUT
    pushgateway_args: Iterable[str] | None = None
    scrape_alertmanager: bool = False
    pushgateway_namespace: str | None = None
    receiver: RecordingReceiver = field(init=False)
    _servers: dict[str, ServerProcess] = field(init=False, default_factory=dict)
    _rule_count: int = field(init=False, default=0)

    # -- life cycle

    def start(self) -> PrometheusStack:
        require()
        self.workdir = Path(self.workdir)
        for sub in ("rules", "prometheus-data", "alertmanager-data"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        self.receiver = RecordingReceiver()
        try:
            self._start_servers()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_servers(self) -> None:
        logs = self.workdir
        flags = ["--persistence.file="] if self.pushgateway_args is None else list(self.pushgateway_args)
        pushgateway = ServerProcess("pushgateway", lambda port: [
            binary("pushgateway"), f"--web.listen-address=127.0.0.1:{port}", "--web.enable-admin-api",
            *flags, "--log.level=warn"], logs / "pushgateway.log")
        pushgateway.start(self.start_timeout)
        self._servers["pushgateway"] = pushgateway
        self._write_alertmanager_config(self.alertmanager_config)
        alertmanager = ServerProcess("alertmanager", lambda port: [
            binary("alertmanager"), f"--config.file={self.workdir / 'alertmanager.yml'}",
            f"--storage.path={self.workdir / 'alertmanager-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=", "--log.level=warn"], logs / "alertmanager.log")
        alertmanager.start(self.start_timeout)
        self._servers["alertmanager"] = alertmanager
        self._write_rules(self.rules)
        self._write_prometheus_config()
        prometheus = ServerProcess("prometheus", lambda port: [
            binary("prometheus"), f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'prometheus-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle", "--rules.alert.resend-delay=1s", "--log.level=warn"],
            logs / "prometheus.log")
        prometheus.start(self.start_timeout)
        self._servers["prometheus"] = prometheus

    def stop(self) -> None:
        for name in ("prometheus", "alertmanager", "pushgateway"):
            server = self._servers.pop(name, None)
            if server is not None:
                server.stop()
        receiver = getattr(self, "receiver", None)
        if receiver is not None:
            receiver.close()

    def __enter__(self) -> PrometheusStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def logs(self) -> str:
        return "\n".join(s.log_tail() for s in self._servers.values())

    # -- URLs

    @property
    def prometheus_url(self) -> str:
        return self._servers["prometheus"].url

    @property
    def alertmanager_url(self) -> str:
        return self._servers["alertmanager"].url

    @property
    def pushgateway_url(self) -> str:
        return self._servers["pushgateway"].url

    def pids(self) -> dict[str, int]:
        """Server name -> process id (for tests of the harness itself)."""
        return {name: s.process.pid for name, s in self._servers.items() if s.process is not None}

    # -- configuration

    def _write_prometheus_config(self) -> None:
        pushgateway = self.pushgateway_url.removeprefix("http://")
        target: dict[str, Any] = {"targets": [pushgateway]}
        if self.pushgateway_namespace is not None:
            target["labels"] = {"namespace": self.pushgateway_namespace}
        scrape = [{"job_name": "pushgateway", "honor_labels": True, "static_configs": [target]}]
        targets = list(self.scrape_targets)
        if targets:
            scrape.append({"job_name": "extra", "static_configs": [{"targets": targets}]})
        if self.scrape_alertmanager:
            alertmanager = self.alertmanager_url.removeprefix("http://")
            scrape.append({"job_name": "alertmanager", "static_configs": [{"targets": [alertmanager]}]})
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": self.evaluation_interval},
            "rule_files": [str(self.workdir / "rules" / "*.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [
                {"targets": [self.alertmanager_url.removeprefix("http://")]}]}]},
            "scrape_configs": scrape,
        }
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))

    def _write_alertmanager_config(self, config: Mapping[str, Any] | None) -> None:
        body = dict(config) if config is not None else default_alertmanager_config(self.receiver.url("/alerts"))
        (self.workdir / "alertmanager.yml").write_text(yaml.safe_dump(body, sort_keys=False))

    def _write_rules(self, rules: Iterable[RuleSource]) -> list[str]:
        directory = self.workdir / "rules"
        for old in directory.glob("*.yml"):
            old.unlink()
        names: list[str] = []
        for n, source in enumerate(rules):
            document = yaml.safe_load(Path(source).read_text()) if isinstance(source, Path | str) else source
            (directory / f"{n:03d}.yml").write_text(yaml.safe_dump(dict(document), sort_keys=False))
            names += [g["name"] for g in document.get("groups") or []]
        return names

    def load_rules(self, rules: Iterable[RuleSource], timeout: float = 15.0) -> None:
        """Replace the loaded rules and wait until Prometheus lists exactly their groups."""
        wanted = sorted(self._write_rules(rules))
        status, body = http("POST", self.prometheus_url + "/-/reload")
        assert status == 200, f"prometheus reload failed ({status}): {body[:500]!r}\n{self.logs()}"

        def loaded() -> bool:
            groups = self._api("/api/v1/rules")["groups"]
            return sorted(g["name"] for g in groups) == wanted

        wait_until(loaded, timeout=timeout, what=f"rule groups {wanted}", logs=self.logs)

    def set_alertmanager_config(self, config: Mapping[str, Any]) -> None:
        """Replace Alertmanager's configuration (reloaded at once; fails on an invalid one)."""
        self._write_alertmanager_config(config)
        status, body = http("POST", self.alertmanager_url + "/-/reload")
        assert status == 200, f"alertmanager reload failed ({status}): {body[:500]!r}\n{self.logs()}"

    # -- Pushgateway

    def _group_url(self, job: str, grouping: Mapping[str, str] | None) -> str:
        path = f"/metrics/job/{urllib.parse.quote(job, safe='')}"
        for key, value in (grouping or {}).items():
            path += f"/{key}/{urllib.parse.quote(value, safe='')}"
        return self.pushgateway_url + path

    def push(self, job: str, text: str, grouping: Mapping[str, str] | None = None) -> None:
        """PUT ``text`` (Prometheus text format) as the group ``job`` + ``grouping``, replacing it."""
        body = text if text.endswith("\n") else text + "\n"
        status, reply = http("PUT", self._group_url(job, grouping), body, content_type="text/plain; version=0.0.4")
        assert status in (200, 202), f"push to the pushgateway failed ({status}): {reply[:500]!r}"

    def restart_pushgateway(self, down_for: float = 0.0) -> None:
        """Stop the Pushgateway (SIGTERM), keep it down ``down_for`` seconds and start it again with the
        same flags (module contract); when it comes back on another port, Prometheus is pointed at it
        (configuration reloaded)."""
        server = self._servers["pushgateway"]
        port = server.port
        server.restart(self.start_timeout, down_for)
        if server.port != port:
            self._write_prometheus_config()
            status, body = http("POST", self.prometheus_url + "/-/reload")
            assert status == 200, f"prometheus reload failed ({status}): {body[:500]!r}\n{self.logs()}"

    def pushgateway_metrics(self) -> str:
        """The Pushgateway's ``/metrics`` text (what Prometheus scrapes from it)."""
        status, body = http("GET", self.pushgateway_url + "/metrics")
        assert status == 200, f"pushgateway /metrics answered {status}"
        return body.decode()

    def delete_group(self, job: str, grouping: Mapping[str, str] | None = None) -> None:
        status, reply = http("DELETE", self._group_url(job, grouping))
        assert status in (200, 202), f"pushgateway delete failed ({status}): {reply[:500]!r}"

    # -- Prometheus and Alertmanager APIs

    def _api(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        url = self.prometheus_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        status, body = http("GET", url)
        payload = json.loads(body)
        if status != 200 or payload.get("status") != "success":
            raise AssertionError(f"prometheus {path} answered {status}: {body[:500]!r}")
        return payload["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query: the result vector (``[{"metric": {...}, "value": [ts, "v"]}]``)."""
        data = self._api("/api/v1/query", {"query": expr})
        return data["result"] if data["resultType"] == "vector" else [{"metric": {}, "value": data["result"]}]

    def value(self, expr: str) -> float | None:
        """The value of a query with at most one series (None when empty)."""
        result = self.query(expr)
        assert len(result) <= 1, f"{expr} has {len(result)} series: {result}"
        return float(result[0]["value"][1]) if result else None

    def wait_for_value(self, expr: str, predicate: Callable[[float], bool], *, timeout: float = 30.0) -> float:
        def probe() -> tuple[float] | None:
            value = self.value(expr)
            return (value,) if value is not None and predicate(value) else None

        return wait_until(probe, timeout=timeout, what=f"a value of {expr}", logs=self.logs)[0]

    def alerts(self, state: str | None = None) -> list[dict[str, Any]]:
        """Prometheus' active alerts (``pending`` or ``firing``), optionally of one state."""
        alerts = self._api("/api/v1/alerts")["alerts"]
        return [a for a in alerts if state is None or a["state"] == state]

    def notifications(self) -> list[dict[str, Any]]:
        """The alerts Alertmanager holds (API v2), active and not."""
        status, body = http("GET", self.alertmanager_url + "/api/v2/alerts")
        assert status == 200, f"alertmanager /api/v2/alerts answered {status}"
        return json.loads(body)


# --- compiled rules in fast time -------------------------------------------------------------------

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_RANGE = re.compile(r"\[((?:\d+(?:ms|s|m|h|d|w|y))+)(:((?:\d+(?:ms|s|m|h|d|w|y))+)?)?\]")


def duration_seconds(text: str) -> float:
    """Seconds of a Prometheus duration (``1h30m``, ``250ms``)."""
    parts = _DURATION.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Prometheus duration: {text!r}"
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    millis = max(1, round(seconds * 1000))
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def compress_time(document: Mapping[str, Any], factor: float, *, floor: float = 1.0) -> dict[str, Any]:
    """A copy of rule document ``document`` with every ``for``, ``keep_firing_for`` and PromQL range
    selector divided by ``factor`` (never below ``floor`` seconds), so a ``for: 5m`` alert fires in 5s
    at factor 60 (and a ``keep_firing_for: 10m`` one resolves 10s after its condition ends).
    Thresholds, labels and the expressions' structure are unchanged."""

    def scale(text: str) -> str:
        return format_duration(max(floor, duration_seconds(text) / factor))

    def expr(text: str) -> str:
        def one(match: re.Match) -> str:
            step = match.group(3)
            inner = scale(match.group(1)) + (":" + (scale(step) if step else "") if match.group(2) else "")
            return f"[{inner}]"

        return _RANGE.sub(one, text)

    groups = []
    for group in document.get("groups") or []:
        rules = []
        for rule in group.get("rules") or []:
            copy = {**rule, "expr": expr(str(rule["expr"]))}
            for key in ("for", "keep_firing_for"):
                if key in copy:
                    copy[key] = scale(str(copy[key]))
            rules.append(copy)
        groups.append({**group, "rules": rules})
    return {**document, "groups": groups}


# --- pytest ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PrometheusStack]]:
    """A factory: ``prometheus_stack(rules=..., alertmanager_config=...)`` starts a stack that is
    stopped when the module's tests are done (skips when the servers are not installed)."""
    stacks: list[PrometheusStack] = []

    def start(**options: Any) -> PrometheusStack:
        stack = PrometheusStack(tmp_path_factory.mktemp("prometheus-stack"), **options)
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()
