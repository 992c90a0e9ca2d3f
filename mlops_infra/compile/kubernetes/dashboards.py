"""Dashboards as code: one Grafana dashboard per endpoint and per training job, in ConfigMaps.

Contract:
- Built with grafana-foundation-sdk (Grafana's own typed builders, generated from the dashboard
  schema; the builders enforce the schema's constraints, e.g. a panel is at most 24 columns wide),
  serialised with the SDK's encoder. Pure and deterministic: the uid is derived from the system,
  environment and item, so a dashboard keeps its URL across applies.
- Each dashboard is a ConfigMap ``dashboard-<kind>-<name>`` (``endpoint`` or ``training``) holding
  one key, :func:`file_name` (``<system>.<env>.<kind>.<name>.json``), labelled
  ``grafana_dashboard: "1"``: the label and value Grafana's dashboard
  sidecar watches in kube-prometheus-stack (its values: ``grafana.sidecar.dashboards.label:
  grafana_dashboard``, ``labelValue: "1"``); the sidecar must search this namespace
  (``searchNamespace: ALL``), see docs/compile-kubernetes.md section 4. It belongs to the item's
  component, so it appears in ``graph`` and ``plan`` with the item.
- Every query names a series something in this graph or a stated prerequisite publishes
  (:data:`PUBLISHED_ELSEWHERE`): the monitors' recording rule (``mlops:monitor_value``), the
  Knative queue-proxy metrics the endpoint's PodMonitor scrapes (``revision_app_request_*``, see
  monitoring.py), Prometheus' own ``up`` and ``ALERTS`` series, kube-state-metrics'
  ``kube_pod_status_phase`` (kube-prometheus-stack) and the NVIDIA GPU operator's DCGM exporter
  ``DCGM_FI_DEV_GPU_UTIL`` (with ``namespace``/``pod`` labels of the pod using the GPU).
- Endpoint panels: traffic (requests/s), latency p50 and p99 (seconds), 5xx share, replicas (ready
  queue-proxy scrape targets), GPU use (endpoints with accelerators), one panel per drift or quality
  monitor, the rollout's traffic split (share of requests per Knative revision) and the alerts
  firing. Each latency, error-rate and drift panel draws its monitors' thresholds as lines.
- One namespace's series: the monitor and alert panels select the environment's ``namespace``
  (every compiled alert and ``mlops:monitor_value`` carry it, monitoring.py "One namespace's series
  only"), so the same system and environment in another namespace does not show here.
- Training panels: pods of runs by phase (the job's own runs: :func:`run_pods_pattern`), GPU use of the runs' pods, and the alerts that start a run
  (``on_alerts``), firing.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import common as gcommon
from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as mcommon
from grafana_foundation_sdk.models import dashboard as mdash

from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.compile.kubernetes import monitoring, names
from mlops_infra.compile.kubernetes.objects import KubeTarget
from mlops_infra.compile.kubernetes.scripts import launcher
from mlops_infra.compile.kubernetes.training import run_prefix
from mlops_infra.compile.naming import short_hash
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor
from mlops_infra.spec.serving import Endpoint
from mlops_infra.spec.training import TrainingJob

SIDECAR_LABEL = "grafana_dashboard"
SIDECAR_VALUE = "1"
DATASOURCE = mdash.DataSourceRef(type_val="prometheus", uid="${datasource}")
"""Every query uses the dashboard's ``datasource`` variable (the cluster's Prometheus)."""
PUBLISHED_ELSEWHERE = {
    "up": "Prometheus, per scrape target",
    "ALERTS": "Prometheus, per pending or firing alert",
    "revision_app_request_count": "Knative queue-proxy, scraped by the endpoint's PodMonitor",
    "revision_app_request_latencies_bucket": "Knative queue-proxy, scraped by the endpoint's PodMonitor",
    "kube_pod_status_phase": "kube-state-metrics (kube-prometheus-stack)",
    "DCGM_FI_DEV_GPU_UTIL": "NVIDIA DCGM exporter (GPU operator), per GPU with the pod using it",
}
"""Series the dashboards read that no rule of this graph records, and who publishes them."""
WIDTH = 12
HEIGHT = 8


def _query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)


def _thresholds(lines: list[tuple[float, str]]) -> gdash.ThresholdsConfig:
    steps = [mdash.Threshold(value=None, color="green")]
    steps += [mdash.Threshold(value=value, color=color) for value, color in sorted(lines)]
    return gdash.ThresholdsConfig().mode(mdash.ThresholdsMode.ABSOLUTE).steps(steps)


def _panel(title: str, unit: str, queries: list[tuple[str, str]], *, description: str = "",
           lines: list[tuple[float, str]] | None = None, stacked: bool = False) -> timeseries.Panel:
    panel = (timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).span(WIDTH).height(HEIGHT)
             .targets([_query(expr, legend, chr(ord("A") + n)) for n, (expr, legend) in enumerate(queries)]))
    if description:
        panel = panel.description(description)
    if lines:
        panel = (panel.thresholds(_thresholds(lines))
                 .thresholds_style(gcommon.GraphThresholdsStyleConfig().mode(mcommon.GraphThresholdsStyleMode.LINE)))
    if stacked:
        panel = panel.stacking(gcommon.StackingConfig().mode(mcommon.StackingMode.PERCENT)).fill_opacity(60)
    return panel


def _color(monitor: Monitor, kube: KubeTarget) -> str:
    severities = {a.severity for a in kube.ctx.system.alerts if a.monitor == monitor.name}
    return "red" if "critical" in severities else "orange" if "warning" in severities else "yellow"


def _threshold_lines(kube: KubeTarget, monitors: list[Monitor]) -> list[tuple[float, str]]:
    return [(monitoring.threshold_value(m), _color(m, kube)) for m in monitors]


def _dashboard(kube: KubeTarget, kind: str, name: str, title: str, panels: list[timeseries.Panel]) -> dict[str, Any]:
    ctx = kube.ctx
    system = ctx.system.metadata.name
    uid = f"mlops-{short_hash(f'{system}/{ctx.env}/{kind}/{name}')}"
    variable = (gdash.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    board = (gdash.Dashboard(title).uid(uid).tags(["mlops-infra", system, ctx.env, kind])
             .time("now-6h", "now").refresh("1m").timezone("utc").editable().with_variable(variable))
    for panel in panels:
        board = board.with_panel(panel)
    return json.loads(json.dumps(board.build(), cls=JSONEncoder, sort_keys=True))


def _selector(kube: KubeTarget, endpoint: str, extra: str = "") -> str:
    return f'{{namespace_name="{kube.namespace}", service_name="{endpoint}-predictor"{extra}}}'


def _pods(kube: KubeTarget, pattern: str) -> str:
    return f'namespace="{kube.namespace}", pod=~"{pattern}"'


def _alerts(kube: KubeTarget, alerts: list[str]) -> str:
    ctx = kube.ctx
    return (f'ALERTS{{alertstate="firing", namespace="{kube.namespace}", mlops_system="{ctx.system.metadata.name}", '
            f'mlops_environment="{ctx.env}", alertname=~"{"|".join(sorted(alerts))}"}}')


def endpoint_panels(kube: KubeTarget, endpoint: Endpoint) -> list[timeseries.Panel]:
    """The panels of one endpoint's dashboard (see the module contract)."""
    ctx = kube.ctx
    sel = _selector(kube, endpoint.name)
    window = monitoring.WINDOW
    monitors = [m for m in ctx.system.monitors if m.endpoint == endpoint.name]
    of = {kind: [m for m in monitors if m.metric == kind] for kind in ("latency_p99", "error_rate")}
    buckets = f"sum by (le) (rate(revision_app_request_latencies_bucket{sel}[{window}]))"
    errors = _selector(kube, endpoint.name, ', response_code_class="5xx"')
    pods = _pods(kube, f"{endpoint.name}-predictor-.+")
    panels = [
        _panel("Traffic", "reqps", [(f"sum(rate(revision_app_request_count{sel}[{window}]))", "requests/s")]),
        _panel("Latency", "s", [(f"histogram_quantile(0.5, {buckets}) / 1000", "p50"),
                                (f"histogram_quantile(0.99, {buckets}) / 1000", "p99")],
               lines=_threshold_lines(kube, of["latency_p99"]),
               description="Time in the model container, as the queue-proxy in front of it sees it."),
        _panel("Errors (5xx share)", "percentunit",
               [(f"(sum(rate(revision_app_request_count{errors}[{window}])) or vector(0)) / "
                 f"sum(rate(revision_app_request_count{sel}[{window}]))", "5xx share")],
               lines=_threshold_lines(kube, of["error_rate"])),
        _panel("Replicas", "none", [(f'count(up{{{pods}}} == 1) or vector(0)', "ready replicas")],
               description=f"Predictor pods answering the scrape (min {endpoint.replicas.min}, "
                           f"max {endpoint.replicas.max})."),
    ]
    if endpoint.accelerator is not None:
        panels.append(_panel("GPU use", "percent", [(f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{pods}}})", "{{pod}}")]))
    for monitor in (m for m in monitors if m.metric in DRIFT_METRICS):
        panels.append(_panel(f"{monitor.metric} ({monitor.name})", "none",
                             [(monitoring.recorded_selector(kube, monitor), monitor.name)],
                             lines=_threshold_lines(kube, [monitor])))
    panels.append(_panel("Rollout traffic split", "percentunit",
                         [(f"sum by (revision_name) (rate(revision_app_request_count{sel}[{window}]))",
                           "{{revision_name}}")],
                         stacked=True, description="Share of requests per Knative revision (canary and stable)."))
    alerts = [a.name for a in ctx.system.alerts if a.monitor in {m.name for m in monitors}]
    if alerts:
        panels.append(_panel("Alerts firing", "none", [(f"count by (alertname) ({_alerts(kube, alerts)})",
                                                        "{{alertname}}")]))
    return panels


def run_pods_pattern(job: TrainingJob) -> str:
    """The PromQL regex of the pods of ``job``'s runs, and of no other job's.

    The launcher names a run its template's ``generateName`` (``training.run_prefix(job)`` + ``-``:
    ``run-<job>`` for a name starting with a digit, cut and hashed when long) followed by
    :data:`~mlops_infra.compile.kubernetes.scripts.launcher.HASH_DIGITS` hex digits
    (``scripts/launcher.py`` ``run_name``); the training-operator names a run's pods
    ``<run>-<replica type>-<index>`` (``<run>-master-0``, ``<run>-worker-0``). PromQL regex matches
    are fully anchored (Prometheus "Querying basics": "Regex matches are fully anchored"), and the
    fixed-length suffix keeps job ``fraud`` from matching job ``fraud-big``'s runs (audit k8smon-4).
    The prefix is a DNS label (``[a-z0-9-]``): no character of it is special in a regex."""
    return f"{run_prefix(job)}-[0-9a-f]{{{launcher.HASH_DIGITS}}}-(master|worker)-[0-9]+"


def training_panels(kube: KubeTarget, job: TrainingJob) -> list[timeseries.Panel]:
    """The panels of one training job's dashboard (see the module contract)."""
    pods = _pods(kube, run_pods_pattern(job))
    panels = [
        _panel("Run pods by phase", "none", [(f"sum by (phase) (kube_pod_status_phase{{{pods}}})", "{{phase}}")],
               description="Pods of this job's PyTorchJob runs (master and workers)."),
        _panel("GPU use", "percent", [(f"avg by (pod) (DCGM_FI_DEV_GPU_UTIL{{{pods}}})", "{{pod}}")]),
    ]
    if job.triggers.on_alerts:
        panels.append(_panel("Alerts that start a run", "none",
                             [(f"count by (alertname) ({_alerts(kube, list(job.triggers.on_alerts))})",
                               "{{alertname}}")]))
    return panels


def dashboard_configmap(kube: KubeTarget, kind: str, name: str, title: str,
                        panels: list[timeseries.Panel]) -> dict[str, Any]:
    """The ConfigMap holding one dashboard, labelled for Grafana's sidecar."""
    board = _dashboard(kube, kind, name, title, panels)
    body = {"data": {file_name(kube, kind, name): json.dumps(board, indent=2, sort_keys=True) + "\n"}}
    return kube.obj("v1", "ConfigMap", names.item(f"dashboard-{kind}", name), f"{_section(kind)}.{name}", body,
                    **{SIDECAR_LABEL: SIDECAR_VALUE})


def file_name(kube: KubeTarget, kind: str, name: str) -> str:
    """The ConfigMap key of a dashboard, ``<system>.<env>.<kind>.<name>.json``: unique in the cluster
    for every system, environment and item (finding collisions-1).

    Grafana's dashboard sidecar (kiwigrid/k8s-sidecar, the one kube-prometheus-stack's Grafana chart
    runs) writes each *data key* of each labelled ConfigMap, from every namespace it searches, as a
    file of that name into one folder (``src/resources.py`` ``_process_config_map`` ->
    ``_update_file``), and deletes the file of that name when a ConfigMap goes; the namespace and
    ConfigMap name enter the file name only with ``UNIQUE_FILENAMES`` (default false; the chart's
    ``sidecar.enableUniqueFilenames: false``). A key of the item's name alone (``scorer.json``, as
    before) made dev's and staging's ``scorer`` dashboards one file, the last applied winning, and
    removing one environment deleted the other's dashboard. Names are DNS labels without dots
    (``spec/names.py``), so the dots keep the four parts apart; the key is at most 4 x 63 + 8
    characters, within a ConfigMap key's 253 (``[-._a-zA-Z0-9]+``, Kubernetes
    ``IsConfigMapKey``)."""
    return f"{kube.ctx.system.metadata.name}.{kube.ctx.env}.{kind}.{name}.json"


def _section(kind: str) -> str:
    return {"endpoint": "endpoints", "training": "training_jobs"}[kind]


def compile_dashboards(kube: KubeTarget) -> None:
    """After every section: a dashboard per endpoint and per training job, under its component."""
    ctx = kube.ctx
    system = ctx.system.metadata.name
    items = [("endpoint", e.name, f"{system} {ctx.env}: endpoint {e.name}", endpoint_panels(kube, e))
             for e in ctx.system.endpoints]
    items += [("training", j.name, f"{system} {ctx.env}: training job {j.name}", training_panels(kube, j))
              for j in ctx.system.training_jobs]
    for kind, name, title, panels in items:
        parent = ctx.builder.urn_for(COMPONENT_TYPES[_section(kind)], name, None)
        kube.add(dashboard_configmap(kube, kind, name, title, panels), parent=parent,
                 address=f"{_section(kind)}.{name}", role="dashboard")
