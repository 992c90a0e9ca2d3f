"""From a compiled graph to a running reconciler: the spec, driver and gates of one endpoint.

Contract of :func:`connect`: ``graph.rollouts["endpoints.<name>"]`` gives the :class:`RolloutSpec`;
AWS endpoints get a :class:`SageMakerDriver` (the endpoint's final config and new model are read from
the graph's endpoint, config and model resources, the name prefix of its rollout configs from the rollout
runner's document in the graph, :func:`runner_config_prefix`; the autoscaling of its ``primary`` variant from the
graph's ``aws:appautoscaling`` target whose ``resourceId`` is ``endpoint/<name>/variant/primary`` and
the policies on it, :func:`declared_scaling`) and :class:`CloudWatchGates`, with boto3's usual
credential chain and ``AWS_ENDPOINT_URL``, once those credentials are known to be of the environment's account
(:func:`check_account`, before any call that reads or changes the endpoint: the check every live read of an
environment makes, :mod:`mlops_infra.state.aws_live.account`); Kubernetes endpoints get a :class:`KServeDriver` on the
graph's namespace through :mod:`mlops_infra.kube` and :class:`PrometheusGates` at ``prometheus_url``. A
Kubernetes rollout with gates and no Prometheus URL is a :class:`UserError` (it would hold blind, then roll back).

Which cluster (``kube_options`` when given, the rollout runner's in-cluster connection): the one ``pulumi up``
changed, :func:`mlops_infra.kube.effective_context.graph_options`: the stack an ``apply`` recorded for the graph,
else the stack config in ``stack_dir`` (``mlops-infra rollout``: ``kubernetes:context``/``kubernetes:kubeconfig``
over the spec's context, as the program copies them into the Kubernetes provider), else the environment's
kubeconfig context. A ``secure:`` stack kubeconfig, which only the Pulumi CLI decrypts, is a UserError: a rollout
changes traffic, so it never acts on another cluster than the one its model version was applied to.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_infra.compile.aws.serving import ENDPOINT, SCALABLE_TARGET, SCALING_POLICY
from mlops_infra.compile.rollout_code import DOCUMENT, declared_autoscaling
from mlops_infra.errors import UserError
from mlops_infra.graph import ARCHIVE, REF, DesiredGraph, is_archive, is_ref
from mlops_infra.rollout.drivers.sagemaker import DeclaredScaling, EndpointTarget, primary_resource
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import Driver, GateReader, NoGates
from mlops_infra.state.aws_live import account as accounts
from mlops_infra.state.aws_live.account import wrong_account

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
    return EndpointTarget(endpoint, str(plan["modelVersion"]), config_name, str(model), declared_scaling(graph, endpoint),
                          runner_config_prefix(graph, endpoint))


def runner_config_prefix(graph: DesiredGraph, endpoint: str) -> str:
    """``endpoint``'s ``configPrefix`` in the AWS rollout runner's document, ``rollouts.json`` in the runner's
    code archive in the graph (``compile/aws/rollout_runner.py``), so the CLI and the runner name rollout
    configs alike, and as the runner's role allows (audit limits-3); "" without one (the driver's
    ``<endpoint>[:40]``)."""
    for resource in graph.resources:
        code = resource.inputs.get("code")
        if not (is_archive(code) and DOCUMENT in code[ARCHIVE]):
            continue
        for item in json.loads(code[ARCHIVE][DOCUMENT]).get("rollouts") or []:
            where = item.get("endpoint") or {}
            if where.get("endpoint") == endpoint:
                return str(where.get("configPrefix") or "")
    return ""


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
            kube_options: Any = None, stack_dir: Path | None = None) -> Connected:
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
        names = ("sagemaker", "application-autoscaling") + (("cloudwatch",) if spec.gates else ())
        try:  # an unknown AWS_PROFILE, a malformed AWS_ENDPOINT_URL: raised here, before any call
            session = boto3.Session(region_name=region)
            made = {name: session.client(name, config=config) for name in names}
            caller = accounts.caller_account(session.client("sts", config=config))
        except (*aws_errors(), ValueError) as exc:  # ValueError: botocore's "Invalid endpoint: <url>"
            raise aws_failure(exc, graph, endpoint, source) from exc
        check_account(caller, graph, endpoint, source)
        client = made.__getitem__
        driver = SageMakerDriver(client("sagemaker"), aws_target(graph, plan),
                                 autoscaling=client("application-autoscaling"))
        return Connected(spec, driver, CloudWatchGates(client("cloudwatch")) if spec.gates else NoGates())
    from mlops_infra.kube import KubeClient
    from mlops_infra.kube.effective_context import graph_options
    from mlops_infra.rollout.drivers.kserve import KServeDriver
    from mlops_infra.rollout.gates.prometheus import PrometheusGates

    url = prometheus_url or os.environ.get(PROMETHEUS_ENV)
    if spec.gates and not url:
        raise UserError(f"endpoint {endpoint!r} rolls back on {', '.join(spec.gates)}, but no Prometheus to read them",
                        f"Pass --prometheus-url (or set {PROMETHEUS_ENV}) to the Prometheus that evaluates the "
                        "compiled PrometheusRules, e.g. http://prometheus-operated.monitoring:9090.")
    namespace = graph.metadata.get("namespace") or "default"
    options = kube_options or graph_options(graph, f"roll out endpoint {endpoint!r}", stack_dir)
    driver = KServeDriver(KubeClient.connect(options), namespace, spec.endpoint)
    return Connected(spec, driver, PrometheusGates(url, namespace=namespace) if spec.gates and url else NoGates())


def check_account(caller: str, graph: DesiredGraph, endpoint: str, source: str = "") -> None:
    """A UserError when ``caller`` (:func:`mlops_infra.state.aws_live.account.caller_account`) is not the account
    of the graph's environment (``metadata.account``, the spec's ``target.account``; audit closing-39a-3):
    :func:`mlops_infra.state.aws_live.account.wrong_account`, which every live read of an environment shares.

    SageMaker endpoints are per account and Region; with another account's credentials (a staging profile left
    in ``AWS_PROFILE``), the rollout would read "Could not find endpoint" and blame a missing apply, or act on a
    same-named endpoint of that account. So nothing is read or changed."""
    account = graph.metadata.get("account")
    if not account or caller == str(account):
        return
    raise wrong_account(caller, str(account), graph.stack, graph.metadata.get("region") or "?",
                        doing=f"rollout of {endpoint!r}",
                        nothing=f"Nothing was read or changed: the rollout acts only in the account apply deploys "
                                f"{graph.stack} to.", source=source or None)


def aws_errors() -> tuple[type[BaseException], ...]:
    """botocore's ``BotoCoreError`` and ``ClientError``, what a boto3 client raises for a failed call (none when
    boto3 is not installed: ``except ()`` then catches nothing, as a Kubernetes rollout needs)."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ModuleNotFoundError:
        return ()
    return (BotoCoreError, ClientError)


