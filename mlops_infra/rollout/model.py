"""The rollout reconciler's data: what it reads (spec, observed state, gates, now) and what it writes.

Contract:
- :class:`RolloutSpec` is built from ``graph.rollouts[address]`` (:meth:`RolloutSpec.from_graph`):
  steps in percent of traffic on the new version, ending at 100; the bake at each step; the gate
  names (CloudWatch alarm names on AWS, alert names on Kubernetes); how long an unreadable gate may
  hold a step before the rollout rolls back (``gate_timeout_seconds``); Kubernetes only: how long a
  new revision may stay not ready before the rollout rolls back (``not_ready_timeout_seconds``);
  how many requests the new version must serve in each step (:meth:`RolloutSpec.min_requests`, the
  plan's ``minRequestsPerStep``, default :data:`DEFAULT_MIN_REQUESTS_PER_STEP`).
- :class:`RolloutStatus` is persisted by the driver (SageMaker endpoint tags, the KServe endpoint's
  ``rollout-<endpoint>`` ConfigMap) as flat strings (:meth:`RolloutStatus.to_fields` /
  :meth:`from_fields`), each at most 256 characters (the SageMaker tag value limit, botocore ``TagValue`` max 256). ``step`` indexes
  ``spec.steps``; ``since`` is when the current step's traffic was set (the gates' window counts from
  there, so a breach while the change is still being applied counts); ``in_effect`` (field
  ``in-effect``) is when a pass first observed that traffic in effect (the endpoint ready again at the
  step's share: ``rollout/reconcile.py`` rule 8), and the bake counts from there; None (stored as
  :data:`IN_EFFECT_PENDING`): not observed yet. ``blind_since`` is when the gates of this step first
  became unreadable. ``pending_since`` (field ``pending-since``) is the first pass after the step's
  bake that read a gate ``pending``, with no pass since that read every gate and none pending (such
  a pass clears it, and so does every change of step; a pass that cannot read a gate keeps it): the pending
  bound counts from there (``rollout/reconcile.py`` rule 8). A status never holds both
  ``blind_since`` and ``pending_since``. ``notice`` is the rollback notice of a rollout the
  controller rolled back on its own: ``pending`` (:data:`NOTICE_PENDING`, written with the rollback
  by ``rollout/runner.py`` ``announce``) until the scheduled runner has sent it, then ``sent``
  (:data:`NOTICE_SENT`; ``rollout/scheduled.py``, "Rollback notices"). It is stored only with phase
  ``rolled_back`` (read as "" with any other phase, so a stale key left beside a later status means
  nothing), and a status that stores it stores no ``blind-since`` (rolled back, no gate is read any
  more). ``in-effect`` and ``pending-since`` are stored only with phase ``progressing`` and
  ``reason`` only with the other phases (the reconciler never gives a progressing status a reason: it
  is "" there, and read as "" when absent). So never more than 7 fields at once (progressing: phase,
  revision, previous, step, since, in-effect, blind-since or pending-since; otherwise: phase,
  revision, previous, step, since, reason, notice),
  the SageMaker driver's tag budget (``mlops_infra/endpoint_tags.py``); :data:`OPTIONAL_FIELDS` are
  the keys a status may leave out, which a writer that merges (the KServe driver's ConfigMap patch)
  deletes. A stored status without ``notice`` (written before notices were recorded) has no notice to
  send; a progressing one without ``in-effect`` was written by a release that did not record it (every
  progressing status this one writes has the key, a time or :data:`IN_EFFECT_PENDING`) and reads with
  ``in_effect`` = ``since``: its step bakes from the traffic change, as that release did.
- :class:`Observed` is what the driver read: the revision being rolled out, the stable one, the share
  of traffic on the new revision, whether the endpoint can take a change now, and the stored status;
  on Kubernetes also, while the newest Knative revision is not ready, what Knative says of it
  (:class:`NotReady`); on AWS, the rollout's own update that SageMaker could not carry out (a
  :class:`NotReady` that ``failed``, the endpoint ready again on what it had).
- :class:`Decision` is the reconciler's answer: one action, the status to write (None: unchanged) and
  when something can change next.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

Phase = Literal["progressing", "finished", "rolled_back", "aborted"]
TERMINAL: frozenset[str] = frozenset({"finished", "rolled_back", "aborted"})
ActionKind = Literal["none", "wait", "hold", "set_traffic", "record", "rollback", "finish"]
GateState = Literal["ok", "pending", "firing", "unreadable"]
NOTICE_PENDING = "pending"
NOTICE_SENT = "sent"
IN_EFFECT_PENDING = "pending"
"""The stored ``in-effect`` of a progressing status whose step is not yet observed in effect."""
DEFAULT_GATE_TIMEOUT = 900
"""An unreadable gate holds a step for at most this long (seconds) before the rollout rolls back."""
DEFAULT_NOT_READY_TIMEOUT = 1800
"""Kubernetes: a new revision that Knative still deploys (Ready Unknown) is waited for at most this long
(seconds) before the rollout rolls back. It must exceed Knative's progress deadline (config-deployment
``progress-deadline``, default 600 s, per revision the annotation ``serving.knative.dev/progress-deadline``:
knative/serving ``config/core/configmaps/deployment.yaml``, ``pkg/deployment/config.go``
``ProgressDeadlineDefault``, ``pkg/apis/serving/register.go`` ``ProgressDeadlineAnnotationKey``): by then
Knative has given up on a Deployment that made no progress and marked the revision Ready=False with
its own reason (which rolls back at once), so with Knative's defaults this timeout never preempts
Knative. It is the backstop for what Knative leaves Unknown longer: a revision whose deadline was
raised for a slow start (a GPU node provisioned on demand by a cluster autoscaler, a serving image of
several gigabytes, a large model to load: minutes each). 30 minutes = three default deadlines. The spec's
``rollout.not_ready_timeout`` sets it per endpoint (``spec/serving.py``, at least the 600 s deadline)."""
DEFAULT_MIN_REQUESTS_PER_STEP = 1
"""A step's bake does not end before the new version has served this many requests in the step (when
the gate reader counts them), unless the plan's ``minRequestsPerStep`` says otherwise (the spec's
``rollout.min_requests_per_step``; 0: no minimum). ``rollout/reconcile.py`` rule 10."""
MAX_FIELD = 256
OPTIONAL_FIELDS = ("reason", "in-effect", "blind-since", "pending-since", "notice")
"""The fields :meth:`RolloutStatus.to_fields` writes only in some phases or states (module contract)."""


@dataclass(frozen=True)
class RolloutSpec:
    """One endpoint's rollout plan, as compiled into the graph."""

    endpoint: str
    strategy: str
    steps: tuple[int, ...]
    bake_seconds: int
    gates: tuple[str, ...] = ()
    gate_timeout_seconds: int = DEFAULT_GATE_TIMEOUT
    target: str = "aws"
    resource: str = ""
    extra: tuple[tuple[str, Any], ...] = ()
    not_ready_timeout_seconds: int = DEFAULT_NOT_READY_TIMEOUT

    @classmethod
    def from_graph(cls, address: str, plan: dict[str, Any]) -> RolloutSpec:
        """From ``graph.rollouts[address]`` (AWS: ``rollbackAlarms``, ``endpointName``; Kubernetes:
        ``rollbackAlerts``, ``resource`` = ``namespace/name``, ``notReadyTimeoutSeconds``)."""
        aws = "rollbackAlarms" in plan or "endpointName" in plan
        steps = tuple(int(s) for s in plan.get("steps") or [100])
        return cls(
            endpoint=address.split(".", 1)[-1], strategy=str(plan.get("strategy", "canary")), steps=steps,
            bake_seconds=int(plan.get("bakeSeconds") or 0),
            gates=tuple(plan.get("rollbackAlarms") or plan.get("rollbackAlerts") or ()),
            gate_timeout_seconds=int(plan.get("gateTimeoutSeconds") or DEFAULT_GATE_TIMEOUT),
            target="aws" if aws else "kubernetes",
            resource=str(plan.get("endpointName") or plan.get("kubeResource") or ""),
            extra=tuple(sorted((k, v) for k, v in plan.items() if not isinstance(v, dict | list))),
            not_ready_timeout_seconds=int(plan.get("notReadyTimeoutSeconds") or DEFAULT_NOT_READY_TIMEOUT),
        )

    def option(self, key: str, default: Any = None) -> Any:
        return dict(self.extra).get(key, default)

    @property
    def min_requests(self) -> int:
        """The plan's ``minRequestsPerStep`` (absent: :data:`DEFAULT_MIN_REQUESTS_PER_STEP`)."""
        value = self.option("minRequestsPerStep")
        return DEFAULT_MIN_REQUESTS_PER_STEP if value is None else int(value)


