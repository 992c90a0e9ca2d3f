"""Build the Pulumi state a stack would have after ``pulumi up`` of a compiled graph.

Golden scenarios need a realistic prior state without the Pulumi CLI or a cloud. :func:`applied_state`
turns a :class:`~mlops_infra.graph.DesiredGraph` into a version-3 file-backend checkpoint
(``{"version": 3, "checkpoint": {"stack", "config", "latest": {...}}}``), the way the engine
stores one, so what the planner reads back looks like the real thing:

- the root ``pulumi:pulumi:Stack`` resource first, then every resource in dependency order
  (parents and dependencies before dependents, ties by URN), as the engine writes them;
- a default provider (``pulumi:providers:aws::default_7_10_0``, with ``__internal`` and ``version``
  inputs) for custom resources that name no explicit provider; explicit providers get an id and,
  as the engine keeps provider config, their non-string inputs JSON-encoded (``"[\"1111\"]"``),
  plus the inputs the typed SDK class sends when the program leaves them unset (pulumi_aws's
  ``skipCredentialsValidation: "false"``, ``skipRegionValidation: "true"``), read from the installed SDK by
  registering its ``Provider`` under Pulumi's mocks (:func:`sdk_provider_inputs`), and the ``version`` the engine
  writes into an explicit provider's inputs from the SDK's resource options (:func:`sdk_provider_version`);
  ``provider`` fields are ``<provider urn>::<provider id>``;
- custom resources: ``inputs`` are the graph's inputs with refs resolved to the referenced
  resource's outputs, ``$json`` values encoded with :func:`~mlops_infra.graph.canonical_json`,
  ``$archive`` values as Pulumi archives of string assets, plus ``"__defaults": []`` (not on Kubernetes
  objects, for which pulumi-kubernetes writes none; a built-in one is stored as its ``Check`` stores it, after
  a typed round trip that drops an empty ``env[*].value``: :func:`_checked_by_kubernetes`), and for a
  region-aware AWS type (:func:`~mlops_infra.plan.rules.region_aware`) that the graph gives no ``region``,
  ``region``: its provider's region, as pulumi-aws 7 fills it before ``Check`` (provider/region.go
  ``applyRegion``; not listed in ``__defaults``: :data:`~mlops_infra.plan.rules.REGION`), in the inputs and
  the outputs; ``outputs`` are the inputs plus what the provider computes (``id``, an ``arn`` for AWS types,
  ``tagsAll`` where there are ``tags``; Kubernetes objects get a ``status`` of ``{}``);
- component resources (``custom=False``) keep their ML facts as inputs and, as
  ``register_outputs`` does, as outputs, both without their top-level Nones: the Python SDK never
  sends a top-level None (``pulumi/runtime/rpc.py`` ``serialize_properties``: "We treat properties
  that serialize to None as if they don't exist"; :func:`~tests.support.pulumi_capture.drop_top_level_nulls`);
- ``protect`` and ``retainOnDelete`` where the graph's options ask for them, as the engine records
  them (pulumi/pulumi ``sdk/go/common/apitype/core.go`` ``ResourceV3``, both ``omitempty``);
- ``parent`` is the component's URN or the root stack's; ``dependencies`` and
  ``propertyDependencies`` (per input property, the URNs its refs point at) as the engine records;
- outputs listed in ``additionalSecretOutputs`` are stored as Pulumi secrets (ciphertext only);
- ids are deterministic (the physical name, ``namespace/name`` on Kubernetes, a UUIDv5 for
  providers) and timestamps fixed, so the same graph always gives byte-identical JSON.

:func:`edit_resource` and :func:`drop_resource` change a built checkpoint the way a scenario needs
(an out-of-band edit, a resource that vanished), and :func:`dumps` writes it the way the file
backend does (indent 4).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from mlops_infra.graph import (
    ARCHIVE,
    JSON,
    REF,
    ROOT_STACK_TYPE,
    DesiredGraph,
    DesiredResource,
    canonical_json,
    iter_refs,
    make_urn,
)
from mlops_infra.plan.rules import REGION, region_aware
from mlops_infra.state.model import SECRET_SIG
from tests.support.pulumi_capture import drop_top_level_nulls

SECRET_MARKER = "1b47061264138c4ac30d75fd1eb44270"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
APPLIED_AT = "2026-11-01T09:00:00.000000000Z"
PULUMI_VERSION = "v3.205.0"
PROVIDER_VERSIONS = {"aws": "7.10.0", "kubernetes": "4.23.0"}
_NAMESPACE = uuid.UUID("6c1b1b54-5e7a-4f4e-9d37-2f7a0a8c0c11")


def applied_state(graph: DesiredGraph, *, account: str | None = None, region: str | None = None) -> dict[str, Any]:
    """The v3 checkpoint of ``graph`` after a successful ``pulumi up`` (see the module docstring)."""
    region = region or graph.metadata.get("region") or "us-east-1"
    account = account or str(graph.metadata.get("account") or "123456789012")
    root = graph.root_urn
    by_urn = graph.by_urn()
    records: dict[str, dict[str, Any]] = {}
    providers = _providers(graph, region, records)
    for resource in _dependency_order(graph):
        records[resource.urn] = _record(resource, root, by_urn, records, providers, region, account)
    stack_record = {"urn": root, "custom": False, "type": ROOT_STACK_TYPE, "created": APPLIED_AT,
                    "modified": APPLIED_AT}
    deployment = {
        "manifest": {"time": APPLIED_AT, "magic": hashlib.sha256(PULUMI_VERSION.encode()).hexdigest(),
                     "version": PULUMI_VERSION},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:c2NlbmFyaW8=:v1:dGVzdHM=:c3RhdGU="}},
        "resources": [stack_record, *records.values()],
    }
    return {"version": 3, "checkpoint": {"stack": f"organization/{graph.project}/{graph.stack}",
                                         "config": {}, "latest": deployment}}


def dumps(checkpoint: dict[str, Any]) -> str:
    """JSON text as the file backend writes it (indent 4), with a trailing newline."""
    return json.dumps(checkpoint, indent=4) + "\n"


def resources(checkpoint: dict[str, Any]) -> list[dict[str, Any]]:
    return checkpoint["checkpoint"]["latest"]["resources"]


def find(checkpoint: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The one resource record matching ``predicate`` (AssertionError otherwise)."""
    matches = [r for r in resources(checkpoint) if predicate(r)]
    assert len(matches) == 1, f"expected one matching resource, found {len(matches)}"
    return matches[0]


