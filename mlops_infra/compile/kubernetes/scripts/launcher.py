"""mlops-infra training launcher: starts a training run (a PyTorchJob) from a stored template.

Standard library only. Two modes:

    python launcher.py launch TEMPLATE [--reason TEXT]
        Create one run from the JSON template unless a run of the same training job is still
        active. Used by the training job's CronJob (schedules, and manual runs with
        ``kubectl create job --from=cronjob/<name>``).

    python launcher.py serve [--host 0.0.0.0] --port 8080 --templates DIR (--routes-file PATH | --routes JSON)
        An Alertmanager webhook receiver. ``POST /v1/alerts/<job>`` with Alertmanager's webhook
        payload starts a run of ``<job>`` (template ``DIR/<job>.json``) when a *firing* alert in it
        is one of the alert names ``routes[<job>]`` allows. ``GET /healthz`` answers 200. Every POST
        must carry ``Authorization: Bearer <token>``, the token in ``$MLOPS_TRIGGER_TOKEN`` (from the
        Secret ``mlops-retrain-trigger-token``; Alertmanager sends it: finding C5); otherwise 401, and
        503 when no token is configured (fail closed). The routes (JSON: training job -> alert
        names) are read once, at start, from ``--routes-file`` (what the compiled Deployment passes:
        one command-line argument holds at most 131,072 bytes on Linux, ``MAX_ARG_STRLEN``) or, for
        small tables, from ``--routes``.

The template carries ``metadata.generateName`` and the label ``mlops-infra/training-job``; runs
are found by that label. A run is active until it has a ``Succeeded`` or ``Failed`` condition, or
until it has waited for admission longer than its ``mlops-infra/admission-timeout-seconds``
annotation (finding B7): Kueue creates the run suspended (``spec.runPolicy.suspend: true``) and
unsuspends it only once its workload is admitted ("Run a Kubeflow PyTorchJob",
https://kueue.sigs.k8s.io/docs/tasks/run/kubeflow/pytorchjobs/; "Kueue overview": a job is
suspended until admitted). Such a run is deleted (it never started: nothing is lost) and no longer
blocks schedules and alert triggers.
Talks to the API server with the pod's service account (``MLOPS_KUBE_API`` and ``MLOPS_SA_DIR``
override the in-cluster defaults, for tests).
"""

from __future__ import annotations

import argparse
import datetime
import hmac
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = os.environ.get("MLOPS_KUBE_API", "https://kubernetes.default.svc")
SA_DIR = os.environ.get("MLOPS_SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
JOB_LABEL = "mlops-infra/training-job"
ADMISSION_TIMEOUT = "mlops-infra/admission-timeout-seconds"
DEFAULT_ADMISSION_TIMEOUT = 86400.0
PLURAL = "/apis/kubeflow.org/v1/namespaces/{namespace}/pytorchjobs"
_LOCK = threading.Lock()


def _read(name: str) -> str:
    with open(os.path.join(SA_DIR, name), encoding="utf-8") as handle:
        return handle.read().strip()


def namespace() -> str:
    return os.environ.get("NAMESPACE") or _read("namespace")


def api(method: str, path: str, body: dict | None = None) -> dict:
    """One JSON request to the API server with the service account token."""
    request = urllib.request.Request(API + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {_read('token')}",
                                              "Content-Type": "application/json", "Accept": "application/json"})
    context = ssl.create_default_context(cafile=os.path.join(SA_DIR, "ca.crt")) if API.startswith("https") else None
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.load(response)


def is_active(run: dict) -> bool:
    conditions = (run.get("status") or {}).get("conditions") or []
    return not any(c.get("type") in ("Succeeded", "Failed") and c.get("status") == "True" for c in conditions)


def _created(run: dict) -> float | None:
    stamp = (run.get("metadata") or {}).get("creationTimestamp")
    try:
        return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()
    except (TypeError, ValueError):
        return None


def never_admitted(run: dict, now: float) -> bool:
    """Still suspended (not admitted by Kueue) longer than the run's admission timeout."""
    if ((run.get("spec") or {}).get("runPolicy") or {}).get("suspend") is not True:
        return False
    annotations = (run.get("metadata") or {}).get("annotations") or {}
    try:
        bound = float(annotations.get(ADMISSION_TIMEOUT, DEFAULT_ADMISSION_TIMEOUT))
    except ValueError:
        bound = DEFAULT_ADMISSION_TIMEOUT
    created = _created(run)
    return created is not None and now - created > bound


