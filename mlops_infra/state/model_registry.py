"""The offline registry view: what the prior state proves about an environment's model versions.

Contract of :func:`offline_registry_view` (pure; no network): for an AWS environment, per model of
the system,

- its model package group (``<system>-<env>-<model>``, :func:`mlops_infra.compile.aws.registry.group_name`)
  absent from the prior state means this apply creates it, and a group created now holds no
  versions: the view is ``complete`` with no versions, basis ``created-now``;
- otherwise the versions proven are those the prior state's SageMaker models were created from
  (``primaryContainer.modelPackageName`` = ``arn:...:model-package/<group>/<version>``): they
  existed at the last apply (basis ``prior-state``); others are unknown (``complete`` False), so
  :meth:`~mlops_infra.model_versions.RegistryView.decide` assumes them and says they were not checked;
- ``serving`` maps each endpoint to the version of the model the prior state holds for it (the
  model resource's parent component is the endpoint), and ``serving_models`` to the registered model
  that version is of (:func:`served_models`): the group in the package ARN, mapped back to its model
  through the prior state's group resource, whose parent is the model's component (the compiler names
  the group ``physical_name(<system>, <env>, <model>)``, lowercased and cut, so a group name is never
  parsed back into a model name), else through the system's models (:func:`group_of`). So
  ``RegistryView.serves`` compares (model, version) on AWS too: an endpoint serving ``fraud-model``
  v14 switched to ``fraud-model-gbt``, whose v14 is not Approved, keeps serving ``fraud-model`` v14
  (``Decision.serve_model``) instead of being compiled as ``fraud-model-gbt`` v14 "already served",
  a package SageMaker refuses to deploy (botocore ``CreateModelPackageInput.ModelApprovalStatus``:
  "For versioned models, the value of this parameter must be set to Approved to deploy the model").
  A group mapped to no model leaves the endpoint out of ``serving_models`` (the number alone is
  compared, as before).

For a Kubernetes environment (finding firstapply-2: an InferenceService whose ``storageUri`` holds
nothing never becomes ready, KServe's storage initializer fails "No model found", while ``pulumi up``
reports success), per model of the system, from the prior state (:func:`kube_offline_view`):

- the environment's MLflow registry (Deployment or PersistentVolumeClaim ``mlops-mlflow``,
  ``compile/kubernetes/registry.py``) absent, or the model's register Job (``register-<model>-<hash>``
  under the model's component) absent: this apply creates the registered model, which holds no
  versions ("Versions are not compiled: runs register them"): ``complete`` with no versions, basis
  ``created-now``;
- otherwise the versions proven are those the prior state's InferenceServices served (annotation
  ``mlops-infra/model-version``, else the version folder of ``storageUri``; the annotation
  ``mlops-infra/model`` names the model): basis ``prior-state``, others unknown (``unverified``);
  each proven version's ``artifact_uri`` is the storage URI that InferenceService downloaded, so an
  offline plan compiles the URI the last apply served (the registry's ``source`` when apply read it:
  ``compile/kubernetes/artifacts.py``), not the layout, and shows no change where nothing changed;
  the same URIs are the view's ``served_uris`` (model -> version -> URI), which a registry read keeps
  (``read_registry`` replaces only ``models``), so the compiler keeps a served URI exactly as stored
  and never re-slashes it (closing-35b-2; ``artifacts.storage_uri``);
- ``serving`` maps each endpoint to the version its prior InferenceService served.

:func:`mlops_infra.state.aws_live.model_registry.read_registry` (AWS) and
:func:`mlops_infra.state.mlflow_registry.read_registry` (Kubernetes) read the registry itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlops_infra.compile.context import COMPONENT_TYPES
from mlops_infra.compile.kubernetes import names as kube_names
from mlops_infra.compile.kubernetes.artifacts import predictor_storage_uri
from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import urn_name, urn_type_chain
from mlops_infra.model_versions import MLFLOW_WHERE, ModelRegistry, RegistryView, VersionRecord
from mlops_infra.spec.system import MLSystem
from mlops_infra.state.model import PriorState, StateResource

GROUP_TYPE = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
MODEL_TYPE = "aws:sagemaker/model:Model"
MODEL_COMPONENT_TYPE = COMPONENT_TYPES["models"]
"""The component a model package group's parent is (``compile/aws/registry.compile_model``)."""
REGISTRY_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:core/v1:PersistentVolumeClaim")
"""The prior-state resources that show the MLflow registry exists (``compile/kubernetes/registry.py``)."""
JOB_TYPE = "kubernetes:batch/v1:Job"
INFERENCE_SERVICE_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
MODEL_ANNOTATION = "mlops-infra/model"
VERSION_ANNOTATION = "mlops-infra/model-version"
STORAGE_VERSION = re.compile(r"/([^/]+)/([0-9]+)/?$")
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/([^/]+)/([0-9]+)$")


def group_of(system: MLSystem, env: str, model: str) -> str:
    """The model package group name of ``model`` in ``env`` (as the AWS compiler names it)."""
    return physical_name(system.metadata.name, env, model)


def where(system: MLSystem, env: str, model: str, suffix: str = "") -> str:
    """``group <name> (<account>/<region>)`` for messages."""
    target = system.environments[env].target
    return f"group {group_of(system, env, model)} ({target.account}/{target.region}{suffix})"


def group_owners(system: MLSystem, env: str) -> dict[str, str]:
    """Group name -> the model of ``system`` whose group it is in ``env`` (:func:`group_of`, mapped back exactly:
    a group name is never parsed into a model name)."""
    return {group_of(system, env, model.name): model.name for model in system.models}