def edit_resource(checkpoint: dict[str, Any], predicate: Callable[[dict[str, Any]], bool],
                  edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of ``checkpoint`` where ``edit(record)`` was applied to the one matching resource."""
    out = copy.deepcopy(checkpoint)
    edit(find(out, predicate))
    return out


def drop_resource(checkpoint: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """A copy of ``checkpoint`` without the one matching resource."""
    out = copy.deepcopy(checkpoint)
    target = find(out, predicate)
    out["checkpoint"]["latest"]["resources"] = [r for r in resources(out) if r is not target]
    return out


# -- providers ---------------------------------------------------------------------------------


def _package(type_: str) -> str:
    return type_.split(":", 1)[0]


def _provider_id(urn: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, urn))


def _providers(graph: DesiredGraph, region: str, records: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Default providers needed by resources without an explicit one; returns package -> reference."""
    refs: dict[str, str] = {}
    packages = sorted({_package(r.type) for r in graph.resources
                       if r.custom and r.provider is None and not r.type.startswith("pulumi:providers:")})
    for package in packages:
        version = PROVIDER_VERSIONS.get(package, "1.0.0")
        urn = make_urn(graph.stack, graph.project, [f"pulumi:providers:{package}"], f"default_{version.replace('.', '_')}")
        inputs: dict[str, Any] = {"__internal": {}, "version": version}
        if package == "aws":
            inputs["region"] = region
        records[urn] = {"urn": urn, "custom": True, "id": _provider_id(urn), "type": f"pulumi:providers:{package}",
                        "inputs": inputs, "outputs": {k: v for k, v in inputs.items() if k != "__internal"},
                        "created": APPLIED_AT, "modified": APPLIED_AT}
        refs[package] = f"{urn}::{_provider_id(urn)}"
    return refs


# -- ordering ----------------------------------------------------------------------------------


def _dependency_order(graph: DesiredGraph) -> list[DesiredResource]:
    """Parents, providers and dependencies before dependents; ties by URN (deterministic)."""
    by_urn = graph.by_urn()
    done: set[str] = set()
    order: list[DesiredResource] = []

    def visit(urn: str, trail: tuple[str, ...]) -> None:
        if urn in done or urn not in by_urn:
            return
        if urn in trail:
            raise ValueError(f"dependency cycle through {urn}")
        resource = by_urn[urn]
        before = sorted({*resource.dependencies, *(p for p in (resource.parent, resource.provider) if p)})
        for dep in before:
            visit(dep, (*trail, urn))
        done.add(urn)
        order.append(resource)

    for resource in graph.resources:
        visit(resource.urn, ())
    return order


# -- one resource ------------------------------------------------------------------------------


def _physical_id(resource: DesiredResource, inputs: dict[str, Any]) -> str:
    if _package(resource.type) == "kubernetes":
        meta = inputs.get("metadata") or {}
        name = meta.get("name") or resource.name
        return f"{meta['namespace']}/{name}" if meta.get("namespace") else name
    for key in ("name", "bucket", "repositoryName", "endpointName", "modelName", "functionName", "roleName",
                "alarmName"):
        if isinstance(inputs.get(key), str) and inputs[key]:
            return inputs[key]
    return resource.name


def _arn(resource: DesiredResource, physical: str, region: str, account: str) -> str:
    module = resource.type.split(":")[1].split("/")[0]
    kind = resource.type.rsplit(":", 1)[-1]
    kind = kind[0].lower() + "".join(f"-{c.lower()}" if c.isupper() else c for c in kind[1:])
    if module == "s3":
        return f"arn:aws:s3:::{physical}"
    if module == "iam":
        return f"arn:aws:iam::{account}:{kind}/{physical}"
    if module == "sns":
        return f"arn:aws:sns:{region}:{account}:{physical}"
    return f"arn:aws:{module}:{region}:{account}:{kind}/{physical}"


def _computed(resource: DesiredResource, inputs: dict[str, Any], physical: str, region: str,
              account: str) -> dict[str, Any]:
    """What the provider adds to the outputs."""
    extra: dict[str, Any] = {"id": physical}
    package = _package(resource.type)
    if package == "aws":
        arn = inputs.get("arn") or _arn(resource, physical, region, account)
        extra["arn"] = arn
        if resource.type.startswith("aws:sns/topic:"):
            extra["id"] = arn
        if isinstance(inputs.get("tags"), dict):
            extra["tagsAll"] = dict(inputs["tags"])
    elif package == "kubernetes":
        extra["status"] = {}
    return extra


def _resolve(value: Any, lookup: Callable[[str, str], Any]) -> Any:
    if isinstance(value, dict):
        if REF in value and len(value) == 2:
            return lookup(value[REF], value["output"])
        if JSON in value and len(value) == 1:
            return canonical_json(_resolve(value[JSON], lookup))
        if ARCHIVE in value and len(value) == 1:
            assets = {name: {SECRET_SIG: ASSET_SIG, "hash": hashlib.sha256(text.encode()).hexdigest(), "text": text}
                      for name, text in value[ARCHIVE].items()}
            return {SECRET_SIG: ARCHIVE_SIG, "hash": hashlib.sha256(canonical_json(value[ARCHIVE]).encode()).hexdigest(),
                    "assets": assets}
        return {k: _resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, lookup) for v in value]
    return value


