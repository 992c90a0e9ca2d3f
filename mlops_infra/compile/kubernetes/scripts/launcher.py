"""mlops-infra training launcher: starts a training run (a PyTorchJob) from a stored template.

Standard library only. Two modes:

    python launcher.py launch TEMPLATE [--reason TEXT]
        Create one run from the JSON template unless a run of the same training job is still
        active. Used by the training job's CronJob (schedules, and manual runs with
        ``kubectl create job --from=cronjob/<name>``). Exit 0 when a run was started, when one is
        still active, and when a concurrent trigger started it; 1 (a message, no traceback) when
        the API server refused or the run's name is taken by something else.

    python launcher.py serve [--host 0.0.0.0] --port 8080 --templates DIR (--routes-file PATH | --routes JSON)
                             [--token-file PATH]
        An Alertmanager webhook receiver. ``POST /v1/alerts/<job>`` with Alertmanager's webhook
        payload starts a run of ``<job>`` (template ``DIR/<job>.json``) when a *firing* alert in it
        is one of the alert names ``routes[<job>]`` allows, at most one run per firing (see "One
        run per firing" below). ``GET /healthz`` answers 200. Every POST
        must carry ``Authorization: Bearer <token>`` (Alertmanager sends it: finding C5); otherwise 401,
        and 503 while no token is configured (fail closed). The token is the text of ``--token-file``,
        read again on every POST (what the compiled Deployment passes: the key ``value`` of the Secret
        ``mlops-retrain-trigger-token``, mounted as an *optional* volume, so the pod starts before the
        Secret exists and takes it, or a new value, without a restart: the kubelet updates a mounted
        Secret in place, see ``compile/kubernetes/training.py``); a file that is absent or empty means
        no token. Without ``--token-file`` the token is ``$MLOPS_TRIGGER_TOKEN``, read once. The routes (JSON: training job -> alert
        names) are read once, at start, from ``--routes-file`` (what the compiled Deployment passes:
        one command-line argument holds at most 131,072 bytes on Linux, ``MAX_ARG_STRLEN``) or, for
        small tables, from ``--routes``. The answer is 200 ``{"launched": <run created by this
        call or null>, "run": <the job's active run or null>, "outcome": ...}`` (see :class:`Outcome`),
        502 when the API server refused (Alertmanager retries).

The template carries ``metadata.generateName`` and the label ``mlops-infra/training-job``; runs
are found by that label. A run is active until it has a ``Succeeded`` or ``Failed`` condition, or
until it has waited for admission longer than its ``mlops-infra/admission-timeout-seconds``
annotation (finding B7): Kueue creates the run suspended (``spec.runPolicy.suspend: true``) and
unsuspends it only once its workload is admitted ("Run a Kubeflow PyTorchJob",
https://kueue.sigs.k8s.io/docs/tasks/run/kubeflow/pytorchjobs/; "Kueue overview": a job is
suspended until admitted). Such a run is deleted (it never started: nothing is lost) and no longer
blocks schedules and alert triggers. A run being deleted (``metadata.deletionTimestamp`` set, held
by a finalizer) is still listed and, unless finished or never admitted, still active: its pods may
still be running.

**At most one run at a time, across pods** (finding B11.2). Runs are started by two different
processes in different pods: the job's CronJob (``launch``) and the retrain trigger Deployment
(``serve``, two pods during a rolling update), so no lock of one process can order them. The API
server's own rule does: "Only one object of a given kind can have a given name at a time"
("Object Names and IDs", https://kubernetes.io/docs/concepts/overview/working-with-objects/names/).
Its create is one etcd transaction that writes only if the key does not exist
(``k8s.io/apiserver`` ``pkg/storage/etcd3/store.go`` ``store.Create``: ``OptimisticPut`` with expected
revision 0, else ``storage.NewKeyExistsError``), answered by ``pkg/registry/generic/registry/store.go``
``Store.create`` as 409 ``AlreadyExists`` (``apierrors.NewAlreadyExists``; its message is prefixed
``object is being deleted:`` when the existing object has a deletionTimestamp). So the launcher does
not let the server pick a random name (``generateName``: every create succeeds); it derives the new
run's name from the history it observed (:func:`run_name`): the template's ``generateName`` prefix
plus the first 10 hex digits of SHA-256 of ``<job>/<uid of the newest listed run, or "none">``.
Launchers that listed the same runs create the same name and exactly one create succeeds; a
loser's 409 means "a concurrent trigger started it": it reads that object and, when it is a run of
this job following the same newest run (annotation ``mlops-infra/follows``), reports it as started
by another trigger (exit 0, HTTP 200). A 409 for any other object (a name taken by something that
is not that run) is an error naming it.

- *Newest* is :func:`newest_run`: among the listed runs that no listed run follows (the ends of
  the chains the ``follows`` annotations make), the latest ``creationTimestamp``, ties broken by
  name. Identity is the ``uid`` (unique over the cluster's lifetime, same page), not the time:
  ``creationTimestamp`` has one-second resolution, so a run and its successor can share it. Runs
  being deleted are listed, so they count: a launcher that saw one and one that saw it a moment
  later agree.
- The launcher's own deletions (runs never admitted) happen only after the next run exists (created
  here, or by the concurrent winner): a launcher listing after such a delete sees that run, active,
  and starts nothing. While another run is active nothing is deleted; the launch that starts the
  next run deletes them. A second launcher's delete of the same run is a 404, which is fine. A deleted name may be taken again only once its object is gone (the
  server's rule), e.g. the first run's name after every run was deleted: that is a new run, fine.
- Not covered: the newest run deleted by someone else (``kubectl delete``) between two launchers'
  lists. They then saw different histories and may both start a run.
- The name is at most 41 (the template's prefix, ``physical_name(job, 40)-``) + 10 characters; a
  PyTorchJob name must be a DNS-1035 label of at most 63 (training-operator
  ``pkg/webhooks/pytorch/pytorchjob_webhook.go`` ``validatePyTorchJob``: ``NameIsDNS1035Label``).
  ``generateName`` would add 5 random characters (``k8s.io/apiserver``
  ``pkg/storage/names/generate.go``); a 10-hex-digit hash keeps a clash of a successor's name with
  an older run's (an error, not a silent skip) below one in 10^9 for a thousand stored runs.

There is no in-process lock: the webhook's request threads race exactly as pods do, and the API
server settles them the same way.

**One run per firing** (audit triggers#2; docs/semantics.md, ``training_jobs.triggers``: "a firing
alert starts at most one run", as on AWS, where the rule matches the alarm's change *into* ALARM).
Alertmanager sends a group again every ``repeat_interval`` (24h for the retrain routes) while its
alerts keep firing, with the same alerts: each carries ``fingerprint`` (its label set's hash) and
``startsAt`` (when it began firing, unchanged while it fires; a new firing after a resolve has a new
one) (prometheus/alertmanager ``template/template.go`` ``Alert``, the webhook payload of
``notify/webhook/webhook.go``). A *firing* is that pair. Before anything else the trigger asks, for
each firing allowed alert of the payload, whether it was served already: a listed run carries it in
its ``mlops-infra/alert-firings`` annotation (the firings that started the run), or a listed run was
created at or after the firing's ``startsAt`` (to the second, ``creationTimestamp``'s resolution: a
run began after the alert did, whoever started it; a run Kueue never admitted in time serves
nothing, see :func:`served_by`). When every one was served the notification is a
repeat: nothing starts (outcome ``repeat``, HTTP 200 with that run). Otherwise the usual rules apply
(nothing while a run is active) and a run started here records the firings it serves. A payload
without ``startsAt`` (not from Alertmanager) is a new firing each time. Not covered: the runs that
served a firing all deleted (``kubectl delete``) before a repeat comes; the repeat then starts one.
The compiled runs have no ``ttlSecondsAfterFinished``, so finished runs stay listed.
Talks to the API server with the pod's service account (``MLOPS_KUBE_API`` and ``MLOPS_SA_DIR``
override the in-cluster defaults, for tests).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import hmac
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API = os.environ.get("MLOPS_KUBE_API", "https://kubernetes.default.svc")
SA_DIR = os.environ.get("MLOPS_SA_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
JOB_LABEL = "mlops-infra/training-job"
ADMISSION_TIMEOUT = "mlops-infra/admission-timeout-seconds"
DEFAULT_ADMISSION_TIMEOUT = 86400.0
FOLLOWS = "mlops-infra/follows"
"""Annotation of a run: the uid of the newest run the launcher saw when it started this one ("none": no run)."""
FIRINGS = "mlops-infra/alert-firings"
"""Annotation of a run an alert started: the firings (``<fingerprint>@<startsAt>``, comma-separated) it serves."""
NO_RUN = "none"
HASH_DIGITS = 10
MAX_NAME = 63
PLURAL = "/apis/kubeflow.org/v1/namespaces/{namespace}/pytorchjobs"


class ApiError(Exception):
    """The API server answered with an error: HTTP ``code`` and the ``Status`` object's ``reason``."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code, self.reason = code, reason


