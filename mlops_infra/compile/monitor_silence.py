"""A drift or quality monitor that stops measuring raises an alert of its own, on both targets.

Contract (audit contract-4): the drift job (``compile/kubernetes/scripts/drift_job.py``) publishes
nothing when it cannot compute a value (the baseline expired by its data source's ``retention``, no
captured traffic in the window), and nothing when it crashes (a wrong-typed column, a broken image).
The monitor's own alerts cannot say so: on Kubernetes the recording rule drops a stale value by
design (``compile/kubernetes/monitoring.py``) and the alert resolves; on AWS the drift alarm goes to
``INSUFFICIENT_DATA``, which the forwarder does not deliver to Slack, PagerDuty or webhooks
(``compile/aws/forwarder.py`` ``resolves_nothing``). So each monitor the drift job computes
(:data:`~mlops_infra.spec.monitoring.DRIFT_METRICS`) whose :func:`audience` is not empty gets one
more alert, :func:`silent_alert` (``monitor_silent_<monitor>``, severity :data:`SEVERITY`), firing
once the job has not published for :func:`silent_after_seconds`:

- Kubernetes: an alerting rule in the monitor's rule group over the pushed
  ``mlops_monitor_last_success_timestamp_seconds`` (``compile/kubernetes/monitoring.py``
  :func:`~mlops_infra.compile.kubernetes.monitoring.silence_rule`), routed to :func:`audience`
  (``compile/kubernetes/routing.py``);
- AWS: a CloudWatch alarm on the metric the job publishes, missing data breaching, quiet for a
  warm-up of the horizon after its creation (``compile/aws/monitoring.py``
  :func:`~mlops_infra.compile.aws.monitoring.silence_alarms`), its actions the topics of
  :func:`audience` (one alarm per five of them).

Who is told (:func:`audience`): whoever the monitor's alerts notify (the monitor's value is theirs;
:func:`~mlops_infra.spec.alerting.notified_channels`), else every channel of the system (a monitor
with no alert, or with alerts that notify nobody, still runs a job somebody pays for). A system
without channels gets no such alert.

How long (:func:`silent_after_seconds`): two schedules, plus one run's deadline and
:data:`~mlops_infra.compile.drift_job.STALENESS_MARGIN_SECONDS`. A run stamps its value with its start
(``drift_job.run``: ``now``) and may publish up to its deadline later, so a healthy monitor's last
success is at most one schedule plus one deadline old when the next one lands; after one missed
run it is at most two schedules plus a deadline old. The alert therefore fires when two runs in a
row published nothing (or, before the first success, when the first two could have), never
between two healthy runs. For the default hourly schedule: 2 h + 1 h + 5 min = 3 h 5 min.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import drift_job
from mlops_infra.spec.alerting import notified_channels
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor

SEVERITY = "warning"
"""The silent-monitor alert's severity: nothing is broken for users, a measurement is missing."""


def silent_alert(monitor: str) -> str:
    """``monitor_silent_<monitor>``: the alert's name on both targets (``_`` is in no spec name, so no
    spec alert can be named so; as ``routing.rollback_alert``)."""
    return f"monitor_silent_{monitor}"


def silent_after_seconds(monitor: Monitor) -> int:
    """How long without a published value before the monitor counts as silent (module contract):
    two schedules plus one deadline plus the staleness margin."""
    return drift_job.schedule_seconds(monitor) + drift_job.stale_after_seconds(monitor)


def audience(system: Any, monitor: Monitor, alerts: list[str] | None = None) -> list[str]:
    """The channels told that ``monitor`` stopped measuring: those its alerts notify (in the order of
    the alerts), else all of the system's channels (spec order). ``alerts``: the names of the
    monitor's alerts when the caller has them (else found by a pass over the system's alerts)."""
    if alerts is None:
        alerts = [a.name for a in system.alerts if a.monitor == monitor.name]
    return notified_channels(system, alerts) or [c.name for c in system.channels]


def silent_monitors(system: Any) -> list[tuple[Monitor, list[str]]]:
    """``(monitor, channels)`` of each monitor the drift job computes whose :func:`audience` is not
    empty, in spec order; one pass over the alerts (compilers ask through
    :meth:`~mlops_infra.compile.context.CompileContext.silent_channels`, once per compile)."""
    by_monitor: dict[str, list[str]] = {}
    for alert in system.alerts:
        by_monitor.setdefault(alert.monitor, []).append(alert.name)
    out = []
    for monitor in system.monitors:
        if monitor.metric in DRIFT_METRICS:
            channels = audience(system, monitor, by_monitor.get(monitor.name, []))
            if channels:
                out.append((monitor, channels))
    return out


def what_to_check(job: str) -> str:
    """The part of the alert's text saying where to look, ``job`` naming the target's job."""
    return (f"Check the last runs of {job}: a job that fails (its log has the error: a column of the wrong "
            "type, an image that does not start) or that logs 'nothing published' (no captured traffic in the "
            "window, or an empty baseline: a data source's retention may have deleted it).")


def duration_text(seconds: int) -> str:
    """``seconds`` as the spec writes durations, largest units first (``11100`` -> ``3h5m``)."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
