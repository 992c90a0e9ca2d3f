"""The gates of a promotion: each named in DST's ``gates`` passes or fails with its reason and evidence.

Contract (every gate is a pure function of the :class:`GateInputs` the CLI gathers):

- ``model_approved``: every version the promotion pins in DST is ``Approved`` in DST's registry, as
  read now (SageMaker ``ModelApprovalStatus`` through ``ListModelPackages``/``DescribeModelPackage``;
  MLflow's version tag ``mlops-infra.approval-status``: :mod:`mlops_infra.promote.registries`).
  A version DST's registry does not hold yet fails (register it with the artifact steps, approve it,
  promote again).
- ``no_drift``, two parts, both must pass (the reason and each item of evidence say which part
  failed: ``[drift alerts]``, ``[infrastructure drift]``):
  *drift alerts* -- no alert of SRC watching a ``feature_drift``, ``prediction_drift`` or
  ``data_quality`` monitor is firing there (:mod:`mlops_infra.promote.alerts`: on AWS each compiled
  CloudWatch alarm's state, read with SRC's credentials; on Kubernetes the rule SRC's Prometheus
  evaluates, ``--prometheus SRC=URL``); ``ALARM``/``firing`` fails, and an alert whose
  state is unknown (``INSUFFICIENT_DATA``, alarm not found, not read) fails closed;
  *infrastructure drift* -- SRC's live resources match SRC's last applied state (the existing reader
  :func:`mlops_infra.state.aws_live.scan_aws` and :func:`mlops_infra.plan.drift.find_drift`):
  any drifted or deleted resource fails, listed as evidence.
- ``progressive_rollout``: every endpoint of DST (after the edit) rolls out with a strategy
  :func:`~mlops_infra.spec.guardrails.progressive_strategies` accepts on DST's target: not ``all_at_once``, and
  on Kubernetes not ``rolling`` (KServe gives the Knative Service one latest-revision traffic target, so a
  rolling update moves all traffic at once; 7cb26f5, ``rollout-ignored-on-kubernetes``).
- ``alerts_routed``: every endpoint of DST has a ``critical`` alert, on one of its monitors, that
  notifies at least one channel.
- A gate that cannot be evaluated fails closed, saying why: no registry read, no prior state of
  SRC, live reads that failed or are not supported for SRC's target, and the gates mlops-infra does
  not evaluate itself (``tests_passed``, ``manual_approval``: skip them once done).
- ``--skip-gate NAME --reason TEXT``: the gate is not evaluated; its result says ``skipped`` with the
  reason, which the release record keeps. Only gates DST declares can be skipped, and only with a
  reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.model_versions import APPROVED, RegistryView
from mlops_infra.spec.guardrails import progressive_strategies

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
MARKDOWN_EVIDENCE = 20
"""Evidence items a gate shows in the pull-request body (:meth:`GateResult.markdown_row`)."""


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome: ``status`` pass | fail | skipped, a one-line ``reason`` and ``evidence``."""

    name: str
    status: str
    reason: str
    evidence: tuple[str, ...] = ()

    @property
    def blocks(self) -> bool:
        return self.status == FAIL

    def line(self) -> str:
        text = f"{self.status.upper():7} {self.name}: {self.reason}"
        return "\n".join([text, *(f"          - {e}" for e in self.evidence)])

    def markdown_row(self, max_evidence: int = MARKDOWN_EVIDENCE) -> str:
        """A row of the pull-request body's gate table: the reason and the first ``max_evidence``
        items of evidence (a gate of a large system lists every endpoint; the body has 65,536
        characters for everything), then how many more ``--format text`` shows."""
        shown = [e.replace("|", "\\|") for e in self.evidence[:max_evidence]]
        if len(self.evidence) > max_evidence:
            shown.append(f"... and {len(self.evidence) - max_evidence} more (`--format text` lists them all)")
        evidence = "<br>".join(shown)
        reason = self.reason.replace("|", "\\|")
        return f"| `{self.name}` | {self.status} | {reason}{'<br>' + evidence if evidence else ''} |"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "reason": self.reason, "evidence": list(self.evidence)}


