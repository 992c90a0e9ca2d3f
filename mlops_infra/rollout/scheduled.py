"""The scheduled runner: one reconcile pass over an environment's rollouts per tick, with no terminal.

So that a rollout never depends on a terminal staying open, the compiler puts a runner into the graph of
every environment that has endpoints with a progressive rollout (docs/rollout.md):

- AWS: a Lambda whose handler is :func:`handler`, invoked by an EventBridge Scheduler rate schedule
  (``compile/aws/rollout_runner.py``);
- Kubernetes: a CronJob running ``python -m mlops_infra.rollout.scheduled``
  (``compile/kubernetes/rollout_runner.py``).

Both ship this package's own modules (the same reconcile, fleet pass, drivers and gates as
``mlops-infra rollout``) with a document, ``rollouts.json``, that the compiler writes beside them.

Contract:
- The document: ``{"target": "aws" | "kubernetes", "rollouts": [{"address": "endpoints.<name>",
  "plan": graph.rollouts[address], ...}], ...}``; on AWS each rollout also has ``"endpoint":
  {"endpoint", "version", "finalConfig", "model", "autoscaling", "configPrefix"}`` (the :class:`EndpointTarget`
  the CLI reads from the graph, ``rollout/connect.py``; ``configPrefix`` the name prefix of the endpoint's
  rollout configs, ``compile/aws/rollout_runner.py`` ``config_prefix``, absent from a document written
  before it, then the driver's ``<endpoint>[:40]``; ``autoscaling`` is the declared
  :class:`DeclaredScaling` as ``{"target": {"MinCapacity", "MaxCapacity"}, "policies":
  [PutScalingPolicy arguments]}``, or null, ``compile/rollout_code.py``) and the document has
  ``"region"``; on Kubernetes it has
  ``"namespace"`` and, when gates need it, ``"prometheusUrl"``.
- Parts (Kubernetes, when one ConfigMap cannot hold the document: ``compile/kubernetes/rollout_runner.py``,
  "Size"): the document may also have ``"parts": ["rollouts-2.json", ...]``, files beside it (same
  directory) each ``{"rollouts": [...]}``. :func:`load_document` returns the document with its own
  rollouts then each part's, in the listed order, one per address (a repeated address keeps its first
  entry: a pod started while ``pulumi up`` was rewriting the parts may see an entry on both sides of
  a moved boundary), and without ``"parts"``. A listed part that is missing or is not such a JSON
  object raises :class:`DocumentError` naming the file; :func:`main` logs it as one JSON line
  (``{"error": ...}``) and exits 1 (the next tick reads the parts again). AWS documents have no parts.
- :func:`run_pass` builds one fleet member per rollout and runs
  :func:`~mlops_infra.rollout.fleet.reconcile_fleet` once at ``now``. It never loops or sleeps: the
  schedule is the loop. The reconciler is level-triggered, so a missed, late, repeated or overlapping
  tick changes nothing (two passes at once converge: one acts, the other observes it lost).
- Each endpoint's outcome is logged as one JSON line (endpoint, action, acted, lost, message, error,
  and ``deleted``: the kept models and configs the pass deleted, when any);
  :func:`summary` is what the handler returns.
- :func:`handler` (Lambda) and :func:`main` (CronJob) raise / exit 1 after logging when an endpoint's
  pass failed, or its rollback notice could not be sent (:func:`_failed`), so the failure is visible
  (the function's ``Errors`` metric, which the compiled ``rollout-runner.errors`` alarm sends to the
  canaries' ``rollback_on`` channels; the Job's failed status); the next tick tries again (a pass is
  idempotent, and a notice left pending is sent by the next pass). A notice that fails does not fail
  the *pass* (its traffic and status writes stand, the other endpoints' passes and notices run): it
  fails the invocation after them, since a notice that keeps failing (the Pushgateway down, a topic's
  key policy refusing ``Publish``) would otherwise be told to nobody, every minute, in a log line.
- Rollback notices ("a rollback is an alert", docs/rollout.md "Who is told"). A rollback the
  controller makes on its own (a gate fired or stayed unreadable past ``gate_timeout``) is written with
  its notice pending, by whichever pass makes it (this runner, ``mlops-infra rollout``, ``--watch``:
  ``rollout/runner.py`` ``announce``; ``RolloutStatus.notice``). After its reconcile pass the runner
  sends one notice for each endpoint whose document entry has ``"notify": true`` and whose rollout
  status, after the pass, is rolled back with its notice pending (:func:`pending_notice`: the status
  this pass wrote, else the one it observed; none when the pass lost or failed), then records it sent:
  a ``record`` decision carried out by the endpoint's driver (``act``), guarded like every status
  write (the SageMaker driver compares the stored status, the KServe driver patches with the
  ConfigMap's ``resourceVersion``), on a new observation made after the pass's own writes (one more
  read per notice: a step, a rollback or a tidy of this pass changed the concurrency token). So a rollback
  made from a terminal (whose pass has no notifier: a laptop often cannot reach the in-cluster
  Pushgateway nor may ``PutMetricData``), or completed by rule 4 on a later pass (the pass that wrote
  it lost its traffic write or was killed after the status write), is told by the next tick. The
  notice is at-least-once: a notice that fails is logged on the endpoint's line (``"notice": "failed:
  <error>"``), stays pending and is sent again by the next pass; one sent but not recorded (another
  writer came first) may be sent again; two passes at once may both send. A repeat tells nobody twice:
  the AWS alarm is already in ALARM (an SNS action runs on a state change only) and a Pushgateway push
  replaces the group's gauge, keeping the alert firing. A status stored before notices were recorded
  has none pending (an upgrade sends nothing for an old rollback); ``--abort`` (phase ``aborted``)
  has no notice. The notice is sent by the document's ``"notifications"`` settings: on AWS
  (``{"namespace", "metric", "dimensions", "alarms", "gates"}``) a CloudWatch ``PutMetricData`` of value
  1 (Count) with the dimensions plus ``Endpoint`` (the compiled alarm on that metric holds ALARM for 15
  minutes, then its OK actions resolve the notice, ``compile/aws/alerting.py``), then a ``Publish`` of
  :func:`notice_message` (the facts, in the shape of that alarm's change to ALARM) to each of the
  endpoint's channel topics, which the forwarder formats as it formats alarms (the alarm itself has
  no ALARM action: one paging path); on Kubernetes (``{"pushgatewayUrl", "job",
  "grouping", "metric", "gates"}``) a ``PUT`` to the Pushgateway of the gauge ``metric`` = the time of
  the notice (epoch seconds) under the grouping key ``job`` + ``grouping`` + ``endpoint``
  (:func:`grouping_path`), its sample labelled with the notice's facts (the compiled PrometheusRule
  fires for 15 minutes after it with the facts as labels and in its annotations,
  ``compile/kubernetes/alerting.py``). The facts (:func:`notice_facts`: the versions, the share, the
  cause and which alerts with their values and thresholds) say why without a terminal; the full
  reason (the rollback's message, with the text of a cloud or cluster answer) stays the log line's
  ``message`` and the status's ``reason``, never in a notice. The line's ``"notice"``:
  ``"sent"`` (and recorded), ``"sent, not recorded: <why>"`` or ``"failed: <error>"``; a notice never
  fails the pass nor undoes the rollback (a failed one fails the invocation after the pass, above).
- Imports: the standard library and the rollout package; ``boto3`` (in the Lambda runtime) on AWS
  only. On Kubernetes the API is reached through :class:`ServiceAccountKube`, a standard-library client
  of the requests the KServe driver makes (GET and a ``resourceVersion``-guarded merge PATCH of its
  InferenceService and of its rollout-status ConfigMap; GET of the Knative Revision it judges), because the CronJob runs the stock Python image, which has no ``kubernetes``
  package (``compile/kubernetes/images.py``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from mlops_infra.rollout.fleet import FleetResult, Member, reconcile_fleet
from mlops_infra.rollout.model import NOTICE_PENDING, NOTICE_SENT, Decision, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import duration
from mlops_infra.rollout.runner import Lost, NoGates

DOCUMENT = "rollouts.json"
"""The runner's document, shipped beside the code (``MLOPS_ROLLOUTS_FILE`` overrides the path)."""
MAX_WORKERS = 8
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class DocumentError(Exception):
    """The runner's document, or one of its parts, cannot be read (the message names the file)."""


