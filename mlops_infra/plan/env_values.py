"""Environment values: where a resource's environment lives, how it is keyed, and when a value may be shown.

One owner for the rule :mod:`mlops_infra.plan.diff` (the state's side of a plain plan) and
:mod:`mlops_infra.plan.drift` (``plan --refresh``, promote's ``no_drift`` evidence) both apply. An
environment value is plain text a process gets as an environment variable, which someone can type
outside Pulumi (the console, ``kubectl set env``/``kubectl edit``, ``UpdatePipeline``) and which a
``pulumi refresh`` brings into the state (pulumi ``pkg/resource/deploy/step.go`` ``RefreshStep.Apply``:
"If the provider specified new inputs for this resource, pick them up now"). A key typed under a
harmless name has no name or shape a detector knows (audits closing-34b-1, closing-34d-1/-2,
closing-34g-1/-2). Rule: no secret value ever appears in a plan, a log or a PR comment.

Contract:
- **Where**, per resource type (input paths):
  - a Lambda function's ``environment.variables.<NAME>`` (:data:`LAMBDA_VARIABLES`; botocore ``lambda``
    ``EnvironmentVariables`` is ``"sensitive": true``);
  - a Kubernetes container's ``env`` list, anywhere in an object (``containers``, ``initContainers``, a
    CronJob's ``jobTemplate``, a KServe predictor): each entry's ``value`` (core/v1 ``EnvVar``);
    ``valueFrom`` names a source (``EnvVarSource``: a ConfigMap or Secret key, a pod field), not a value;
  - the ``data`` of a ConfigMap a compiled container takes its environment from
    (:func:`env_config_maps`): whole with ``envFrom.configMapRef`` (core/v1 ``ConfigMapEnvSource``: "The
    contents of the target ConfigMap's Data field will represent the key-value pairs as environment
    variables") or a key of it with ``env[].valueFrom.configMapKeyRef`` (``EnvVarSource.configMapKeyRef``:
    "Selects a key of a ConfigMap"), and always ``mlops-object-store`` (every training pod's, also before
    a job is declared: ``compile/kubernetes/training.py``). Every key of such a ConfigMap counts. Where
    the graph is not known (:func:`~mlops_infra.plan.diff.diff_inputs` called without it) every
    ConfigMap's keys shaped like a variable name count instead (:func:`variable_like`; scripts and
    documents keep their ``file.ext`` keys);
  - a pod template kept as JSON text in a ConfigMap ``data`` key (:func:`template_keys`: the compiled
    value is a JSON document holding a ``containers`` list; a training job's ``train-<job>``
    ``pytorchjob.json``, which ``compile/kubernetes/training.py`` writes with ``json.dumps`` and the
    launcher reads with ``json.load`` and creates as the PyTorchJob, ``compile/kubernetes/scripts/launcher.py``):
    its containers' ``env`` values as above, read from the parsed document; a value of such a key
    that is not a JSON document cannot be read for them and is hidden whole (audit closing-35a-1);
  - a SageMaker pipeline step's ``Arguments.Environment.<NAME>`` inside ``pipelineDefinition``
    (:data:`STEP_ENVIRONMENT`; botocore ``sagemaker`` ``CreateTrainingJobRequest.Environment``: "The
    environment variables to set in the Docker container"; DescribePipeline ``PipelineDefinition``
    reads it back).
- **Keying.** A value is matched with the compiled graph's by variable name: a container's ``env`` list
  is keyed by ``name`` (:func:`key_envs`, drift; its order does not count) or looked up by it
  (:func:`by_name`, the plan diff, which pairs list items by index as deepdiff does); maps by key.
- **When a value may be shown** (:func:`shown`): only the state's side, and only when the compiled graph
  (``ours``) holds that variable at the same place with the same string. The compiled graph is written
  from the spec, whose secrets are references and whose plaintext values passed the spec's secret check.
  A live value has no compiled counterpart (``ours`` None): never shown. Everything else is ``hidden``
  (the caller's marker: the plan's ``(sensitive)``, drift's ``<sensitive>``).
- **The deliberate difference** (``guarded``). Drift passes ``guarded=True``: a value equal to the
  compiled one is still hidden when its name names a credential
  (:func:`mlops_infra.secrets.rules.names_a_credential`), it is not a string or it has a secret's shape
  (:func:`mlops_infra.secrets.contains_secret`), and every field of an ``env`` entry but its ``name``
  (``valueFrom`` too) follows the rule. A drift line carries no compiled side, goes into promote's
  evidence and shows the state's value alone, so it shows nothing that could be a credential (fbee664,
  1767347). The plan diff passes ``guarded=False``: the same row prints the compiled value as its
  ``after`` side, so hiding an equal ``before`` would hide nothing (e2cb4f7); ``valueFrom`` references
  stay visible.

Pure: no I/O, no Pulumi.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from mlops_infra.compile.kubernetes.names import OBJECT_STORE_CONFIG
from mlops_infra.graph import DesiredResource
from mlops_infra.plan.normalize import get_dotted
from mlops_infra.secrets import contains_secret
from mlops_infra.secrets.rules import names_a_credential

Path = tuple[str | int, ...]

LAMBDA_VARIABLES: Path = ("environment", "variables")
"""A Lambda function's map of environment variables."""
CONTAINER_ENV = "env"
"""The key of a Kubernetes container's list of ``EnvVar`` entries."""
PIPELINE_DEFINITION = "pipelineDefinition"
"""A SageMaker pipeline's JSON definition (the plan walks it parsed)."""
STEP_ENVIRONMENT = "Environment"
"""The key of a pipeline step's map of environment variables (its ``Arguments``)."""
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
DATA = "data"
"""A ConfigMap's map of keys to values."""

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

