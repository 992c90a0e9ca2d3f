"""The monitoring-to-retraining loop end to end on 127.0.0.1, on real servers.

What runs for real: Prometheus with the compiled rules (time compressed: every duration in the rules
divided by :data:`FACTOR`), Alertmanager with the routing written from the same model as the
compiled AlertmanagerConfigs, and the compiled retrain trigger (the ``launcher.py`` the cluster
runs, taken from the compiled ``mlops-scripts`` ConfigMap, with the compiled routes file). What is
a stand-in: Knative's queue-proxy (a metrics endpoint whose request counters advance while the test
says the model is fast or slow), Slack (a recording HTTP receiver) and the Kubernetes API
(``tests/support/kube_api.py``, with the compiled launcher Role as the token's only permissions).

The trigger gets its bearer token the way the compiled Deployment says (a file of the optional secret
volume of Secret ``mlops-retrain-trigger-token``, ``--token-file``) and Alertmanager sends it as the compiled config says
(finding C5). Scenarios (fraud-detection dev, the retrain job also triggered by ``scorer-latency``):
a call without the token is refused and starts nothing; a spike
shorter than ``for`` does not fire; latency above the threshold longer than ``for`` fires the
critical alert, posts it to the on-call Slack channel and starts exactly one training run; the alert
firing again while that run is active starts no second run; recovery resolves (Slack hears it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.prometheus import (
    PrometheusStack,
    RecordingReceiver,
    compress_time,
    free_port,
    http,
    require,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
FACTOR = 20
"""5m -> 15s (``for``), 1m -> 3s (the rate window)."""
NAMESPACE = "fraud-dev"
TOKEN = "launcher-token"
TRIGGER_SECRETS = {"mlops-retrain-trigger-token": "trigger-bearer-token"}
"""The Secret the platform team creates for the retrain trigger (finding C5): the trigger reads it
through its compiled secret volume, Alertmanager sends it as the bearer token of its webhook."""


def loop_spec() -> str:
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    assert "on_alerts: [fraud-drift]" in text
    return text.replace("on_alerts: [fraud-drift]", "on_alerts: [fraud-drift, scorer-latency]")


class FakeQueueProxy:
    """Stands in for Knative's queue-proxy user metrics: ``revision_app_request_*`` of the scorer's
    predictor (one revision), with 50 requests a second that take 50 ms (``fast``) or 1.5 s (``slow``)."""

    BUCKETS = (0.005e3, 0.1e3, 0.5e3, 1e3, 5e3)  # milliseconds, as Knative reports
    RATE = 50.0

    def __init__(self) -> None:
        self.mode = "fast"
        self._lock = threading.Lock()
        self._counts = {b: 0.0 for b in (*self.BUCKETS, float("inf"))}
        self._total = 0.0
        self._last = time.monotonic()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def set(self, mode: str) -> None:
        with self._lock:
            self._advance()
            self.mode = mode

    def _advance(self) -> None:
        now = time.monotonic()
        requests = self.RATE * (now - self._last)
        self._last = now
        latency = 50.0 if self.mode == "fast" else 1500.0
        for bound in self._counts:
            if latency <= bound:
                self._counts[bound] += requests
        self._total += requests

    def exposition(self) -> str:
        with self._lock:
            self._advance()
            labels = (f'namespace_name="{NAMESPACE}",revision_name="scorer-predictor-00001",'
                      f'service_name="scorer-predictor"')
            lines = ["# TYPE revision_app_request_latencies histogram"]
            for bound, count in self._counts.items():
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(f'revision_app_request_latencies_bucket{{{labels},le="{le}"}} {count:.3f}')
            lines += [f"revision_app_request_latencies_count{{{labels}}} {self._total:.3f}",
                      "# TYPE revision_app_request_count counter",
                      f'revision_app_request_count{{{labels},response_code_class="2xx"}} {self._total:.3f}']
            return "\n".join(lines) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = proxy.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Loop:
    stack: PrometheusStack
    proxy: FakeQueueProxy
    kube: KubeApiStandIn
    slack: RecordingReceiver
    trigger_log: Path
    trigger_url: str

    def runs(self) -> list[dict[str, Any]]:
        return [o for o in self.kube.objects("pytorchjobs") if o["metadata"]["namespace"] == NAMESPACE]

    def firing(self, alert: str) -> bool:
        return any(a["labels"]["alertname"] == alert for a in self.stack.alerts("firing"))

    def slack_messages(self, status: str) -> list[dict[str, Any]]:
        return [r.json() for r in self.slack.received("/slack/slack-oncall-webhook")
                if r.json()["attachments"][0]["title"].startswith(f"[{status}")]


def _compiled_object(graph, kind: str, name: str) -> dict[str, Any]:
    return next(r.inputs for r in graph.resources if r.type.endswith(f":{kind}") and r.inputs["metadata"]["name"] == name)


def _start_trigger(graph, workdir: Path, kube_url: str) -> tuple[subprocess.Popen, str, Path]:
    """The compiled retrain trigger: its script, run templates and routes from the compiled ConfigMaps,
    its command line from the compiled Deployment (port, template directory and routes file moved to
    the test's: the file where the compiled mount puts the ConfigMap's key)."""
    scripts = _compiled_object(graph, "ConfigMap", "mlops-scripts")["data"]
    (workdir / "launcher.py").write_text(scripts["launcher.py"])
    templates = workdir / "templates"
    templates.mkdir()
    template = _compiled_object(graph, "ConfigMap", "train-retrain")["data"]["pytorchjob.json"]
    (templates / "retrain.json").write_text(template)
    account = workdir / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "namespace").write_text(NAMESPACE)
    deployment = _compiled_object(graph, "Deployment", "mlops-retrain-trigger")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "routes")
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "routes")
    routes_dir = workdir / "routes"
    routes_dir.mkdir()
    for key, text in _compiled_object(graph, "ConfigMap", volume["configMap"]["name"])["data"].items():
        (routes_dir / key).write_text(text)
    routes = routes_dir / Path(command[command.index("--routes-file") + 1]).relative_to(mount)
    port = free_port()
    log = workdir / "trigger.log"
    argv = [sys.executable, str(workdir / "launcher.py"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--templates", str(templates), "--routes-file", str(routes)]
    env = {**os.environ, "MLOPS_KUBE_API": kube_url, "MLOPS_SA_DIR": str(account), "NAMESPACE": NAMESPACE}
    for var in container.get("env", []):  # as the kubelet fills them in
        if "secretKeyRef" in var.get("valueFrom", {}):
            env[var["name"]] = TRIGGER_SECRETS[var["valueFrom"]["secretKeyRef"]["name"]]
    for volume in deployment["spec"]["template"]["spec"]["volumes"]:  # secret volumes, as the kubelet fills them
        if "secret" not in volume:
            continue
        mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume["name"])
        folder = workdir / volume["name"]
        folder.mkdir()
        for item in volume["secret"]["items"]:
            (folder / item["path"]).write_text(TRIGGER_SECRETS[volume["secret"]["secretName"]])
        for i, arg in enumerate(command):  # the compiled command's paths into that mount, moved to the test's
            if arg.startswith(mount + "/") and command[i - 1].startswith("--"):
                argv += [command[i - 1], str(folder / Path(arg).relative_to(mount))]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http("GET", url + "/healthz", timeout=1)[0] == 200, timeout=20, what="the retrain trigger")
    return process, url, log


@pytest.fixture()
def loop(tmp_path: Path) -> Iterator[Loop]:
    require()
    system = parse_system(loop_spec(), "mlsystem.yaml", "dev").system
    graph = compile_system(system, "dev")
    role = _compiled_object(graph, "Role", "mlops-training-launcher")
    proxy = FakeQueueProxy()
    kube = KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={TOKEN: role["rules"]}).start()
    trigger = None
    stack = None
    try:
        trigger, trigger_url, log = _start_trigger(graph, tmp_path, kube.url)
        slack = RecordingReceiver()
        routes = routing.system_routes(system, "dev")
        in_cluster = next(r.receiver.url for r in routes if r.config == "retrain-retrain")
        config = routing.alertmanager_config(
            routes, NAMESPACE,
            resolve_secret=lambda ref: TRIGGER_SECRETS.get(ref.secret) or slack.url(f"/slack/{ref.secret}"),
            urls={in_cluster: f"{trigger_url}/v1/alerts/retrain"},
            timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
            global_config={"smtp_smarthost": "127.0.0.1:1", "smtp_from": "alertmanager@test.invalid"})
        stack = PrometheusStack(tmp_path / "stack", rules=[compress_time(rule_file(graph), FACTOR)],
                                alertmanager_config=config, scrape_targets=[proxy.target],
                                scrape_interval="500ms", evaluation_interval="500ms").start()
        yield Loop(stack, proxy, kube, slack, log, trigger_url)
    finally:
        if stack is not None:
            stack.stop()
        if trigger is not None:
            trigger.terminate()
            trigger.wait(timeout=10)
        kube.stop()
        proxy.close()


LATENCY = 'mlops:monitor_value{mlops_monitor="latency"}'


def test_latency_alert_fires_notifies_and_retrains_once(loop: Loop) -> None:
    stack = loop.stack
    # healthy traffic: p99 well under 250 ms
    assert stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=30) < 0.25

    # 0. the trigger takes no call without Alertmanager's bearer token (C5): 401, no run
    firing = json.dumps({"alerts": [{"status": "firing", "labels": {"alertname": "scorer-latency"}}]})
    assert http("POST", f"{loop.trigger_url}/v1/alerts/retrain", firing)[0] == 401
    assert loop.runs() == []

    # 1. a spike shorter than `for` (15 s): pending, never firing, nobody told
    loop.proxy.set("slow")
    stack.wait_for_value('ALERTS{alertname="scorer-latency", alertstate="pending"}', lambda v: v == 1, timeout=15)
    time.sleep(4)
    loop.proxy.set("fast")
    stack.wait_for_value('count(ALERTS{alertname="scorer-latency"}) or vector(0)', lambda v: v == 0, timeout=20)
    time.sleep(3)
    assert stack.value('max_over_time(ALERTS{alertname="scorer-latency", alertstate="firing"}[60s])') is None
    assert loop.slack.received() == [] and loop.runs() == []

    # 2. slow for longer than `for`: the critical alert fires, Slack gets it, exactly one run starts
    loop.proxy.set("slow")
    wait_until(lambda: loop.firing("scorer-latency"), timeout=40, what="scorer-latency firing", logs=stack.logs)
    message = loop.slack.wait_for(where=lambda r: r.json()["attachments"][0]["title"].startswith("[FIRING"),
                                  timeout=20)[0].json()
    attachment = message["attachments"][0]
    assert attachment["title"] == "[FIRING:1] scorer-latency (critical)"
    assert "fraud-detection/dev: scorer-latency (latency_p99 of endpoint scorer)" in attachment["text"]
    # the value it fired on (audit observe-4): every request 1.5 s, so the p99 interpolates to
    # 1000 + 4000 x 0.99 ms in the 1000-5000 ms bucket, written by humanizeDuration
    assert "has crossed its threshold 250ms for 5m (now 4.96s)." in attachment["text"]
    runs = wait_until(loop.runs, timeout=20, what="a training run")
    assert len(runs) == 1
    run = runs[0]
    assert run["kind"] == "PyTorchJob" and run["metadata"]["name"].startswith("retrain-")
    assert run["metadata"]["labels"]["mlops-infra/training-job"] == "retrain"
    assert run["metadata"]["annotations"]["mlops-infra/launched-by"] == "alert:scorer-latency"

    # 3. the alert resolves and fires again while the run is active: no second run
    loop.proxy.set("fast")
    wait_until(lambda: not loop.firing("scorer-latency"), timeout=30, what="scorer-latency resolved")
    resolved = loop.slack.wait_for(where=lambda r: r.json()["attachments"][0]["title"].startswith("[RESOLVED"),
                                   timeout=20)[0].json()
    assert resolved["attachments"][0]["title"] == "[RESOLVED] scorer-latency (critical)"
    calls_before = len(loop.kube.requests_for("POST", "/pytorchjobs"))
    loop.proxy.set("slow")
    wait_until(lambda: loop.firing("scorer-latency"), timeout=40, what="scorer-latency firing again")
    wait_until(lambda: b"still active" in loop.trigger_log.read_bytes(), timeout=20,
               what="the trigger declining a second run")
    assert len(loop.runs()) == 1
    assert len(loop.kube.requests_for("POST", "/pytorchjobs")) == calls_before

    # 4. recovery resolves
    loop.proxy.set("fast")
    wait_until(lambda: not loop.firing("scorer-latency"), timeout=30, what="scorer-latency resolved again")
    assert stack.wait_for_value(LATENCY, lambda v: v < 0.25, timeout=15) < 0.25
    assert json.loads(json.dumps(loop.runs()))[0]["metadata"]["name"] == run["metadata"]["name"]
