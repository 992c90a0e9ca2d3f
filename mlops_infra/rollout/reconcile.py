"""The rollout reconciler: one pure, level-triggered decision function.

``reconcile(spec, observed, gates, now, command)`` looks only at what is true now (the endpoint's
observed traffic and stored status, the gate readings, the time) and returns one :class:`Decision`.
It sleeps never and reads no clock, so tests simulate hours of bake in milliseconds, and any number of
passes, repeated or concurrent, converge: a pass that repeats an earlier one decides the same thing.

Rules, in order:
1. ``abort``: a rollout in progress rolls back now, phase ``aborted`` (reason: by the operator, at
   which step). ``resume``: a rolled-back or aborted rollout of the same revision starts again at
   its first step; but when the endpoint, ready, already serves that revision alone (``stable`` is the
   revision: SageMaker, an abort that lost to a concurrent finish and could not be carried out,
   ``drivers/sagemaker.py`` **Races**), there is no step to start from: the version is kept, and the
   status becomes ``finished`` (action ``finish``, which also lands the graph's configuration if
   the endpoint is not on it). Without this rule ``--resume`` decided "nothing to roll out", wrote
   nothing, and the next pass tried the impossible rollback again.
2. The endpoint is mid-update (``ready`` false): wait. Kubernetes only, when the driver says which
   new revision is not ready (``observed.not_ready``): if Knative marked it failed (its Ready
   condition False: image missing, container exiting, progress deadline exceeded, unschedulable...),
   or it has not become ready within ``not_ready_timeout_seconds`` of ``since`` (its creation, or its
   condition's last change if later), the rollout rolls back as for a firing gate (rule 6: 0% on it, phase ``rolled_back``, reason:
   which revision, why, at which step; the quoted why is cut so the step's tail stays within a status
   field: ``_within_field``), also before its first step (no status yet: the version
   never reached its first share); a rolled-back or aborted status of that version is settled
   (rule 4) instead of waited on forever. With no other version to go back to (a first
   deployment, the stable version's own new revision, a finished version) it waits, saying why.
   The driver gives ``not_ready`` only for a revision made for ``observed.revision`` (the KServe
   driver reads its Knative Revision: ``drivers/kserve.py`` ``observe_isvc``); a status still showing
   the previous version's revision is only waited on. The time is observed by the driver: reconcile
   reads no clock. On AWS the endpoint not ready is "wait" (SageMaker refuses any update while it is
   ``Updating``), but a firing gate of a rollout in progress rolls back at once (rule 6): the status is
   written while SageMaker applies the update (tags do not depend on the endpoint's status) and the
   first InService pass moves the traffic back (rule 4, "completing the rollback"), as an ``--abort``
   (rule 1) is (``drivers/sagemaker.py`` **A rollback while the endpoint updates**; audit
   rolloutaws-6). And the endpoint ready with ``observed.not_ready`` failed is the rollout's own update
   that SageMaker could not carry out: it put the endpoint back InService on the old configuration or
   weights with a ``FailureReason`` (``drivers/sagemaker.py`` **A failed update**). When the endpoint
   is not where the status's update was to put it (a progressing step's share, nor the next step's of
   rule 5; a finished status off the graph's configuration) the rollout rolls back as for a failed
   revision: phase ``rolled_back``, reason ``update_failed at step N (P% on version V): version V has
   Q% (SageMaker: <FailureReason>)``, its notice pending (``rollout/runner.py`` ``announce``).
   Before, every pass issued the same update again, for ever (a new fleet each time for an
   ``UpdateEndpoint``), with no notice (audit rolloutaws-1).
3. No status for the observed revision: nothing served before -> finish at once (a first
   deployment has nothing to compare with); the stable version is the revision -> nothing to do,
   unless the endpoint does not run the graph's configuration (``converged`` false: a config change
   without a new version, e.g. another instance type) -> finish at once (the same model: nothing to
   canary; the driver lands the config); else start: traffic to the first step (its bake starts when
   it is in effect, rule 8).
4. A finished, rolled-back or aborted status holds its invariant (finished: 100% on the revision on
   the graph's configuration and nothing else left; rolled back: 0%): a driver killed between its
   writes is completed, a later config change of the same version is landed, nothing else happens.
   Kubernetes: a rolled-back or aborted 0% that Knative's route does not serve (``in_effect`` false)
   is reported at every pass (action ``wait``, the route's reason quoted), never ``none``: the route
   keeps the last split it programmed (closing-41a-4, :func:`_terminal`).
5. In progress, the traffic is not the current step's: if it is the NEXT step's, a previous pass set
   it and was stopped before recording it -> record that step (bake restarts, from now when it is
   in effect: no step is skipped or repeated); otherwise something moved it -> set it back to the
   current step (bake restarts when that is in effect).
6. A firing gate rolls back (reason: which gate, which value, at which step and share).
7. An unreadable gate holds the step (never advances blind); once unreadable for
   ``gate_timeout_seconds`` the rollout rolls back (counted from ``pending_since`` when a pending
   spell is on, rule 8).
8. The step's share not yet observed in effect (the status has no ``in_effect``): the first pass
   that observes it in effect records that time (action ``record``; a hold of rule 7 records it
   too), and the bake ends ``bake_seconds`` after it; until then (``observed.in_effect`` false) wait,
   on Kubernetes for at most ``not_ready_timeout_seconds`` from the step's ``since``: then roll back,
   quoting why the driver says the share is not served (Knative's route reason; audit k8sroll-4).
   The bake is not over: wait until it is. Over: the next step, or after the last step (100%),
   finish; but not while a gate is ``pending`` (a Prometheus alert whose condition holds and whose
   ``for`` has not yet: ``rules/alerting.go`` ``AlertingRule.Eval`` makes it firing only once it has
   held that long, ``gates/prometheus.py``): then wait, at the step's share, for it to fire (rule 6
   rolls back) or resolve. That wait is bounded: an alert stays pending at most its ``for`` (then it
   fires) and leaves the state when its condition stops holding. Ending the bake on it carried a canary
   breaching from its first request past every step whose bake was at most ``for`` + the recording
   rule's rate window, and "finished" a version breaching in its last step (audit rolloutrun-1;
   ``spec/rollout_bake.py`` warns of such a bake). A pending gate neither shortens nor restarts the
   bake, and it does not hold a step that is still baking. The wait has a bound of its own: an alert
   whose condition flaps (holds, breaks, holds again, each spell shorter than ``for``) is pending at
   pass after pass, and a step held on it never ended. Once a gate has been pending at every pass for
   its ``GateReading.hold`` (Prometheus: 2 x (``for`` + the recording rule's 1m window),
   ``gates/prometheus.py``, which finds it for every alert it reads), the rollout rolls back ("held N
   by pending alert X after the bake of step S ..."). The bound counts from the first pass after the
   bake that read a gate pending (``RolloutStatus.pending_since``, stored by the driver with the rest
   of the status), not from the end of the bake: passes need not read the gates (an unreadable
   Prometheus, a restarted one whose alerts enter pending anew, a missed CronJob run), and counted
   from the bake the first pending reading after such a gap rolled back at once, "held 13m00s" for a
   hold no pass had seen (audit closing-33b-3). Only a pass that reads every gate and none pending
   ends the spell (all ``ok`` moves on: the next step). An unreadable gate holds the step (rule 7)
   but keeps ``pending_since``: clearing it, with a pending pass clearing ``blind_since``, let a gate
   read pending and unreadable by turns (or a pending gate beside one unreadable now and then) hold
   a step forever (audit closing-33d-1). While ``pending_since`` is set, an unreadable pass stores no
   ``blind_since`` (the 7-field budget) and rolls back once ``now - pending_since`` reaches
   ``gate_timeout_seconds`` (never later than the blind spell alone would). Pending readings without
   a bound (``hold`` None) record nothing.
9. Gates judge the new version by its own series (``GateReading``: ``state`` and ``value`` are its
   canary variant's or Knative revision's, ``gates/cloudwatch.py``, ``gates/prometheus.py``). What
   a gate shows of the STABLE version (``GateReading.stable``: its alarm in ALARM, its revision's
   alert firing) never rolls the new version back; every decision of a rollout in progress says it
   in its message. Rolling back on it rolled back every new version at its first step while the
   stable version breached (an incident: the fix could not be released) and told the on-call the new
   version had the stable version's value (audit rolloutrun-3).
10. A step without requests is no evidence. When the gate reader counts the new version's requests
   in the step (``GateReading.requests``: the canary variant's ``Invocations`` on AWS,
   ``gates/cloudwatch.py``; on Kubernetes the canary Knative revision's ``revision_app_request_count``,
   ``gates/prometheus.py``, when the driver names that revision), a baked step whose count is under the plan's ``minRequestsPerStep``
   (``RolloutSpec.min_requests``, default 1; 0: no minimum; a step at 0%, blue/green's before its
   switch, needs none) does not end: it waits at the step's share,
   as for a pending gate (rule 8, the same ``pending_since`` spell), for at most
   ``gate_timeout_seconds`` from the spell's first pass, then rolls back ("step 1 (2%): the canary
   served 0 requests in 25m00s; at least 1 needed (held 15m00s after the bake ...)"). The gates' own
   contracts count a period without requests neither as a breach nor as healthy, so without this
   rule a version that served nobody "passed all 6 steps" (audit rolloutaws-3). Every pass's message
   of a counted step names the count (baking, moving on, the finish and its reason). The finish also
   waits the readings' ``GateReading.lag`` after the last step's bake (CloudWatch: two periods, the
   bake's last minute to complete and to be published, ``gates/cloudwatch.py``), so that minute,
   published after the pass that ends the bake, is judged: nothing reads the canary after the
   finish; a later step's window reaches back one period on the canary variant for the same minute
   of the step before (audit rolloutaws-8).

When a step is in effect. ``bake`` is the time at each step before the next (docs/spec.md), i.e. the
time the endpoint serves the step's share. A traffic change is not in effect when it is asked for:
- SageMaker: ``UpdateEndpointWeightsAndCapacities`` "sets the endpoint status to ``Updating``. After
  updating the endpoint, it sets the status to ``InService``" (botocore ``sagemaker`` service-2
  documentation of the operation), and a step that grows the canary (``DesiredWeightAndCapacity
  .DesiredInstanceCount``: 25% -> 75% of three instances is 1 -> 3) keeps it ``Updating`` while
  SageMaker provisions the instances, minutes for a GPU instance. While it is ``Updating`` rule 2
  waits; the first pass that sees it ``InService`` (``DescribeEndpoint`` ``EndpointStatus``,
  ``ready``) at the step's share (``ProductionVariantSummary.CurrentWeight``) records the step in
  effect.
- KServe (Serverless): a ``canaryTrafficPercent`` patch becomes the Knative Service's traffic block
  (kserve ``reconcilers/knative/ksvc_reconciler.go``), which Knative's Route programs into its
  ingress: the Route's ``status.traffic`` is written before the ingress is ready, and ``Ready``
  (``IngressReady``) only once it is (knative/serving ``pkg/reconciler/route/route.go``
  ``ReconcileKind``, ``configureTraffic``); the Service waits for its Route's generation
  (``pkg/reconciler/service/service.go``), and KServe copies the Service's traffic and its
  ``RoutesReady`` as ``PredictorRouteReady`` (``inference_service_status.go`` ``PropagateStatus``).
  So the same period exists there, usually seconds; the driver reports it (``observed.in_effect``,
  ``drivers/kserve.py`` ``traffic_in_effect``) and the same rule applies.
The gates' window still starts when the traffic was asked for (``since``): a breach while the
change is being applied counts. The in-effect time is the first pass that observes it, so the bake
is at most one pass interval longer than ``bake``, never shorter. Reconcile reads no clock: ``now``
of that pass is the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from mlops_infra.rollout.model import (
    MAX_FIELD,
    TERMINAL,
    Decision,
    GateReading,
    NotReady,
    Observed,
    RolloutSpec,
    RolloutStatus,
)

Command = Literal["abort", "resume"] | None


def reconcile(spec: RolloutSpec, observed: Observed, gates: Sequence[GateReading], now: float,
              command: Command = None) -> Decision:
    """The next action for one endpoint (see the module rules)."""
    status = observed.status if observed.status and observed.status.revision == observed.revision else None
    if command == "abort":
        return _abort(spec, status, now)
    if command == "resume" and status is not None and status.phase in ("rolled_back", "aborted"):
        if observed.ready and observed.stable == observed.revision:
            return _resume_served(spec, status, now)
        status = None
    if not observed.ready:
        if spec.target == "kubernetes" and observed.not_ready is not None:
            return _not_ready(spec, status, observed, observed.not_ready, now)
        firing = [g for g in gates if g.state == "firing"]
        if spec.target == "aws" and firing and status is not None and status.phase == "progressing":
            return _fired(spec, status, firing, now)  # recorded now, carried out when InService (rule 2)
        return Decision("wait", f"the endpoint is updating{_detail(observed)}; waiting for it to settle")
    failed = _update_failed(spec, status, observed, now) if spec.target == "aws" else None
    if failed is not None:
        return failed
    if status is None:
        return _start(spec, observed, now)
    if status.phase in TERMINAL:
        return _terminal(spec, status, observed)
    return _with_stable(_progressing(spec, status, observed, gates, now), status, gates)


def _with_stable(decision: Decision, status: RolloutStatus, gates: Sequence[GateReading]) -> Decision:
    """``decision`` with its message saying what the gates show of the stable version (rule 9)."""
    notes = [f"{g.name}: {g.stable}" for g in gates if g.stable]
    if not notes:
        return decision
    return replace(decision, message=f"{decision.message}; the stable version {status.previous or '(unknown)'} "
                   f"breaches (not counted against version {status.revision}): {'; '.join(notes)}")


def _detail(observed: Observed) -> str:
    return f" ({observed.detail})" if observed.detail else ""


def _not_ready(spec: RolloutSpec, status: RolloutStatus | None, observed: Observed, pending: NotReady,
               now: float) -> Decision:
    """Rule 2 on Kubernetes: a new revision that failed, or stays not ready too long, rolls back."""
    if status is not None and status.phase in ("rolled_back", "aborted"):
        return _terminal(spec, status, observed)
    why = f": {pending.why}" if pending.why else ""
    keep = len(pending.why.split(":", 1)[0]) + 2 if pending.why else 0  # ": <Reason>" (_within_field)
    timeout = spec.not_ready_timeout_seconds
    version = _without_model(observed.revision)  # the ending names the model (_within_field)
    if pending.failed:
        head = f"revision {pending.revision} of version {version} failed"
    elif pending.since is not None and now - pending.since >= timeout:
        head = (f"revision {pending.revision} of version {version} not ready after "
                f"{duration(now - pending.since)} (timeout {duration(timeout)})")
    elif pending.since is None:
        return Decision("wait", f"revision {pending.revision} of version {observed.revision} is not ready yet{why}; "
                        "waiting for it (no time of its last change to time it out)")
    else:
        ends = pending.since + timeout
        return Decision("wait", f"revision {pending.revision} of version {observed.revision} is not ready yet{why}; "
                        f"rolling back in {duration(ends - now)} unless it becomes ready", next_check=ends)
    if status is not None and status.phase == "progressing":
        tail = f" at step {status.step + 1} ({spec.steps[status.step]}% on version {status.revision})"
        reason = _within_field(head, why, tail, keep)
        return Decision("rollback", f"roll back: {reason}", 0, status.evolve(phase="rolled_back", reason=reason,
                                                                             since=now))
    if status is None and observed.stable not in (None, observed.revision):
        reason = _within_field(head, why, f" before step 1 (version {observed.stable} keeps all traffic)", keep)
        return Decision("rollback", f"roll back: {reason}", 0,
                        RolloutStatus("rolled_back", observed.revision, observed.stable, 0, now, reason=reason))
    return Decision("wait", f"{head}{why}; no other version to roll back to: waiting for it")


def _fired(spec: RolloutSpec, status: RolloutStatus, firing: Sequence[GateReading], now: float) -> Decision:
    """Rule 6: the firing gates roll the rollout back (reason: which gate, which value, at which step and share)."""
    reason = (f"{', '.join(g.describe() for g in firing)} fired at step {status.step + 1} "
              f"({spec.steps[status.step]}% on version {status.revision})")
    return Decision("rollback", f"roll back: {reason}", 0, status.evolve(phase="rolled_back", reason=reason, since=now))


def _update_failed(spec: RolloutSpec, status: RolloutStatus | None, observed: Observed, now: float) -> Decision | None:
    """Rule 2 on AWS: the rollout's own update failed (``observed.not_ready`` failed while the endpoint is
    ready: SageMaker put it back InService with a ``FailureReason``, ``drivers/sagemaker.py`` **A failed
    update**) and the endpoint is not where the status's update was to put it: a progressing step's share
    (nor the next step's, rule 5's record), or the finish's configuration. Then roll back (cause
    ``update_failed``, SageMaker's reason quoted) rather than repeat the update at every pass; None: no such
    failure."""
    failure = observed.not_ready
    if failure is None or not failure.failed or status is None:
        return None
    if status.phase == "progressing":
        asked = spec.steps[status.step]
        following = spec.steps[status.step + 1] if status.step + 1 < len(spec.steps) else None
        if observed.percent in (asked, following):
            return None
        where = f"step {status.step + 1} ({asked}% on version {status.revision})"
    elif status.phase == "finished" and not observed.converged:
        where = f"the finish (100% on version {status.revision})"
    else:
        return None
    seen = "an unknown share" if observed.percent is None else f"{observed.percent}%"
    reason = f"update_failed at {where}: version {status.revision} has {seen} (SageMaker: {failure.why})"
    return Decision("rollback", f"roll back: {reason}; the endpoint is on {failure.revision}", 0,
                    status.evolve(phase="rolled_back", reason=reason, since=now))


def _resume_served(spec: RolloutSpec, status: RolloutStatus, now: float) -> Decision:
    """Rule 1: ``--resume`` of a rolled-back or aborted version that already serves all traffic keeps it."""
    how = "abort" if status.phase == "aborted" else "rollback"
    reason = f"resumed: version {status.revision} already served all traffic (its {how} was never carried out)"
    return Decision("finish", f"resume: version {status.revision} already serves all traffic: recorded as finished",
                    100, status.evolve(phase="finished", step=len(spec.steps) - 1, since=now, reason=reason,
                                       notice="", blind_since=None, pending_since=None, in_effect=None))


def _start(spec: RolloutSpec, observed: Observed, now: float) -> Decision:
    if observed.stable is None:
        done = RolloutStatus("finished", observed.revision, "", len(spec.steps) - 1, now,
                             reason="first deployment: no previous version to compare with")
        return Decision("finish", f"version {observed.revision} is the first one: all traffic at once", 100, done)
    if observed.stable == observed.revision:
        if not observed.converged:
            return Decision("finish", f"version {observed.revision} serves all traffic on an older configuration: "
                            "landing the new one (same model: nothing to canary)", 100)
        return Decision("none", f"version {observed.revision} serves all traffic; nothing to roll out")
    first = spec.steps[0]
    started = RolloutStatus("progressing", observed.revision, observed.stable, 0, now)
    return Decision("set_traffic", f"start: {first}% of traffic to version {observed.revision} "
                    f"(from {observed.stable})", first, started)


def _terminal(spec: RolloutSpec, status: RolloutStatus, observed: Observed) -> Decision:
    """Rule 4. A rolled-back or aborted status on Kubernetes whose 0% the route does not serve yet
    (``observed.in_effect`` false) is a ``wait`` saying so, at every pass until it does.

    Why (closing-41a-4). Knative's Route reconciler programs nothing while a traffic target is bad:
    knative/serving ``pkg/reconciler/route/route.go`` ``configureTraffic`` (l.468-480) marks the bad
    target (``badTarget.MarkBadTrafficTarget``) and returns ("Traffic targets aren't ready, no need to
    configure Route"), so the Ingress keeps the last split it was given. KServe's 0% still names the
    same targets (the ``prev`` revision, the tags: kserve v0.15.0 ``ksvc_reconciler.go``
    ``createKnativeService`` l.128-160), so a rollback through a blocked route (rule 8's
    ``traffic_not_in_effect``: a deleted ``prev`` revision, a tag-host certificate, an ingress) is as
    unprogrammable as the step was: the new version keeps the share of the last step Knative applied.
    Answering ``none`` ("was rolled back") told the opposite."""
    if status.phase == "finished":
        if observed.percent != 100 or observed.stable not in (None, observed.revision) or not observed.converged:
            return Decision("finish", f"completing the finish of version {status.revision}", 100)
        return Decision("none", f"version {status.revision} finished: {status.reason or 'all steps passed'}")
    if observed.percent not in (0, None):
        return Decision("rollback", f"completing the rollback of version {status.revision}", 0)
    how = "aborted" if status.phase == "aborted" else "rolled back"
    if spec.target == "kubernetes" and not observed.in_effect:
        return Decision("wait", f"version {status.revision} was {how} ({status.reason}), but the rollback is not in "
                        f"effect: Knative's route cannot serve 0% on version {status.revision}{_detail(observed)}. The "
                        f"route keeps the last split it programmed (version {status.revision} keeps that share) and "
                        "nothing the controller writes can move the traffic until what the route's reason names is "
                        "fixed on the cluster (Knative's route status names it)")
    return Decision("none", f"version {status.revision} was {how}: {status.reason}. Apply a new version, or run "
                    "`mlops-infra rollout --resume` to try this one again from the first step")


def _abort(spec: RolloutSpec, status: RolloutStatus | None, now: float) -> Decision:
    if status is None or status.phase in TERMINAL:
        return Decision("none", "no rollout in progress: nothing to abort")
    reason = f"aborted by the operator at step {status.step + 1} ({spec.steps[status.step]}%)"
    return Decision("rollback", reason, 0, status.evolve(phase="aborted", reason=reason, since=now))


def _progressing(spec: RolloutSpec, status: RolloutStatus, observed: Observed, gates: Sequence[GateReading],
                 now: float) -> Decision:
    step, percent = status.step, spec.steps[status.step]
    if observed.percent != percent:
        following = step + 1
        if following < len(spec.steps) and observed.percent == spec.steps[following]:
            return Decision("record", f"step {following + 1} ({spec.steps[following]}%) was set by an earlier pass "
                            "that stopped before recording it", spec.steps[following],
                            status.evolve(step=following, since=now, blind_since=None, pending_since=None,
                                          in_effect=now if observed.in_effect else None),
                            now + spec.bake_seconds if observed.in_effect else None)
        seen = "unknown" if observed.percent is None else f"{observed.percent}%"
        return Decision("set_traffic", f"step {step + 1}: traffic on version {status.revision} is {seen}, "
                        f"not {percent}%: setting it", percent,
                        status.evolve(since=now, in_effect=None, pending_since=None))
    firing = [g for g in gates if g.state == "firing"]
    if firing:
        return _fired(spec, status, firing, now)
    blind = [g for g in gates if g.state == "unreadable"]
    if blind:
        return _hold(spec, status, blind, now, observed.in_effect)
    if status.in_effect is None:
        if not observed.in_effect:
            return _not_in_effect(spec, status, observed, now)
        return Decision("record", f"step {step + 1} ({percent}%) is in effect: baking {duration(spec.bake_seconds)} "
                        "from now", percent, status.evolve(in_effect=now, blind_since=None, pending_since=None),
                        now + spec.bake_seconds)
    cleared = _cleared(status)
    ends = status.in_effect + spec.bake_seconds
    if now < ends:
        served = _served(gates)
        so_far = "" if served is None else f"; {served:g} request{_plural(served)} served so far"
        return Decision("wait", f"step {step + 1} ({percent}%): baking, {duration(ends - now)} left{so_far}", percent,
                        cleared, ends)
    pending = [g for g in gates if g.state == "pending"]
    if pending:
        after = f"step {step + 2}" if step + 1 < len(spec.steps) else "the finish"
        names = ", ".join(g.describe() for g in pending)
        holds = [g.hold for g in pending if g.hold is not None]
        limit = min(holds) if holds else None
        first = now if status.pending_since is None else status.pending_since
        if limit is not None and now - first >= limit:
            reason = (f"held {duration(now - first)} by pending alert {names} after the bake of step {step + 1} "
                      f"({percent}% on version {status.revision}): neither fired nor resolved within "
                      f"{duration(limit)}")
            return Decision("rollback", f"roll back: {reason}", 0, status.evolve(phase="rolled_back", reason=reason,
                                                                                 since=now))
        bound = "" if limit is None else f" (rolling back in {duration(first + limit - now)} if it does neither)"
        if limit is None:  # no bound to count (a reader that cannot tell): nothing to record
            held = _cleared(status)
        elif status.pending_since == first and status.blind_since is None:
            held = None
        else:
            held = status.evolve(blind_since=None, pending_since=first)
        return Decision("wait", f"step {step + 1} ({percent}%): baked, but {names}: its condition holds and its "
                        f"`for` has not elapsed; waiting for it to fire (roll back) or resolve before {after}{bound}",
                        percent, held, None if limit is None else first + limit)
    served = _served(gates)
    short = _too_few(spec, status, served, now)
    if short is not None:
        return short
    count = "" if served is None else f" (step {step + 1} served {served:g} request{_plural(served)})"
    lags = [g.lag for g in gates if g.lag]
    published = ends + max(lags, default=0)
    if step + 1 == len(spec.steps) and now < published:
        return Decision("wait", f"step {step + 1} ({percent}%): baked{count}; waiting {duration(published - now)} "
                        "for the gates' metrics to publish the bake's last minute before the finish", percent,
                        cleared, published)
    if step + 1 < len(spec.steps):
        following = spec.steps[step + 1]
        return Decision("set_traffic", f"step {step + 2}: {following}% of traffic to version {status.revision}"
                        f"{count}", following, status.evolve(step=step + 1, since=now, blind_since=None,
                                                             in_effect=None, pending_since=None))
    reason = "all steps passed" if served is None else f"all steps passed; the last served {served:g} " \
        f"request{_plural(served)}"
    return Decision("finish", f"finish: version {status.revision} passed all {len(spec.steps)} steps{count}", 100,
                    status.evolve(phase="finished", since=now, blind_since=None, pending_since=None, reason=reason))


def _not_in_effect(spec: RolloutSpec, status: RolloutStatus, observed: Observed, now: float) -> Decision:
    """Rule 8, the step's share set but not in effect: wait; on Kubernetes for at most
    ``not_ready_timeout_seconds`` from the step's ``since`` (the traffic change), then roll back.

    Why a bound (audit k8sroll-4). Knative's Route stays not Ready while it cannot program the split,
    with a reason: a ``prev`` revision deleted by hand (``RevisionMissing``: knative/serving
    ``pkg/apis/serving/v1/route_lifecycle.go`` ``MarkMissingTrafficTarget``), a certificate for the tag
    hosts that cannot be issued (``MarkCertificateProvisionFailed``), an ingress that is not configured
    (``MarkIngressNotConfigured``); KServe copies it as ``PredictorRouteReady`` (kserve v0.15.0
    ``inference_service_status.go`` ``PropagateStatus``), and the driver quotes it in ``detail``
    (``drivers/kserve.py`` ``observe_isvc``). The old split keeps serving meanwhile, but the rollout never
    ended and every pass succeeded, so nobody was told. The rollback's reason names the step and quotes
    the detail, cut so that the step's tail (which the rollback notice reads) stays within the 256
    characters of a status field; the notice goes out as for a firing gate. The same timeout as a
    revision not ready (rule 2): it exceeds Knative's progress deadline. AWS: ``in_effect`` is
    ``ready``, waited on by rule 2, so this wait does not arise there."""
    step, percent = status.step, spec.steps[status.step]
    waiting = f"step {step + 1} ({percent}%) is set but not in effect yet{_detail(observed)}; its bake starts when it is"
    if spec.target != "kubernetes":
        return Decision("wait", waiting, percent, _cleared(status))
    limit, waited = spec.not_ready_timeout_seconds, now - status.since
    if waited < limit:
        return Decision("wait", f"{waiting} (rolling back in {duration(limit - waited)} unless it is)", percent,
                        _cleared(status), status.since + limit)
    head = f"share not in effect after {duration(waited)} (timeout {duration(limit)})"
    tail = f" at step {step + 1} ({percent}% on version {status.revision})"
    reason = _within_field(head, f": {observed.detail}" if observed.detail else "", tail)
    return Decision("rollback", f"roll back: {reason}", 0, status.evolve(phase="rolled_back", reason=reason, since=now))


def _within_field(head: str, why: str, tail: str, keep: int = 0) -> str:
    """``head + why + tail`` with ``why`` (the quoted cluster detail) cut so that the whole fits the
    :data:`MAX_FIELD` characters of a status field, keeping ``tail``: the rollback notice reads the step
    and its share from it (``rollout/scheduled.py`` ``notice_facts``), and ``to_fields`` cuts a longer
    value at its end. Rules 2 and 8; the tail quotes a revision key, ``<version> of <model>`` on
    Kubernetes (``drivers/kserve.py`` ``revision_key``, a model name up to 63 characters), so the room
    for ``why`` depends on the model's name (audit closing-42b-2). Rule 2's head names the version
    without its model (:func:`_without_model`): quoting the key in both, a 63-character Knative Revision
    name and model name at a two-digit step passed 256 characters without any ``why``, the stored
    reason lost its tail and the notice's share read "unknown" (stop 42's noticed-and-left, "KServe reasons").

    ``keep``: the length of ``why``'s first part, Knative's one-word reason (rule 2: ``": <Reason>"``),
    which the notice reads when a colon, the end or the tail follows it (``rollout/scheduled.py``
    ``_REVISION``): when the room holds that part but not with a colon and ``...`` after it, ``why`` is
    cut to that part alone rather than inside the word; with no room for even ``...``, ``why`` is left out."""
    room = MAX_FIELD - len(head) - len(tail)
    if len(why) <= room:
        cut = why
    elif keep + 4 <= room or keep > room >= 3:  # the cut keeps the word and its colon, or cannot keep the word
        cut = why[:room - 3] + "..."
    elif keep <= room:
        cut = why[:keep]
    else:
        cut = ""
    return head + cut + tail


def _without_model(key: str) -> str:
    """The version of a revision key: ``15`` of ``15 of fraud-model`` (``drivers/kserve.py``
    ``revision_key``: ``<version> of <model>``, a model name has no space); a bare number as it is. The
    rolled-back status keeps the whole key (its ``revision``, the notice's ``version`` fact)."""
    return key.split(" of ", 1)[0]


def _served(gates: Sequence[GateReading]) -> float | None:
    """The new version's requests in the step, as the gate reader counted them (the fewest any reading
    gives); None: not counted (rule 10)."""
    counted = [g.requests for g in gates if g.requests is not None]
    return min(counted) if counted else None


def _plural(count: float) -> str:
    return "" if count == 1 else "s"


def _too_few(spec: RolloutSpec, status: RolloutStatus, served: float | None, now: float) -> Decision | None:
    """Rule 10: a baked step whose new version served fewer than ``spec.min_requests`` requests holds,
    for at most ``gate_timeout_seconds`` from the spell's first pass (``pending_since``), then rolls
    back; None: enough requests, none required, or not counted."""
    needed = spec.min_requests
    step, percent = status.step, spec.steps[status.step]
    if served is None or needed <= 0 or served >= needed or percent == 0:
        return None  # a 0% step (blue/green's, before the switch) serves no request by design
    first = now if status.pending_since is None else status.pending_since
    limit = spec.gate_timeout_seconds
    seen = (f"step {step + 1} ({percent}%): the canary served {served:g} request{_plural(served)} in "
            f"{duration(now - status.since)}; at least {needed} needed")
    if now - first >= limit:
        reason = (f"{seen} (held {duration(now - first)} after the bake of {duration(spec.bake_seconds)} on version "
                  f"{status.revision}: a step without requests is no evidence)")
        return Decision("rollback", f"roll back: {reason}", 0, status.evolve(phase="rolled_back", reason=reason,
                                                                             since=now))
    held = None if status.pending_since == first and status.blind_since is None else \
        status.evolve(blind_since=None, pending_since=first)
    return Decision("wait", f"{seen}: baked, waiting for requests before "
                    f"{'the finish' if step + 1 == len(spec.steps) else f'step {step + 2}'} (rolling back in "
                    f"{duration(first + limit - now)} if too few come)", percent, held, first + limit)


def _cleared(status: RolloutStatus) -> RolloutStatus | None:
    """``status`` without ``blind_since`` (the gates are readable again) and ``pending_since`` (no gate
    held the baked step at this pass) when it has either; None: unchanged."""
    if status.blind_since is None and status.pending_since is None:
        return None
    return status.evolve(blind_since=None, pending_since=None)


def _hold(spec: RolloutSpec, status: RolloutStatus, blind: Sequence[GateReading], now: float,
          in_effect: bool) -> Decision:
    names = ", ".join(g.describe() for g in blind)
    at = f"at step {status.step + 1} ({spec.steps[status.step]}% on version {status.revision})"
    if status.pending_since is not None:
        # Held by a pending gate since pending_since: the spell goes on (rule 8), and its time counts
        # against the gate timeout too (no blind_since beside it: the 7-field budget).
        first = status.pending_since
        if now - first >= spec.gate_timeout_seconds:
            reason = (f"gate(s) {names} unreadable while held {duration(now - first)} since a gate was first read "
                      f"pending (gate timeout {duration(spec.gate_timeout_seconds)}) {at}")
            return Decision("rollback", f"roll back: {reason}", 0,
                            status.evolve(phase="rolled_back", reason=reason, since=now))
        since, changes = first, {}
    else:
        since = status.blind_since if status.blind_since is not None else now
        if now - since >= spec.gate_timeout_seconds:
            reason = f"gate(s) {names} unreadable for {duration(now - since)} {at}"
            return Decision("rollback", f"roll back: {reason}", 0,
                            status.evolve(phase="rolled_back", reason=reason, since=now))
        changes: dict[str, float | None] = {"blind_since": since} if status.blind_since is None else {}
    left = spec.gate_timeout_seconds - (now - since)
    if status.in_effect is None and in_effect:
        changes["in_effect"] = now  # observed in effect (rule 8): the bake counts from here, holding or not
    return Decision("hold", f"holding step {status.step + 1}: cannot read {names}; rolling back in {duration(left)} "
                    "unless the gates can be read", spec.steps[status.step],
                    status.evolve(**changes) if changes else None, since + spec.gate_timeout_seconds)


def duration(seconds: float) -> str:
    """A short human duration: 45s, 10m00s, 1h15m."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