def served_models(system: MLSystem, env: str, served_groups: dict[str, str], recorded: dict[str, str]) -> dict[str, str]:
    """Endpoint -> the registered model whose version the prior state's SageMaker model of it serves (see the
    module contract): ``served_groups`` (endpoint -> the group in its package ARN, :func:`applied_versions`)
    mapped to models; ``recorded`` (group -> model from the state's group resources) wins over the system's
    names: it also names a model the spec no longer declares."""
    if not served_groups:
        return {}
    owners = group_owners(system, env) | recorded
    return {endpoint: owners[group] for endpoint, group in served_groups.items() if group in owners}


def applied_versions(resources: Iterable[StateResource],
                     ) -> tuple[set[str], dict[str, dict[int, str]], dict[str, int], dict[str, str], dict[str, str]]:
    """(group names, group -> {version: package ARN} of created models, endpoint -> version served,
    endpoint -> the group of the package it serves, group -> the model whose component is the group
    resource's parent)."""
    groups: set[str] = set()
    proven: dict[str, dict[int, str]] = {}
    serving: dict[str, int] = {}
    serving_groups: dict[str, str] = {}
    recorded: dict[str, str] = {}
    for res in resources:
        if res.type == GROUP_TYPE:
            name = res.inputs.get("modelPackageGroupName") or res.outputs.get("modelPackageGroupName")
            if isinstance(name, str):
                groups.add(name)
                if res.parent and urn_type_chain(res.parent).rsplit("$", 1)[-1] == MODEL_COMPONENT_TYPE:
                    recorded[name] = urn_name(res.parent)
        elif res.type == MODEL_TYPE:
            container = res.inputs.get("primaryContainer") or {}
            arn = container.get("modelPackageName") if isinstance(container, dict) else None
            match = PACKAGE_ARN.match(arn) if isinstance(arn, str) else None
            if match is None:
                continue
            version = int(match.group(2))
            proven.setdefault(match.group(1), {})[version] = arn
            if res.parent:
                endpoint = urn_name(res.parent)
                serving[endpoint], serving_groups[endpoint] = version, match.group(1)
    return groups, proven, serving, serving_groups, recorded


def offline_registry_view(system: MLSystem, env: str, prior: PriorState) -> RegistryView:
    """The registry view the prior state proves (see the module contract)."""
    if system.environments[env].target.kind != "aws":
        return kube_offline_view(system, env, prior)
    groups, proven, serving, served_groups, recorded = applied_versions(prior.resources.values())
    models = {}
    for model in system.models:
        group = group_of(system, env, model.name)
        if group not in groups:
            models[model.name] = ModelRegistry(model.name, where(system, env, model.name), "created-now", True, {})
            continue
        versions = {v: VersionRecord(v, arn=arn) for v, arn in proven.get(group, {}).items()}
        models[model.name] = ModelRegistry(model.name, where(system, env, model.name), "prior-state", False, versions)
    return RegistryView(models, serving, serving_models=served_models(system, env, served_groups, recorded))


def mlflow_where(system: MLSystem, env: str, model: str, suffix: str = "") -> str:
    """``MLflow registered model <model> (mlops-mlflow in namespace <ns>)`` for messages."""
    return (f"{MLFLOW_WHERE} {model} ({kube_names.REGISTRY} in namespace "
            f"{system.environments[env].target.namespace}{suffix})")


def _meta(res: StateResource) -> dict:
    meta = res.inputs.get("metadata")
    return meta if isinstance(meta, dict) else {}


def served_versions(resources: Iterable[StateResource]) -> dict[str, tuple[str, int, str | None]]:
    """Endpoint -> (model, version, storage URI) its prior InferenceService served (annotations, else
    the storage URI: ``model.storageUri`` or a custom predictor's ``STORAGE_URI``,
    :func:`mlops_infra.compile.kubernetes.artifacts.predictor_storage_uri`)."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for res in resources:
        if res.type != INFERENCE_SERVICE_TYPE:
            continue
        meta = _meta(res)
        notes = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        uri = predictor_storage_uri((res.inputs.get("spec") or {}).get("predictor"))
        found = STORAGE_VERSION.search(uri) if isinstance(uri, str) else None
        model = notes.get(MODEL_ANNOTATION) or (found.group(1) if found else None)
        version = notes.get(VERSION_ANNOTATION) or (found.group(2) if found else None)
        if isinstance(meta.get("name"), str) and model and str(version).isdigit():
            out[meta["name"]] = (str(model), int(version), uri)
    return out


def kube_offline_view(system: MLSystem, env: str, prior: PriorState) -> RegistryView:
    """A Kubernetes environment's offline registry view (see the module contract)."""
    resources = list(prior.resources.values())
    registry = any(r.type in REGISTRY_TYPES and _meta(r).get("name") == kube_names.REGISTRY for r in resources)
    registered = {urn_name(r.parent) for r in resources if r.type == JOB_TYPE and r.parent
                  and str(_meta(r).get("name", "")).startswith("register-")}
    served = served_versions(resources)
    models = {}
    kept: dict[str, dict[int, str]] = {}
    for model in system.models:
        if not registry or model.name not in registered:
            models[model.name] = ModelRegistry(model.name, mlflow_where(system, env, model.name), "created-now", True, {})
            continue
        versions = {v: VersionRecord(v, artifact_uri=uri) for m, v, uri in served.values() if m == model.name}
        models[model.name] = ModelRegistry(model.name, mlflow_where(system, env, model.name), "prior-state", False,
                                           versions)
        uris = {v: r.artifact_uri for v, r in versions.items() if r.artifact_uri}
        if uris:
            kept[model.name] = uris
    return RegistryView(models, {endpoint: version for endpoint, (_, version, _) in served.items()}, served_uris=kept,
                        serving_models={endpoint: model for endpoint, (model, _, _) in served.items()})
