"""Monitors: every monitor records one series, ``mlops:monitor_value``; alerts compare it.

Contract:
- Monitor ``<name>`` -> PrometheusRule ``monitor-<name>`` with a recording rule producing
  ``mlops:monitor_value{mlops_system, mlops_environment, mlops_endpoint, mlops_monitor, mlops_metric}``
  in the monitor's unit: seconds for ``latency_p99``, a fraction for ``error_rate``, the job's
  score for drift and quality metrics.
- ``latency_p99`` and ``error_rate`` come from the Knative queue-proxy metrics of the endpoint's
  predictor (Knative Service ``<endpoint>-predictor``, which KServe's Serverless mode creates):
  ``histogram_quantile(0.99, ...revision_request_latencies_bucket...)`` (milliseconds, divided by
  1000) and the 5xx share of ``revision_request_count``, over 5 minutes.
- ``feature_drift``, ``prediction_drift``, ``data_quality`` and ``accuracy`` are computed by a
  CronJob ``monitor-<name>`` running the drift job (Evidently image, scripts/drift_job.py) every
  ``schedule`` (default 1h) over the captured traffic of that window against the ``baseline``
  data source. Its deadline (``activeDeadlineSeconds``) and container resources come from
  ``compile/drift_job.py``, as do the monitor's facts, so the plan prices what runs. It pushes ``mlops_monitor_value`` to the platform's Pushgateway (batch jobs are
  short-lived, which is what the Pushgateway is for), scraped through a ServiceMonitor with
  ``honorLabels``; the recording rule takes the pushed value.
- :func:`unhealthy_expr` is the condition alerts use: value above the threshold (below it for
  ``accuracy``). Thresholds: times in seconds, percentages as fractions, numbers as written.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.compile import drift_job, facts
from mlops_infra.compile.kubernetes import images, names, scripts, storage
from mlops_infra.compile.kubernetes import labels as lbl
from mlops_infra.compile.kubernetes import workloads as wl
from mlops_infra.compile.kubernetes.objects import KubeTarget, env, object_store_env_from
from mlops_infra.compile.kubernetes.rbac import compile_service_account
from mlops_infra.graph import canonical_json
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor

PROMETHEUS_RULE = "monitoring.coreos.com/v1"
RECORD = "mlops:monitor_value"
PUSHED = "mlops_monitor_value"
WINDOW = "5m"


def _selector(kube: KubeTarget, monitor: Monitor, extra: str = "") -> str:
    return f'{{namespace_name="{kube.namespace}", service_name="{monitor.endpoint}-predictor"{extra}}}'


def value_expr(kube: KubeTarget, monitor: Monitor) -> str:
    """PromQL of the monitor's value."""
    if monitor.metric == "latency_p99":
        return (f"histogram_quantile(0.99, sum by (le) (rate(revision_request_latencies_bucket"
                f"{_selector(kube, monitor)}[{WINDOW}]))) / 1000")
    if monitor.metric == "error_rate":
        errors = _selector(kube, monitor, ', response_code_class="5xx"')
        return (f"sum(rate(revision_request_count{errors}[{WINDOW}]))"
                f" / sum(rate(revision_request_count{_selector(kube, monitor)}[{WINDOW}]))")
    ctx = kube.ctx
    return (f'max({PUSHED}{{system="{ctx.system.metadata.name}", environment="{ctx.env}", '
            f'monitor="{monitor.name}"}})')


def series_labels(kube: KubeTarget, monitor: Monitor) -> dict[str, str]:
    return {"mlops_endpoint": monitor.endpoint, "mlops_environment": kube.ctx.env, "mlops_metric": monitor.metric,
            "mlops_monitor": monitor.name, "mlops_system": kube.ctx.system.metadata.name}


def threshold_value(monitor: Monitor) -> float:
    threshold = monitor.threshold
    return threshold.seconds if threshold.is_time else threshold.fraction


def unhealthy_expr(kube: KubeTarget, monitor: Monitor) -> str:
    """The condition under which the monitor is unhealthy."""
    ctx = kube.ctx
    series = (f'{RECORD}{{mlops_system="{ctx.system.metadata.name}", mlops_environment="{ctx.env}", '
              f'mlops_monitor="{monitor.name}"}}')
    return f"{series} {'<' if monitor.metric == 'accuracy' else '>'} {format(threshold_value(monitor), 'g')}"