@dataclass(frozen=True)
class RolloutStatus:
    """The rollout's status, kept on the endpoint (see the module contract)."""

    phase: Phase
    revision: str
    previous: str
    step: int
    since: float
    blind_since: float | None = None
    reason: str = ""
    notice: str = ""
    in_effect: float | None = None
    pending_since: float | None = None

    def to_fields(self) -> dict[str, str]:
        """Flat string fields (tag values / ConfigMap data), each at most 256 characters; ``in-effect``
        only with phase ``progressing``, ``reason`` only with the others; ``notice`` only with phase
        ``rolled_back``, and then no ``blind-since``; ``pending-since`` only with phase ``progressing``
        and no ``blind-since`` (see the module contract)."""
        fields = {"phase": self.phase, "revision": self.revision, "previous": self.previous,
                  "step": str(self.step), "since": f"{self.since:.3f}"}
        if self.phase == "progressing":
            fields["in-effect"] = IN_EFFECT_PENDING if self.in_effect is None else f"{self.in_effect:.3f}"
        else:
            fields["reason"] = self.reason
        if self.phase == "rolled_back" and self.notice in (NOTICE_PENDING, NOTICE_SENT):
            fields["notice"] = self.notice
        elif self.blind_since is not None:
            fields["blind-since"] = f"{self.blind_since:.3f}"
        elif self.phase == "progressing" and self.pending_since is not None:
            fields["pending-since"] = f"{self.pending_since:.3f}"
        return {k: v[:MAX_FIELD] for k, v in fields.items()}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> RolloutStatus | None:
        """Parse stored fields leniently: None when absent or unreadable (treated as no status)."""
        try:
            phase = fields["phase"]
            if phase not in ("progressing", *TERMINAL):
                return None
            blind = fields.get("blind-since")
            held = fields.get("pending-since") if phase == "progressing" and not blind else None
            notice = fields.get("notice", "") if phase == "rolled_back" else ""
            since = float(fields["since"])
            effect = fields.get("in-effect") if phase == "progressing" else IN_EFFECT_PENDING
            return cls(phase, fields["revision"], fields.get("previous", ""), int(fields["step"]),
                       since, float(blind) if blind else None, fields.get("reason", ""),
                       notice if notice in (NOTICE_PENDING, NOTICE_SENT) else "",
                       since if effect is None else None if effect == IN_EFFECT_PENDING else float(effect),
                       float(held) if held else None)
        except (KeyError, ValueError):
            return None

    def evolve(self, **changes: Any) -> RolloutStatus:
        return replace(self, **changes)


