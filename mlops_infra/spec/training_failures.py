"""Who hears that a training run failed, on both targets, and the warning when nobody would.

A training job's run fails on its own (a crash past the retries, ``max_runtime`` reached, capacity
never found); before this module nobody was told: no Prometheus rule watched the runs on Kubernetes
and no EventBridge rule the pipeline executions on AWS. Each job now gets ``training_failed_<job>``
(``compile/kubernetes/alerting.py`` :func:`~mlops_infra.compile.kubernetes.alerting.training_failure_rule`,
``compile/aws/training_failures.py``), told to :func:`training_failure_audience`:

- the job's own ``notify`` channels (optional: whoever owns the job), then
- the channels of the alerts in its ``triggers.on_alerts`` (whoever watches the drift that should
  retrain the model must know the retraining failed, as for the retrain trigger's failures,
  ``spec/lambda_failures.py`` ``gate_audience``),

each once, in that order. There is no fall-back to every channel: a job that names nobody is told to
nobody, and :func:`check_training_failures` warns (``unheard-training-failures``) when such a job runs
on a schedule, where nobody starts a run and so nobody waits for its result. A job without a schedule
or alerts runs only when someone starts it by hand; it is not warned about. On AWS an EventBridge
rule has at most :data:`EVENTBRIDGE_TARGETS_MAX` targets, so the rule tells the first five
(:func:`aws_training_failure_audience`); the check warns when channels are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.alerting import notified_channels
from mlops_infra.spec.context import CheckContext

EVENTBRIDGE_TARGETS_MAX = 5
"""Targets of one EventBridge rule: "Targets per rule: 5", not adjustable (Amazon EventBridge User
Guide, "Amazon EventBridge quotas", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html)."""


def training_failure_audience(system, job) -> list[str]:
    """Who hears that a run of ``job`` failed (module docstring): its ``notify`` channels, then its
    ``on_alerts`` alerts' channels, each once; channels the system does not declare are skipped
    (the reference check reports them)."""
    known = {c.name for c in system.channels}
    out = [c for c in dict.fromkeys(job.notify) if c in known]
    return out + [c for c in notified_channels(system, job.triggers.on_alerts) if c not in out]


def aws_training_failure_audience(system, job) -> list[str]:
    """:func:`training_failure_audience` cut to one EventBridge rule's :data:`EVENTBRIDGE_TARGETS_MAX` targets."""
    return training_failure_audience(system, job)[:EVENTBRIDGE_TARGETS_MAX]


def aws_told_channels(system) -> set[str]:
    """The channels some job's AWS failure rule tells (their topics let EventBridge publish)."""
    return {c for job in system.training_jobs for c in aws_training_failure_audience(system, job)}


def names_nobody(system, job) -> bool:
    """Whether ``job`` names no channel to tell: no ``notify`` and every ``on_alerts`` alert known and
    notifying none. A name that does not resolve (an unknown channel, an alert left out of a partial
    check because it is invalid) is its own error; it does not make the job unheard too."""
    alerts = [system.item("alerts", name) for name in job.triggers.on_alerts]
    return not job.notify and all(a is not None and not a.notify for a in alerts)


def check_training_failures(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Warn where a scheduled job's failed runs would tell nobody, or (AWS) not everyone (module docstring)."""
    system = ctx.system
    for i, job in enumerate(system.training_jobs):
        told = training_failure_audience(system, job)
        if job.triggers.schedule and names_nobody(system, job):
            yield warning(
                "unheard-training-failures",
                f'Nobody would hear that a scheduled run of training job "{job.name}" failed',
                "The job runs on its schedule, so nobody starts its runs by hand and waits for them; when one "
                "fails (a crash past its retries, max_runtime reached, no capacity) its alert training_failed_"
                f"{job.name} tells the job's notify channels and the channels of its on_alerts alerts, and it has "
                "none. Add notify: [<channel>] to the job.",
                ("training_jobs", i), f"training_jobs.{job.name}")
        elif len(told) > EVENTBRIDGE_TARGETS_MAX and any(e.target.kind == "aws" for e in system.environments.values()):
            yield warning(
                "unheard-training-failures",
                f'Only {EVENTBRIDGE_TARGETS_MAX} of the {len(told)} channels of training job "{job.name}" hear '
                "that a run failed on AWS",
                f"On AWS a failed run is told by an EventBridge rule, which has at most {EVENTBRIDGE_TARGETS_MAX} "
                f"targets; {', '.join(told[EVENTBRIDGE_TARGETS_MAX:])} would not be told. Name the channels that "
                "must hear it first in the job's notify.",
                ("training_jobs", i), f"training_jobs.{job.name}")