@dataclass(frozen=True)
class GateInputs:
    """What the gates read. ``src_prior``/``src_live``/``src_drift`` are None when not available;
    ``src_problem`` says why SRC's live state could not be compared."""

    src: str
    dst: str
    dst_system: Any
    dst_view: RegistryView
    mappings: Sequence[Any]
    src_prior: Any = None
    src_live: Any = None
    src_drift: Sequence[Any] | None = None
    src_problem: str | None = None
    src_alerts: Sequence[Any] | None = None
    """SRC's drift alerts as read (:class:`mlops_infra.promote.alerts.AlertState`), None when not read."""
    src_alerts_problem: str | None = None
    """Why SRC's drift alerts could not be read."""
    extra: Mapping[str, Any] = field(default_factory=dict)


def evaluate_gates(names: Sequence[str], inputs: GateInputs, skips: Mapping[str, str]) -> tuple[GateResult, ...]:
    """Each gate in ``names`` (DST's order), skipped ones with their reason."""
    results = []
    for name in names:
        if name in skips:
            results.append(GateResult(name, SKIPPED, f"skipped: {skips[name]}"))
            continue
        gate = GATES.get(name)
        results.append(gate(inputs) if gate else GateResult(
            name, FAIL, "mlops-infra does not evaluate this gate itself (fails closed); once it is satisfied, "
            f"pass --skip-gate {name} --reason '...' and the reason is recorded"))
    return tuple(results)


def model_approved(inputs: GateInputs) -> GateResult:
    name = "model_approved"
    if not inputs.mappings:
        return GateResult(name, PASS, f"{inputs.dst} serves no model versions")
    evidence, failing = [], []
    for m in inputs.mappings:
        registry = inputs.dst_view.models.get(m.model)
        if registry is None or registry.basis != "registry":
            return GateResult(name, FAIL, f"cannot be evaluated: {inputs.dst}'s registry of {m.model} was not read")
        record = registry.versions.get(m.dst_version)
        if record is None:
            failing.append(m)
            evidence.append(f"{m.model} v{m.dst_version} ({m.digest}) is not registered in {registry.where}: run the "
                            "artifact steps, approve it, then promote again")
            continue
        line = f"{m.model} v{m.dst_version} in {registry.where}: approval status {record.approval or 'unknown'}"
        evidence.append(line)
        if record.approval != APPROVED:
            failing.append(m)
    if failing:
        return GateResult(name, FAIL, f"{len(failing)} pinned version(s) not Approved in {inputs.dst}'s registry",
                          tuple(evidence))
    return GateResult(name, PASS, f"every pinned version is Approved in {inputs.dst}'s registry", tuple(evidence))


def no_drift(inputs: GateInputs) -> GateResult:
    """Both parts (see the module contract); the failing part's reason comes first."""
    name = "no_drift"
    parts = [("infrastructure drift", *_infrastructure_drift(inputs)), ("drift alerts", *_drift_alerts(inputs))]
    failing = [(label, reason) for label, ok, reason, _ in parts if not ok]
    evidence = tuple(f"[{label}] {e}" for label, _, _, items in parts for e in items)
    if failing:
        return GateResult(name, FAIL, "; ".join(reason if label == "infrastructure drift" else f"{label}: {reason}"
                                                for label, reason in failing), evidence)
    return GateResult(name, PASS, "; ".join(reason for _, _, reason, _ in parts), evidence)


def _infrastructure_drift(inputs: GateInputs) -> tuple[bool, str, tuple[str, ...]]:
    """(passes, reason, evidence) of SRC's live resources against its last applied state."""
    if inputs.src_problem:
        return False, f"cannot be evaluated: {inputs.src_problem}", ()
    prior, live = inputs.src_prior, inputs.src_live
    if prior is None or not prior.resources:
        return False, (f"cannot be evaluated: no applied state of {inputs.src} was found (pass --src-state, or run "
                       "where its stack's state is)"), ()
    if live is None or inputs.src_drift is None:
        return False, f"cannot be evaluated: {inputs.src}'s live resources were not read", ()
    if live.errors:
        first = sorted(live.errors)[:3]
        return False, (f"cannot be evaluated: {len(live.errors)} resource(s) of {inputs.src} could not be read"), \
            tuple(f"{urn}: {live.errors[urn]}" for urn in first)
    drift = list(inputs.src_drift)
    if drift:
        return False, f"{len(drift)} resource(s) of {inputs.src} drifted from the last applied state", \
            tuple(f"{d.kind}: {d.summary} ({d.urn})" for d in drift[:20])
    read = len(live.resources) + len(live.missing)
    return True, f"{read} resource(s) of {inputs.src} read live match its last applied state (serial {prior.serial})", ()