@functools.cache
def sdk_provider_inputs(provider_type: str) -> dict[str, str]:
    """The inputs the installed SDK's ``Provider`` class of ``provider_type`` sends when the program passes
    none (``region`` aside, given here so the environment's ``AWS_REGION`` is not read), as the engine
    stores them (JSON-encoded): found by registering it under Pulumi's mocks
    (:func:`~tests.support.pulumi_capture.capture_program`). Only ``pulumi:providers:aws`` sends any without
    environment variables; other packages give ``{}`` (pulumi_kubernetes reads ``PULUMI_K8S_*`` and
    ``KUBECONFIG``, which a fixture must not depend on). In sorted key order: the mocks' monitor receives
    the inputs as the SDK serialises them, concurrently, so their order varied between runs and
    ``tests/scenarios --update-golden`` swapped two keys in a dozen ``prior.json`` files back and forth (ux44)."""
    if provider_type != "pulumi:providers:aws":
        return {}
    import pulumi_aws

    from tests.support.pulumi_capture import capture_program

    capture = capture_program(lambda: pulumi_aws.Provider("sdk", region="xx-none-1"), "sdk", "sdk")
    [sent] = [r.inputs for r in capture.resources.values()]
    return {key: sent[key] for key in sorted(sent) if key != REGION}


@functools.cache
def sdk_provider_version(provider_type: str) -> dict[str, str]:
    """``{"version": ...}`` the engine stores in the inputs (and outputs) of an explicit provider of ``provider_type``
    registered with the installed SDK, ``{}`` for a package without one here. The SDK class merges
    ``_utilities.get_resource_opts_defaults()`` (``ResourceOptions(version=get_version(), ...)``) into its options
    (pulumi_aws/provider.py, pulumi_kubernetes/provider.py ``_internal_init``), and the engine writes that version
    into a provider's inputs (pulumi/pulumi pkg/resource/deploy/source_eval.go ``RegisterResource``:
    ``providers.SetProviderVersion(props, &version)``); the mocks' monitor does not, so
    :func:`sdk_provider_inputs` never sees it (audit closing-43b-2)."""
    module = {"pulumi:providers:aws": "pulumi_aws", "pulumi:providers:kubernetes": "pulumi_kubernetes"}.get(provider_type)
    if module is None:
        return {}
    import importlib

    return {"version": importlib.import_module(f"{module}._utilities").get_version()}


def _config_string(value: Any) -> Any:
    """Provider config as the engine stores it: every non-string value JSON-encoded."""
    return value if value is None or isinstance(value, str) else canonical_json(value)


