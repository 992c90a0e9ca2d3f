"""A drift value and a rollback notice survive a Pushgateway restart, on real servers
(tests/support/prometheus.py): the Pushgateway runs with the flags the reference dev graph compiles for
it (``monitoring.ensure_pushgateway``), its volume's mount path moved to a test directory; the drift
job's own publisher (scripts/drift_job.py ``publish``, with the compiled CronJob's environment) and the
rollout runner's notifier (``rollout/scheduled.py`` ``notice_plan``, from the compiled runner document)
push; Prometheus runs every compiled rule. The restart is SIGTERM then a new process, as the kubelet
stops a pod and a ``Recreate`` Deployment starts the next one on the same volume.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from mlops_infra.compile.kubernetes import alerting, names
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.compile.kubernetes.scripts import drift_job as drift_script
from mlops_infra.rollout import scheduled
from tests.support.kube_cases import REFERENCE, compiled
from tests.support.prometheus import PrometheusStack, require, wait_until

DRIFT = 'mlops:monitor_value{mlops_monitor="drift"}'
ROLLBACK_ALERT = 'ALERTS{alertname="rolled_back_scorer", alertstate="firing"}'
PUSHED = ("mlops_monitor_value", "push_time_seconds", alerting.ROLLED_BACK_METRIC)


def _by_name(graph, kind: str, name: str) -> dict:
    [obj] = [r.inputs for r in graph.resources if r.type.endswith(f":{kind}") and r.inputs["metadata"]["name"] == name]
    return obj


def _compiled_flags(graph, volume_dir: Path) -> list[str]:
    """The compiled Pushgateway's args, its volume's mount path replaced by ``volume_dir``."""
    pod = _by_name(graph, "Deployment", names.PUSHGATEWAY)["spec"]["template"]["spec"]
    [claimed] = [v["name"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    [container] = pod["containers"]
    [mount] = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == claimed]
    assert any(a.startswith(f"--persistence.file={mount}/") for a in container["args"]), container["args"]
    return [a.replace(f"={mount}/", f"={volume_dir}/") for a in container["args"]]


def _ours(text: str) -> list[str]:
    """The pushed groups' lines of a Pushgateway ``/metrics`` text (value and push time per group)."""
    return sorted(line for line in text.splitlines() if line.startswith(PUSHED)
                  and ('job="mlops-monitor"' in line or 'job="mlops-rollout"' in line))


def _push_both(stack: PrometheusStack, graph) -> None:
    cronjob = _by_name(graph, "CronJob", "monitor-drift")
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    drift_script.publish({**env, "PUSHGATEWAY_URL": stack.pushgateway_url}, 0.5, dt.datetime.now(dt.UTC))
    document = json.loads(_by_name(graph, "ConfigMap", "mlops-rollout-runner")["data"]["rollouts.json"])
    document["notifications"]["pushgatewayUrl"] = stack.pushgateway_url
    _, notifier = scheduled.notice_plan(document)
    notifier("scorer", time.time())


def _restarted(stack: PrometheusStack) -> None:
    """Restart the Pushgateway and wait until Prometheus has scraped the new process."""
    query = 'process_start_time_seconds{job="pushgateway"}'
    before = stack.value(query)
    stack.restart_pushgateway()
    stack.wait_for_value(query, lambda started: before is None or started > before, timeout=30)


def test_a_drift_value_and_a_rollback_notice_survive_a_restart_with_the_compiled_flags(tmp_path: Path) -> None:
    require()
    graph = compiled(REFERENCE, "dev")
    volume = tmp_path / "volume"
    volume.mkdir()
    with PrometheusStack(tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[rule_file(graph)], pushgateway_args=_compiled_flags(graph, volume),
                         scrape_interval="500ms", evaluation_interval="500ms") as stack:
        _push_both(stack, graph)
        stack.wait_for_value(DRIFT, lambda v: v == 0.5, timeout=30)
        stack.wait_for_value(ROLLBACK_ALERT, lambda v: v == 1, timeout=30)
        pushed = _ours(stack.pushgateway_metrics())
        assert len([line for line in pushed if line.startswith("push_time_seconds")]) == 2, pushed

        _restarted(stack)
        assert [p.name for p in volume.iterdir()] == ["pushgateway.data"]  # written on SIGTERM, nothing left over
        # the same values and the same push times: the recording rule's freshness test keeps passing
        assert _ours(stack.pushgateway_metrics()) == pushed
        assert stack.wait_for_value(DRIFT, lambda v: v == 0.5, timeout=30) == 0.5
        stack.wait_for_value(ROLLBACK_ALERT, lambda v: v == 1, timeout=30)


def test_without_a_persistence_file_a_restart_loses_both(tmp_path: Path) -> None:
    """The old Deployment (no flags): what the drift job and the runner pushed is gone after a restart."""
    require()
    graph = compiled(REFERENCE, "dev")
    with PrometheusStack(tmp_path / "stack", pushgateway_namespace="fraud-dev", rules=[rule_file(graph)],
                         scrape_interval="500ms", evaluation_interval="500ms") as stack:
        _push_both(stack, graph)
        stack.wait_for_value(DRIFT, lambda v: v == 0.5, timeout=30)
        assert _ours(stack.pushgateway_metrics())
        _restarted(stack)
        assert _ours(stack.pushgateway_metrics()) == []
        wait_until(lambda: stack.value(DRIFT) is None, timeout=30, what="the drift value to go stale")
