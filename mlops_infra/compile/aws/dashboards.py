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

import json
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


Lines = list[dict[str, Any]]


def _invocations(dims: dict[str, str], lines: Lines) -> Widget:
    return Widget("Invocations", [_metric("AWS/SageMaker", "Invocations", dims)])


def _latency(dims: dict[str, str], lines: Lines) -> Widget:
    return Widget("Model latency (microseconds)", [_metric("AWS/SageMaker", "ModelLatency", dims, stat="p50"),
                                                   _metric("AWS/SageMaker", "ModelLatency", dims, stat="p99")],
                  stat="p99", lines=lines, label="microseconds")


def _errors(dims: dict[str, str], lines: Lines) -> Widget:
    return Widget("Errors", [_metric("AWS/SageMaker", "Invocation4XXErrors", dims),
                             _metric("AWS/SageMaker", "Invocation5XXErrors", dims)])


def _error_share(dims: dict[str, str], lines: Lines) -> Widget:
    rate = [_metric("AWS/SageMaker", "Invocation5XXErrors", dims, id="errors", visible=False),
            _metric("AWS/SageMaker", "Invocations", dims, id="invocations", visible=False),
            [{"expression": "IF(invocations > 0, errors / invocations, 0)", "id": "error_rate",
              "label": "5XX share"}]]
    return Widget("5XX share", rate, lines=lines, label="fraction")


def _instances(dims: dict[str, str], lines: Lines) -> Widget:
    # no replica bounds in the label: without autoscaling AWS ignores max, so a max change must not
    # show as a dashboard change in the plan
    instances = [_metric("AWS/SageMaker", "Invocations", dims, id="inv", visible=False),
                 _metric("AWS/SageMaker", "InvocationsPerInstance", dims, id="per", visible=False),
                 [{"expression": "IF(per > 0, inv / per, 0)", "id": "instances",
                   "label": "instances (while there is traffic)"}]]
    return Widget("Instances", instances, label="instances")


def _use(dims: dict[str, str], lines: Lines) -> Widget:
    return Widget("CPU and GPU use (%)", [_metric("/aws/sagemaker/Endpoints", "CPUUtilization", dims),
                                          _metric("/aws/sagemaker/Endpoints", "GPUUtilization", dims),
                                          _metric("/aws/sagemaker/Endpoints", "GPUMemoryUtilization", dims)],
                  stat="Average")


_FIRST_WIDGETS: tuple[Callable[[dict[str, str], Lines], Widget], ...] = (
    _invocations, _latency, _errors, _error_share, _instances, _use)
"""The first widgets of an endpoint's dashboard, in order, from its dimensions and the alarm lines drawn
on each (:data:`_LINED`)."""
_LINED = {1: "latency_p99", 3: "error_rate"}
"""Place of a first widget -> the monitor metric whose alerts it draws as lines (the others draw none)."""


def _traffic_split(physical: str) -> Widget:
    query = f'{{AWS/SageMaker,EndpointName,VariantName}} EndpointName="{physical}" MetricName="Invocations"'
    return Widget("Rollout traffic split (invocations per variant)", [_search(query, "Sum", "split", "")],
                  stacked=True)


class _EndpointBoard(NamedTuple):
    """What an endpoint's dashboard shows: its physical name and variant, the lines of each first
    widget (:data:`_FIRST_WIDGETS`), and a widget per drift monitor (before the traffic split)."""

    physical: str
    variant: str
    lines: list[Lines]
    drifts: list[Widget]


def _board(aws: AwsContext, item: Endpoint) -> _EndpointBoard:
    physical = serving.endpoint_name(aws, item.name)
    monitors = aws.monitors_by_endpoint.get(item.name, [])
    lines = [_lines(aws, [m.name for m in monitors if m.metric == _LINED[n]]) if n in _LINED else []
             for n in range(len(_FIRST_WIDGETS))]
    drifts = []
    for monitor in (m for m in monitors if m.metric in DRIFT_METRICS):
        name, drift_dims = monitoring.drift_metric(aws, monitor)
        drifts.append(Widget(f"{monitor.metric} ({monitor.name})",
                             [_metric(monitoring.METRIC_NAMESPACE, name, drift_dims)], stat="Maximum",
                             lines=_lines(aws, [monitor.name]), label="score"))
    return _EndpointBoard(physical, serving.variant_name(serving.served(aws, item)), lines, drifts)