DataKeys = Callable[[Any], bool] | None
"""Which keys of a ConfigMap's ``data`` are environment variables; None: none (not an environment)."""


def variable_like(key: Any) -> bool:
    """Whether a ConfigMap ``data`` key is shaped like a variable name: the rule without the graph."""
    return isinstance(key, str) and bool(_VARIABLE_NAME.fullmatch(key))


def every_key(key: Any) -> bool:
    """Every key: the ``data`` of a ConfigMap the graph makes an environment (:func:`env_config_maps`)."""
    return True


def data_keys(config_map: bool, environment: bool | None) -> DataKeys:
    """Which ``data`` keys are environment variables: none unless ``config_map``; all when the graph
    says it is an environment (``environment`` True), none when it says not (False), else
    :func:`variable_like` (no graph)."""
    if not config_map or environment is False:
        return None
    return every_key if environment else variable_like


def env_map(path: Path, keys: DataKeys) -> bool:
    """Whether ``path`` is a map of environment variables (module contract): a Lambda's
    ``environment.variables``, a pipeline step's ``Environment``, an environment ConfigMap's ``data``."""
    return (path == LAMBDA_VARIABLES or (keys is not None and path == (DATA,))
            or (len(path) > 1 and path[0] == PIPELINE_DEFINITION and path[-1] == STEP_ENVIRONMENT))


def env_map_entry(path: Path, keys: DataKeys) -> bool:
    """Whether ``path`` is one variable of such a map (a ConfigMap key only when ``keys`` takes it)."""
    if not path or not isinstance(path[-1], str) or not env_map(path[:-1], keys):
        return False
    return path[0] != DATA or keys(path[-1])  # type: ignore[misc]  # env_map: keys is set for data


def env_entry_value(path: Path) -> bool:
    """Whether ``path`` is a container ``env`` entry's ``value`` (``...env[i].value``)."""
    return len(path) >= 3 and path[-1] == "value" and isinstance(path[-2], int) and path[-3] == CONTAINER_ENV


def env_from_names(value: Any, out: set[str]) -> set[str]:
    """``out`` plus every ConfigMap name a container in ``value`` takes environment from:
    ``envFrom[].configMapRef.name`` and ``env[].valueFrom.configMapKeyRef.name``, anywhere, a run template
    kept as JSON text (a training job's PyTorchJob) included."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "envFrom" and isinstance(v, list):
                out.update(ref["name"] for e in v if isinstance(e, dict)
                           and isinstance(ref := e.get("configMapRef"), dict) and isinstance(ref.get("name"), str))
            elif k == "configMapKeyRef" and isinstance(v, dict) and isinstance(v.get("name"), str):
                out.add(v["name"])
            else:
                env_from_names(v, out)
    elif isinstance(value, list):
        for v in value:
            env_from_names(v, out)
    elif (isinstance(value, str) and value.lstrip().startswith("{")
          and ("configMapRef" in value or "configMapKeyRef" in value)):
        with contextlib.suppress(ValueError):
            env_from_names(json.loads(value), out)
    return out


POD_CONTAINERS = "containers"
"""The key of a pod spec's list of containers (core/v1 ``PodSpec.containers``)."""


