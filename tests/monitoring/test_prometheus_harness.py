"""The Prometheus/Alertmanager/Pushgateway harness itself (tests/support/prometheus.py)."""

from __future__ import annotations

import os

import pytest

from tests.support.prometheus import PrometheusStack, compress_time, duration_seconds, require

RULES = {"groups": [{"name": "harness", "rules": [
    {"alert": "HarnessHigh", "expr": 'max(harness_value{job="harness"}) > 1', "for": "2s",
     "labels": {"severity": "critical"}, "annotations": {"summary": "harness value high"}}]}]}


def test_compress_time_scales_for_and_ranges_only() -> None:
    document = {"groups": [{"name": "g", "rules": [
        {"alert": "A", "expr": "rate(x_bucket[5m]) > 0.25 and rate(y[1h30m:1m]) > 300", "for": "5m",
         "labels": {"le": "5m"}}]}]}
    rule = compress_time(document, 60)["groups"][0]["rules"][0]
    assert rule["expr"] == "rate(x_bucket[5s]) > 0.25 and rate(y[90s:1s]) > 300"
    assert rule["for"] == "5s"
    assert rule["labels"] == {"le": "5m"}
    assert duration_seconds("1h30m") == 5400


def test_an_alert_fires_notifies_and_resolves_on_real_servers(tmp_path) -> None:
    require()
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        assert set(stack.pids()) == {"prometheus", "alertmanager", "pushgateway"}
        for url in (stack.prometheus_url, stack.alertmanager_url, stack.pushgateway_url):
            assert url.startswith("http://127.0.0.1:")
        stack.push("harness", "harness_value 5")
        assert stack.wait_for_value('harness_value{job="harness"}', lambda v: v == 5) == 5
        firing = stack.receiver.wait_for(where=lambda r: r.json()["status"] == "firing", timeout=30)
        payload = firing[0].json()
        assert payload["commonLabels"]["alertname"] == "HarnessHigh"
        assert payload["commonLabels"]["severity"] == "critical"
        assert payload["commonAnnotations"]["summary"] == "harness value high"
        stack.push("harness", "harness_value 0")
        resolved = stack.receiver.wait_for(where=lambda r: r.json()["status"] == "resolved", timeout=30)
        assert resolved[0].json()["alerts"][0]["labels"]["alertname"] == "HarnessHigh"
        pids = stack.pids()
    for pid in pids.values():  # each server stopped by its own process id
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_rules_reload_and_a_short_spike_stays_pending(tmp_path) -> None:
    require()
    slow = {"groups": [{"name": "slow", "rules": [
        {"alert": "Slow", "expr": 'max(harness_value{job="harness"}) > 1', "for": "30s"}]}]}
    with PrometheusStack(tmp_path) as stack:
        stack.load_rules([slow])
        stack.push("harness", "harness_value 5")
        stack.wait_for_value('ALERTS{alertname="Slow", alertstate="pending"}', lambda v: v == 1)
        stack.push("harness", "harness_value 0")
        stack.wait_for_value('count(ALERTS{alertname="Slow"}) or vector(0)', lambda v: v == 0)
        assert stack.alerts("firing") == []
        assert stack.receiver.received() == []