def _secret(value: Any) -> dict[str, str]:
    digest = hashlib.sha256(canonical_json(value).encode()).hexdigest()
    return {SECRET_SIG: SECRET_MARKER, "ciphertext": f"v1:{digest[:16]}:v1:{digest[16:48]}"}


_K8S_NORMALIZED = tuple(f"kubernetes:{gv}:" for gv in (
    "core/v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "policy/v1",
    "storage.k8s.io/v1"))
"""Type-token prefixes of the built-in group versions pulumi-kubernetes normalises (provider/pkg/kinds/kinds.go
``KnownGroupVersions``, the ones the compiler writes); CRD objects are stored as given."""


def _checked_by_kubernetes(value: Any, key: str = "") -> Any:
    """A built-in object as pulumi-kubernetes' ``Check`` stores it: after its typed round trip
    (provider/pkg/provider/provider.go l. 1231 ``normalizeInputs`` -> clients.Normalize, @ 94977969d6), which
    drops the zero value of a non-pointer ``omitempty`` field (apimachinery pkg/runtime/converter.go l. 833):
    of the fields compiled objects set, ``EnvVar.value`` (core/v1 types.go l. 2663 ``json:"value,omitempty"``),
    so an ``env`` entry ``{name: X, value: ""}`` is stored as ``{name: X}``. Written independently of the
    compiler's own :mod:`mlops_infra.compile.kubernetes.stored_form`, so a plan test sees what a real state holds
    whatever the compiler writes. pulumi-kubernetes writes no ``__defaults`` (:func:`_record`)."""
    if isinstance(value, dict):
        return {k: _checked_by_kubernetes(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "env":
            return [{k: v for k, v in e.items() if not (k == "value" and v == "")} if isinstance(e, dict) else e
                    for e in value]
        return [_checked_by_kubernetes(v) for v in value]
    return value


def _record(resource: DesiredResource, root: str, by_urn: dict[str, DesiredResource],
            records: dict[str, dict[str, Any]], providers: dict[str, str], region: str,
            account: str) -> dict[str, Any]:
    def lookup(urn: str, output: str) -> Any:
        outputs = records[urn]["outputs"]
        if output in outputs:
            return outputs[output]
        return f"{records[urn].get('id') or by_urn[urn].name}-{output}"

    record: dict[str, Any] = {"urn": resource.urn, "custom": resource.custom}
    resolved = _resolve(resource.inputs, lookup)
    if resource.type.startswith("pulumi:providers:"):
        config = {**sdk_provider_inputs(resource.type), **sdk_provider_version(resource.type),
                  **{key: _config_string(value) for key, value in resolved.items()}}
        record.update(id=_provider_id(resource.urn), type=resource.type, inputs={"__internal": {}, **config},
                      outputs=dict(config))
    elif resource.custom:
        if region_aware(resource.type) and REGION not in resolved:  # pulumi-aws 7 fills it (module docstring)
            filled = (records[resource.provider]["inputs"].get(REGION) if resource.provider else region)
            if isinstance(filled, str):
                resolved = {**resolved, REGION: filled}
        if resource.type.startswith(_K8S_NORMALIZED):
            resolved = _checked_by_kubernetes(resolved)
        physical = _physical_id(resource, resolved)
        outputs = {**resolved, **_computed(resource, resolved, physical, region, account)}
        for name in resource.options.additional_secret_outputs:
            if name in outputs:
                outputs[name] = _secret(outputs[name])
        record["id"] = outputs["id"]
        record["type"] = resource.type
        record["inputs"] = resolved if _package(resource.type) == "kubernetes" else {"__defaults": [], **resolved}
        record["outputs"] = dict(sorted(outputs.items()))
    else:
        record["type"] = resource.type
        record["inputs"] = drop_top_level_nulls(resolved) if isinstance(resolved, dict) else resolved
        record["outputs"] = record["inputs"]
    record["parent"] = resource.parent or root
    if resource.options.protect:
        record["protect"] = True
    record["dependencies"] = list(resource.dependencies)
    if resource.custom and not resource.type.startswith("pulumi:providers:"):
        if resource.provider:
            record["provider"] = f"{resource.provider}::{records[resource.provider]['id']}"
        else:
            record["provider"] = providers[_package(resource.type)]
    property_deps = {key: sorted({r[REF] for r in iter_refs(value)}) for key, value in resource.inputs.items()}
    record["propertyDependencies"] = {k: v for k, v in sorted(property_deps.items()) if v}
    if resource.options.additional_secret_outputs:
        record["additionalSecretOutputs"] = list(resource.options.additional_secret_outputs)
    if resource.options.retain_on_delete:  # apitype ResourceV3.RetainOnDelete (omitempty), after aliases
        record["retainOnDelete"] = True
    record["created"] = record["modified"] = APPLIED_AT
    return record