@dataclass(frozen=True)
class NotReady:
    """Kubernetes: the endpoint's newest revision while it is not ready (KServe
    ``status.components.predictor.latestCreatedRevision`` is not its ``latestReadyRevision``).

    ``revision``: the Knative Revision's name; ``failed``: Knative's verdict that it failed (the
    revision's Ready condition is False: ``Revision.IsFailed``, knative/serving
    ``pkg/apis/serving/v1/revision_lifecycle.go``), as opposed to not ready yet (Unknown: deploying);
    ``since``: since when this revision has been not ready, epoch seconds: the later of its creation
    (the Revision's ``creationTimestamp``) and that condition's last change (its ``lastTransitionTime``,
    which stays the first revision's across a run of not-ready ones); None: not known. The driver
    gives it only for a revision made for the observed version (``drivers/kserve.py``
    ``observe_isvc``); ``why``: the condition's reason and message, for the rollback's reason.

    SageMaker: the rollout's own update that failed (``drivers/sagemaker.py`` **A failed update**), given
    while the endpoint is ready (SageMaker put it back InService): ``revision`` is the endpoint config it
    is on, ``failed`` True, ``since`` the endpoint's ``LastModifiedTime``, ``why`` its ``FailureReason``.
    """

    revision: str
    failed: bool
    since: float | None = None
    why: str = ""


