"""Validate compiled values against botocore's API shapes (test support).

``pascal`` turns Pulumi engine names (camelCase) into API member names (PascalCase), with the few
renames pulumi-aws makes. ``problems`` runs botocore's ``ParamValidator`` (required members,
unknown members, types, minimums) and adds what it leaves out: enum membership, maximum lengths
and value ranges, so an instance type SageMaker does not offer or a wait beyond 3600 s fails here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.validate import ParamValidator

RENAMES = {"kmsKeyArn": "KmsKeyId", "volumeSizeInGb": "VolumeSizeInGB", "okActions": "OKActions"}


@cache
def service(name: str):
    return botocore.session.get_session().get_service_model(name)


def input_shape(service_name: str, operation: str) -> StructureShape:
    return service(service_name).operation_model(operation).input_shape


def pascal(value: Any, *, free_keys: tuple[str, ...] = ()) -> Any:
    """camelCase keys -> PascalCase API names, recursively; maps under ``free_keys`` untouched."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = RENAMES.get(key, key[:1].upper() + key[1:])
            out[name] = item if key in free_keys else pascal(item, free_keys=free_keys)
        return out
    if isinstance(value, list):
        return [pascal(v, free_keys=free_keys) for v in value]
    return value


def _extra(shape: Shape, value: Any, path: str) -> list[str]:
    out: list[str] = []
    meta = shape.metadata
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                out += _extra(shape.members[key], item, f"{path}.{key}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        out += [p for i, v in enumerate(value) for p in _extra(shape.member, v, f"{path}[{i}]")]
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        out += [p for k, v in value.items() for p in _extra(shape.value, v, f"{path}.{k}")]
    elif isinstance(value, str):
        if "enum" in meta and value not in meta["enum"]:
            out.append(f"{path}: {value!r} is not one of {shape.name}")
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: longer than {meta['max']}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "max" in meta and value > meta["max"]:
            out.append(f"{path}: {value} > {meta['max']}")
        if "min" in meta and value < meta["min"]:
            out.append(f"{path}: {value} < {meta['min']}")
    return out


def problems(service_name: str, operation: str, params: dict[str, Any]) -> list[str]:
    """Every way ``params`` would be rejected by the client for ``operation``."""
    shape = input_shape(service_name, operation)
    report = ParamValidator().validate(params, shape)
    found = [report.generate_report()] if report.has_errors() else []
    return found + _extra(shape, params, operation)
