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
  model resource's parent component is the endpoint).

Kubernetes environments get :data:`~mlops_infra.model_versions.ASSUME_AVAILABLE` (an
InferenceService is accepted whatever its storage URI holds; see docs/semantics.md).
:func:`mlops_infra.state.aws_live.model_registry.read_registry` reads the registry itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import urn_name
from mlops_infra.model_versions import ASSUME_AVAILABLE, ModelRegistry, RegistryView, VersionRecord
from mlops_infra.spec.system import MLSystem
from mlops_infra.state.model import PriorState, StateResource

GROUP_TYPE = "aws:sagemaker/modelPackageGroup:ModelPackageGroup"
MODEL_TYPE = "aws:sagemaker/model:Model"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:model-package/([^/]+)/([0-9]+)$")


def group_of(system: MLSystem, env: str, model: str) -> str:
    """The model package group name of ``model`` in ``env`` (as the AWS compiler names it)."""
    return physical_name(system.metadata.name, env, model)


def where(system: MLSystem, env: str, model: str, suffix: str = "") -> str:
    """``group <name> (<account>/<region>)`` for messages."""
    target = system.environments[env].target
    return f"group {group_of(system, env, model)} ({target.account}/{target.region}{suffix})"


def applied_versions(resources: Iterable[StateResource]) -> tuple[set[str], dict[str, dict[int, str]], dict[str, int]]:
    """(group names, group -> {version: package ARN} of created models, endpoint -> version served)."""
    groups: set[str] = set()
    proven: dict[str, dict[int, str]] = {}
    serving: dict[str, int] = {}
    for res in resources:
        if res.type == GROUP_TYPE:
            name = res.inputs.get("modelPackageGroupName") or res.outputs.get("modelPackageGroupName")
            if isinstance(name, str):
                groups.add(name)
        elif res.type == MODEL_TYPE:
            container = res.inputs.get("primaryContainer") or {}
            arn = container.get("modelPackageName") if isinstance(container, dict) else None
            match = PACKAGE_ARN.match(arn) if isinstance(arn, str) else None
            if match is None:
                continue
            version = int(match.group(2))
            proven.setdefault(match.group(1), {})[version] = arn
            if res.parent:
                serving[urn_name(res.parent)] = version
    return groups, proven, serving


def offline_registry_view(system: MLSystem, env: str, prior: PriorState) -> RegistryView:
    """The registry view the prior state proves (see the module contract)."""
    if system.environments[env].target.kind != "aws":
        return ASSUME_AVAILABLE
    groups, proven, serving = applied_versions(prior.resources.values())
    models = {}
    for model in system.models:
        group = group_of(system, env, model.name)
        if group not in groups:
            models[model.name] = ModelRegistry(model.name, where(system, env, model.name), "created-now", True, {})
            continue
        versions = {v: VersionRecord(v, arn=arn) for v, arn in proven.get(group, {}).items()}
        models[model.name] = ModelRegistry(model.name, where(system, env, model.name), "prior-state", False, versions)
    return RegistryView(models, serving)