class LaunchError(Exception):
    """A run could not be started, for a reason the message names (exit 1, HTTP 502)."""


def _read(name: str) -> str:
    with open(os.path.join(SA_DIR, name), encoding="utf-8") as handle:
        return handle.read().strip()


def namespace() -> str:
    return os.environ.get("NAMESPACE") or _read("namespace")


def api(method: str, path: str, body: dict | None = None) -> dict:
    """One JSON request to the API server with the service account token; an error answer raises
    :class:`ApiError` (its ``Status`` reason, e.g. ``AlreadyExists``, ``NotFound``)."""
    request = urllib.request.Request(API + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {_read('token')}",
                                              "Content-Type": "application/json", "Accept": "application/json"})
    context = ssl.create_default_context(cafile=os.path.join(SA_DIR, "ca.crt")) if API.startswith("https") else None
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            status = json.load(exc)
        except ValueError:
            status = {}
        status = status if isinstance(status, dict) else {}
        raise ApiError(exc.code, str(status.get("reason") or ""), str(status.get("message") or exc.reason)) from None


def is_active(run: dict) -> bool:
    conditions = (run.get("status") or {}).get("conditions") or []
    return not any(c.get("type") in ("Succeeded", "Failed") and c.get("status") == "True" for c in conditions)


def _created(run: dict) -> float | None:
    stamp = (run.get("metadata") or {}).get("creationTimestamp")
    try:
        return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC).timestamp()
    except (TypeError, ValueError):
        return None