def _board_widgets(board: _EndpointBoard) -> list[Widget]:
    dims = {"EndpointName": board.physical, "VariantName": board.variant}
    return [*(make(dims, lines) for make, lines in zip(_FIRST_WIDGETS, board.lines, strict=True)), *board.drifts,
            _traffic_split(board.physical)]


def endpoint_widgets(aws: AwsContext, item: Endpoint) -> list[Widget]:
    """The widgets of one endpoint's dashboard (see the module contract)."""
    return _board_widgets(_board(aws, item))


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
"""Stands for an endpoint's physical name in :func:`_first_text` and :func:`_split_text`: ``json.dumps``
writes it as itself between quotes, and no text of those widgets can hold it (``<`` is in no physical
name, ``a-z0-9-``, nor in a region or variant, checked, and the other texts are constants)."""
_LINES_MARK = "<lines>"
"""Stands for a widget's lines in :func:`_first_text`: a string given where the widget takes its list of
lines, so ``json.dumps`` writes :data:`_LINES_TEXT` where the list's text goes, and that text is
replaced with the list's."""
_LINES_TEXT = json.dumps(_LINES_MARK)
_PLAIN_NAME = re.compile(r"[a-z0-9-]+")
"""What ``json.dumps`` writes as itself between quotes (ASCII, no quote, backslash or control character)."""


@cache
def _first_text(n: int, variant: str, region: str, lined: bool) -> str:
    """First widget ``n`` (:data:`_FIRST_WIDGETS`) placed (:func:`_placed`) as its canonical JSON, with
    :data:`_NAME_MARK` for the physical endpoint name and, when ``lined``, :data:`_LINES_MARK` for its
    lines (a pure function of its arguments)."""
    dims = {"EndpointName": _NAME_MARK, "VariantName": variant}
    return canonical_json(_placed(n, _FIRST_WIDGETS[n](dims, _LINES_MARK if lined else []), region))


@cache
def _split_text(n: int, region: str) -> str:
    """The traffic split placed ``n``-th as its canonical JSON, with :data:`_NAME_MARK` for the name."""
    return canonical_json(_placed(n, _traffic_split(_NAME_MARK), region))


def endpoint_body(aws: AwsContext, item: Endpoint) -> str:
    """``body(aws, endpoint_widgets(aws, item))``'s text. The first widgets and the traffic split are
    written once per place, variant, region and whether they draw lines, with :data:`_NAME_MARK` for the
    physical name and :data:`_LINES_MARK` for the lines, which each endpoint's dashboard replaces by its
    own name and its lines' JSON text: :func:`canonical_json` writes ``json.dumps``' text, in which an
    object's text is its members' texts in key order and a list's its items' texts (so a body is its
    widgets' texts joined, in ``{"widgets":[...]}``), and a name of :data:`_PLAIN_NAME` is itself
    between quotes, as the mark is. The name goes in first, so no inserted text is searched for a mark.
    With the compilers' shortcuts off (:data:`mlops_infra.graph.REF_HINTS`), and for a name outside
    :data:`_PLAIN_NAME` (none is: :func:`~mlops_infra.compile.naming.physical_name`), every widget is
    written with the body."""
    board = _board(aws, item)
    physical, variant, region = board.physical, board.variant, aws.region
    if not graph.REF_HINTS or not _PLAIN_NAME.fullmatch(physical) or "<" in variant + region:
        return body(aws, _board_widgets(board))
    texts = []
    for n, lines in enumerate(board.lines):
        text = _first_text(n, variant, region, bool(lines)).replace(_NAME_MARK, physical)
        texts.append(text.replace(_LINES_TEXT, canonical_json(lines)) if lines else text)
    first = len(texts)
    texts += [canonical_json(_placed(first + i, widget, region)) for i, widget in enumerate(board.drifts)]
    texts.append(_split_text(len(texts), region).replace(_NAME_MARK, physical))
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