def cron_every(seconds: int) -> str:
    """A cron schedule running every ``seconds`` (rounded to what cron can express, minute 0 anchored)."""
    minutes = max(1, seconds // 60)
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    if hours < 24:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    days = hours // 24
    if days == 7:
        return "0 0 * * 1"
    return "0 0 * * *" if days == 1 else f"0 0 */{min(days, 31)} * *"


def drift_env(kube: KubeTarget, monitor: Monitor) -> dict[str, str]:
    ctx = kube.ctx
    baseline = ctx.system.item("data_sources", monitor.baseline) if monitor.baseline else None
    columns = storage.contract(baseline)["columns"] if baseline is not None and baseline.contract else {}
    return {"BASELINE_URI": f"s3://{names.data_bucket(ctx, monitor.baseline)}/" if monitor.baseline else "",
            "CAPTURE_BUCKET": names.capture_bucket(ctx), "COLUMNS": canonical_json(columns), "DO_NOT_TRACK": "1",
            "ENDPOINT": monitor.endpoint, "ENVIRONMENT": ctx.env, "HOME": "/tmp", "METRIC": monitor.metric,
            "MONITOR": monitor.name, "PUSHGATEWAY_URL": names.service_url(ctx, names.PUSHGATEWAY, names.PUSHGATEWAY_PORT),
            "SYSTEM": ctx.system.metadata.name,
            "WINDOW_SECONDS": str(drift_job.schedule_seconds(monitor))}


def drift_cronjob(kube: KubeTarget, monitor: Monitor, address: str) -> dict[str, Any]:
    seconds = drift_job.schedule_seconds(monitor)
    container = wl.helper_container("drift", images.EVIDENTLY, command=["python", f"{scripts.MOUNT}/drift_job.py"],
                                    env=env(drift_env(kube, monitor)), envFrom=object_store_env_from(),
                                    mounts=[wl.SCRIPTS_MOUNT], resources=drift_job.KUBERNETES_RESOURCES)
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["monitor"], [container], volumes=[wl.SCRIPTS_VOLUME],
                      restart_policy="Never")
    pod_labels = lbl.labels(kube.ctx, address)
    spec = {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": pod_labels},
                            "spec": {"activeDeadlineSeconds": drift_job.max_runtime_seconds(monitor), "backoffLimit": 1,
                                     "template": {"metadata": {"labels": pod_labels}, "spec": pod}}},
            "schedule": cron_every(seconds), "startingDeadlineSeconds": 600, "successfulJobsHistoryLimit": 3,
            "timeZone": "Etc/UTC"}
    return kube.obj("batch/v1", "CronJob", names.item("monitor", monitor.name), address, {"spec": spec})


def compile_monitor(kube: KubeTarget, monitor: Monitor) -> None:
    """The monitor's component, its recording rule and (drift/quality metrics) its job."""
    address = f"monitors.{monitor.name}"
    parent = kube.ctx.component("monitors", monitor.name, facts.monitor_facts(monitor, "kubernetes"))
    rule = {"record": RECORD, "expr": value_expr(kube, monitor), "labels": series_labels(kube, monitor)}
    spec = {"groups": [{"name": names.item("monitor", monitor.name), "rules": [rule]}]}
    kube.add(kube.obj(PROMETHEUS_RULE, "PrometheusRule", names.item("monitor", monitor.name), address, {"spec": spec}),
             parent=parent, address=address, role="recording-rule")
    if monitor.metric in DRIFT_METRICS:
        kube.add(drift_cronjob(kube, monitor, address), parent=parent, address=address, role="monitor-job",
                 depends_on=kube.needs("scripts", "service-account/monitor", "pushgateway"))


def compile_pushgateway(kube: KubeTarget) -> None:
    """Platform part: Pushgateway Deployment, Service and ServiceMonitor; the monitor jobs' account."""
    compile_service_account(kube, "monitor")
    account = compile_service_account(kube, "pushgateway")
    container = wl.helper_container("pushgateway", images.PUSHGATEWAY, port=names.PUSHGATEWAY_PORT)
    container["readinessProbe"] = {"httpGet": {"path": "/-/ready", "port": "http"}, "periodSeconds": 10}
    container.pop("env")
    pod = wl.pod_spec(names.SERVICE_ACCOUNTS["pushgateway"], [container])
    deployment = kube.add(wl.deployment(kube, names.PUSHGATEWAY, "pushgateway", pod, address="platform"),
                          parent=kube.platform, address="platform", role="pushgateway", depends_on=[account])
    service = kube.add(wl.service(kube, names.PUSHGATEWAY, "pushgateway", names.PUSHGATEWAY_PORT, address="platform"),
                       parent=kube.platform, address="platform", role="pushgateway-service", depends_on=[deployment])
    monitor = {"endpoints": [{"honorLabels": True, "interval": "30s", "port": "http"}],
               "selector": {"matchLabels": lbl.selector(kube.ctx, "pushgateway")}}
    kube.add(kube.obj(PROMETHEUS_RULE, "ServiceMonitor", names.PUSHGATEWAY, "platform", {"spec": monitor}),
             parent=kube.platform, address="platform", role="pushgateway-scrape", depends_on=[service])
    kube.shared["pushgateway"] = service
