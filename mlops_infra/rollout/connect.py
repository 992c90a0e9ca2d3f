"""From a compiled graph to a running reconciler: the spec, driver and gates of one endpoint.

Contract of :func:`connect`: ``graph.rollouts["endpoints.<name>"]`` gives the :class:`RolloutSpec`;
AWS endpoints get a :class:`SageMakerDriver` (the endpoint's final config and new model are read from
the graph's endpoint, config and model resources; the autoscaling of its ``primary`` variant from the
graph's ``aws:appautoscaling`` target whose ``resourceId`` is ``endpoint/<name>/variant/primary`` and
the policies on it, :func:`declared_scaling`) and :class:`CloudWatchGates`, with boto3's usual
credential chain and ``AWS_ENDPOINT_URL``; Kubernetes endpoints get a :class:`KServeDriver` on the
graph's namespace through :mod:`mlops_infra.kube` (kubeconfig ``context`` of the environment, or the
pod's service account) and :class:`PrometheusGates` at ``prometheus_url``. A Kubernetes rollout with
gates and no Prometheus URL is a :class:`UserError` (it would hold blind, then roll back).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.aws.serving import ENDPOINT, SCALABLE_TARGET, SCALING_POLICY
from mlops_infra.compile.rollout_code import declared_autoscaling
from mlops_infra.errors import UserError
from mlops_infra.graph import REF, DesiredGraph, is_ref
from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling, EndpointTarget, primary_resource
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Driver, GateReader, NoGates

PROMETHEUS_ENV = "MLOPS_PROMETHEUS_URL"


@dataclass
class Connected:
    spec: RolloutSpec
    driver: Driver
    gates: GateReader


def _resolve(graph: DesiredGraph, value: Any) -> Any:
    """A literal input, or the input a ``{ref, output: name|id}`` points at."""
    if is_ref(value):
        target = graph.by_urn()[value[REF]].inputs
        return target.get("name") if value.get("output") in ("name", "id") else target.get(value["output"])
    return value


def endpoint_config_names(graph: DesiredGraph) -> dict[str, str]:
    """Physical endpoint name -> its desired endpoint config name (literal or a ref to the config)."""
    out = {}
    for resource in graph.resources:
        if resource.type == ENDPOINT:
            name, config = resource.inputs.get("name"), _resolve(graph, resource.inputs.get("endpointConfigName"))
            if isinstance(name, str) and isinstance(config, str):
                out[name] = config
    return dict(sorted(out.items()))


def aws_target(graph: DesiredGraph, plan: dict[str, Any]) -> EndpointTarget:
    endpoint = plan["endpointName"]
    config_name = endpoint_config_names(graph)[endpoint]
    config = next(r for r in graph.resources if r.inputs.get("name") == config_name)
    model = _resolve(graph, config.inputs["productionVariants"][0]["modelName"])
    return EndpointTarget(endpoint, str(plan["modelVersion"]), config_name, str(model), declared_scaling(graph, endpoint))


def declared_scaling(graph: DesiredGraph, endpoint: str) -> DeclaredScaling | None:
    """The autoscaling the graph declares for ``endpoint``'s ``primary`` variant (None: none)."""
    resource_id = primary_resource(endpoint)
    target = next((r.inputs for r in graph.resources
                   if r.type == SCALABLE_TARGET and r.inputs.get("resourceId") == resource_id), None)
    policies = [r.inputs for r in graph.resources
                if r.type == SCALING_POLICY and _resolve(graph, r.inputs.get("resourceId")) == resource_id]
    return DeclaredScaling.from_document(declared_autoscaling(target, policies))


def rollout_spec(graph: DesiredGraph, endpoint: str, source: str = "") -> tuple[str, dict[str, Any]]:
    """The graph's rollout plan of ``endpoint`` (a UserError naming the endpoints that have one)."""
    address = f"endpoints.{endpoint}"
    plan = graph.rollouts.get(address)
    if plan is None:
        have = ", ".join(sorted(a.split(".", 1)[1] for a in graph.rollouts)) or "none"
        raise UserError(f"endpoint {endpoint!r} has no progressive rollout in environment {graph.stack!r}",
                        "Only endpoints with `rollout: {strategy: canary}` (or blue_green on Kubernetes) are rolled "
                        f"out step by step; endpoints with one here: {have}.", source=source or None)
    return address, plan


def connect(graph: DesiredGraph, endpoint: str, *, prometheus_url: str | None = None, source: str = "",
            kube_options: Any = None) -> Connected:
    address, plan = rollout_spec(graph, endpoint, source)
    spec = RolloutSpec.from_graph(address, plan)
    if spec.target == "aws":
        try:
            import boto3
            from botocore.config import Config
        except ModuleNotFoundError as exc:
            raise UserError("boto3 is not installed", "Rolling out on AWS needs `pip install 'mlops-infra[aws]'`.") \
                from exc

        from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
        from mlops_infra.rollout.gates.cloudwatch import CloudWatchGates

        region = graph.metadata.get("region")
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        session = boto3.Session(region_name=region)
        client = lambda name: session.client(name, config=config)  # noqa: E731
        driver = SageMakerDriver(client("sagemaker"), aws_target(graph, plan),
                                 autoscaling=client("application-autoscaling"))
        return Connected(spec, driver, CloudWatchGates(client("cloudwatch")) if spec.gates else NoGates())
    from mlops_infra.kube import ConnectOptions, KubeClient
    from mlops_infra.rollout.drivers.kserve import KServeDriver
    from mlops_infra.rollout.gates.prometheus import PrometheusGates

    url = prometheus_url or os.environ.get(PROMETHEUS_ENV)
    if spec.gates and not url:
        raise UserError(f"endpoint {endpoint!r} rolls back on {', '.join(spec.gates)}, but no Prometheus to read them",
                        f"Pass --prometheus-url (or set {PROMETHEUS_ENV}) to the Prometheus that evaluates the "
                        "compiled PrometheusRules, e.g. http://prometheus-operated.monitoring:9090.")
    namespace = graph.metadata.get("namespace") or "default"
    options = kube_options or ConnectOptions(context=graph.metadata.get("context"))
    driver = KServeDriver(KubeClient.connect(options), namespace, spec.endpoint)
    return Connected(spec, driver, PrometheusGates(url, namespace=namespace) if spec.gates and url else NoGates())
