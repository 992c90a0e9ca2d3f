"""A drift monitor that stops publishing is heard, on a real Prometheus, Alertmanager and Pushgateway.

Audit contract-4: the drift job publishes nothing when its baseline expired, when there is no captured
traffic, or when it crashes, and the monitor's own alert cannot say so (the recording rule drops a stale
value). The compiled ``monitor_silent_<monitor>`` rules (``compile/kubernetes/monitoring.silence_rule``)
run here, time compressed: ``for`` by ``compress_time`` and the horizon (a number of seconds in the
expression, which ``compress_time`` leaves alone) by the same factor, while the test pushes what the
job pushes (``mlops_monitor_last_success_timestamp_seconds``, the run's start) and what
kube-state-metrics exports (``kube_cronjob_created``, the CronJob's creation), in real time:

- ``drift`` (alert ``fraud-drift`` -> ml-team) succeeds once and stops: not firing, not even pending,
  before its horizon (two schedules + a deadline + the margin); firing after it, routed to ml-team only;
- ``quality`` (no alert: every channel) publishes every schedule: never pending, never firing;
- ``pdrift`` (no alert) never succeeds after its CronJob was created: nothing before the horizon counted
  from the creation (the first apply raises no alert), firing after it, routed to both channels.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.prometheus import PrometheusStack, compress_time, require, wait_until

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "fraud-dev"
FACTOR = 600.0
"""One hour is 6 s: the hourly monitors' horizon (3h05m) is 18.5 s, their ``for`` (10m) 1 s."""
EXTRA = """\
  - name: quality
    endpoint: scorer
    metric: data_quality
    baseline: transactions
    threshold: 0.1
    schedule: 1h
  - name: pdrift
    endpoint: scorer
    metric: prediction_drift
    threshold: 0.2
    schedule: 1h
"""


def _system():
    text = (REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
    anchor = "  - name: latency\n    endpoint: scorer\n    metric: latency_p99\n"
    assert anchor in text
    loaded = parse_system(text.replace(anchor, EXTRA + anchor), "mlsystem.yaml", "dev")
    assert loaded.ok, [(d.summary, d.detail) for d in loaded.diagnostics if d.is_error]
    return loaded.system


def _compressed_silence_rules(graph) -> dict:
    """The silent-monitor rules only, ``for`` and the horizon divided by :data:`FACTOR`."""
    groups = []
    for group in compress_time(rule_file(graph), FACTOR)["groups"]:
        rules = []
        for rule in group["rules"]:
            if not rule.get("alert", "").startswith("monitor_silent_"):
                continue
            horizon = re.search(r"\) > (\d+)$", rule["expr"])
            assert horizon, rule["expr"]
            rules.append({**rule, "expr": rule["expr"][:horizon.start(1)] + format(int(horizon[1]) / FACTOR, "g")})
        if rules:
            groups.append({**group, "rules": rules})
    return {"groups": groups}


def _success(stack: PrometheusStack, monitor: str, at: float) -> None:
    """What the drift job pushes on success (``drift_job.exposition``), under its grouping key."""
    labels = f'system="fraud-detection",environment="dev",endpoint="scorer",monitor="{monitor}",metric="x"'
    stack.push("mlops-monitor", f"mlops_monitor_value{{{labels}}} 0.01\n"
                                f"mlops_monitor_last_success_timestamp_seconds{{{labels}}} {at:.3f}\n",
               {"system": "fraud-detection", "environment": "dev", "monitor": monitor})


def _created(stack: PrometheusStack, at: float) -> None:
    """kube-state-metrics' ``kube_cronjob_created`` of the three CronJobs (a stand-in exporter)."""
    lines = [f'kube_cronjob_created{{namespace="{NAMESPACE}",cronjob="monitor-{m}"}} {at:.0f}'
             for m in ("drift", "quality", "pdrift")]
    stack.push("kube-state-metrics", "\n".join(lines))


def _silent(stack: PrometheusStack, state: str | None = None) -> dict[str, dict]:
    return {a["labels"]["alertname"]: a for a in stack.alerts(state)
            if a["labels"]["alertname"].startswith("monitor_silent_")}


def _receivers(stack: PrometheusStack) -> dict[str, list[str]]:
    """Alert -> the receivers Alertmanager routed it to."""
    return {a["labels"]["alertname"]: sorted(r["name"] for r in a["receivers"]) for a in stack.notifications()
            if a["labels"]["alertname"].startswith("monitor_silent_")}


def test_a_monitor_that_stops_publishing_fires_after_two_schedules_and_one_that_publishes_never(tmp_path: Path) -> None:
    require()
    system = _system()
    graph = compile_system(system, "dev")
    document = _compressed_silence_rules(graph)
    assert sorted(r["alert"] for g in document["groups"] for r in g["rules"]) == [
        "monitor_silent_drift", "monitor_silent_pdrift", "monitor_silent_quality"]
    routes = routing.system_routes(system, "dev")
    config = routing.alertmanager_config(routes, NAMESPACE, resolve_secret=lambda ref: "http://127.0.0.1:1/",
                                         timing={"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
                                         global_config={"smtp_smarthost": "127.0.0.1:1",
                                                        "smtp_from": "alertmanager@test.invalid"})
    schedule = 3600 / FACTOR
    horizon = (2 * 3600 + 3600 + 300) / FACTOR  # two schedules + the hourly job's deadline (1h) + 5 min
    assert (schedule, horizon) == (6.0, 18.5)
    with PrometheusStack(tmp_path / "stack", pushgateway_namespace=NAMESPACE, rules=[document], alertmanager_config=config,
                         scrape_interval="500ms", evaluation_interval="500ms") as stack:
        start = time.time()
        _created(stack, start)
        _success(stack, "drift", start)  # one run succeeds, then every run fails or publishes nothing
        last = start
        while time.time() - start < horizon - 2:  # two schedules and more: never pending before the horizon
            if time.time() - last >= schedule:
                last = time.time()
                _success(stack, "quality", last)
            assert _silent(stack) == {}, f"{time.time() - start:.1f}s after the first apply"
            time.sleep(0.25)
        firing = {}
        while set(firing) != {"monitor_silent_drift", "monitor_silent_pdrift"}:
            assert time.time() - start < horizon + 15, f"not firing in time: {_silent(stack)}\n{stack.logs()}"
            if time.time() - last >= schedule:
                last = time.time()
                _success(stack, "quality", last)
            firing = _silent(stack, "firing")
            assert "monitor_silent_quality" not in _silent(stack), "a monitor that publishes is never silent"
            time.sleep(0.25)
        fired_at = time.time() - start
        assert fired_at >= horizon - 1, fired_at
        alert = firing["monitor_silent_drift"]
        assert alert["labels"]["severity"] == "warning" and alert["labels"]["mlops_monitor"] == "drift"
        assert "run every 1h" in alert["annotations"]["description"]
        assert "CronJob monitor-drift" in alert["annotations"]["description"]
        ml_team = f"{NAMESPACE}/channel-ml-team/ml-team"
        oncall = f"{NAMESPACE}/channel-oncall/oncall"
        receivers = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(_receivers(stack)), timeout=15,
                               what="both silent alerts at Alertmanager", logs=stack.logs)
        assert receivers == {"monitor_silent_drift": [ml_team], "monitor_silent_pdrift": sorted([ml_team, oncall])}

        _success(stack, "drift", time.time())  # the job publishes again: resolved
        wait_until(lambda: "monitor_silent_drift" not in _silent(stack), timeout=10, what="drift resolved",
                   logs=stack.logs)