def _drift_alerts(inputs: GateInputs) -> tuple[bool, str, tuple[str, ...]]:
    """(passes, reason, evidence) of SRC's drift alerts: none firing, every state known."""
    src = inputs.src
    if inputs.src_alerts_problem:
        return False, f"cannot be evaluated: {inputs.src_alerts_problem}", ()
    if inputs.src_alerts is None:
        return False, f"cannot be evaluated: {src}'s drift alerts were not read", ()
    alerts = list(inputs.src_alerts)
    if not alerts:
        return True, f"{src} declares no drift or data-quality alert", ()
    evidence = tuple(a.line() for a in alerts)
    firing = [a.alert for a in alerts if a.verdict() == "firing"]
    unknown = [a.alert for a in alerts if a.verdict() == "unknown"]
    if firing:
        return False, f"{len(firing)} drift alert(s) firing in {src}: {', '.join(firing)}", evidence
    if unknown:
        return False, (f"cannot be evaluated: {len(unknown)} drift alert(s) of {src} have no known state "
                       f"(INSUFFICIENT_DATA, not found, or its monitor publishes nothing): {', '.join(unknown)}"), evidence
    return True, f"no drift alert is firing in {src} ({len(alerts)} read)", evidence


def progressive_rollout(inputs: GateInputs) -> GateResult:
    name = "progressive_rollout"
    evidence = tuple(f"{e.name}: {e.rollout.strategy}" for e in inputs.dst_system.endpoints)
    environment = inputs.dst_system.environments.get(inputs.dst)
    cloud = environment.target.kind if environment is not None else None
    accepted = progressive_strategies(cloud)
    at_once = [e.name for e in inputs.dst_system.endpoints if e.rollout.strategy not in accepted]
    if at_once:
        return GateResult(name, FAIL, f"endpoint(s) {', '.join(at_once)} of {inputs.dst} roll out all at once"
                          + ("" if cloud != "kubernetes" else
                             f" (on Kubernetes only {' and '.join(accepted)} roll out progressively: rolling moves "
                             "all traffic to the latest revision at once)"), evidence)
    return GateResult(name, PASS, f"every endpoint of {inputs.dst} rolls out progressively", evidence)


def alerts_routed(inputs: GateInputs) -> GateResult:
    name = "alerts_routed"
    system = inputs.dst_system
    monitors = {m.name: m.endpoint for m in system.monitors}
    by_endpoint: dict[str, list[str]] = {}
    for a in system.alerts:
        if a.severity == "critical" and a.notify and a.monitor in monitors:
            by_endpoint.setdefault(monitors[a.monitor], []).append(f"{a.name} -> {', '.join(a.notify)}")
    evidence, missing = [], []
    for endpoint in system.endpoints:
        routed = by_endpoint.get(endpoint.name, [])
        if routed:
            evidence.append(f"{endpoint.name}: {'; '.join(routed)}")
        else:
            missing.append(endpoint.name)
            evidence.append(f"{endpoint.name}: no critical alert notifies a channel")
    if missing:
        return GateResult(name, FAIL, f"endpoint(s) {', '.join(missing)} of {inputs.dst} have no critical alert routed "
                          "to a channel", tuple(evidence))
    return GateResult(name, PASS, f"every endpoint of {inputs.dst} has a critical alert routed to a channel",
                      tuple(evidence))


GATES: dict[str, Callable[[GateInputs], GateResult]] = {
    "model_approved": model_approved,
    "no_drift": no_drift,
    "progressive_rollout": progressive_rollout,
    "alerts_routed": alerts_routed,
}
"""The gates mlops-infra evaluates (others fail closed unless skipped with a reason)."""
