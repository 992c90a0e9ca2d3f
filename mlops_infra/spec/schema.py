"""The JSON Schema of the MLSystem document, generated from the spec models.

Contract: :func:`build_schema` is a pure function of the models. The schema accepts what the
models accept as far as JSON Schema can say it; what it cannot (min <= max, canary step order,
exactly one of accelerator or instance_type, references between items, catalog facts) is left to
``mlops-infra validate``. Environment override values are free-form. The committed copy lives at
``schemas/`` + :data:`SCHEMA_FILE` and is kept fresh by ``mlops-infra schema --check`` and a test.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_infra.spec.system import API_VERSION, MLSystem

SCHEMA_VERSION = API_VERSION.rsplit("/", 1)[-1]
SCHEMA_FILE = f"mlsystem-{SCHEMA_VERSION}.schema.json"
"""File name of the schema: versioned with the apiVersion it describes."""

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an MLSystem document.

    It has no ``$id``: its base URI is then the URL it is read from (JSON Schema 2020-12 Core, "Initial
    Base URI"), and every ``$ref`` is a local ``#/$defs/...`` pointer, so it resolves offline wherever the
    file is. The ``urn:mlops-infra:...`` id it had broke yaml-language-server 1.20 and later on Node.js 25
    (audit schemas-5): the server indexes each ``$id`` through Node's legacy ``url.resolve``
    (yaml-language-server ``yamlSchemaService.ts`` ``_indexSchemaResources``, ``schemaRequestHandler.ts``),
    which reads ``mlops-infra:schema`` as a host and a port and throws on the port from Node 25
    (https://nodejs.org/api/deprecations.html#DEP0170, End-of-Life), so the editor checked nothing.
    """
    schema = MLSystem.model_json_schema(by_alias=True, mode="validation")
    _close_pattern_maps(schema)
    _refuse_merge_keys(schema)
    return {
        "$schema": DIALECT,
        "title": f"MLSystem ({API_VERSION})",
        "description": (
            "A whole ML system (data, training, registry, serving, monitoring, alerting, environments) for "
            "mlops-infra. Generated from the spec models; `mlops-infra validate` checks what a schema cannot."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def render_schema() -> str:
    """The schema as committed: indented JSON with a final newline (stable across runs)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def _close_pattern_maps(node: Any) -> None:
    """Maps whose keys have a pattern (environment names) accept no other keys, as the model does."""
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_pattern_maps(value)
    elif isinstance(node, list):
        for value in node:
            _close_pattern_maps(value)


def _refuse_merge_keys(node: Any) -> None:
    """Every closed object schema (``additionalProperties: false``: a model, the environments map) refuses a
    ``<<`` key, as ``validate`` refuses a merge key (``merge-key``: YAML 1.2 has none) and an unknown field.
    ``additionalProperties: false`` alone does not tell an editor: yaml-language-server applies
    ``<<`` as a YAML 1.1 merge key whatever the YAML version and checks the merged properties instead
    (redhat-developer/yaml-language-server ``parser/schemaValidation/baseValidator.ts``: ``// YAML merge
    key "<<"``), but it checks the key against ``propertyNames`` (JSON Schema 2020-12 Core
    "propertyNames", "not"; audit schemas-7). Free-form maps (labels, hyperparameters, contract columns,
    overrides) are left open: ``validate`` takes a quoted ``"<<"`` key there, which the schema cannot
    tell from a merge key."""
    if isinstance(node, dict):
        if node.get("type") == "object" and node.get("additionalProperties") is False:
            node["propertyNames"] = {"not": {"const": "<<"}}
        for value in node.values():
            _refuse_merge_keys(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_merge_keys(value)
