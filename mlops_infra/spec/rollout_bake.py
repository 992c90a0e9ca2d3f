"""Kubernetes: a canary step bakes long enough for its rollback alerts to fire (audit rolloutrun-1).

On Kubernetes the rollout controller reads the ``rollback_on`` alerts from Prometheus
(``rollout/gates/prometheus.py``). Prometheus keeps an alert whose expression holds ``pending`` and
makes it firing only once it has held for the rule's ``for`` (prometheus ``rules/alerting.go``
``AlertingRule.Eval``: ``if a.State == StatePending && ts.Sub(a.ActiveAt) >= r.holdDuration``), and the
expression can only hold once the recording rule's rate window has requests of the new revision in it
(:data:`RATE_WINDOW_SECONDS`, ``compile/kubernetes/monitoring.py`` ``WINDOW_SECONDS``: the latency and
error-rate monitors' ``rate(...[1m])``). So from the start of a step, a canary that breaches at once
fires after ``for`` + the window at the earliest. The controller waits at the end of a bake while an
alert is pending (``rollout/reconcile.py`` rule 8), but a breach that starts later in a step, or needs
the window to show, is not even pending when a shorter bake ends, and the canary moves on to the next
share (the last step: ``finished``).

:func:`check_rollout_bake` warns, in Kubernetes environments, for each endpoint whose rollout the
controller drives (canary, blue_green) and that has ``rollback_on`` alerts, when ``bake`` (none: 0) is
shorter than the longest ``for`` of those alerts plus the window, naming both and the smallest bake
that covers them. A warning, not an error: the rollout still works, its alerts still roll back what
fires within a step, and the wait on pending alerts covers a canary breaching from its first request.
On AWS the controller reads the alarm's metric over the step itself (``rollout/gates/cloudwatch.py``),
not the alarm's ``EvaluationPeriods``, so no such bound applies there.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.serving import CONTROLLER_STRATEGIES

RATE_WINDOW_SECONDS = 60
"""The range of the compiled latency and error-rate recording rules on Kubernetes (``rate(...[1m])``;
``compile/kubernetes/monitoring.py`` ``WINDOW_SECONDS``, which tests/spec/test_rollout_bake.py checks
equal: the compiler may import the spec, not the other way round)."""


def _text(seconds: int) -> str:
    """``11m``, ``90s``, ``1h5m``: a duration as a document writes one."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n) or "0s"


def check_rollout_bake(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In a Kubernetes environment, each controller-driven rollout bakes at least the longest ``for`` of
    its rollback alerts plus the rate window (module docstring)."""
    if environment.target.kind != "kubernetes":
        return
    for i, endpoint in enumerate(ctx.system.endpoints):
        rollout = endpoint.rollout
        if rollout.strategy not in CONTROLLER_STRATEGIES:
            continue
        alerts = [a for a in (ctx.item("alerts", name) for name in rollout.rollback_on) if a is not None]
        if not alerts:
            continue  # none, or unknown references (reported as such)
        longest = max(alerts, key=lambda a: a.for_.seconds)
        needed = longest.for_.seconds + RATE_WINDOW_SECONDS
        bake = rollout.bake.seconds if rollout.bake is not None else 0
        if bake >= needed:
            continue
        has = f"bakes {rollout.bake} at each step" if rollout.bake is not None else "has no bake"
        yield warning(
            "rollout-bake-shorter-than-alert",
            f'Endpoint "{endpoint.name}" {has}, less than its rollback alert "{longest.name}" needs to fire '
            f"({longest.for_} + {_text(RATE_WINDOW_SECONDS)})",
            f'In environment {env} (Kubernetes) alert "{longest.name}" fires only after its condition has held for '
            f"its for ({longest.for_}), and the condition needs the monitor's {_text(RATE_WINDOW_SECONDS)} rate "
            "window of the new version's requests first. The rollout waits at the end of a bake while the alert "
            "is pending, but a breach that starts later in a step is not even pending when the bake ends, and "
            "the new version moves on to more traffic (after the last step it is finished). Set "
            f"rollout.bake to at least {_text(needed)}, or shorten the for of alert \"{longest.name}\".",
            ("endpoints", i, "rollout", "bake") if rollout.bake is not None else ("endpoints", i, "rollout"),
            f"endpoints.{endpoint.name}")