def json_document(value: Any) -> Any:
    """``value`` parsed when it is JSON text of an object or a list, else None."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def template_keys(data: Any) -> frozenset[str]:
    """The keys of a compiled ConfigMap's ``data`` whose value is a JSON document holding pod
    templates (a ``containers`` list anywhere in it; module contract): a training job's run template."""
    if not isinstance(data, dict):
        return frozenset()
    return frozenset(k for k, v in data.items()
                     if isinstance(k, str) and holds_key(POD_CONTAINERS, json_document(v)))


def env_config_maps(resources: Iterable[DesiredResource]) -> set[str]:
    """URNs of the compiled ConfigMaps whose ``data`` is a container's environment (module contract)."""
    resources = tuple(resources)
    names = {OBJECT_STORE_CONFIG}
    for res in resources:  # ConfigMaps too: a run template is kept as JSON in one
        env_from_names(res.inputs, names)
    return {res.urn for res in resources if res.type == CONFIG_MAP and get_dotted(res.inputs, "metadata.name") in names}


def is_env_list(value: Any) -> bool:
    """Whether ``value`` is a container ``env`` list: entries that are objects with a ``name``."""
    return isinstance(value, list) and bool(value) and all(isinstance(e, dict) and "name" in e for e in value)


def key_envs(value: Any, keyed: Callable[[list], Any]) -> Any:
    """``value`` with every container ``env`` list replaced by ``keyed(list)`` (drift's list keyed by
    ``name``); the rest as it is, copied where it holds one."""
    if isinstance(value, dict):
        return {k: keyed(v) if k == CONTAINER_ENV and is_env_list(v) else key_envs(v, keyed) for k, v in value.items()}
    if isinstance(value, list):
        return [key_envs(v, keyed) for v in value]
    return value


def by_name(entries: Any) -> dict[Any, Any]:
    """A container ``env`` list as ``{name: entry}``; ``{}`` for anything else."""
    if not isinstance(entries, list):
        return {}
    return {e.get("name"): e for e in entries if isinstance(e, dict)}


def holds_key(key: str, *values: Any) -> bool:
    """Whether any mapping nested in ``values`` (through dicts and lists) has the key ``key``: a pipeline
    step's ``Environment``, a container's ``env``."""
    for value in values:
        if isinstance(value, dict) and any(k == key or holds_key(key, v) for k, v in value.items()):
            return True
        if isinstance(value, list) and any(holds_key(key, v) for v in value):
            return True
    return False


def may_be_secret(name: str, value: Any) -> bool:
    """The guard of ``guarded`` (module contract): a credential's name, not a string, or a secret's shape."""
    return names_a_credential(name) or not isinstance(value, str) or contains_secret(value)


def shown(name: str, value: Any, ours: Any, *, hidden: str, guarded: bool) -> Any:
    """``value`` (the state's side of variable ``name``) when it may be shown, else ``hidden`` (module
    contract): only a string the compiled graph's ``ours`` is, and with ``guarded`` (drift) only when
    :func:`may_be_secret` is false. None (absent) stays None; a live value is passed with ``ours`` None."""
    if value is None:
        return None
    if isinstance(value, str) and isinstance(ours, str) and value == ours and not (guarded and may_be_secret(name, value)):
        return value
    return hidden


def entry_shown(name: str, entry: Any, ours: Any, *, hidden: str, guarded: bool) -> Any:
    """A container ``env`` entry of variable ``name`` as it may be shown, ``ours`` the compiled graph's
    entry of that name: its ``value`` as :func:`shown` allows; with ``guarded`` every other field but
    ``name`` too (module contract: ``valueFrom`` stays visible otherwise). The entry itself where nothing
    is hidden and not ``guarded``."""
    mine = ours if isinstance(ours, dict) else {}
    if guarded:
        if not isinstance(entry, dict):
            return shown(name, entry, ours, hidden=hidden, guarded=True)
        return {k: v if k == "name" else shown(name, v, mine.get(k), hidden=hidden, guarded=True)
                for k, v in entry.items()}
    if not isinstance(entry, dict) or entry.get("value") is None:
        return entry
    value = shown(name, entry["value"], mine.get("value"), hidden=hidden, guarded=False)
    return entry if value is entry["value"] else {**entry, "value": value}