@dataclass(frozen=True)
class Observed:
    """The endpoint as a driver read it.

    ``revision``: the version the endpoint is being moved to (from the applied desired state);
    ``stable``: the version that serves the rest of the traffic (None: nothing served before, a first
    deployment); ``percent``: the share of traffic on ``revision`` now (None: unknown);
    ``ready``: the endpoint can take a traffic change now (not mid-update); ``status``: the stored
    rollout status (None: none, or unreadable); ``token``: the driver's concurrency token for this
    observation (a resourceVersion, or config name + status fields); ``converged``: the endpoint
    already runs the configuration the graph asks for (False: SageMaker, a new endpoint config of the
    same model version, e.g. another instance type, that only the controller lands, or a finish whose
    autoscaling is still to be put back); ``kept``: what
    the driver kept for a rollback and may delete later, as (kind, name, version that left it)
    (SageMaker: configs and models, see ``drivers/sagemaker.py``); ``not_ready``: Kubernetes, with
    ``ready`` false because the newest revision is not ready, what Knative says of it (None: the
    driver does not tell); SageMaker, with ``ready`` true, the rollout's own update that failed
    (``failed``: ``drivers/sagemaker.py`` **A failed update**, ``rollout/reconcile.py`` rule 2); ``in_effect``: the share ``percent`` is what the endpoint serves
    now, not only what was asked (SageMaker: whenever ``ready``, InService after the update; KServe:
    the InferenceService's status shows Knative's route at that share and ready,
    ``drivers/kserve.py`` :func:`~mlops_infra.rollout.drivers.kserve.traffic_in_effect`); ``canary``:
    Kubernetes, the Knative revision that serves ``revision``'s share (the InferenceService's latest
    ready revision, read only while a rollout of ``revision`` is in progress and only when that
    Knative Revision was made for ``revision``: ``drivers/kserve.py`` ``observe_isvc``), whose own
    series the gates judge (``gates/prometheus.py``); None: not known (then an alert counts whichever
    revision breaches), and always on AWS, where the canary variant is the plan's.
    """

    revision: str
    stable: str | None
    percent: int | None
    ready: bool = True
    status: RolloutStatus | None = None
    token: str = ""
    detail: str = ""
    converged: bool = True
    kept: tuple[tuple[str, str, str], ...] = ()
    not_ready: NotReady | None = None
    in_effect: bool = True
    canary: str | None = None


@dataclass(frozen=True)
class GateReading:
    """One gate: ``ok``, ``pending`` (its condition holds but has not held for the alert's ``for`` yet:
    a bake does not end on it, ``rollout/reconcile.py`` rule 8), ``firing`` (roll back) or
    ``unreadable`` (hold, then roll back). ``state`` and ``value`` are the NEW version's own (its
    canary variant on AWS, its Knative revision on Kubernetes); ``stable``: what the gate's alarm or
    alert shows of the stable version meanwhile (e.g. ``version 12 (variant primary): alarm in
    ALARM``), reported in the pass's message but never a reason to roll the new version back (audit
    rolloutrun-3: an incident on the stable version rolled back every fix at its first step, and the
    notice blamed the fix for the stable version's value); "": nothing of it to report. ``hold``: a
    ``pending`` reading only, how long (seconds) it may hold a baked step before the rollout rolls back
    (``rollout/reconcile.py`` rule 8; ``gates/prometheus.py`` derives it from the alert's ``for``);
    None: no bound given (a reader that cannot tell; the step waits as long as the reading stays pending).
    ``requests``: how many requests the new version served in the step's window, as the reader counted
    them (CloudWatch: the canary variant's ``Invocations``, ``gates/cloudwatch.py``; Prometheus: the canary
    Knative revision's ``revision_app_request_count``, ``gates/prometheus.py`` "Requests", only when the
    driver names that revision, ``Observed.canary``); a bake does not end while it is under the plan's
    ``minRequestsPerStep`` (``rollout/reconcile.py`` rule 10); None: not counted.
    ``lag``: how long (seconds) after a moment the reader's series may still gain datapoints for it
    (CloudWatch: twice the alarm's period, the period to complete and one more to be published,
    ``gates/cloudwatch.py``); the finish waits it after the last step's bake (rule 10); None: none."""

    name: str
    state: GateState
    value: float | None = None
    detail: str = ""
    stable: str = ""
    hold: float | None = None
    requests: float | None = None
    lag: float | None = None

    def describe(self) -> str:
        value = f" = {self.value:g}" if self.value is not None else ""
        return f"{self.name}{value}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Decision:
    """What to do now. ``percent`` is the traffic share to set (set_traffic) or that results;
    ``status`` the status to write with the action (None: unchanged); ``next_check`` the earliest
    time (epoch seconds) at which a new pass can decide something else."""

    action: ActionKind
    message: str
    percent: int | None = None
    status: RolloutStatus | None = None
    next_check: float | None = None

    @property
    def changes_anything(self) -> bool:
        return self.action not in ("none", "wait") or self.status is not None