def active_runs(job: str, now: float | None = None) -> list[str]:
    """Names of the job's active runs; runs never admitted in time are deleted and not counted."""
    now = time.time() if now is None else now
    query = urllib.parse.urlencode({"labelSelector": f"{JOB_LABEL}={job}"})
    runs = api("GET", PLURAL.format(namespace=namespace()) + "?" + query).get("items") or []
    active = []
    for run in runs:
        if not is_active(run):
            continue
        name = run["metadata"]["name"]
        if never_admitted(run, now):
            print(f"{job}: run {name} was not admitted by Kueue in time; deleting it", flush=True)
            api("DELETE", PLURAL.format(namespace=namespace()) + "/" + urllib.parse.quote(name))
            continue
        active.append(name)
    return sorted(active)


def launch(template_path: str, reason: str, now: float | None = None) -> str | None:
    """Create a run from the template unless one is active; return its name (None: skipped)."""
    with open(template_path, encoding="utf-8") as handle:
        template = json.load(handle)
    job = template["metadata"]["labels"][JOB_LABEL]
    with _LOCK:
        active = active_runs(job, now)
        if active:
            print(f"{job}: run {active[0]} is still active; not starting another ({reason})", flush=True)
            return None
        template["metadata"].setdefault("annotations", {})["mlops-infra/launched-by"] = reason[:256]
        created = api("POST", PLURAL.format(namespace=namespace()), template)
    name = created["metadata"]["name"]
    print(f"{job}: started run {name} ({reason})", flush=True)
    return name


def firing_alerts(payload: dict, allowed: list[str]) -> list[str]:
    """Names of firing alerts in an Alertmanager webhook payload that may start a run."""
    names = {a.get("labels", {}).get("alertname", "") for a in payload.get("alerts") or []
             if a.get("status") == "firing"}
    return sorted(names & set(allowed))


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def make_handler(templates: str, routes: dict[str, list[str]], token: str | None = None) -> type[BaseHTTPRequestHandler]:
    token = os.environ.get("MLOPS_TRIGGER_TOKEN", "") if token is None else token

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(200 if self.path == "/healthz" else 404, {"ok": self.path == "/healthz"})

        def do_POST(self) -> None:
            if not token:
                self._reply(503, {"error": "no trigger token configured (Secret mlops-retrain-trigger-token)"})
                return
            if not authorized(self.headers.get("Authorization"), token):
                self._reply(401, {"error": "missing or wrong bearer token"})
                return
            prefix = "/v1/alerts/"
            job = self.path[len(prefix):].split("?")[0] if self.path.startswith(prefix) else ""
            if job not in routes:
                self._reply(404, {"error": f"no training job {job!r} is triggered by alerts"})
                return
            try:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            except ValueError:
                self._reply(400, {"error": "body is not JSON"})
                return
            alerts = firing_alerts(payload, routes[job])
            if not alerts:
                self._reply(200, {"launched": None, "reason": "no firing alert that triggers this job"})
                return
            try:
                name = launch(os.path.join(templates, f"{job}.json"), "alert:" + ",".join(alerts))
            except Exception as exc:  # reported to Alertmanager, which retries
                self._reply(502, {"error": str(exc)})
                return
            self._reply(200, {"launched": name})

        def log_message(self, fmt: str, *args) -> None:
            sys.stderr.write(f"{self.address_string()} {fmt % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="launcher")
    sub = parser.add_subparsers(dest="mode", required=True)
    one = sub.add_parser("launch")
    one.add_argument("template")
    one.add_argument("--reason", default="schedule")
    serve = sub.add_parser("serve")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (tests: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--templates", required=True)
    table = serve.add_mutually_exclusive_group(required=True)
    table.add_argument("--routes-file", help="a file holding the routes: JSON, training job -> alert names")
    table.add_argument("--routes", help="the routes themselves (JSON), for small tables")
    args = parser.parse_args(argv)
    if args.mode == "launch":
        launch(args.template, args.reason)
        return 0
    if args.routes_file is not None:
        with open(args.routes_file, encoding="utf-8") as f:
            routes = json.load(f)
    else:
        routes = json.loads(args.routes)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.templates, routes))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
