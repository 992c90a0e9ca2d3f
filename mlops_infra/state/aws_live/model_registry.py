"""Read an AWS environment's model registry (SageMaker model package groups) into a RegistryView.

Contract of :func:`read_registry` (what ``plan --refresh`` and ``apply`` use, finding A1):
- first, given the environment's ``account`` (``plan --refresh``, ``apply``; promote checks with its own words,
  ``promote/registries.check_account``), :func:`check_account` refuses credentials of another account
  (STS ``GetCallerIdentity``), with the error the live scan gives (``state/aws_live/account.wrong_account``):
  another account's groups would read as missing and decide the endpoints' versions;
- per model of the system: ``DescribeModelPackageGroup`` of ``<system>-<env>-<model>``; a group that
  does not exist holds no versions (``complete``, basis ``registry``); else every version from
  ``ListModelPackages(ModelPackageGroupName=..., ModelPackageType=Versioned)`` with its
  ``ModelApprovalStatus`` and ``ModelPackageStatus`` (botocore ``ModelPackageSummary``), and for
  every version an endpoint of the model pins, serves (``serving``) or still runs (``running``: a
  canary's previous variant), ``DescribeModelPackage``: the first container's model data
  (``ModelDataUrl``, or ``ModelDataSource``'s S3 URI and compression: a promoted folder's form;
  :func:`mlops_infra.model_versions.container_model_data`), ``Image`` and ``ImageDigest``, and the artifact digest in
  ``CustomerMetadataProperties[mlops-infra/artifact-digest]`` when a promotion recorded one;
- ``running`` comes from the endpoints themselves (:func:`read_live`: ``DescribeEndpoint`` -> its
  config's variants -> ``DescribeModel`` -> ``PrimaryContainer.ModelPackageName``), every variant's
  version of the endpoint's model (an endpoint that does not exist runs none), and in ``running_models``
  every variant's version of another model of the system (a canary away from that model: its stable
  variant), described in that model's group, the image lookup's (``RegistryView.runs``); ``serving`` comes from
  the prior state (:func:`mlops_infra.state.model_registry.offline_registry_view`), or with
  ``serving="live"`` the highest version ``running`` holds: what the Pulumi program uses, since it
  cannot read its own state. ``serving_models`` (which registered model the served version is of) is
  the prior state's (:func:`mlops_infra.state.model_registry.served_models`); with ``serving="live"``,
  an endpoint none of whose variants runs a package of its pinned model's group but which runs one of
  another model of the system (its group named as the compiler names it, ``group_of``; a group of no
  declared model is not mapped, never parsed) serves the highest version of THAT model
  (:func:`read_live`): the endpoint was switched to another model, and what it serves is held
  (``Decision.serve_model``) rather than taken for a version of the new model, whose package of the same
  number SageMaker deploys only when Approved (botocore ``CreateModelPackageInput.ModelApprovalStatus``:
  "For versioned models, the value of this parameter must be set to Approved to deploy the model"). The endpoints are read before the versions, so the image of each
  version an endpoint may still run is described (closing-33c-1: ``ModelPackageSummary`` holds no
  ``Image``, only ``DescribeModelPackage``'s ``InferenceSpecification.Containers[].Image`` says which
  image a version runs, and the serving role must keep pulling it,
  :func:`mlops_infra.compile.aws.serving._served_images`). Bounded: one ``DescribeModelPackage`` per
  distinct version pinned, served or run, two calls per endpoint plus one per variant, the endpoints
  read :data:`ENDPOINT_WORKERS` at a time, all within the deadline the caller gives the whole read
  (``plan --refresh``: ``cli/commands/plan.registry_view``); an endpoint whose read fails is a warning
  naming it and is listed in ``RegistryView.running_unread`` (its decision then says which versions it
  runs is unknown, and the plan's serving-pull warning is not skipped: closing-33d-2), the others' reads
  are kept; a promotion (``live=False``) does not read the endpoints;
- a read that fails for another reason than "not found" (access denied, throttling beyond the
  retries) keeps the offline evidence for that model and adds a warning naming the error (scrubbed
  of credentials): the plan still decides, and says it could not check;
- Kubernetes environments: the offline view (reading the in-cluster MLflow registry is not done here).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from mlops_infra.compile.naming import physical_name
from mlops_infra.model_versions import (
    DIGEST_PROPERTY,
    ModelRegistry,
    RegistryView,
    VersionRecord,
    container_model_data,
)
from mlops_infra.spec.system import MLSystem
from mlops_infra.state.aws_live.context import paginate
from mlops_infra.state.aws_live.retry import (
    RetryPolicy,
    call_with_retry,
    classify,
    describe_error,
    is_not_found,
)
from mlops_infra.state.aws_live.scan import CONNECT_TIMEOUT, READ_TIMEOUT
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import PACKAGE_ARN, group_of, group_owners, offline_registry_view, where

ENDPOINT_WORKERS = 8
"""Endpoint reads in flight at once (:func:`read_live`); within botocore's default connection pool
(``max_pool_connections`` 10, botocore ``config.Config``)."""


def read_registry(system: MLSystem, env: str, prior: PriorState, *, session_factory: Callable[[], Any] | None = None,
                  endpoint_url: str | None = None, retry: RetryPolicy | None = None,
                  describe_all: bool = False, serving: str = "prior", live: bool = True,
                  account: str | None = None) -> RegistryView:
    """The registry view read from SageMaker (see the module contract).

    ``describe_all`` describes every version, not only the pinned ones (one call per version): what
    a promotion needs to find the version holding an artifact digest (``RegistryView.find_digest``).
    ``live=False`` does not read the endpoints (no ``running``; ``serving`` stays the prior state's):
    a promotion, which uses nothing they say and whose roles need the endpoint reads only when an
    applied state is known (docs/promote.md, closing-33d-3).
    ``account`` (the environment's ``target.account``; ``plan --refresh`` and ``apply`` pass it): credentials of
    another account are refused before anything is read (:func:`check_account`), as the live scan refuses them.
    """
    offline = offline_registry_view(system, env, prior)
    target = system.environments[env].target
    if target.kind != "aws":
        return offline
    try:
        session = session_factory() if session_factory is not None else _default_session()
        client = _client(lambda: session, target.region, endpoint_url)  # one session: one AssumeRole at most
    except Exception as error:  # a bad endpoint URL, a broken profile: nothing can be read
        return dataclasses.replace(offline, warnings=(
            f"could not read the model registry ({classify(error)[1]}): {describe_error(error)}; versions were "
            "decided from the prior state",))
    if account:
        check_account(session, account, env, target.region, endpoint_url)
    retry = retry or RetryPolicy()
    warnings: list[str] = []
    running: dict[str, tuple[int, ...]] = {}
    served = dict(offline.serving)
    served_models = dict(offline.serving_models)
    others: dict[str, dict[str, tuple[int, ...]]] = {}
    unread: dict[str, BaseException] = {}
    if live:
        running, others, unread = read_live(client, system, env, retry)
        if serving == "live":
            served = {name: max(versions) for name, versions in running.items() if versions}
            served_models = {}
            for name, by_model in others.items():
                if name not in served:  # switched: it runs only another model's package (see the contract)
                    model = max(by_model, key=lambda m: (max(by_model[m]), m))
                    served[name], served_models[name] = max(by_model[model]), model
    view = dataclasses.replace(offline, serving=served, serving_models=served_models, running=running,
                               running_models=others)
    pins: dict[str, set[int]] = {}
    for endpoint in system.endpoints:  # each version described under the model it is a version of
        for model, version in view.runs(endpoint.name, endpoint.model.name, endpoint.model.version):
            pins.setdefault(model, set()).add(version)
    models: dict[str, ModelRegistry] = {}
    for model in system.models:
        try:
            describe = None if describe_all else pins.get(model.name, set())
            models[model.name] = _read_model(client, system, env, model.name, describe, retry)
        except Exception as error:  # any read failure: keep the offline evidence, and say so
            warnings.append(f"could not read the registry of {model.name} ({where(system, env, model.name)}): "
                            f"{describe_error(error)}; its versions were decided from the prior state")
            if model.name in offline.models:
                models[model.name] = offline.models[model.name]
    for name, error in sorted(unread.items()):  # said after the models' own warnings
        warnings.append(f"could not read which model versions endpoint {name} serves: {describe_error(error)}")
    return dataclasses.replace(view, models=models, warnings=tuple(warnings), running_unread=tuple(sorted(unread)))


def read_live(client: Any, system: MLSystem, env: str, retry: RetryPolicy,
              ) -> tuple[dict[str, tuple[int, ...]], dict[str, dict[str, tuple[int, ...]]], dict[str, BaseException]]:
    """(endpoint name -> the versions of its model that its live endpoint config's variants run,
    sorted; endpoint name -> other model of the system -> the versions of it the variants run, sorted
    (``RegistryView.running_models``: an endpoint switched to another model, its canary's stable variant
    still running the old model's package beside the new one, or none of the new one yet; before, such
    variants were kept only for an endpoint running no package of its own model, and only the model of the
    highest version: left43a); endpoint name -> the error that stopped its read). A canary runs two versions: the controller's ``canary`` variant beside
    the one it served before (:mod:`mlops_infra.rollout.drivers.sagemaker`). Endpoints that do not exist
    are left out of all three, and so are variants of a group of no model the system declares. One endpoint's failure does not stop the
    others' reads. The endpoints are read concurrently, at most :data:`ENDPOINT_WORKERS` at once
    (closing-33d-4: three sequential calls per endpoint did not fit the refresh deadline at a few
    dozen endpoints); a botocore client is thread safe ("Multithreading or multiprocessing with
    clients", boto3 docs guide/clients), and the scan shares its clients between threads the same way
    (:mod:`mlops_infra.state.aws_live.scan`)."""
    owners = group_owners(system, env)

    def one(endpoint: Any) -> dict[str, set[int]] | None:
        physical = physical_name(system.metadata.name, env, endpoint.name)
        try:
            live = call_with_retry(lambda: client.describe_endpoint(EndpointName=physical), retry)
        except Exception as error:
            if is_not_found(error):
                return None
            raise
        name = live["EndpointConfigName"]
        config = call_with_retry(lambda: client.describe_endpoint_config(EndpointConfigName=name), retry)
        versions: dict[str, set[int]] = {}  # model -> versions its packages' variants run
        for variant in config.get("ProductionVariants") or []:
            model = call_with_retry(lambda v=variant: client.describe_model(ModelName=v["ModelName"]), retry)
            match = PACKAGE_ARN.match(str((model.get("PrimaryContainer") or {}).get("ModelPackageName") or ""))
            if match is not None and match.group(1) in owners:
                versions.setdefault(owners[match.group(1)], set()).add(int(match.group(2)))
        return versions

    results: dict[str, dict[str, set[int]] | BaseException | None] = {}
    todo = iter(list(system.endpoints))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                endpoint = next(todo, None)
            if endpoint is None:
                return
            try:
                result: dict[str, set[int]] | BaseException | None = one(endpoint)
            except Exception as error:  # the caller names the endpoint and the error
                result = error
            with lock:
                results[endpoint.name] = result

    # daemon threads, not concurrent.futures (whose workers the interpreter joins at exit): a read
    # stuck on a silent server must not hold the process once the caller's deadline gave up on it
    # (cli/commands/plan._within)
    workers = [threading.Thread(target=work, name=f"endpoint-read-{i}", daemon=True)
               for i in range(min(ENDPOINT_WORKERS, len(system.endpoints)))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    pinned = {endpoint.name: endpoint.model.name for endpoint in system.endpoints}
    out: dict[str, tuple[int, ...]] = {}
    others: dict[str, dict[str, tuple[int, ...]]] = {}
    for name, result in sorted(results.items()):
        if not isinstance(result, dict) or not result:
            continue
        if pinned[name] in result:
            out[name] = tuple(sorted(result[pinned[name]]))
        if other := {m: tuple(sorted(v)) for m, v in sorted(result.items()) if m != pinned[name]}:
            others[name] = other
    failed = {name: r for name, r in results.items() if isinstance(r, BaseException)}
    return out, others, failed


READ_REFUSED = ("Nothing was read: {env}'s model package groups are in account {account}; read with another "
                "account's credentials they would look missing (\"does not exist yet\"), and the plan would decide "
                "its endpoints' versions from another account's registry.")
"""What :func:`check_account` says was not done, by default (``{env}``, ``{account}``)."""


def check_account(session: Any, account: str, env: str, region: str, endpoint_url: str | None, *,
                  doing: str = "live AWS reads", nothing: Callable[[str], str] | None = None) -> None:
    """Refuse, before ``env``'s registry is read, credentials (``session``'s) of another account than ``account``,
    the environment's ``target.account``: :class:`~mlops_infra.state.aws_live.account.WrongAccount` (exit 1),
    the error every live read of an environment gives (:func:`~mlops_infra.state.aws_live.account.wrong_account`:
    the live scan, ``rollout``; audit envs-7); ``doing`` names what was refused (the scan's words by default:
    ``plan --refresh`` reads the registry before it scans, so its refusal reads the same either way),
    ``nothing(caller)`` what was not done (default :data:`READ_REFUSED`); promote's check
    (``promote/registries.check_account``) is this one with its own words and the spec's line.

    Why. SageMaker model package groups are per account and Region: read with a staging profile left in
    ``AWS_PROFILE``, prod's groups read as missing ("no versions") or as another account's, and ``apply``,
    ``plan --refresh`` or a promotion would decide from them. ``GetCallerIdentity`` needs no permission (botocore
    ``sts/2011-06-15``: "No permissions are required to perform this operation"). When the question itself
    fails (no credentials, STS unreachable) nothing is refused here: the registry read fails the same way and
    says so."""
    from mlops_infra.state.aws_live import account as accounts

    try:
        caller = accounts.caller_account(session.client("sts", region_name=region, endpoint_url=endpoint_url,
                                                         config=_config()))
    except Exception:  # no credentials, unreachable: the registry read reports it
        return
    if caller != account:
        said = nothing(caller) if nothing is not None else READ_REFUSED.format(env=env, account=account)
        raise accounts.wrong_account(caller, account, env, region, doing=doing, nothing=said)


def _default_session() -> Any:
    import boto3

    return boto3.Session()


def _config() -> Any:
    from botocore.config import Config

    return Config(retries={"max_attempts": RetryPolicy().botocore_max_attempts, "mode": "standard"},
                  connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)


def _client(session_factory: Callable[[], Any], region: str, endpoint_url: str | None) -> Any:
    return session_factory().client("sagemaker", region_name=region, endpoint_url=endpoint_url, config=_config())


def _read_model(client: Any, system: MLSystem, env: str, model: str, pinned: set[int] | None,
                retry: RetryPolicy) -> ModelRegistry:
    """One model's registry; versions in ``pinned`` (all when None) are described in full."""
    group = group_of(system, env, model)
    try:
        call_with_retry(lambda: client.describe_model_package_group(ModelPackageGroupName=group), retry)
    except Exception as error:
        if not is_not_found(error):
            raise
        return ModelRegistry(model, where(system, env, model, ", which does not exist yet"), "registry", True, {})
    summaries = call_with_retry(lambda: paginate(client, "list_model_packages", "ModelPackageSummaryList",
                                                 ModelPackageGroupName=group, ModelPackageType="Versioned"), retry)
    versions: dict[int, VersionRecord] = {}
    for summary in summaries:
        version = summary.get("ModelPackageVersion")
        if not isinstance(version, int):
            continue
        record = VersionRecord(version, summary.get("ModelApprovalStatus"), summary.get("ModelPackageStatus"),
                               summary.get("ModelPackageArn"))
        if (pinned is None or version in pinned) and record.arn:
            record = _described(client, record, retry)
        versions[version] = record
    return ModelRegistry(model, where(system, env, model), "registry", True, versions)


def _described(client: Any, record: VersionRecord, retry: RetryPolicy) -> VersionRecord:
    """``record`` with the artifact, image and digest of ``DescribeModelPackage``."""
    package = call_with_retry(lambda: client.describe_model_package(ModelPackageName=record.arn), retry)
    containers = (package.get("InferenceSpecification") or {}).get("Containers") or [{}]
    first = containers[0]
    uri, compression = container_model_data(first)
    metadata = package.get("CustomerMetadataProperties") or {}
    return dataclasses.replace(record, approval=package.get("ModelApprovalStatus", record.approval),
                               status=package.get("ModelPackageStatus", record.status),
                               artifact_uri=uri, artifact_compression=compression, image=first.get("Image"),
                               image_digest=first.get("ImageDigest"), digest=metadata.get(DIGEST_PROPERTY))
