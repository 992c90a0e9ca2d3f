"""Limits of AWS and Kubernetes that a compiled graph keeps, or breaks, as the spec grows.

The audit of 2026-12-05 (session 25, report ``coord/notes/limits-report.md``): every input whose
size, and every resource whose count, depends on how many endpoints, monitors, alerts, jobs or
channels a system has, against the limit AWS or Kubernetes puts on it. Two such limits are pinned
elsewhere and left out here: the IAM inline role policy aggregate (10,240 characters, compile/aws/
iam.py and policies.py) and the Kubernetes rollout runner's ConfigMap (1 MiB, its own module).

The system measured is the benchmark generator's (``benchmarks/bench_validate.generate``: per
endpoint a drift and a latency monitor with one alert each, per ten endpoints one model and one
training job, three channels; ``dev`` is Kubernetes, ``prod`` AWS), with retraining wired the way
the reference example wires it (``examples/fraud-detection``: the training job's
``triggers.on_alerts`` names the drift alert of each endpoint serving its model).

Two ways of checking:

- a size or count per resource (a policy, a list, an object) grows by a fixed amount per endpoint,
  so it is measured at :data:`SMALL` and :data:`LARGE` endpoints and extrapolated linearly to
  :data:`LARGEST` (10,000 endpoints, the largest system ``benchmarks/bench_cli.py`` runs);
  :func:`test_extrapolation_is_exact_on_a_third_size` checks the linear model on a third size;
- a count per account and Region (an AWS quota) is checked on the 1,000-endpoint graph (issue 14's
  size) against the quota a new account has.

Each limit is cited where it is declared. A limit a graph breaks is a ``strict`` xfail naming the
finding (``L1``...), so it turns into a failure, to be made a plain test, the day it is fixed; an
account quota the graph passes is a plain test that the plan warns about it (``plan/quotas.py``),
and that it is still passed (when it no longer is, the finding is fixed and the test says so); a list
a user lengthens past an AWS API's maximum is a plain test that the spec refuses it (L6, L7).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.graph import ARCHIVE, DesiredGraph, DesiredResource
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import placeholder

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

SMALL, LARGE, THIRD = 50, 100, 200
"""Sizes (endpoints) of the two compiles a growth is measured on, and of the one that checks it."""
LARGEST = 10_000
"""The size every per-resource limit must hold at: ``bench_cli.py --endpoints 10000``."""
QUOTA_SIZE = 1_000
"""The size account quotas are checked at: the 1,000-endpoint system of issue 14."""

KIB, MIB = 1024, 1024 * 1024


# --- the systems ----------------------------------------------------------------------------------


def _generate(endpoints: int) -> str:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return generate(endpoints)


def _retrain_on_drift(doc: dict[str, Any]) -> dict[str, Any]:
    """Each training job retrains on the drift alert of every endpoint serving the model it registers."""
    model_of = {e["name"]: e["model"]["name"] for e in doc["endpoints"]}
    drift = {m["name"]: model_of[m["endpoint"]] for m in doc["monitors"] if m["metric"] == "feature_drift"}
    by_model: dict[str, list[str]] = {}
    for alert in doc["alerts"]:
        if alert["monitor"] in drift:
            by_model.setdefault(drift[alert["monitor"]], []).append(alert["name"])
    for job in doc["training_jobs"]:
        job["triggers"]["on_alerts"] = by_model.get(job["registers"], [])
    return doc


@cache
def bench_text(endpoints: int) -> str:
    doc = _retrain_on_drift(yaml.load(_generate(endpoints), Loader=yaml.CSafeLoader))
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False)


def compile_doc(text: str, env: str) -> DesiredGraph | None:
    """The graph of ``env``, or None when the document is refused (the rule is then enforced before
    any apply, which is a fix as good as a graph within the limit)."""
    loaded = parse_system(text, "mlsystem.yaml", env)
    if loaded.system is None:
        return None
    return compile_system(loaded.system, env)


@cache
def bench(endpoints: int, env: str) -> DesiredGraph:
    graph = compile_doc(bench_text(endpoints), env)
    assert graph is not None
    return graph


def reference_with(change: Callable[[dict[str, Any]], None]) -> str:
    """The reference example with ``change`` applied to its document."""
    doc = yaml.safe_load(REFERENCE.read_text())
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False)


def of_type(graph: DesiredGraph, type_: str) -> list[DesiredResource]:
    return [r for r in graph.resources if r.type == type_]


def text_of(value: Any) -> str:
    """Compact JSON of ``value`` with refs as placeholders (an ARN of 61 characters)."""
    return value if isinstance(value, str) else json.dumps(placeholder(value), separators=(",", ":"))


# --- per-resource limits --------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` of ``measure`` (a resource -> a number) for every resource of ``type_``."""

    id: str
    env: str
    type_: str
    measure: Callable[[DesiredResource], int]
    limit: int
    source: str
    skip: Callable[[DesiredResource], bool] = lambda r: False

    def largest(self, graph: DesiredGraph) -> int:
        return max((self.measure(r) for r in of_type(graph, self.type_) if not self.skip(r)), default=0)


