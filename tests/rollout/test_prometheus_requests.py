"""The Prometheus gates count the canary revision's requests in the step (audit rolloutaws-3, Kubernetes half).

A canary revision that served no request recorded no latency or error-rate sample, its alerts never
turned active, every gate read ``ok`` and each baked step moved on: ``minRequestsPerStep`` (default
1) was never applied on Kubernetes. Now :class:`PrometheusGates` counts, given the canary revision,
Knative's queue-proxy counter ``revision_app_request_count`` of that revision over the step and sets
``GateReading.requests``; the reconciler's rule 10 holds a baked step under the minimum. The counter
as the queue-proxy exports it (``gates/prometheus.py``, "Requests"): one series per pod, present only
from the pod's first request, back to 0 when the queue-proxy restarts. The series are pushed through
the Pushgateway of the real harness (tests/support/prometheus.py) and read by a real Prometheus.
"""

from __future__ import annotations

import time

from mlops_infra.rollout.gates.prometheus import COUNTER, PrometheusGates, counted
from mlops_infra.rollout.model import Observed, RolloutSpec, RolloutStatus
from mlops_infra.rollout.reconcile import reconcile
from tests.support.prometheus import PrometheusStack, require

NS = "fraud-dev"
STABLE, CANARY = "scorer-predictor-00001", "scorer-predictor-00002"
SPEC = RolloutSpec("scorer", "canary", (2, 5, 100), 600, ("scorer-latency",), 900, "kubernetes")
RULES = {"groups": [{"name": "alert-scorer-latency", "rules": [
    {"alert": "scorer-latency", "expr": 'max(scorer_p99_ms{job="serving"}) > 250', "for": "1s",
     "labels": {"namespace": NS, "severity": "critical"}}]}]}
"""A rollback alert that stays quiet: the gate reads ``ok`` whatever the canary serves."""


def counters(pods: dict[tuple[str, str, str], float]) -> str:
    """The queue-proxy's ``revision_app_request_count`` of each ``(namespace, revision, pod)``, one
    ``2xx`` series each (knative/serving knative-v1.17.0 ``pkg/queue/request_metric.go``)."""
    lines = [f"# TYPE {COUNTER} counter"]
    for (namespace, revision, pod), value in pods.items():
        lines.append(f'{COUNTER}{{namespace_name="{namespace}",service_name="scorer-predictor",'
                     f'revision_name="{revision}",pod_name="{pod}",response_code_class="2xx"}} {value}')
    return "\n".join(lines)


def seen(stack: PrometheusStack, pods: dict[tuple[str, str, str], float]) -> None:
    """Push ``pods`` and wait until Prometheus has scraped every value."""
    stack.push("kserve", counters(pods))
    for (namespace, revision, pod), value in pods.items():
        stack.wait_for_value(f'{COUNTER}{{namespace_name="{namespace}",revision_name="{revision}",pod_name="{pod}"}}',
                             lambda v, want=value: v == want, timeout=20)


def test_a_series_that_begins_in_the_step_counts_its_first_sample():
    """``increase`` over the step would count 0 for a series whose only sample is its first request's."""
    assert counted([(110.0, 1.0)], since=100.0) == 1.0
    assert counted([(90.0, 4.0), (110.0, 4.0), (120.0, 7.0)], since=100.0) == 3.0  # from its value at the start


def test_a_restarted_queue_proxy_counts_from_zero_again():
    assert counted([(90.0, 10.0), (110.0, 12.0), (120.0, 3.0), (130.0, 5.0)], since=100.0) == 2 + 3 + 2


def test_the_canary_revisions_pods_are_counted_from_the_steps_start_on_a_real_prometheus(tmp_path):
    """Pod a served 5 before the step, 3 more in it, then restarted and served 2; pod b appeared in the
    step with 4; the stable revision and another namespace's revision of the same name are not counted."""
    require()
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        before = {(NS, CANARY, "pod-a"): 5, (NS, STABLE, "pod-s"): 100, ("fraud-prod", CANARY, "pod-p"): 50}
        seen(stack, before)
        since = time.time()
        time.sleep(1.5)  # a scrape after the step's start with pod a unchanged
        seen(stack, {**before, (NS, CANARY, "pod-a"): 8, (NS, CANARY, "pod-b"): 4, (NS, STABLE, "pod-s"): 300})
        seen(stack, {**before, (NS, CANARY, "pod-a"): 2, (NS, CANARY, "pod-b"): 4, (NS, STABLE, "pod-s"): 400})
        readings = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5).read(SPEC, since, time.time(),
                                                                                     canary=CANARY)
    assert [(r.name, r.state, r.requests) for r in readings] == [("scorer-latency", "ok", 3 + 2 + 4)]


def test_a_baked_step_of_a_canary_that_served_nothing_holds_then_moves_on_once_it_serves(tmp_path):
    """Before, the quiet gate read ``ok`` with no count and the step moved from 2 % to 5 % with no request served."""
    require()
    t0 = time.time()
    baked = Observed("13", "12", 2, status=RolloutStatus("progressing", "13", "12", 0, t0, in_effect=t0))
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        gates = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5)
        seen(stack, {(NS, STABLE, "pod-s"): 100})
        stack.wait_for_value('count(ALERTS) or vector(0)', lambda v: v == 0)
        idle = gates.read(SPEC, t0, time.time(), canary=CANARY)
        held = reconcile(SPEC, baked, idle, t0 + SPEC.bake_seconds)
        seen(stack, {(NS, STABLE, "pod-s"): 120, (NS, CANARY, "pod-a"): 1})
        served = gates.read(SPEC, t0, time.time(), canary=CANARY)
    assert [(r.state, r.requests) for r in idle] == [("ok", 0)]
    assert held.action == "wait" and "the canary served 0 requests" in held.message, held.message
    assert [(r.state, r.requests) for r in served] == [("ok", 1)]
    moved = reconcile(SPEC, baked, served, t0 + SPEC.bake_seconds)
    assert moved.action == "set_traffic" and moved.percent == 5, moved.message


def test_without_a_known_canary_revision_nothing_is_counted(tmp_path):
    """No canary (a Knative Revision that cannot be read, KServe's status not updated yet, RawDeployment
    mode's no revision at all): the stable revision's requests must not pass for the new version's, so
    the count is not read (``requests`` None) rather than taken from another revision."""
    require()
    with PrometheusStack(tmp_path, rules=[RULES]) as stack:
        seen(stack, {(NS, STABLE, "pod-s"): 100})
        readings = PrometheusGates(stack.prometheus_url, namespace=NS, timeout=5).read(SPEC, 0, time.time())
    assert [(r.state, r.requests) for r in readings] == [("ok", None)]


def test_a_count_that_cannot_be_read_makes_the_gates_unreadable():
    """A count never read is never "enough": an answer without samples is an unreadable gate, not 0."""

    class Broken(PrometheusGates):
        def _get(self, path, params=None):
            if path == "/api/v1/rules":
                return {"groups": [{"interval": 30, "rules": [{
                    "type": "alerting", "name": "scorer-latency", "query": "vector(0) > 1", "duration": 1,
                    "labels": {"namespace": NS}, "health": "ok", "alerts": []}]}]}
            return {"resultType": "vector", "result": [{"metric": {}, "value": [0, "3"]}]}

    [reading] = Broken("http://prom:9090", namespace=NS).read(SPEC, 0, time.time(), canary=CANARY)
    assert reading.state == "unreadable" and reading.requests is None and "KeyError" in reading.detail