def load_document(path: str | None = None) -> dict[str, Any]:
    """The runner's document, its parts' rollouts merged in (see the module contract): ``path``, else
    ``MLOPS_ROLLOUTS_FILE``, else ``rollouts.json`` at the root of the shipped code (two levels above
    this module)."""
    where = Path(path or os.environ.get("MLOPS_ROLLOUTS_FILE") or Path(__file__).resolve().parents[2] / DOCUMENT)
    with open(where, encoding="utf-8") as handle:
        document = json.load(handle)
    parts = document.pop("parts", None) or []
    if not parts:
        return document
    rollouts, seen = [], set()
    for item in [*document["rollouts"], *(entry for part in parts for entry in _part(where.parent / part))]:
        if item["address"] not in seen:
            seen.add(item["address"])
            rollouts.append(item)
    document["rollouts"] = rollouts
    return document


def _part(where: Path) -> list[dict[str, Any]]:
    """The rollouts of one part of the document."""
    try:
        with open(where, encoding="utf-8") as handle:
            part = json.load(handle)
    except OSError as exc:
        raise DocumentError(f"{where}: a part of the runner's document cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise DocumentError(f"{where}: a part of the runner's document is not JSON ({exc})") from None
    if not isinstance(part, dict) or not isinstance(part.get("rollouts"), list):
        raise DocumentError(f'{where}: a part of the runner\'s document must be {{"rollouts": [...]}}')
    return part["rollouts"]


def aws_members(document: dict[str, Any], session: Any = None) -> list[Member]:
    """One member per rollout of an AWS document: a SageMakerDriver and CloudWatchGates (one shared
    CloudWatch client, so a fleet pass batches the gate reads)."""
    import boto3  # in the Lambda runtime
    from botocore.config import Config

    from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling, EndpointTarget, SageMakerDriver
    from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates

    session = session or boto3.Session(region_name=document.get("region"))
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    sagemaker = session.client("sagemaker", config=config)
    autoscaling = session.client("application-autoscaling", config=config)
    gates = CloudWatchGates(session.client("cloudwatch", config=config))
    members = []
    for item in document["rollouts"]:
        spec = RolloutSpec.from_graph(item["address"], item["plan"])
        where = item["endpoint"]
        target = EndpointTarget(where["endpoint"], str(where["version"]), where["finalConfig"], where["model"],
                                DeclaredScaling.from_document(where.get("autoscaling")),
                                str(where.get("configPrefix") or ""))  # older documents: the driver's old rule
        members.append(Member(spec, SageMakerDriver(sagemaker, target, autoscaling=autoscaling),
                              gates if spec.gates else NoGates()))
    return members


class ServiceAccountKube:
    """The Kubernetes API requests the KServe driver makes (GET and a guarded PATCH of its
    InferenceService and its rollout-status ConfigMap, GET of a Knative Revision), with the pod's
    service account.

    ``get`` and ``patch`` have :class:`~mlops_infra.kube.KubeClient`'s signatures; a 409 Conflict on a
    guarded patch raises :class:`~mlops_infra.kube.KubeConflict` (the driver's "lost" signal), any
    other HTTP error :class:`~mlops_infra.kube.KubeError` naming the request. The API server is
    ``https://kubernetes.default.svc`` with the service account's token and CA (Kubernetes "Accessing
    the Kubernetes API from a Pod", https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/);
    ``MLOPS_KUBE_API`` and ``MLOPS_SA_DIR`` override both (tests point them at the API stand-in).
    """

    def __init__(self, api: str | None = None, sa_dir: str | None = None, timeout: float = 30.0) -> None:
        self.api = (api or os.environ.get("MLOPS_KUBE_API") or "https://kubernetes.default.svc").rstrip("/")
        self.sa_dir = Path(sa_dir or os.environ.get("MLOPS_SA_DIR") or SA_DIR)
        self.timeout = timeout
        ca = self.sa_dir / "ca.crt"
        self.context = ssl.create_default_context(cafile=str(ca)) if ca.exists() else None

    def _request(self, method: str, path: str, body: Any = None,
                 content_type: str = "application/json") -> dict[str, Any]:
        from mlops_infra.kube import errors

        token_file = self.sa_dir / "token"
        headers = {"Accept": "application/json", "Content-Type": content_type}
        if token_file.exists():  # re-read each request: the kubelet rotates projected tokens
            headers["Authorization"] = f"Bearer {token_file.read_text(encoding='utf-8').strip()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method, headers=headers)
        what = f"{method} {path}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
            raise errors.from_status(exc.code, answer, what) from None
        except OSError as exc:
            raise errors.unreachable(self.api, what, exc) from None

    def get(self, rtype: Any, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self._request("GET", rtype.path(namespace, name))

    def patch(self, rtype: Any, name: str, namespace: str | None, patch: dict[str, Any], *,
              resource_version: str | None = None, field_manager: str | None = None) -> dict[str, Any]:
        body = dict(patch)
        if resource_version is not None:
            body["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": resource_version}
        path = rtype.path(namespace, name)
        if field_manager:
            path += "?" + urllib.parse.urlencode({"fieldManager": field_manager})
        return self._request("PATCH", path, body, "application/merge-patch+json")


def kubernetes_members(document: dict[str, Any], kube: Any = None) -> list[Member]:
    """One member per rollout of a Kubernetes document: a KServeDriver on the document's namespace and,
    for gated rollouts, PrometheusGates at ``MLOPS_PROMETHEUS_URL`` if set, else the document's
    ``prometheusUrl``."""
    from mlops_infra.rollout.drivers.kserve import KServeDriver
    from mlops_infra.rollout.gates.prometheus import PrometheusGates

    kube = kube if kube is not None else ServiceAccountKube()
    namespace = document["namespace"]
    url = os.environ.get("MLOPS_PROMETHEUS_URL") or document.get("prometheusUrl")
    members = []
    for item in document["rollouts"]:
        spec = RolloutSpec.from_graph(item["address"], item["plan"])
        gates = PrometheusGates(url, namespace=namespace) if spec.gates and url else NoGates()
        members.append(Member(spec, KServeDriver(kube, namespace, spec.endpoint), gates))
    return members


def members(document: dict[str, Any]) -> list[Member]:
    return aws_members(document) if document.get("target") == "aws" else kubernetes_members(document)


Notifier = Callable[[str, float, dict[str, str]], None]
"""Sends one rollback notice: ``(endpoint, time of the notice, its facts)`` (:func:`notice_facts`);
raises when it could not."""
NOTICE_RECORDED = "rollback notice sent"
NOTICE_FACTS = ("version", "serving_version", "share", "cause", "detail")
"""The facts of a rollback notice (:func:`notice_facts`), in the order a reader wants them."""
CAUSES = ("alert_fired", "gate_unreadable", "revision_failed", "revision_not_ready", "traffic_not_in_effect", "unknown")
"""Why the rollout rolled back (``unknown``: a recorded reason in no shape the reconciler writes)."""
MAX_FACT = 200
"""The longest fact value: far below anything a Prometheus label value, a Pushgateway body or a
PagerDuty summary (1024 characters) must hold, so a notice with many gates stays one readable line."""
_AT_STEP = re.compile(r" at step (?P<step>\d+) \((?P<share>\d+)% on version [^()]*\)$")
_BEFORE_STEP = re.compile(r" before step 1 \(version [^()]* keeps all traffic\)$")
_FIRED = re.compile(r" fired at step \d+ \(\d+% on version [^()]*\)$")
_UNREADABLE = re.compile(r"^gate\(s\) .* unreadable for (?P<blind>\w+) at step \d+ \(\d+% on version [^()]*\)$")
# A revision's version is its key: ``<version> of <model>`` on Kubernetes (``drivers/kserve.py`` ``revision_key``;
# KServe copies both annotations onto each Revision), the bare number without a model annotation.
_REVISION = re.compile(r"^revision (?P<revision>[a-z0-9][a-z0-9.-]*) of version \S+(?: of \S+)? (?:(?P<failed>failed)|not ready "
                       r"after (?P<after>\w+) \(timeout \w+\))(?:: (?P<why>[A-Za-z][A-Za-z0-9]{0,62})(?::|$| at | before ))?")
_NOT_IN_EFFECT = re.compile(r"^share not in effect after (?P<after>\w+) \(timeout \w+\)"
                            r"(?:: .*? yet: (?P<why>[A-Za-z][A-Za-z0-9]{0,62})(?::| at ))?")
_NUMBER = r"[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)"


def notice_facts(spec: RolloutSpec, status: RolloutStatus, gates: dict[str, Any] | None = None) -> dict[str, str]:
    """The facts of ``status``'s rollback notice, :data:`NOTICE_FACTS`, each at most :data:`MAX_FACT`
    characters, the same on both targets (see the module contract, "Rollback notices"):

    - ``version``: the version rolled back; ``serving_version``: the one left serving all traffic;
    - ``share``: the share of traffic the rolled-back version had at its step (``10%``; ``0%`` for a
      revision that never became ready before the first step; ``unknown`` when the recorded reason was
      cut before saying it);
    - ``cause``: one of :data:`CAUSES`; ``detail``: which alerts fired with the value read and the
      threshold, in the threshold's unit as the user wrote it (``scorer-latency 310ms > 250ms``), which
      gates stayed unreadable and for how long against ``gate_timeout``, or which Knative revision
      failed (with Knative's one-word reason, such as ``ProgressDeadlineExceeded``) or stayed not
      ready against ``not_ready_timeout``, or how long the step's share stayed not in effect against
      the same timeout (Kubernetes, with the route's one-word reason, such as ``RevisionMissing``:
      ``rollout/reconcile.py`` rule 8).

    They are read from the rolled-back status (its ``reason``, written by ``rollout/reconcile.py``
    rules 2, 6, 7 and 8, and its versions and step), so a notice sent by a later pass than the rollback,
    or sent again, carries the same facts. ``gates`` is the document's ``notifications.gates``: per
    gate, ``{"threshold": <as written>, "compare": ">" | "<", "scale": <factor from the gate's value
    to the threshold's unit>, "unit": <that unit>, "alert": <the alert's name, when the gate is an AWS
    alarm>}`` (``compile/*/alerting.py`` ``rollback_gates``);
    a gate it does not describe shows the value as read. No free text is copied: never an error's
    message from a cloud or cluster answer (those stay in the status's ``reason`` and the log line),
    only names from the spec and the cluster, numbers and the fixed words here."""
    reason = status.reason
    tail = _AT_STEP.search(reason)
    share = f"{tail.group('share')}%" if tail else "0%" if _BEFORE_STEP.search(reason) else "unknown"
    revision = _REVISION.match(reason)
    if revision is not None:
        why = f" ({revision.group('why')})" if revision.group("why") else ""
        if revision.group("failed"):
            cause, detail = "revision_failed", f"revision {revision.group('revision')} failed{why}"
        else:
            cause = "revision_not_ready"
            detail = (f"revision {revision.group('revision')} not ready after {revision.group('after')} "
                      f"(not_ready_timeout {duration(spec.not_ready_timeout_seconds)}){why}")
    elif (late := _NOT_IN_EFFECT.match(reason)) is not None:
        cause = "traffic_not_in_effect"
        why = f" ({late.group('why')})" if late.group("why") else ""
        detail = (f"the step's share not in effect after {late.group('after')} "
                  f"(not_ready_timeout {duration(spec.not_ready_timeout_seconds)}){why}")
    elif (blind := _UNREADABLE.match(reason)) is not None:
        names = [g for g in spec.gates if re.search(rf"(?:^gate\(s\) |, ){re.escape(g)}(?: |,|$)", reason)]
        cause = "gate_unreadable"
        detail = (f"{', '.join(names) or 'the gates'} unreadable for {blind.group('blind')} "
                  f"(gate_timeout {duration(spec.gate_timeout_seconds)})")
    elif _FIRED.search(reason):
        cause = "alert_fired"
        detail = ", ".join(_fired(name, reason, (gates or {}).get(name)) for name in spec.gates
                           if re.search(rf"(?:^|, ){re.escape(name)}(?: |,|$)", reason)) or "a rollback_on alert fired"
    else:
        cause, detail = "unknown", "see the rollout's recorded reason (`mlops-infra rollout`)"
    facts = {"version": status.revision, "serving_version": status.previous, "share": share, "cause": cause,
             "detail": detail}
    return {k: v if len(v) <= MAX_FACT else v[:MAX_FACT - 3] + "..." for k, v in facts.items()}


def _fired(name: str, reason: str, gate: dict[str, Any] | None) -> str:
    """``<gate> <value><unit> > <threshold>`` for a fired gate, the value as read when ``gate`` does not
    say how to scale it, ``<gate> fired`` when the reading had no value."""
    found = re.search(rf"(?:^|, ){re.escape(name)} = (?P<value>{_NUMBER})(?: |,|$)", reason)
    alert = str((gate or {}).get("alert") or name)
    if found is None:
        return f"{alert} fired"
    value = float(found.group("value"))
    if not gate:
        return f"{alert} = {value:g}"
    shown = value * float(gate.get("scale", 1))
    return f"{alert} {shown:.4g}{gate.get('unit', '')} {gate.get('compare', '>')} {gate.get('threshold', '')}".rstrip()


def _pending(status: RolloutStatus | None) -> bool:
    return status is not None and status.phase == "rolled_back" and status.notice == NOTICE_PENDING


def pending_notice(result: FleetResult) -> RolloutStatus | None:
    """The rolled-back status whose notice is still to be sent after this pass: the one the pass wrote,
    else the one it observed (the pass completed a rollback, found one settled, or replaced one with a
    new version's start); None when the pass failed or lost (the next pass observes again)."""
    done = result.result
    if done is None or done.lost:
        return None
    written = done.decision.status if done.acted else None
    return written if _pending(written) else done.observed.status if _pending(done.observed.status) else None


def record_notice(member: Member, status: RolloutStatus, now: float) -> str:
    """Record ``status``'s notice sent, guarded like every status write (see the module contract);
    returns the log line's ``"notice"``."""
    try:
        seen = member.driver.observe()  # after the pass's own writes (a step, a rollback, a tidy's untagging)
        if seen.status is None or seen.status.to_fields() != status.to_fields():
            return "sent, not recorded: the rollout's status changed since"
        member.driver.act(Decision("record", NOTICE_RECORDED, None, status.evolve(notice=NOTICE_SENT)), seen, now)
    except Lost:
        return "sent, not recorded: another reconciler wrote the status first (the next pass may send it again)"
    except Exception as exc:  # the notice is out: the next pass sends it again
        return f"sent, not recorded: {type(exc).__name__}: {exc}"[:300]
    return "sent"


def send_notices(fleet: list[Member], results: list[FleetResult], notify: Collection[str],
                 notifier: Notifier | None, now: float, gates: dict[str, Any] | None = None) -> dict[str, str]:
    """``{endpoint: "sent" | "sent, not recorded: ..." | "failed: <error>"}`` for each endpoint of
    ``notify`` with a notice pending after the pass, each sent with its :func:`notice_facts` (``gates``:
    the document's ``notifications.gates``; see the module contract)."""
    notices: dict[str, str] = {}
    if notifier is None:
        return notices
    for member, result in zip(fleet, results, strict=True):
        status = pending_notice(result) if result.endpoint in notify else None
        if status is None:
            continue
        try:
            notifier(result.endpoint, now, notice_facts(member.spec, status, gates))
        except Exception as exc:  # a notice never fails the pass nor undoes the rollback; the next pass retries
            notices[result.endpoint] = f"{NOTICE_FAILED}{type(exc).__name__}: {exc}"[:300]
            continue
        notices[result.endpoint] = record_notice(member, status, now)
    return notices


def notice_text(system: str, environment: str, endpoint: str, facts: dict[str, str]) -> tuple[str, str]:
    """The notice's summary and description, word for word what the Kubernetes rollback alert's
    annotations expand to (``compile/kubernetes/alerting.py`` ``rollback_annotations``), so a channel
    reads the same on both targets. Cause ``traffic_not_in_effect`` (Kubernetes only, rule 8 of
    ``rollout/reconcile.py``) does not claim the previous version serves all traffic: Knative's route
    could not be programmed, so the rollback is not in effect either (closing-41a-4)."""
    summary = (f"{system}/{environment}: the rollout of endpoint {endpoint} was rolled back: version "
               f"{facts.get('version', '')} at {facts.get('share', '')} ({facts.get('detail', '')})")
    version, serving = facts.get("version", ""), facts.get("serving_version", "")
    rolled = f"Version {version} of endpoint {endpoint} was rolled back at {facts.get('share', '')} of traffic"
    cause = f" Cause: {facts.get('cause', '')}: {facts.get('detail', '')}."
    if facts.get("cause") == "traffic_not_in_effect":  # closing-41a-4: the blocked route keeps its last split
        return summary, (f"{rolled}, but the rollback is not in effect: Knative's route cannot be programmed and keeps "
                         f"the last split it applied (version {version} keeps its share of it) until what the route's "
                         f"reason names is fixed; only then does version {serving} serve all traffic.{cause}")
    return summary, f"{rolled}; version {serving} serves all traffic.{cause}"


def notice_message(settings: dict[str, Any], endpoint: str, when: float, facts: dict[str, str]) -> dict[str, Any]:
    """The AWS notice as the channels' topics carry it: a CloudWatch alarm state change to ALARM of the
    endpoint's rollback alarm (the shape CloudWatch publishes, which the forwarder reads:
    ``AlarmName``, ``AlarmDescription``, ``AlarmArn``, ``NewStateValue``, ``OldStateValue``,
    ``NewStateReason``, ``StateChangeTime``; "Amazon SNS message format" of CloudWatch alarms), its
    ``NewStateReason`` the notice's description, plus ``mlopsRollback``: the facts, the system,
    environment and endpoint, the summary and description (:func:`notice_text`)."""
    alarm = settings["alarms"][endpoint]
    dims = settings["dimensions"]
    summary, description = notice_text(dims.get("System", ""), dims.get("Environment", ""), endpoint, facts)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when * 1000) % 1000:03d}+0000"
    return {"AlarmName": alarm["name"], "AlarmDescription": alarm["description"], "AlarmArn": alarm["arn"],
            "NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": description, "StateChangeTime": stamp,
            "mlopsRollback": {"system": dims.get("System", ""), "environment": dims.get("Environment", ""),
                              "endpoint": endpoint, "facts": dict(facts), "summary": summary,
                              "description": description}}