_DENIED_ACTION = re.compile(r"perform: ([a-z0-9-]+:[A-Za-z0-9]+)")
"""The IAM action in AWS's access-denied message ("User: <arn> is not authorized to perform:
sagemaker:DescribeEndpoint on resource: <arn>", IAM User Guide, "Troubleshoot access denied error messages")."""


def aws_failure(error: BaseException, graph: DesiredGraph, endpoint: str, source: str = "") -> UserError:
    """The UserError for an AWS rollout's failed client creation or call: its cause and its fix, never the
    error's secrets (:func:`mlops_infra.state.aws_live.retry.classify` names causes by code or class;
    other answers go through ``describe_error``, which scrubs keys and tokens).

    - botocore ``ProfileNotFound`` (an ``AWS_PROFILE`` not in the AWS config): set or unset it.
    - no credentials (``NoCredentialsError``, ``PartialCredentialsError``, ``CredentialRetrievalError``), or
      credentials AWS refuses (``ExpiredToken``, ``InvalidClientTokenId``...): log in or set ``AWS_PROFILE``
      to a profile of the environment's account.
    - the endpoint URL unreachable (``EndpointConnectionError``, timeouts) or malformed (botocore raises
      ``ValueError("Invalid endpoint: ...")`` from client creation): check ``AWS_ENDPOINT_URL``. Only the
      URL's scheme, host and port are shown.
    - ``DescribeEndpoint`` answering not found: the endpoint was never applied (the credentials are of the
      environment's account: :func:`connect` ran :func:`check_account` first). botocore's SageMaker model
      (``sagemaker/2017-07-24/service-2.json``) declares no error for ``DescribeEndpoint``; AWS (and moto)
      answer ``ValidationException`` "Could not find endpoint ..." (``retry.is_not_found``): apply first.
    - access denied (``AccessDenied``, ``AccessDeniedException``, HTTP 403): the IAM action the role lacks,
      from AWS's message ("not authorized to perform: <action>") or else the operation; the compiled rollout
      runner's role has every action a rollout uses (``compile/aws/rollout_runner.py``).
    - anything else: the AWS code and message, scrubbed, and that a pass starts from what it observes.
    """
    from mlops_infra.state.aws_live.retry import classify, describe_error, is_not_found

    env, region, account = graph.stack, graph.metadata.get("region") or "?", graph.metadata.get("account")
    where = f"environment {env!r} (account {account}, {region})" if account else f"environment {env!r} ({region})"
    what = f"rollout of {endpoint!r} in {where}"
    source = source or None
    if type(error).__name__ == "ProfileNotFound":
        profile = str((getattr(error, "kwargs", None) or {}).get("profile", ""))
        return UserError(f"{what}: the AWS profile {profile!r} (AWS_PROFILE) is not in your AWS config",
                         f"Set AWS_PROFILE to a profile of account {account or 'of ' + repr(env)} (`aws configure "
                         "list-profiles` lists them), or unset it to use the default credentials.", source=source)
    cause, code = classify(error)
    operation = str(getattr(error, "operation_name", "") or "")
    login = (f"Log in (`aws sso login --profile <profile>`, or `aws configure`) and set AWS_PROFILE to a profile of "
             f"account {account or 'of ' + repr(env)}, then run the command again.")
    if cause == "no-credentials":
        return UserError(f"{what}: no AWS credentials ({code})", login, source=source)
    if cause == "credentials-rejected":
        return UserError(f"{what}: AWS refused the credentials ({code}): expired or not valid", login, source=source)
    if cause in ("connection-failed", "timeout"):
        return UserError(f"{what}: could not reach AWS at {_host(error)} ({code})",
                         "Check AWS_ENDPOINT_URL (unset it to reach AWS itself), the network and any HTTPS_PROXY, "
                         "then run the command again.", source=source)
    if cause == "bad-endpoint":
        return UserError(f"{what}: the AWS endpoint URL is not valid ({code})",
                         "Set AWS_ENDPOINT_URL (or the profile's endpoint_url) to a URL such as "
                         "https://sagemaker.<region>.amazonaws.com, or unset it to reach AWS itself.", source=source)
    if operation == "DescribeEndpoint" and is_not_found(error):
        physical = _physical_endpoint(graph, endpoint)
        return UserError(f"{what}: the SageMaker endpoint {physical!r} does not exist",
                         f"Apply the environment first (`mlops-infra apply {source or '<file>'} --env {env}`), then "
                         "roll out the next model version.", source=source)
    if cause == "access-denied":
        message = str(((getattr(error, "response", None) or {}).get("Error") or {}).get("Message", ""))
        found = _DENIED_ACTION.search(message)
        action = found.group(1) if found else f"the IAM action of {operation or 'the call'}"
        return UserError(f"{what}: AWS denied {operation or 'a call'} ({code})",
                         f"The credentials' role needs {action} on the endpoint's resources (the compiled rollout "
                         "runner's role has every action a rollout uses).", source=source)
    return UserError(f"{what}: AWS answered {describe_error(error)}" + (f" to {operation}" if operation else ""),
                     "Run the command again: each pass starts from what it observes on the endpoint.", source=source)


def _host(error: BaseException) -> str:
    """``scheme://host[:port]`` of the URL a connection error names (no path, query or user info)."""
    from urllib.parse import urlsplit

    url = str((getattr(error, "kwargs", None) or {}).get("endpoint_url", "") or "")
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "") if parts.hostname \
            else "its endpoint URL"
    except ValueError:
        return "its endpoint URL"


def _physical_endpoint(graph: DesiredGraph, endpoint: str) -> str:
    plan = graph.rollouts.get(f"endpoints.{endpoint}") or {}
    return str(plan.get("endpointName") or endpoint)