def _archive_bytes(r: DesiredResource) -> int:
    return sum(len(t.encode()) for t in r.inputs["code"][ARCHIVE].values())


def _env_bytes(r: DesiredResource) -> int:
    variables = (r.inputs.get("environment") or {}).get("variables") or {}
    return sum(len(k.encode()) + len(text_of(v).encode()) for k, v in variables.items())


def _widgets(r: DesiredResource) -> list[dict[str, Any]]:
    return json.loads(text_of(r.inputs["dashboardBody"]))["widgets"]


def _alarm_actions(r: DesiredResource) -> int:
    return max(len(r.inputs.get(k) or []) for k in ("alarmActions", "okActions", "insufficientDataActions"))


def _rollback_alarms(r: DesiredResource) -> int:
    config = (r.inputs.get("deploymentConfig") or {}).get("autoRollbackConfiguration") or {}
    return len(config.get("alarms") or [])


def _non_whitespace(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def _k8s_size(r: DesiredResource) -> int:
    return len(text_of(r.inputs).encode())


def _configmap_data(r: DesiredResource) -> int:
    return sum(len(str(v).encode()) for v in (r.inputs.get("data") or {}).values())


def _annotations(r: DesiredResource) -> int:
    found = (r.inputs.get("metadata") or {}).get("annotations") or {}
    return sum(len(k.encode()) + len(str(v).encode()) for k, v in found.items())


def _longest_argument(r: DesiredResource) -> int:
    """The longest single string a container is started with: a ``command``/``args`` item or an
    ``env`` entry (``NAME=value``), anywhere in the object (pod templates of every kind)."""
    longest, stack = 0, [r.inputs]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in ("command", "args"):
                if isinstance(node.get(key), list):
                    longest = max([longest, *(len(str(a).encode()) for a in node[key])])
            if isinstance(node.get("env"), list):
                longest = max([longest, *(len(f"{e.get('name')}={e.get('value', '')}".encode())
                                          for e in node["env"] if isinstance(e, dict))])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return longest


def _rollout_runner_configmap(r: DesiredResource) -> bool:
    """The Kubernetes rollout runner's ConfigMap: its 1 MiB limit has its own fix and tests."""
    return r.type == "kubernetes:core/v1:ConfigMap" and r.name.startswith("mlops-rollout-runner")


LIMITS = [
    Limit("lambda-code", "prod", "aws:lambda/function:Function", _archive_bytes, 250 * 1000 * 1000,
          "Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): deployment "
          "package 250 MB unzipped (the rollout runner's archive holds rollouts.json, ~535 bytes per rollout)"),
    Limit("lambda-environment", "prod", "aws:lambda/function:Function", _env_bytes, 4 * KIB,
          "Lambda quotas: environment variables 4 KB for all of a function's variables combined"),
    Limit("pipeline-definition", "prod", "aws:sagemaker/pipeline:Pipeline",
          lambda r: len(text_of(r.inputs["pipelineDefinition"])), 1_048_576,
          "botocore sagemaker CreatePipeline PipelineDefinition: max 1048576"),
    Limit("dashboard-widgets", "prod", "aws:cloudwatch/dashboard:Dashboard", lambda r: len(_widgets(r)), 500,
          "CloudWatch Dashboard Body Structure: 'an array of between 0 and 500 widget objects' "
          "(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html)"),
    Limit("dashboard-widget-metrics", "prod", "aws:cloudwatch/dashboard:Dashboard",
          lambda r: max((len(w["properties"].get("metrics") or []) for w in _widgets(r)), default=0), 500,
          "CloudWatch quotas (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html): "
          "up to 500 metrics per dashboard widget"),
    Limit("alarm-actions", "prod", "aws:cloudwatch/metricAlarm:MetricAlarm", _alarm_actions, 5,
          "botocore cloudwatch PutMetricAlarm AlarmActions/OKActions/InsufficientDataActions: ResourceList max 5; "
          "CloudWatch quotas: 'Alarm actions 5/alarm. This quota cannot be changed.'"),
    Limit("rollback-alarms", "prod", "aws:sagemaker/endpoint:Endpoint", _rollback_alarms, 10,
          "botocore sagemaker AutoRollbackConfig.Alarms: AlarmList max 10"),
    Limit("event-pattern", "prod", "aws:cloudwatch/eventRule:EventRule",
          lambda r: len(text_of(r.inputs["eventPattern"])), 2048,
          "EventBridge quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html): event "
          "pattern size 2048 characters (botocore PutRule EventPattern allows 4096)"),
    Limit("bucket-policy", "prod", "aws:s3/bucketPolicy:BucketPolicy", lambda r: len(text_of(r.inputs["policy"])),
          20 * KIB, "S3 bucket policies are limited to 20 KB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
          "bucket-policies.html)"),
    Limit("key-policy", "prod", "aws:kms/key:Key", lambda r: len(text_of(r.inputs["policy"])), 32 * KIB,
          "KMS quotas (https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html): key policy "
          "document size 32 KB"),
    Limit("trust-policy", "prod", "aws:iam/role:Role",
          lambda r: _non_whitespace(text_of(r.inputs["assumeRolePolicy"])), 2048,
          "IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): role trust "
          "policy length 2,048 characters (moto GetAccountSummary AssumeRolePolicySizeQuota 2048)"),
    Limit("tags", "prod", "aws:sagemaker/endpoint:Endpoint", lambda r: len(r.inputs.get("tags") or {}), 50,
          "SageMaker Tags: botocore TagList max 50"),
    Limit("object-size", "dev", "*", _k8s_size, 3 * MIB // 2,
          "etcd DefaultMaxRequestBytes = 1.5 * 1024 * 1024 (server/embed/config.go): larger objects are refused "
          "('etcdserver: request is too large'); kube-apiserver's own body limit is 3 MiB",
          skip=_rollout_runner_configmap),
    Limit("configmap-data", "dev", "kubernetes:core/v1:ConfigMap", _configmap_data, MIB,
          "kubernetes pkg/apis/core/validation ValidateConfigMap: data + binaryData at most core.MaxSecretSize "
          "(1 MiB)", skip=_rollout_runner_configmap),
    Limit("annotations", "dev", "*", _annotations, 256 * KIB,
          "apimachinery ValidateAnnotations: TotalAnnotationSizeLimitB = 256 * (1 << 10)"),
    Limit("container-argument", "dev", "*", _longest_argument, 131_072,
          "Linux execve: each argument and environment string at most MAX_ARG_STRLEN = PAGE_SIZE * 32 "
          "(include/uapi/linux/binfmts.h), 131,072 bytes with 4 KiB pages; a longer one fails the exec with "
          "E2BIG ('argument list too long'), so the container never starts"),
    Limit("rule-file", "dev", "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
          lambda r: len(text_of(r.inputs.get("spec")).encode()), MIB // 2,
          "prometheus-operator makeRulesConfigMaps: rule files are bin-packed into ConfigMaps of at most "
          "maxConfigMapDataSize = MaxSecretSize * 0.5; one PrometheusRule larger than that is refused"),
]


def measures(limit: Limit, graph: DesiredGraph) -> dict[str, int]:
    """URN -> the limit's measure, for every resource it applies to."""
    return {r.urn: limit.measure(r) for r in graph.resources
            if (r.type == limit.type_ or (limit.type_ == "*" and r.type.startswith("kubernetes:"))) and not limit.skip(r)}


def growth(limit: Limit) -> dict[str, float]:
    """URN -> how much its measure grows per endpoint, between :data:`SMALL` and :data:`LARGE`, for the
    resources of both graphs (a resource of the larger only is one more copy of a kind both have)."""
    small, large = measures(limit, bench(SMALL, limit.env)), measures(limit, bench(LARGE, limit.env))
    return {urn: (large[urn] - small[urn]) / (LARGE - SMALL) for urn in small.keys() & large.keys()}


def extrapolated(limit: Limit, to: int) -> int:
    """The largest measure at ``to`` endpoints: each resource's, grown linearly from :data:`LARGE`."""
    large = measures(limit, bench(LARGE, limit.env))
    grows = growth(limit)
    return max((math.ceil(value + grows.get(urn, 0) * (to - LARGE)) for urn, value in large.items()), default=0)


BROKEN: dict[str, str] = {}
"""Limit id -> the finding a graph breaks it with (those tests are strict xfails)."""


def _param(limit: Limit) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=BROKEN[limit.id])] if limit.id in BROKEN else []
    return pytest.param(limit, id=f"{limit.env}-{limit.id}", marks=marks)


