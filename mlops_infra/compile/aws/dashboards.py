"""Dashboards as code: one CloudWatch dashboard per endpoint and per training job.

Contract:
- ``aws:cloudwatch/dashboard:Dashboard`` ``<item>-dashboard`` named ``<system>-<env>-<kind>-<item>``
  (PutDashboard: at most 255 characters of ``A-Za-z0-9-_``), parented to the item's component, so
  it appears in ``graph`` and ``plan`` with the item. Its ``dashboardBody`` is the JSON of
  CloudWatch's "Dashboard body structure and syntax" (``widgets`` of type ``metric`` with
  ``x``/``y``/``width``/``height`` on a 24-column grid and ``properties``), built from typed
  :class:`Widget` values and serialised canonically (a change shows as one body change).
- Every metric is one CloudWatch publishes (:data:`SAGEMAKER_METRICS`, from "Amazon SageMaker AI
  metrics in Amazon CloudWatch", https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html)
  or one the drift job publishes in ``MLOps/Monitoring`` (monitoring.py); the alarms' own metric
  definitions are reused, so a panel shows exactly what its alarm watches.
- Thresholds are drawn as horizontal annotations at the alarms' thresholds, in the alarm's unit
  (``ModelLatency`` in microseconds, error rate as a fraction, drift scores as published).
- Endpoint widgets: invocations, ``ModelLatency`` p50/p99, 4xx/5xx errors and the 5xx share,
  instances (``Invocations / InvocationsPerInstance``: CloudWatch has no instance-count metric for
  real-time endpoints, so it reads as instances only while there is traffic), CPU and GPU use
  (``/aws/sagemaker/Endpoints``), each drift monitor's metric, and the rollout's traffic split
  (invocations per variant, a ``SEARCH`` over the endpoint's variants: the ``canary`` variant exists
  only while a rollout runs).
- Training widgets: pipeline executions started/succeeded/failed/stopped and their duration
  (``AWS/Sagemaker/ModelBuildingPipeline`` per ``PipelineName``), and GPU use of SageMaker
  Pipelines training jobs (``/aws/sagemaker/TrainingJobs`` per ``Host``, a ``SEARCH`` on the
  ``pipelines-`` prefix SageMaker gives those jobs: their names carry no pipeline name, so the
  widget says it covers every pipeline of the account and region).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from mlops_infra import graph
from mlops_infra.compile.aws import monitoring, serving
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.graph import canonical_json
from mlops_infra.spec.monitoring import DRIFT_METRICS
from mlops_infra.spec.serving import Endpoint
from mlops_infra.spec.training import TrainingJob

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
SAGEMAKER_METRICS = {
    "AWS/SageMaker": frozenset({"Invocations", "Invocation4XXErrors", "Invocation5XXErrors", "InvocationsPerInstance",
                                "ModelLatency", "OverheadLatency"}),
    "/aws/sagemaker/Endpoints": frozenset({"CPUUtilization", "MemoryUtilization", "GPUUtilization",
                                           "GPUMemoryUtilization", "DiskUtilization"}),
    "/aws/sagemaker/TrainingJobs": frozenset({"CPUUtilization", "MemoryUtilization", "GPUUtilization",
                                              "GPUMemoryUtilization", "DiskUtilization"}),
    PIPELINE_NAMESPACE: frozenset({"ExecutionStarted", "ExecutionFailed", "ExecutionSucceeded", "ExecutionStopped",
                                   "ExecutionDuration"}),
}
"""Namespace -> the metrics SageMaker publishes there that these dashboards read (the AWS page above)."""
WIDTH = 12
HEIGHT = 6
PERIOD = 60
THRESHOLD_COLOR = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#bcbd22"}


class Widget(NamedTuple):
    """A ``metric`` widget: its title, metric rows (CloudWatch's array notation), lines, stat.
    (A named tuple: immutable, and made without a frozen dataclass's per-field ``object.__setattr__``,
    several per dashboard.)"""

    title: str
    metrics: list[list[Any]]
    stat: str = "Sum"
    lines: list[dict[str, Any]] | tuple[()] = ()
    stacked: bool = False
    label: str = ""

    def properties(self, region: str) -> dict[str, Any]:
        props: dict[str, Any] = {"metrics": self.metrics, "period": PERIOD, "region": region, "stacked": self.stacked,
                                 "stat": self.stat, "title": self.title, "view": "timeSeries"}
        if self.lines:
            props["annotations"] = {"horizontal": self.lines}
        if self.label:
            props["yAxis"] = {"left": {"label": self.label, "showUnits": False}}
        return props


def _metric(namespace: str, name: str, dims: dict[str, str], **options: Any) -> list[Any]:
    row: list[Any] = [namespace, name]
    for key, value in dims.items():
        row += [key, value]
    return [*row, options] if options else row


def _search(query: str, stat: str, ident: str, label: str) -> list[Any]:
    return [{"expression": f"SEARCH('{query}', '{stat}', {PERIOD})", "id": ident, "label": label}]


def _lines(aws: AwsContext, monitor_names: list[str]) -> list[dict[str, Any]]:
    """A horizontal line per alert on these monitors, at its alarm's threshold."""
    alerts = sorted({index: alert for name in monitor_names
                     for index, alert in aws.alerts_by_monitor.get(name, ())}.items())  # system order, once each
    out = []
    for _, alert in alerts:
        monitor = aws.ctx.system.item("monitors", alert.monitor)
        out.append({"color": THRESHOLD_COLOR[alert.severity], "label": f"{alert.name} ({alert.severity})",
                    "value": monitoring.alarm_threshold(monitor)})
    return sorted(out, key=lambda line: (line["value"], line["label"]))


def _invocations(dims: dict[str, str]) -> Widget:
    return Widget("Invocations", [_metric("AWS/SageMaker", "Invocations", dims)])


def _latency(dims: dict[str, str], lines: list[dict[str, Any]]) -> Widget:
    return Widget("Model latency (microseconds)", [_metric("AWS/SageMaker", "ModelLatency", dims, stat="p50"),
                                                   _metric("AWS/SageMaker", "ModelLatency", dims, stat="p99")],
                  stat="p99", lines=lines, label="microseconds")


def _errors(dims: dict[str, str]) -> Widget:
    return Widget("Errors", [_metric("AWS/SageMaker", "Invocation4XXErrors", dims),
                             _metric("AWS/SageMaker", "Invocation5XXErrors", dims)])


def _error_share(dims: dict[str, str], lines: list[dict[str, Any]]) -> Widget:
    rate = [_metric("AWS/SageMaker", "Invocation5XXErrors", dims, id="errors", visible=False),
            _metric("AWS/SageMaker", "Invocations", dims, id="invocations", visible=False),
            [{"expression": "IF(invocations > 0, errors / invocations, 0)", "id": "error_rate",
              "label": "5XX share"}]]
    return Widget("5XX share", rate, lines=lines, label="fraction")


def _instances(dims: dict[str, str]) -> Widget:
    # no replica bounds in the label: without autoscaling AWS ignores max, so a max change must not
    # show as a dashboard change in the plan
    instances = [_metric("AWS/SageMaker", "Invocations", dims, id="inv", visible=False),
                 _metric("AWS/SageMaker", "InvocationsPerInstance", dims, id="per", visible=False),
                 [{"expression": "IF(per > 0, inv / per, 0)", "id": "instances",
                   "label": "instances (while there is traffic)"}]]
    return Widget("Instances", instances, label="instances")


def _use(dims: dict[str, str]) -> Widget:
    return Widget("CPU and GPU use (%)", [_metric("/aws/sagemaker/Endpoints", "CPUUtilization", dims),
                                          _metric("/aws/sagemaker/Endpoints", "GPUUtilization", dims),
                                          _metric("/aws/sagemaker/Endpoints", "GPUMemoryUtilization", dims)],
                  stat="Average")


def _traffic_split(physical: str) -> Widget:
    query = f'{{AWS/SageMaker,EndpointName,VariantName}} EndpointName="{physical}" MetricName="Invocations"'
    return Widget("Rollout traffic split (invocations per variant)", [_search(query, "Sum", "split", "")],
                  stacked=True)


def _endpoint_parts(aws: AwsContext, item: Endpoint) -> tuple[str, str, list[Widget | None]]:
    """(physical endpoint name, variant, widgets): the widgets that depend on more than the endpoint's
    name and variant, in their places, and None where :data:`_NAMED_WIDGETS` makes the widget."""
    physical = serving.endpoint_name(aws, item.name)
    variant = serving.variant_name(serving.served(aws, item))
    dims = {"EndpointName": physical, "VariantName": variant}
    monitors = aws.monitors_by_endpoint.get(item.name, [])
    names = {kind: [m.name for m in monitors if m.metric == kind] for kind in ("latency_p99", "error_rate")}
    widgets: list[Widget | None] = [None, _latency(dims, _lines(aws, names["latency_p99"])), None,
                                    _error_share(dims, _lines(aws, names["error_rate"])), None, None]
    for monitor in (m for m in monitors if m.metric in DRIFT_METRICS):
        name, drift_dims = monitoring.drift_metric(aws, monitor)
        widgets.append(Widget(f"{monitor.metric} ({monitor.name})",
                              [_metric(monitoring.METRIC_NAMESPACE, name, drift_dims)], stat="Maximum",
                              lines=_lines(aws, [monitor.name]), label="score"))
    widgets.append(None)
    return physical, variant, widgets


def _named_widget(n: int, count: int, physical: str, variant: str) -> Widget:
    """Widget ``n`` (of ``count``) of an endpoint's dashboard that depends only on the endpoint's
    physical name and variant."""
    if n == count - 1:
        return _traffic_split(physical)
    return _NAMED_WIDGETS[n]({"EndpointName": physical, "VariantName": variant})


_NAMED_WIDGETS: dict[int, Callable[[dict[str, str]], Widget]] = {
    0: _invocations, 2: _errors, 4: _instances, 5: _use}
"""Place -> the endpoint widget there that depends only on the endpoint's dimensions (the last
widget, the traffic split, depends only on its physical name)."""


def endpoint_widgets(aws: AwsContext, item: Endpoint) -> list[Widget]:
    """The widgets of one endpoint's dashboard (see the module contract)."""
    physical, variant, widgets = _endpoint_parts(aws, item)
    return [widget or _named_widget(n, len(widgets), physical, variant) for n, widget in enumerate(widgets)]


def training_widgets(aws: AwsContext, item: TrainingJob) -> list[Widget]:
    """The widgets of one training job's dashboard (see the module contract)."""
    dims = {"PipelineName": aws.name("train", item.name)}
    runs = [_metric(PIPELINE_NAMESPACE, metric, dims)
            for metric in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed", "ExecutionStopped")]
    query = '{/aws/sagemaker/TrainingJobs,Host} MetricName="GPUUtilization" pipelines'
    return [
        Widget("Pipeline executions", runs),
        Widget("Execution duration (ms)", [_metric(PIPELINE_NAMESPACE, "ExecutionDuration", dims, stat="Average"),
                                           _metric(PIPELINE_NAMESPACE, "ExecutionDuration", dims, stat="Maximum")],
               stat="Average", label="milliseconds"),
        Widget("GPU use of pipeline training jobs (%, every pipeline of the account)",
               [_search(query, "Average", "gpu", "")], stat="Average"),
    ]


def _placed(n: int, widget: Widget, region: str) -> dict[str, Any]:
    """Widget ``n`` of a body: two to a row, in order."""
    return {"type": "metric", "x": (n % 2) * WIDTH, "y": (n // 2) * HEIGHT, "width": WIDTH, "height": HEIGHT,
            "properties": widget.properties(region)}


def body(aws: AwsContext, widgets: list[Widget]) -> str:
    """The dashboard body: widgets two to a row, in order."""
    return canonical_json({"widgets": [_placed(n, widget, aws.region) for n, widget in enumerate(widgets)]})


_NAME_MARK = "<endpoint>"
"""Stands for an endpoint's physical name in :func:`_named_text`: ``json.dumps`` writes it as itself
between quotes, and no text of those widgets can hold it (``<`` is in no physical name, ``a-z0-9-``,
nor in a region, and the other texts are constants)."""
_PLAIN_NAME = re.compile(r"[a-z0-9-]+")
"""What ``json.dumps`` writes as itself between quotes (ASCII, no quote, backslash or control character)."""


@cache
def _named_text(n: int, count: int, variant: str, region: str) -> str:
    """:func:`_named_widget` ``n`` placed (:func:`_placed`) as its canonical JSON, with
    :data:`_NAME_MARK` for the physical endpoint name (a pure function of its arguments)."""
    return canonical_json(_placed(n, _named_widget(n, count, _NAME_MARK, variant), region))


def endpoint_body(aws: AwsContext, item: Endpoint) -> str:
    """``body(aws, endpoint_widgets(aws, item))``'s text. The widgets that depend only on the endpoint's
    physical name and variant (:data:`_NAMED_WIDGETS`, the traffic split) are written once per place,
    variant and region with :data:`_NAME_MARK` for the name, which each endpoint's dashboard replaces
    by its own: :func:`canonical_json` writes ``json.dumps``' text, in which an object's text is its
    members' texts in key order and a list's its items' texts (so a body is its widgets' texts joined,
    in ``{"widgets":[...]}``), and a name of :data:`_PLAIN_NAME` is itself between quotes, as the mark
    is. With the compilers' shortcuts off (:data:`mlops_infra.graph.REF_HINTS`), and for a name
    outside :data:`_PLAIN_NAME` (none is: :func:`~mlops_infra.compile.naming.physical_name`), every
    widget is written with the body."""
    physical, variant, widgets = _endpoint_parts(aws, item)
    region, count = aws.region, len(widgets)
    if not graph.REF_HINTS or not _PLAIN_NAME.fullmatch(physical) or "<" in variant + region:
        return body(aws, [widget or _named_widget(n, count, physical, variant) for n, widget in enumerate(widgets)])
    texts = [canonical_json(_placed(n, widget, region)) if widget is not None
             else _named_text(n, count, variant, region).replace(_NAME_MARK, physical)
             for n, widget in enumerate(widgets)]
    return '{"widgets":[' + ",".join(texts) + "]}"


def compile_dashboards(aws: AwsContext) -> None:
    """After every section: a dashboard per endpoint and per training job, under its component."""
    system = aws.ctx.system
    items = [("endpoints", "endpoint", e.name, endpoint_body(aws, e)) for e in system.endpoints]
    items += [("training_jobs", "training", j.name, body(aws, training_widgets(aws, j))) for j in system.training_jobs]
    for section, kind, name, text in items:
        parent = aws.ctx.builder.urn_for(COMPONENT_TYPES[section], name, None)
        aws.add(DASHBOARD, f"{name}-dashboard", {"dashboardName": aws.name(kind, name, max_len=255),
                                                 "dashboardBody": text},
                parent=parent, address=f"{section}.{name}", role="dashboard", refs_in=())  # text