def notice_body(message: dict[str, Any]) -> str:
    """The ``Message`` of a ``Publish`` with ``MessageStructure`` ``json``: ``default`` (every protocol
    without its own entry: the forwarder's Lambda, a queue) the message as JSON, ``email`` its summary
    and description as text (SNS ``Publish``: "If you want to send different messages for each
    transport protocol, set the value of the MessageStructure parameter to json and use a JSON object
    for the Message parameter")."""
    told = message["mlopsRollback"]
    return json.dumps({"default": json.dumps(message, sort_keys=True),
                       "email": f"{told['summary']}\n\n{told['description']}\n"}, sort_keys=True)


def cloudwatch_notifier(cloudwatch: Any, settings: dict[str, Any], sns: Any = None) -> Notifier:
    """One ``PutMetricData`` per notice (botocore ``PutMetricDataInput``: ``Namespace``,
    ``MetricData[].MetricName``, ``Dimensions`` of ``Name``/``Value``, ``Value``, ``Unit``): the
    datapoint that holds the rollback alarm in ALARM for the hold and resolves it after (its OK
    actions); then, with ``sns`` and the settings' ``alarms``, one ``Publish`` of :func:`notice_message`
    to each of the endpoint's channel topics (botocore ``PublishInput``: ``TopicArn``, ``Message``,
    ``Subject`` under 100 characters, ``MessageStructure`` ``json`` with a ``default`` entry: a JSON
    object of per-protocol strings, here ``default`` = the message for the forwarder and ``email`` =
    its summary and description as text). The alarm has no ALARM action: this publish is the one
    notification. Any failure raises (the notice stays pending and the next pass sends it again)."""
    def put(endpoint: str, when: float, facts: dict[str, str] | None = None) -> None:
        dimensions = [{"Name": k, "Value": v} for k, v in sorted({**settings["dimensions"], "Endpoint": endpoint}.items())]
        cloudwatch.put_metric_data(Namespace=settings["namespace"], MetricData=[{
            "MetricName": settings["metric"], "Dimensions": dimensions, "Value": 1.0, "Unit": "Count"}])
        alarm = (settings.get("alarms") or {}).get(endpoint)
        if sns is None or alarm is None:
            return
        body = notice_body(notice_message(settings, endpoint, when, facts or {}))
        subject = f"ALARM: {alarm['name']}"
        for topic in alarm["topics"]:
            sns.publish(TopicArn=topic, Message=body, MessageStructure="json",
                        Subject=subject[:99])
    return put