@pytest.mark.parametrize("limit", [_param(x) for x in LIMITS])
def test_per_resource_limit_holds_at_the_largest_size(limit: Limit) -> None:
    """Each limit of :data:`LIMITS` (its source in its ``source``) holds at :data:`LARGEST` endpoints."""
    assert measures(limit, bench(LARGE, limit.env)), f"{limit.id}: nothing measured, no {limit.type_} left"
    at = extrapolated(limit, LARGEST)
    assert at <= limit.limit, f"{limit.id}: {at} at {LARGEST:,} endpoints > {limit.limit} ({limit.source})"


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_extrapolation_is_exact_on_a_third_size(env: str) -> None:
    """The linear model behind :func:`extrapolated` predicts the compile at :data:`THIRD` endpoints
    (within 1%, and within a byte for what does not grow)."""
    for limit in (x for x in LIMITS if x.env == env):
        measured, predicted = max(measures(limit, bench(THIRD, env)).values()), extrapolated(limit, THIRD)
        assert abs(measured - predicted) <= max(1, measured // 100), (limit.id, measured, predicted)


def test_what_grows_is_what_the_audit_found() -> None:
    """Of the measures above only these grow with the number of endpoints: the rollout runner Lambda's
    archive (its rollouts.json, ~546 bytes per endpoint); on Kubernetes the ``channel-*``
    AlertmanagerConfigs (~21 bytes per endpoint: the alertname matcher lists every alert of the
    channel), the rollout runner's Role (its resourceNames, ~7 bytes per endpoint) and the retrain
    trigger's routes ConfigMap (~22 bytes per endpoint retraining on drift). Until L8's fix the
    routes were one argument of the trigger's command (``dev-container-argument`` grew, past
    MAX_ARG_STRLEN at 5,851 endpoints); now no container argument grows."""
    growing = {f"{x.env}-{x.id}": max(growth(x).values(), default=0) for x in LIMITS}
    assert {k for k, v in growing.items() if v > 0} == {"prod-lambda-code", "dev-object-size",
                                                          "dev-configmap-data"}, growing


# --- account quotas ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    """At most ``default`` resources of ``type_`` per account and Region in a new account."""

    id: str
    type_: str
    default: int
    source: str


QUOTAS = {
    "iam-roles": Quota("iam-roles", "aws:iam/role:Role", 1000,
                       "IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): roles "
                       "in an AWS account, 1,000 by default, at most 5,000 (moto GetAccountSummary RolesQuota 1000)"),
    "scalable-targets": Quota("scalable-targets", "aws:appautoscaling/target:Target", 500,
                              "Application Auto Scaling quotas (https://docs.aws.amazon.com/autoscaling/application/"
                              "userguide/application-auto-scaling-quotas.html): scalable targets per resource type, "
                              "500 for SageMaker (other resource types), adjustable"),
    "pipelines": Quota("pipelines", "aws:sagemaker/pipeline:Pipeline", 500,
                       "SageMaker feature processor quotas (https://docs.aws.amazon.com/sagemaker/latest/dg/"
                       "feature-store-feature-processor-quotas.html): maximum number of pipelines allowed per "
                       "account 500"),
    "event-rules": Quota("event-rules", "aws:cloudwatch/eventRule:EventRule", 300,
                         "EventBridge quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html):"
                         " number of rules per event bus 300 (100 in af-south-1 and eu-south-1), adjustable"),
}


def _count(quota: Quota, graph: DesiredGraph | None = None) -> int:
    return len(of_type(graph or bench(QUOTA_SIZE, "prod"), quota.type_))


def _warned(quota: Quota, needed: int, graph: DesiredGraph | None = None) -> None:
    """The 1,000-endpoint graph (or ``graph``) needs more than a new account's quota, and the plan
    says so before apply (``plan/quotas.py`` ``quota_warnings``, one warning per quota passed)."""
    from mlops_infra.plan.quotas import quota_warnings

    found = quota_warnings(graph or bench(QUOTA_SIZE, "prod"))
    assert needed > quota.default, f"{quota.id}: {needed} fits {quota.default}; the finding is fixed, pin that instead"
    assert any(f"this environment alone needs {needed:,} " in w and f"allows {quota.default:,} " in w
               for w in found), (quota.id, found)


def test_iam_roles_past_a_new_accounts_quota_are_warned_at_plan() -> None:
    """L1: 2.2 IAM roles per endpoint (a serving role per endpoint, a drift-job role per drift monitor,
    a training and a gate role per job, 6 of the platform): 2,206 at 1,000 endpoints, past the default
    1,000 at 453 (:data:`QUOTAS` ``iam-roles``). Sharing roles would remove the need (compile/aws/iam.py);
    until then the plan warns."""
    _warned(QUOTAS["iam-roles"], _count(QUOTAS["iam-roles"]))


@pytest.mark.xfail(strict=True, reason="L1: the IAM hard maximum of 5,000 roles is passed at 2,271 endpoints; the plan "
                   "warns (split the system across accounts), but one account cannot hold it; fix: share roles")
def test_iam_roles_fit_the_hard_maximum_at_the_largest_size() -> None:
    """IAM roles cannot be raised past 5,000 (:data:`QUOTAS` ``iam-roles``); the count at :data:`LARGEST`."""
    roles = [len(of_type(bench(n, "prod"), "aws:iam/role:Role")) for n in (SMALL, LARGE)]
    at = roles[1] + (roles[1] - roles[0]) * (LARGEST - LARGE) // (LARGE - SMALL)
    assert at <= 5000, at


def test_sagemaker_pipelines_past_a_new_accounts_quota_are_warned_at_plan() -> None:
    """L2: a SageMaker pipeline per drift monitor and per training job: 1,100 at 1,000 endpoints,
    past 500 at 456 (:data:`QUOTAS` ``pipelines``). One drift pipeline taking the monitor as a
    parameter would remove the need (compile/aws/monitoring.py); until then the plan warns."""
    _warned(QUOTAS["pipelines"], _count(QUOTAS["pipelines"]))


def test_scalable_targets_past_a_new_accounts_quota_are_warned_at_plan() -> None:
    """L3: one scalable target per autoscaled endpoint, inherent: past 500 at 501 endpoints
    (:data:`QUOTAS` ``scalable-targets``); the plan warns."""
    _warned(QUOTAS["scalable-targets"], _count(QUOTAS["scalable-targets"]))


def test_event_rules_past_a_new_accounts_quota_are_warned_at_plan() -> None:
    """L4: one EventBridge rule on the default bus per (training job, on_alerts alert): 1,000 at 1,000
    endpoints retraining on drift, past 300 at 301 (:data:`QUOTAS` ``event-rules``). One rule per job
    matching all its alarms would remove the need (compile/aws/pipelines.py); until then the plan warns."""
    _warned(QUOTAS["event-rules"], _count(QUOTAS["event-rules"]))


def test_alarm_count_has_no_quota_and_grows_two_per_endpoint() -> None:
    """CloudWatch quotas: "No limit on the total number of alarms per account" (cloudwatch_limits.html),
    so 2,000 alarms at 1,000 endpoints are fine; pinned so a third alarm per endpoint is a decision. The
    one decided: a canary whose rollback_on alerts notify channels has a rollback alarm (one each), a
    drift monitor told to channels has a silence alarm (one each, audit contract-4), and a training job
    whose failures are told has a failure alarm (one each, ab61d85)."""
    graph = bench(QUOTA_SIZE, "prod")
    alarms = of_type(graph, "aws:cloudwatch/metricAlarm:MetricAlarm")
    notices = [a for a in alarms if a.role == "rollback-alarm"]
    assert sorted(a.address for a in notices) == sorted(graph.rollouts) and len(notices) < QUOTA_SIZE
    # and one Errors alarm and one dropped alarm per Lambda (compile/aws/lambda_failures.py)
    errors = [a for a in alarms if a.role == "errors-alarm"]
    dropped = [a for a in alarms if a.role == "dropped-alarm"]
    assert len(errors) == len(dropped) == len(of_type(graph, "aws:lambda/function:Function"))
    silent = [a for a in alarms if a.role == "silence-alarm"]
    drift = [r for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline" and r.address.startswith("monitors.")]
    assert sorted(a.address for a in silent) == sorted(p.address for p in drift)
    # and a training job whose failures are told has its failure alarm (one each, the resolve of ab61d85)
    failed = [a for a in alarms if a.role == "training-failure-alarm"]
    told = {r.address for r in graph.resources if r.role == "training-failure-rule"}
    assert sorted(a.address for a in failed) == sorted(told) and len(failed) == len(told) > 0
    assert len(alarms) == 2 * QUOTA_SIZE + len(notices) + len(errors) + len(dropped) + len(silent) + len(failed)


def _jobs(count: int) -> str:
    """The 10-endpoint benchmark system with ``count`` training jobs, each registering its own model."""
    doc = yaml.load(_generate(10), Loader=yaml.CSafeLoader)
    job, model = doc["training_jobs"][0], doc["models"][0]
    doc["training_jobs"] = [{**job, "name": f"train-{i:04d}", "registers": f"model-{i:04d}" if i else model["name"]}
                            for i in range(count)]
    doc["models"] += [{**model, "name": f"model-{i:04d}"} for i in range(1, count)]
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False)


def test_no_function_reserves_concurrency_at_any_size() -> None:
    """L9, fixed: Lambda lets an account reserve all but 100 of its concurrency ("as long as you leave
    at least 100 simultaneous executions unreserved", PutFunctionConcurrency,
    https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html), 900 of a default
    account's 1,000 and none of a new account's reduced one. Each retrain gate reserved 1, so 901
    training jobs (9,010 endpoints of the benchmark's shape) passed the 900, and one job failed the
    first apply in a new account. The gates now start one run through an idempotent
    ``StartPipelineExecution`` (compile/aws/retrain_gate.py) and no function reserves any."""
    for graph in (compile_doc(_jobs(901), "prod"), bench(QUOTA_SIZE, "prod")):
        assert graph is not None
        functions = of_type(graph, "aws:lambda/function:Function")
        assert len(functions) > QUOTA_SIZE // 10
        assert [f.urn for f in functions if "reservedConcurrentExecutions" in f.inputs] == []


# --- lists a user lengthens (reference example) ---------------------------------------------------


def _more_channels(doc: dict[str, Any]) -> None:
    doc["channels"] += [{"name": f"team-{i}", "kind": "email", "address": f"team-{i}@example.com"} for i in range(5)]
    doc["alerts"][1]["notify"] = ["oncall"] + [f"team-{i}" for i in range(5)]


def _more_rollback_alerts(doc: dict[str, Any]) -> None:
    doc["endpoints"][0]["rollout"] = {"strategy": "blue_green",
                                      "rollback_on": ["scorer-latency", "scorer-errors"] + [f"slow-{i}" for i in range(9)]}
    doc["alerts"] += [{"name": f"slow-{i}", "monitor": "latency", "for": f"{5 + i}m", "severity": "critical",
                       "notify": ["oncall"]} for i in range(9)]


def _refused_on_aws_only(text: str, code: str) -> None:
    """Refused in the AWS environment with ``code``; the Kubernetes one compiles (no such limit there)."""
    loaded = parse_system(text, "mlsystem.yaml", "prod")
    assert loaded.system is None and code in {d.code for d in loaded.diagnostics if d.severity == "error"}
    assert compile_doc(text, "dev") is not None


def test_an_alert_notifying_six_channels_is_refused_on_aws() -> None:
    """L6, fixed: the reference with one alert notifying six channels compiled an alarm with six
    actions (:data:`LIMITS` ``alarm-actions``); spec/aws_lists.py now refuses it in AWS environments."""
    _refused_on_aws_only(reference_with(_more_channels), "too-many-alarm-actions")


def test_a_blue_green_endpoint_rolling_back_on_eleven_alerts_is_refused_on_aws() -> None:
    """L7, fixed: the reference with a blue/green endpoint and 11 rollback alerts compiled 11
    auto-rollback alarms (:data:`LIMITS` ``rollback-alarms``); spec/aws_lists.py now refuses it on AWS."""
    _refused_on_aws_only(reference_with(_more_rollback_alerts), "too-many-rollback-alarms")


@pytest.mark.parametrize("strategy", ["all_at_once", "blue_green", "canary", "rolling"])
def test_the_spec_knows_which_strategies_sagemaker_rolls_back(strategy: str) -> None:
    """``spec.serving.SAGEMAKER_ROLLED_BACK`` (what the L7 check counts) is exactly the strategies whose
    compiled endpoint carries ``autoRollbackConfiguration`` (compile/aws/serving.py)."""
    from mlops_infra.spec.serving import SAGEMAKER_ROLLED_BACK

    def change(doc: dict[str, Any]) -> None:
        doc["endpoints"][0]["rollout"] = {"strategy": strategy, "rollback_on": ["scorer-latency"],
                                          **({"steps": [5, 100]} if strategy == "canary" else {})}

    graph = compile_doc(reference_with(change), "staging")  # prod's progressive_rollout gate refuses all_at_once
    assert graph is not None
    (endpoint,) = of_type(graph, "aws:sagemaker/endpoint:Endpoint")
    assert (_rollback_alarms(endpoint) > 0) == (strategy in SAGEMAKER_ROLLED_BACK)


def _more_inputs(doc: dict[str, Any]) -> None:
    doc["data_sources"] += [{"name": f"extra-{i:02d}", "kind": "object_store", "encryption": "kms",
                             "retention": "90d"} for i in range(19)]
    doc["training_jobs"][0]["inputs"] = ["transactions", "feature-snapshots"] + [f"extra-{i:02d}" for i in range(19)]


def _input_channels(graph: DesiredGraph) -> int:
    found = 0
    for pipeline in of_type(graph, "aws:sagemaker/pipeline:Pipeline"):
        for step in json.loads(text_of(pipeline.inputs["pipelineDefinition"]))["Steps"]:
            found = max(found, len(step.get("Arguments", {}).get("InputDataConfig") or []))
    return found


def test_a_training_job_reading_twenty_one_sources_is_refused_on_aws() -> None:
    """L10, fixed: the reference with a training job reading 21 data sources compiled a Train step with
    21 input channels (botocore sagemaker CreateTrainingJob InputDataConfig: max 20, one channel per
    input, compile/aws/training.py ``_channels``); spec/aws_lists.py now refuses it on AWS."""
    _refused_on_aws_only(reference_with(_more_inputs), "too-many-input-channels")


def test_training_channels_are_one_per_input() -> None:
    """The check of the test above counts inputs because the compiler makes one channel per input:
    the reference's job reads one data source and its Train step has one channel."""
    assert _input_channels(compile_doc(REFERENCE.read_text(), "prod")) == 1


# --- the retrain gate's resource-based policy ----------------------------------------------------


GATE_POLICY_MAX = 20 * KIB
"""Lambda: "Lambda function access policy is limited to 20 KB" (AddPermission
PolicyLengthExceededException; re:Post "The final policy size is bigger than the limit": "the
Lambda function resource-based policy quota limit is 20 KB and can't be increased")."""


def gate_policy_bytes(graph: DesiredGraph, region: str, account: str) -> dict[str, int]:
    """Function name -> size of the resource-based policy its permissions build.

    The policy text is written by Lambda, not by us: each AddPermission adds one statement of the
    form GetPolicy returns (``Sid``, ``Effect``, ``Principal.Service``, ``Action``, ``Resource`` the
    function ARN, ``Condition.ArnLike.AWS:SourceArn`` and, with ``sourceAccount``,
    ``Condition.StringEquals.AWS:SourceAccount``); this layout is inferred from GetPolicy's documented
    output, and so the byte count is an estimate within a few bytes per statement. A ``sourceArn``
    is a ref to the rule or topic (its ARN is built from its name) or a string (an ARN pattern, as is).
    """
    by_urn = graph.by_urn()
    arn_of = {"aws:cloudwatch/eventRule:EventRule": "arn:aws:events:{r}:{a}:rule/{n}",
              "aws:sns/topic:Topic": "arn:aws:sns:{r}:{a}:{n}"}
    statements: dict[str, list[dict[str, Any]]] = {}
    for p in of_type(graph, "aws:lambda/permission:Permission"):
        function = by_urn[p.inputs["function"]["$ref"]].inputs["name"]
        source_arn = p.inputs["sourceArn"]
        if not isinstance(source_arn, str):
            source = by_urn[source_arn["$ref"]]
            source_arn = arn_of[source.type].format(r=region, a=account, n=source.inputs["name"])
        condition: dict[str, Any] = {"ArnLike": {"AWS:SourceArn": source_arn}}
        if p.inputs.get("sourceAccount"):
            condition["StringEquals"] = {"AWS:SourceAccount": p.inputs["sourceAccount"]}
        statements.setdefault(function, []).append({
            "Sid": p.inputs["statementId"], "Effect": "Allow", "Principal": {"Service": p.inputs["principal"]},
            "Action": p.inputs["action"], "Resource": f"arn:aws:lambda:{region}:{account}:function:{function}",
            "Condition": condition})
    return {f: len(json.dumps({"Version": "2012-10-17", "Id": "default", "Statement": s}, separators=(",", ":")))
            for f, s in statements.items()}


def test_gate_policy_holds_in_the_benchmark_shape() -> None:
    """Ten endpoints per model: each gate holds ten statements, the same at every size."""
    sizes = [max(gate_policy_bytes(bench(n, "prod"), "eu-west-1", "222222222222").values()) for n in (SMALL, LARGE)]
    assert sizes[0] == sizes[1] <= GATE_POLICY_MAX


def _one_model_many_endpoints(endpoints: int) -> str:
    doc = yaml.load(bench_text(endpoints), Loader=yaml.CSafeLoader)
    for e in doc["endpoints"]:
        e["model"]["name"] = "model-000"
    return yaml.dump(_retrain_on_drift(doc), Dumper=yaml.CSafeDumper, sort_keys=False)


def test_a_gate_for_sixty_drift_alerts_fits_its_policy() -> None:
    """L5, fixed (aed9568): one model behind all 60 endpoints, retrained on each endpoint's drift alert,
    needed 60 statements, 23,333 bytes, past :data:`GATE_POLICY_MAX` at 53; such a gate now gets one
    permission for all its rules (compile/aws/gates.py)."""
    graph = compile_doc(_one_model_many_endpoints(60), "prod")
    assert graph is not None
    assert max(gate_policy_bytes(graph, "eu-west-1", "222222222222").values()) <= GATE_POLICY_MAX
