"""Validate custom resources offline against the CRDs in ``shared/fixtures/crds/`` (test support).

No API server runs here, so a CRD kind is checked against the ``openAPIV3Schema`` of the matching
served version of its CustomResourceDefinition with jsonschema. The Kubernetes structural schema
is turned into a JSON Schema that is *stricter* than the API server in one way and looser in one:

- Stricter: unknown fields are errors. The API server silently prunes them, which hides typos
  (``canaryTraficPercent``) until the object misbehaves; here every object schema that lists
  ``properties`` gets ``additionalProperties: false`` unless it has
  ``x-kubernetes-preserve-unknown-fields: true`` or its own ``additionalProperties``. The
  top-level ``metadata`` (``type: object`` in every CRD) is checked as a strict subset of
  ObjectMeta: name, generateName, namespace, labels and annotations (string maps).
- Looser: CEL rules (``x-kubernetes-validations``) are not evaluated, and ``format`` is not
  checked.
- ``x-kubernetes-int-or-string: true`` without a type becomes ``anyOf: [integer, string]``;
  ``nullable: true`` also admits null.

Files are found by name, ``<group>_<kind lowercased>s.yaml``, as controller-gen writes them. The
alertmanagerconfigs CRD holds an unquoted ``- =`` (a YAML 1.1 "value" tag) that PyYAML's safe
loader rejects; :class:`_Loader` reads it as the string ``"="``, as YAML 1.2 parsers do. Loaded
schemas and validators are cached for the session (the KServe CRD is 1 MB; loading it takes
about half a second).
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.shared_files import SHARED

CRD_DIR = SHARED / "fixtures" / "crds"
LOCAL_CRD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "crds"
"""CRDs the shared fixtures lack (the PodMonitor), with their sources in its README."""

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader that reads YAML 1.1's ``=`` value tag as the plain string ``"="``."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))

OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 253},
        "generateName": {"type": "string"},
        "namespace": {"type": "string", "maxLength": 63},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
"""The ObjectMeta fields a desired object may set."""


def crd_path(group: str, kind: str) -> Path:
    name = f"{group}_{kind.lower()}s.yaml"
    shared = CRD_DIR / name
    return shared if shared.exists() or not (LOCAL_CRD_DIR / name).exists() else LOCAL_CRD_DIR / name


@cache
def load_crd(group: str, kind: str) -> dict[str, Any]:
    """The CustomResourceDefinition of ``group``/``kind`` (raises FileNotFoundError if absent)."""
    with crd_path(group, kind).open(encoding="utf-8") as handle:
        crd = yaml.load(handle, Loader=_Loader)  # a SafeLoader subclass
    if crd["spec"]["names"]["kind"] != kind:
        raise ValueError(f"{crd_path(group, kind).name} defines {crd['spec']['names']['kind']}, not {kind}")
    return crd


def served_versions(group: str, kind: str) -> dict[str, bool]:
    """Served version name -> whether it is the storage version."""
    return {v["name"]: v.get("storage", False) for v in load_crd(group, kind)["spec"]["versions"] if v.get("served")}


def scope(group: str, kind: str) -> str:
    """``Namespaced`` or ``Cluster``."""
    return load_crd(group, kind)["spec"]["scope"]


def strict_schema(node: Any) -> Any:
    """The JSON Schema of a structural schema node (see the module docstring), recursively."""
    if isinstance(node, list):
        return [strict_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict_schema(value) if key in _SCHEMA_KEYS else value for key, value in node.items()}
    if "properties" in out:
        out["properties"] = {name: strict_schema(sub) for name, sub in node["properties"].items()}
    if node.get("x-kubernetes-int-or-string") and "type" not in node and "anyOf" not in node:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


_SCHEMA_KEYS = frozenset({"items", "additionalProperties", "anyOf", "allOf", "oneOf", "not"})
"""Keys whose value is a schema (or a list of them); ``properties`` is handled by name."""


@cache
def validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    """A cached strict validator of ``kind`` objects of ``api_version`` (``group/version``)."""
    group, _, version = api_version.rpartition("/")
    versions = {v["name"]: v for v in load_crd(group, kind)["spec"]["versions"]}
    if version not in versions or not versions[version].get("served"):
        raise ValueError(f"{group} {kind} has no served version {version}; served: {sorted(served_versions(group, kind))}")
    schema = strict_schema(copy.deepcopy(versions[version]["schema"]["openAPIV3Schema"]))
    schema["properties"]["metadata"] = OBJECT_META
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    return jsonschema.Draft7Validator(schema)


def errors(obj: dict[str, Any]) -> list[str]:
    """Every schema violation of custom resource ``obj``, as ``path: message`` lines (empty: valid)."""
    found = validator(obj["apiVersion"], obj["kind"]).iter_errors(obj)
    return sorted(f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in found)