def grouping_path(job: str, labels: list[tuple[str, str]]) -> str:
    """``/metrics/job/<job>/<label>/<value>...``: each value URL-encoded as a path segment, or, when it
    holds a ``/`` or is empty, as ``<label>@base64/<URL-safe base64>`` (Pushgateway README, "URL": "the
    only way to handle" a value with a ``/``, which plain or URI-encoded would be read as a path
    separator, and an empty value, which needs at least one ``=`` of padding)."""
    def segment(name: str, value: str) -> str:
        if "/" in value or not value:
            return f"/{name}@base64/{base64.urlsafe_b64encode(value.encode()).decode() or '='}"
        return f"/{name}/{urllib.parse.quote(value, safe='')}"
    return "/metrics" + segment("job", job) + "".join(segment(k, v) for k, v in labels)


def _label_value(value: str) -> str:
    """A label value in the text exposition format: backslash, double quote and line feed escaped
    (Prometheus "Exposition formats", text format: "label_value can be any sequence of UTF-8 characters,
    but the backslash (\\), double-quote ("), and line feed (\\n) characters have to be escaped")."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def pushgateway_notifier(settings: dict[str, Any], timeout: float = 10.0) -> Notifier:
    """One ``PUT /metrics/job/<job>/<label>/<value>...`` per notice (:func:`grouping_path`): the gauge,
    replacing the group's metrics (Pushgateway README, "PUT method"), its sample labelled with the
    notice's facts (:data:`NOTICE_FACTS`; labels of the body, not of the grouping key, so the group
    stays one per endpoint and a new rollback's facts replace the last one's)."""
    def push(endpoint: str, when: float, facts: dict[str, str] | None = None) -> None:
        labels = [*settings["grouping"].items(), ("endpoint", endpoint)]
        path = grouping_path(settings["job"], labels)
        metric = settings["metric"]
        shown = ",".join(f'{k}="{_label_value(facts[k])}"' for k in NOTICE_FACTS if (facts or {}).get(k))
        body = f"# TYPE {metric} gauge\n{metric}{'{' + shown + '}' if shown else ''} {when:.3f}\n".encode()
        request = urllib.request.Request(settings["pushgatewayUrl"].rstrip("/") + path, data=body, method="PUT",
                                         headers={"Content-Type": "text/plain; version=0.0.4"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    return push


def notice_plan(document: dict[str, Any], session: Any = None) -> tuple[set[str], Notifier | None]:
    """The endpoints that notify and the notifier of ``document`` (none without ``"notifications"``)."""
    settings = document.get("notifications")
    notify = {item["address"].split(".", 1)[-1] for item in document["rollouts"] if item.get("notify")}
    if not settings or not notify:
        return set(), None
    if document.get("target") != "aws":
        return notify, pushgateway_notifier(settings)
    import boto3  # in the Lambda runtime
    from botocore.config import Config

    session = session or boto3.Session(region_name=document.get("region"))
    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=10)
    sns = session.client("sns", config=config) if settings.get("alarms") else None
    return notify, cloudwatch_notifier(session.client("cloudwatch", config=config), settings, sns)


def notice_gates(document: dict[str, Any]) -> dict[str, Any]:
    """The document's ``notifications.gates`` (:func:`notice_facts`): none in a document compiled before them."""
    return dict((document.get("notifications") or {}).get("gates") or {})


