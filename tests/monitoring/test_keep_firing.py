"""An alert over a pushed value survives a Pushgateway restart, on real servers (tests/support/prometheus.py).

While the Pushgateway is down its scrapes fail, and "If a target scrape or rule evaluation no longer
returns a sample for a time series that was previously present, this time series will be marked as
stale" (Prometheus "Querying basics", "Staleness"): the pushed value is missing for those evaluations.
The compiled alerts over pushed values carry ``keep_firing_for`` (``alerting.KEEP_FIRING_FOR``), so the
drift alert and the rollback alert stay firing through that gap with the same ``activeAt`` (Prometheus)
and ``startsAt`` (Alertmanager), and no channel hears them resolve or fire a second time; without it
both resolve and start again (the retrain trigger takes a new ``startsAt`` as a new firing).

The reference dev rules run in compressed time (``compress_time`` x720, at least 20 s: ``fraud-drift``'s
2h ``for`` and the 10 minutes of ``keep_firing_for`` are 20 s each), and the outage is 3 s: inside
``keep_firing_for`` as a real restart is inside the real 10 minutes.
"""

from __future__ import annotations

import time
from pathlib import Path

from mlops_infra.compile.kubernetes import alerting
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from tests.monitoring.test_pushgateway_restart import _compiled_flags, _push_both
from tests.support.kube_cases import REFERENCE, compiled
from tests.support.prometheus import PrometheusStack, compress_time, require, wait_until

ALERTS = ("fraud-drift", "rolled_back_scorer")
OUTAGE = 3.0
"""Seconds the Pushgateway stays down: six failed scrapes at 500 ms."""


def test_the_rollback_alert_still_fires_its_window_in_all() -> None:
    """Its condition is shortened by keep_firing_for: 15 minutes in all, as the AWS alarm holds ALARM."""
    [rule] = [r for g in rule_file(compiled(REFERENCE, "dev"))["groups"] for r in g["rules"]
              if r.get("alert") == "rolled_back_scorer"]
    met = int(rule["expr"].rpartition(" < ")[2])
    assert (met, rule["keep_firing_for"]) == (300, "10m")
    assert met + alerting.KEEP_FIRING_SECONDS == alerting.ROLLBACK_WINDOW_SECONDS == 900


def _firing(stack: PrometheusStack) -> dict[str, str]:
    """Alert name -> activeAt of our firing alerts (Prometheus' view)."""
    return {a["labels"]["alertname"]: a["activeAt"] for a in stack.alerts("firing") if a["labels"]["alertname"] in ALERTS}


def _starts(stack: PrometheusStack) -> dict[str, str]:
    """Alert name -> startsAt of our active alerts (Alertmanager's view)."""
    return {a["labels"]["alertname"]: a["startsAt"] for a in stack.notifications()
            if a["labels"]["alertname"] in ALERTS and a["status"]["state"] == "active"}


def _heard(stack: PrometheusStack) -> list[tuple[str, str]]:
    """(status, alert name) of every alert the receiver was sent."""
    return [(alert["status"], alert["labels"]["alertname"]) for message in stack.receiver.received("/alerts")
            for alert in message.json()["alerts"] if alert["labels"]["alertname"] in ALERTS]


def test_the_compiled_alerts_over_pushed_values_keep_firing_through_a_pushgateway_outage(tmp_path: Path) -> None:
    require()
    graph = compiled(REFERENCE, "dev")
    document = compress_time(rule_file(graph), 720, floor=20)
    kept = [r for g in document["groups"] for r in g["rules"] if r.get("alert") in ALERTS]
    compiled_rules = [r for g in rule_file(graph)["groups"] for r in g["rules"] if r.get("alert") in ALERTS]
    assert {r["alert"]: r.get("keep_firing_for") for r in compiled_rules} == dict.fromkeys(ALERTS, alerting.KEEP_FIRING_FOR)
    assert {r["alert"]: r["keep_firing_for"] for r in kept} == dict.fromkeys(ALERTS, "20s")
    volume = tmp_path / "volume"
    volume.mkdir()
    with PrometheusStack(tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[document], pushgateway_args=_compiled_flags(graph, volume),
                         scrape_interval="500ms", evaluation_interval="500ms") as stack:
        _push_both(stack, graph)
        before = wait_until(lambda: (lambda f: f if set(f) == set(ALERTS) else None)(_firing(stack)), timeout=60,
                            what="both alerts firing", logs=stack.logs)
        starts = wait_until(lambda: (lambda s: s if set(s) == set(ALERTS) else None)(_starts(stack)), timeout=30,
                            what="both alerts at Alertmanager", logs=stack.logs)
        stack.receiver.wait_for(where=lambda r: {a["labels"]["alertname"] for a in r.json()["alerts"]} & {ALERTS[1]})
        stack.receiver.wait_for(where=lambda r: {a["labels"]["alertname"] for a in r.json()["alerts"]} & {ALERTS[0]})

        stack.restart_pushgateway(down_for=OUTAGE)  # back with its persistence file (the compiled flags)
        stack.wait_for_value('mlops:monitor_value{mlops_monitor="drift"}', lambda v: v == 0.5, timeout=30)
        assert stack.value('min_over_time(up{job="pushgateway"}[20s])') == 0  # the scrapes did fail
        # and the recorded value was missing for a while (stale), which is what resolves an alert without the clause
        gap = '(count(mlops:monitor_value{mlops_monitor="drift"}) or vector(0))[20s:250ms]'
        assert stack.value(f"min_over_time({gap})") == 0
        time.sleep(2)  # a few evaluations with the value back
        assert _firing(stack) == before
        assert _starts(stack) == starts
        assert sorted(set(_heard(stack))) == [("firing", ALERTS[0]), ("firing", ALERTS[1])]  # no resolve
