"""Graph input values to Pulumi inputs: the three sentinels, resolved against registered resources.

Contract: :func:`to_pulumi` returns a value the Pulumi SDK serialises to exactly the graph's value
once outputs are known:
- ``{"$ref": urn, "output": name}`` -> that resource's output (``id``, ``arn``, ...); ``name`` may be
  a dotted path into an object output (``metadata.name``);
- ``{"$json": value}`` -> an ``Output[str]`` of :func:`mlops_infra.graph.canonical_json` of the
  resolved value, so desired and actual strings are byte-identical;
- ``{"$archive": {file: text}}`` -> ``pulumi.AssetArchive`` of ``pulumi.StringAsset`` files;
- dicts and lists are converted element-wise, keys untouched (nested engine names and free-form
  maps such as tags or labels pass through the SDK unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from mlops_infra.graph import ARCHIVE, JSON, REF, canonical_json, is_archive, is_json, is_ref
from mlops_infra.program.types import output_attribute

Lookup = Callable[[str], pulumi.Resource]
"""Finds the registered resource of a URN."""


def output_of(resource: pulumi.Resource, path: str) -> pulumi.Output[Any]:
    """The output ``path`` (engine names, dotted for nested fields) of a registered resource."""
    head, *rest = path.split(".")
    attribute = output_attribute(type(resource), head)
    value = getattr(resource, attribute, None)
    if value is None:
        raise AttributeError(f"{type(resource).__name__} has no output {head!r} "
                             f"(attribute {attribute!r}); this is a bug in mlops-infra")
    output = pulumi.Output.from_input(value)
    for key in rest:
        output = output.apply(lambda v, k=key: _field(v, k))
    return output


def _field(value: Any, key: str) -> Any:
    """A field of an object output; SDK output types are dicts keyed by engine names."""
    return value.get(key) if isinstance(value, dict) else None


def to_pulumi(value: Any, lookup: Lookup) -> Any:
    """Convert a graph input value into a Pulumi input (see the module contract)."""
    if isinstance(value, dict):
        if is_ref(value):
            return output_of(lookup(value[REF]), value["output"])
        if is_json(value):
            return pulumi.Output.from_input(to_pulumi(value[JSON], lookup)).apply(canonical_json)
        if is_archive(value):
            files = value[ARCHIVE]
            return pulumi.AssetArchive({name: pulumi.StringAsset(text) for name, text in files.items()})
        return {k: to_pulumi(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [to_pulumi(v, lookup) for v in value]
    return value