def run_pass(fleet: list[Member], now: float | None = None, notify: Collection[str] = (),
             notifier: Notifier | None = None, gates: dict[str, Any] | None = None) -> list[FleetResult]:
    """One reconcile pass over ``fleet`` at ``now`` (default: the clock), rollback notices sent to
    ``notifier`` for the endpoints of ``notify`` (their facts described with ``gates``), each outcome logged."""
    return logged_pass(fleet, now, notify, notifier, gates)[0]


def logged_pass(fleet: list[Member], now: float | None = None, notify: Collection[str] = (),
                notifier: Notifier | None = None,
                gates: dict[str, Any] | None = None) -> tuple[list[FleetResult], list[dict[str, Any]]]:
    """:func:`run_pass`, with the lines it logged."""
    now = time.time() if now is None else now
    results = reconcile_fleet(fleet, now, max_workers=MAX_WORKERS)
    lines = summary(results, send_notices(fleet, results, set(notify), notifier, now, gates))
    for line in lines:
        print(json.dumps(line, sort_keys=True), flush=True)
    return results, lines


def summary(results: list[FleetResult], notices: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for result in results:
        line: dict[str, Any] = {"endpoint": result.endpoint}
        if result.result is not None:
            decision = result.result.decision
            line.update(action=decision.action, acted=result.result.acted, lost=result.result.lost,
                        message=decision.message)
            if result.result.tidied:
                line["deleted"] = list(result.result.tidied)
        if result.endpoint in (notices or {}):
            line["notice"] = notices[result.endpoint]
        if result.error:
            line["error"] = result.error
        out.append(line)
    return out


NOTICE_FAILED = "failed: "
"""The prefix of a log line's ``"notice"`` when the notice could not be sent (:func:`send_notices`)."""


def _failed(results: list[FleetResult], lines: list[dict[str, Any]]) -> str:
    """What failed in a logged pass, for the invocation's error ('' when nothing did): the endpoints
    whose pass failed, then those whose rollback notice could not be sent (see the module contract)."""
    passes = [r.endpoint for r in results if r.error]
    notices = [line["endpoint"] for line in lines if str(line.get("notice", "")).startswith(NOTICE_FAILED)]
    said = []
    if passes:
        said.append(f"the reconcile pass failed for {', '.join(passes)}")
    if notices:
        said.append(f"the rollback notice of {', '.join(notices)} could not be sent (the next pass sends it again)")
    return "; ".join(said) + " (see the log lines above)" if said else ""


def handler(event: Any = None, context: Any = None) -> dict[str, Any]:
    """The Lambda entry point: one pass over the document's rollouts (see the module contract)."""
    document = load_document()
    results, lines = logged_pass(members(document), None, *notice_plan(document), notice_gates(document))
    failed = _failed(results, lines)
    if failed:
        raise RuntimeError(failed)
    return {"endpoints": lines}


def main(argv: list[str] | None = None) -> int:
    """The CronJob entry point: ``python -m mlops_infra.rollout.scheduled [DOCUMENT]``."""
    args = sys.argv[1:] if argv is None else argv
    try:
        document = load_document(args[0] if args else None)
    except DocumentError as exc:
        print(json.dumps({"error": str(exc)}, sort_keys=True), flush=True)
        return 1
    results, lines = logged_pass(members(document), None, *notice_plan(document), notice_gates(document))
    return 1 if _failed(results, lines) else 0  # the endpoints' lines already say what failed


if __name__ == "__main__":
    sys.exit(main())