def instant(text: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time as Go writes it (``time.RFC3339Nano``, e.g.
    ``2026-12-05T10:00:00.123456789Z`` or ``...+01:00``), cut to whole seconds; None when not one."""
    if not isinstance(text, str) or len(text) < 20:
        return None
    zone = "+00:00" if text.endswith("Z") else text[-6:]
    try:
        moment = datetime.datetime.fromisoformat(text[:19] + zone)
    except ValueError:
        return None
    return None if moment.year < 1971 else moment.timestamp()  # Go's zero time: no start known


@dataclass(frozen=True)
class Firing:
    """One firing of an alert (module docstring, "One run per firing"): ``key`` is
    ``<fingerprint>@<startsAt>``, ``starts`` its start in whole seconds."""

    key: str
    starts: float


def firings(payload: dict, allowed: list[str]) -> list[Firing]:
    """The firings of the payload's firing alerts that may start a run, by key; none at all when one
    of those alerts has no ``startsAt`` (not Alertmanager's payload: every call is new, module docstring)."""
    found = {}
    for alert in payload.get("alerts") or []:
        labels = alert.get("labels") or {}
        if alert.get("status") != "firing" or labels.get("alertname") not in allowed:
            continue
        fingerprint = str(alert.get("fingerprint") or hashlib.sha256(json.dumps(labels, sort_keys=True).encode())
                          .hexdigest()[:16])
        starts = instant(alert.get("startsAt"))
        if starts is None:
            return []
        key = f"{fingerprint}@{alert['startsAt']}"
        found[key] = Firing(key, starts)
    return [found[k] for k in sorted(found)]


def served_by(firing: Firing, runs: list[dict], now: float) -> dict | None:
    """The newest listed run that serves ``firing``: it records the firing, or it was created at or
    after the firing began; None when no run does (module docstring). A run Kueue never admitted
    within its admission timeout (:func:`never_admitted`) serves nothing: it is expired and replaced
    (finding B7), so a repeat of its firing must not be taken as served, or an alert-only job would
    keep that stuck run and never train."""
    serving = [r for r in runs if not (is_active(r) and never_admitted(r, now)) and (
               firing.key in (((r.get("metadata") or {}).get("annotations") or {}).get(FIRINGS) or "").split(",")
               or (_created(r) or 0.0) >= firing.starts)]
    return max(serving, key=lambda r: (r["metadata"].get("creationTimestamp") or "", r["metadata"]["name"]),
               default=None)


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


def _path(name: str | None = None) -> str:
    base = PLURAL.format(namespace=namespace())
    return base if name is None else base + "/" + urllib.parse.quote(name)


def list_runs(job: str) -> list[dict]:
    """Every listed run of ``job`` (its label), including finished runs and runs being deleted. A LIST
    without ``resourceVersion`` is served from etcd, the most recent state ("Kubernetes API Concepts",
    https://kubernetes.io/docs/reference/using-api/api-concepts/, "Semantics for get and list")."""
    query = urllib.parse.urlencode({"labelSelector": f"{JOB_LABEL}={job}"})
    return api("GET", _path() + "?" + query).get("items") or []


def newest_run(runs: list[dict]) -> dict | None:
    """The run a new run follows (module docstring): of the runs no listed run follows, the latest
    ``creationTimestamp``, ties broken by name; None without runs. Depends only on the list, so two
    launchers that listed the same runs pick the same one."""
    followed = {((r.get("metadata") or {}).get("annotations") or {}).get(FOLLOWS) for r in runs}
    ends = [r for r in runs if r["metadata"].get("uid") not in followed] or runs
    return max(ends, key=lambda r: (r["metadata"].get("creationTimestamp") or "", r["metadata"]["name"]), default=None)


def run_name(template: dict, job: str, follows: str) -> str:
    """The name of the run that follows the run with uid ``follows`` (``"none"``: the job's first):
    the template's ``generateName`` prefix (else ``<job>-``) + 10 hex digits of SHA-256 of
    ``<job>/<follows>``, at most 63 characters (module docstring)."""
    digest = hashlib.sha256(f"{job}/{follows}".encode()).hexdigest()[:HASH_DIGITS]
    prefix = template["metadata"].get("generateName") or f"{job}-"
    return prefix[: MAX_NAME - HASH_DIGITS] + digest


@dataclass(frozen=True)
class Outcome:
    """What one launch did. ``outcome``: ``started`` (this call created ``run``), ``active`` (``run``
    was already active: nothing started), ``concurrent`` (another trigger created ``run`` from the
    same history a moment ago: nothing started here), ``repeat`` (every firing of the notification
    was served already, by ``run``: nothing started)."""

    job: str
    run: str | None
    outcome: str

    @property
    def created(self) -> str | None:
        return self.run if self.outcome == "started" else None


def _expire(job: str, run: dict) -> None:
    """Delete a run Kueue never admitted; already gone (another launcher deleted it) is fine."""
    name = run["metadata"]["name"]
    print(f"{job}: run {name} was not admitted by Kueue in time; deleting it", flush=True)
    try:
        api("DELETE", _path(name))
    except ApiError as exc:
        if exc.code != 404:
            raise


def _check_started_by_another(job: str, name: str, follows: str) -> None:
    """After a 409 for ``name``: the object there must be the run of ``job`` following ``follows`` (a
    concurrent trigger created it), not being deleted; else :class:`LaunchError` names what it is."""
    try:
        found = api("GET", _path(name))
    except ApiError as exc:
        if exc.code != 404:
            raise
        raise LaunchError(f"{job}: run {name} already existed when this launcher created it and was deleted "
                          "right after; nothing started: trigger again") from None
    meta = found.get("metadata") or {}
    ours = (meta.get("labels") or {}).get(JOB_LABEL) == job and (meta.get("annotations") or {}).get(FOLLOWS) == follows
    if ours and not meta.get("deletionTimestamp"):
        return
    what = ("is being deleted" if ours else
            f"is {found.get('kind', 'an object')} {name} (training job {(meta.get('labels') or {}).get(JOB_LABEL)!r}, "
            f"follows {(meta.get('annotations') or {}).get(FOLLOWS)!r}), not the run of {job} following {follows}")
    raise LaunchError(f"{job}: cannot start run {name}: that name {what}; nothing started. Delete that "
                      f"PyTorchJob (kubectl delete pytorchjob {name}) if it is not needed, then trigger again")


def start(template_path: str, reason: str, now: float | None = None, fired: list[Firing] | None = None) -> Outcome:
    """Start a run of the template's job unless one is active (module docstring: across pods) or,
    for an alert's notification, unless every one of its firings ``fired`` was served already
    (module docstring, "One run per firing")."""
    with open(template_path, encoding="utf-8") as handle:
        template = json.load(handle)
    job = template["metadata"]["labels"][JOB_LABEL]
    now = time.time() if now is None else now
    runs = list_runs(job)
    fresh = [f for f in fired or [] if served_by(f, runs, now) is None]
    if fired and not fresh:
        served = served_by(fired[-1], runs, now)
        name = served["metadata"]["name"] if served else None
        print(f"{job}: the firing alerts were served already by run {name} (a repeat notification); not starting "
              f"another ({reason})", flush=True)
        return Outcome(job, name, "repeat")
    expired = [r for r in runs if is_active(r) and never_admitted(r, now)]
    active = sorted(r["metadata"]["name"] for r in runs if is_active(r) and not never_admitted(r, now))
    if active:
        print(f"{job}: run {active[0]} is still active; not starting another ({reason})", flush=True)
        return Outcome(job, active[0], "active")
    newest = newest_run(runs)
    follows = newest["metadata"]["uid"] if newest else NO_RUN
    name = run_name(template, job, follows)
    body = copy.deepcopy(template)
    body["metadata"].pop("generateName", None)
    body["metadata"]["name"] = name
    annotations = body["metadata"].setdefault("annotations", {})
    annotations["mlops-infra/launched-by"] = reason[:256]
    annotations[FOLLOWS] = follows
    if fresh:
        annotations[FIRINGS] = ",".join(f.key for f in fresh)
    try:
        api("POST", _path(), body)
        outcome = Outcome(job, name, "started")
        print(f"{job}: started run {name} ({reason})", flush=True)
    except ApiError as exc:
        if (exc.code, exc.reason) != (409, "AlreadyExists"):
            raise
        _check_started_by_another(job, name, follows)
        outcome = Outcome(job, name, "concurrent")
        print(f"{job}: run {name} was started by another trigger at the same moment; not starting another "
              f"({reason})", flush=True)
    for run in expired:  # only now that the next run exists (module docstring)
        _expire(job, run)
    return outcome


def launch(template_path: str, reason: str, now: float | None = None) -> str | None:
    """Create a run from the template unless one is active; return its name (None: nothing was
    created here: a run is active, or a concurrent trigger started it). See :func:`start`."""
    return start(template_path, reason, now).created


def firing_alerts(payload: dict, allowed: list[str]) -> list[str]:
    """Names of firing alerts in an Alertmanager webhook payload that may start a run."""
    names = {a.get("labels", {}).get("alertname", "") for a in payload.get("alerts") or []
             if a.get("status") == "firing"}
    return sorted(names & set(allowed))


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def read_token(path: str) -> str:
    """The token held by ``path``, as stored (the kubelet writes the Secret's value byte for byte); ""
    when the file is absent, unreadable or empty: fail closed, never an error."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return ""


def make_handler(templates: str, routes: dict[str, list[str]], token: str | None = None,
                 token_file: str | None = None) -> type[BaseHTTPRequestHandler]:
    """The webhook's request handler. The token: ``token_file`` read on every POST when given, else
    ``token``, else ``$MLOPS_TRIGGER_TOKEN`` (see the module docstring)."""
    fixed = os.environ.get("MLOPS_TRIGGER_TOKEN", "") if token is None else token

    def current_token() -> str:
        return read_token(token_file) if token_file is not None else fixed

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
            token = current_token()
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
                done = start(os.path.join(templates, f"{job}.json"), "alert:" + ",".join(alerts),
                             fired=firings(payload, routes[job]))
            except Exception as exc:  # reported to Alertmanager, which retries
                self._reply(502, {"error": str(exc)})
                return
            self._reply(200, {"launched": done.created, "run": done.run, "outcome": done.outcome})

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
    serve.add_argument("--token-file", help="a file holding the bearer token, read on every request "
                                            "(absent or empty: every POST is refused with 503)")
    args = parser.parse_args(argv)
    if args.mode == "launch":
        try:
            start(args.template, args.reason)
        except (ApiError, LaunchError, OSError) as exc:
            print(f"launcher: {exc}", file=sys.stderr, flush=True)
            return 1
        return 0
    if args.routes_file is not None:
        with open(args.routes_file, encoding="utf-8") as f:
            routes = json.load(f)
    else:
        routes = json.loads(args.routes)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(args.templates, routes, token_file=args.token_file))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
