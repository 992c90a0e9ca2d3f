"""Type tokens to typed Pulumi SDK classes, and engine property names to Python names.

Contract:
- :func:`resource_class` maps a type token (``aws:s3/bucket:Bucket``, ``kubernetes:core/v1:Namespace``,
  ``pulumi:providers:aws``) to the SDK class that registers it, or returns None when the token is not
  a typed resource of an installed SDK (a Kubernetes CRD kind, for example). It reads the resource
  module registry every generated Pulumi SDK fills on import (the same table Pulumi uses to rehydrate
  resources from state), so a token resolves to exactly the class whose ``_internal_init`` registers
  it. Only the SDK packages named by the graph are imported, and each submodule only when first used.
- :func:`kwarg_names` gives, for a class, engine input name -> Python keyword argument, from the
  ``*Args`` input type metadata (``@pulumi.getter(name=...)``) and the ``_internal_init`` signature.
- :func:`output_attribute` gives the Python attribute of an engine output name (``roleArn`` ->
  ``role_arn``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache

SDK_PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "docker-build": "pulumi_docker_build"}
"""Pulumi package name (first segment of a type token) -> Python SDK module."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def package_of(token: str) -> str:
    """The Pulumi package of a token: ``aws`` for ``aws:s3/bucket:Bucket`` and ``pulumi:providers:aws``."""
    parts = token.split(":")
    if parts[:2] == ["pulumi", "providers"]:
        return parts[2]
    return parts[0]


def _import_sdk(package: str) -> None:
    module = SDK_PACKAGES.get(package)
    if module is None:
        raise LookupError(f"no Python SDK known for Pulumi package {package!r} (this is a bug in mlops-infra)")
    importlib.import_module(module)  # registers its resource modules and package


@cache
def resource_class(token: str) -> type | None:
    """The typed SDK class registering ``token``, or None if no installed SDK registers it."""
    from pulumi.runtime.rpc import get_resource_module, get_resource_package

    package = package_of(token)
    _import_sdk(package)
    if token.startswith("pulumi:providers:"):
        info = getattr(get_resource_package(package, ""), "pkg_info", None)
        if not info or info.get("token") != token:
            return None
        return getattr(importlib.import_module(info["fqn"]), info["class"])
    _, module, _name = token.split(":", 2)
    registered = get_resource_module(package, module, "")
    info = getattr(registered, "mod_info", None) or {}
    class_name = info.get("classes", {}).get(token)
    if class_name is None:
        return None
    return getattr(importlib.import_module(info["fqn"]), class_name)


def _args_class(cls: type) -> type | None:
    import pulumi._types as pulumi_types

    module = inspect.getmodule(cls)
    for candidate in (f"{cls.__name__}InitArgs", f"{cls.__name__}Args"):
        args = getattr(module, candidate, None)
        if isinstance(args, type) and pulumi_types.is_input_type(args):
            return args
    return None


def camel_to_snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


@cache
def kwarg_names(cls: type) -> dict[str, str]:
    """Engine input name -> Python keyword argument of ``cls`` (every keyword ``_internal_init`` takes)."""
    import pulumi._types as pulumi_types

    params = [p for p in inspect.signature(cls._internal_init).parameters
              if p not in ("__self__", "self", "resource_name", "opts", "__props__")]
    args = _args_class(cls)
    py_to_engine = pulumi_types.input_type_py_to_pulumi_names(args) if args is not None else {}
    return {py_to_engine.get(p, _snake_to_camel(p)): p for p in params}


def _snake_to_camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@cache
def output_attribute(cls: type, output: str) -> str:
    """The Python attribute holding engine output ``output`` on instances of ``cls``."""
    import pulumi._types as pulumi_types

    if output in ("id", "urn"):
        return output
    engine_to_py = {v: k for k, v in pulumi_types.resource_py_to_pulumi_names(cls).items()}
    return engine_to_py.get(output) or camel_to_snake(output)
