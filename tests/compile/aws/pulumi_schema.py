"""Input property schemas of pulumi_aws resources, read from the installed SDK (test support).

The compiler writes engine property names (camelCase) without importing Pulumi; these helpers
check them against ``pulumi_aws``: a resource's ``*Args`` class (``@pulumi.getter(name=...)``
gives the engine name of each property) and, recursively, the ``*Args`` input types its
properties accept. Only the Python SDK's own metadata is used, so a renamed or misspelled
property anywhere in a nested input fails the check.
"""

from __future__ import annotations

import importlib
import re
import typing
from dataclasses import dataclass
from functools import cache

from mlops_infra.graph import is_archive, is_json, is_ref

_ARGS_NAME = re.compile(r"'?(\w+Args)'?")


@dataclass(frozen=True)
class Prop:
    """One input property: engine name, whether required, nested Args classes, list-ness."""

    name: str
    required: bool
    nested: tuple[type, ...]
    annotation: str


def _module_of(token: str):
    _package, rest = token.split(":", 1)
    module, cls = rest.split(":")
    module_path = module.split("/")[0]
    if module_path == "lambda":
        module_path = "lambda_"
    mod = importlib.import_module(f"pulumi_aws.{module_path}")
    return mod, cls


@cache
def resource_class(token: str) -> type:
    """The pulumi_aws class of a type token such as ``aws:s3/bucket:Bucket``."""
    if token == "pulumi:providers:aws":
        import pulumi_aws

        return pulumi_aws.Provider
    mod, cls = _module_of(token)
    return getattr(mod, cls)


@cache
def args_class(token: str) -> type:
    """The ``*Args`` (or ``*InitArgs``) class holding a resource's inputs."""
    cls = resource_class(token)
    module = importlib.import_module(cls.__module__)
    for candidate in (f"{cls.__name__}InitArgs", f"{cls.__name__}Args"):
        if hasattr(module, candidate):
            return getattr(module, candidate)
    raise LookupError(f"no Args class for {token}")


def _resolve_args(owner: type, name: str) -> type | None:
    module = importlib.import_module(owner.__module__)
    package = module.__name__.rsplit(".", 1)[0]
    for where in (module.__name__, f"{package}._inputs", f"{module.__name__.rsplit('.', 1)[0]}"):
        found = getattr(importlib.import_module(where), name, None)
        if isinstance(found, type):
            return found
    return None


@cache
def properties(cls: type) -> dict[str, Prop]:
    """Engine name -> Prop for an Args class."""
    out: dict[str, Prop] = {}
    for value in vars(cls).values():
        if not isinstance(value, property) or not hasattr(value.fget, "_pulumi_name"):
            continue
        annotation = value.fget.__annotations__.get("return")
        text = repr(annotation)
        nested_names = sorted({m for m in _ARGS_NAME.findall(text) if not m.endswith("TypedDict")})
        nested = tuple(c for c in (_resolve_args(cls, n) for n in nested_names) if c is not None)
        required = "NoneType" not in text and "Optional" not in text
        out[value.fget._pulumi_name] = Prop(value.fget._pulumi_name, required, nested, text)
    return out


def _is_sentinel(value: typing.Any) -> bool:
    return is_ref(value) or is_json(value) or is_archive(value)


def check_inputs(token: str, inputs: dict[str, typing.Any]) -> list[str]:
    """Problems with ``inputs`` for resource ``token``: unknown names, missing required names."""
    return _check(args_class(token), inputs, token)


def _check(cls: type, value: typing.Any, path: str) -> list[str]:
    if _is_sentinel(value):
        return []
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in _check(cls, item, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return [f"{path}: expected an object for {cls.__name__}, got {type(value).__name__}"]
    props = properties(cls)
    problems = [f"{path}.{key}: not an input of {cls.__name__}" for key in value if key not in props]
    problems += [f"{path}.{name}: required by {cls.__name__}" for name, prop in props.items()
                 if prop.required and name not in value]
    for key, item in value.items():
        prop = props.get(key)
        if prop is None or not prop.nested or _is_sentinel(item):
            continue
        if "Mapping[str" in prop.annotation and isinstance(item, dict):
            items = list(item.values())
            problems += [p for v in items for p in _check(prop.nested[0], v, f"{path}.{key}")]
            continue
        problems += _check(prop.nested[0], item, f"{path}.{key}")
    return problems


@cache
def output_names(token: str) -> frozenset[str]:
    """Engine names of a resource's outputs (``id`` included), for checking refs."""
    cls = resource_class(token)
    names = {"id", "urn"}
    for value in vars(cls).values():
        if isinstance(value, property) and hasattr(value.fget, "_pulumi_name"):
            names.add(value.fget._pulumi_name)
    return frozenset(names)


def has_tags_input(token: str) -> bool:
    return "tags" in properties(args_class(token))
