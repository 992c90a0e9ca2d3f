"""Turn pydantic validation errors into friendly diagnostics with raw-document paths.

Contract: :func:`diagnostics_from_validation` never raises; every pydantic error becomes exactly
one diagnostic whose ``path`` exists in the raw data (or is its nearest ancestor plus the missing
key), whose summary names the field, and whose detail says how to fix it, with a did-you-mean
where a name or an enum value is involved.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_infra.diagnostics import Diagnostic, Path, did_you_mean, error, known_list


def diagnostics_from_validation(exc: ValidationError, data: Any, root: type[BaseModel],
                                prefix: Path = ()) -> list[Diagnostic]:
    """One diagnostic per pydantic error, with paths translated onto ``data``.

    ``prefix`` is the raw path of the value that was validated when it is a part of ``data`` (an
    item re-validated on its own), so error locations are relative to it.
    """
    out = []
    for err in exc.errors(include_url=False):
        path, model = _data_path((*prefix, *err["loc"]), data, root)
        out.append(_diagnostic(err, path, data, model))
    return _collapse_union_noise(out)


def _data_path(loc: tuple, data: Any, root: type[BaseModel]) -> tuple[Path, Any]:
    """Map a pydantic ``loc`` onto the raw data, dropping union/tag segments pydantic adds."""
    path: list[str | int] = []
    current = data
    annotation: Any = root
    for i, part in enumerate(loc):
        if isinstance(current, dict):
            key = _alias_key(part, current, annotation)
            if key in current:
                path.append(key)
                annotation = _field_annotation(annotation, key)
                current = current[key]
                continue
            if i == len(loc) - 1:
                path.append(key)  # a missing or unknown key: the key itself
                break
            if _is_dict_annotation(annotation):
                path.append(str(part))
                break
            annotation = _narrow_union(annotation, current)
            continue  # a union tag such as 'slack' or 'SecretRef': not in the data
        if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            annotation = _item_annotation(annotation)
            current = current[part]
            continue
        if isinstance(current, dict | list):
            continue
        break
    return tuple(path), annotation


def _alias_key(part: Any, current: dict, annotation: Any) -> Any:
    if part in current:
        return part
    model = _as_model(annotation)
    if model is not None and isinstance(part, str):
        field = model.model_fields.get(part)
        if field is not None and field.alias and field.alias in current:
            return field.alias
    return part


def _as_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(annotation)]
    return [annotation]


def _narrow_union(annotation: Any, value: dict) -> Any:
    """Pick the union member whose ``kind`` literal matches the data, else the first model."""
    members = [m for m in _union_members(annotation) if _as_model(m)]
    for member in members:
        kind_field = member.model_fields.get("kind")
        if kind_field is not None and value.get("kind") in get_args(kind_field.annotation):
            return member
    return members[0] if members else annotation


def _field_annotation(annotation: Any, key: Any) -> Any:
    for member in _union_members(annotation):
        model = _as_model(member)
        if model is not None:
            for name, field in model.model_fields.items():
                if key in (name, field.alias):
                    return field.annotation
        elif get_origin(member) is dict:
            return get_args(member)[1]
    return Any


def _item_annotation(annotation: Any) -> Any:
    for member in _union_members(annotation):
        if get_origin(member) is list:
            return get_args(member)[0]
    return Any


def _is_dict_annotation(annotation: Any) -> bool:
    return any(get_origin(m) is dict for m in _union_members(annotation))


def field_names(annotation: Any) -> list[str]:
    """Names (aliases where set) a mapping at this annotation accepts."""
    names: list[str] = []
    for member in _union_members(annotation):
        model = _as_model(member)
        if model is not None:
            names += [f.alias or n for n, f in model.model_fields.items()]
    return names


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'the string "{value}"' if len(value) < 60 else "a string"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return type(value).__name__


def _field_label(path: Path) -> str:
    names = [str(p) for p in path if not isinstance(p, int)]
    return names[-1] if names else "document"


_TYPE_WORDS = {
    "int_type": "a whole number", "int_parsing": "a whole number", "float_type": "a number",
    "string_type": "text", "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping", "int_from_float": "a whole number",
}


def _diagnostic(err: dict, path: Path, data: Any, annotation: Any) -> Diagnostic:
    kind = err["type"]
    label = _field_label(path)
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = path[:-1]
        allowed = field_names(_annotation_at(parent, data))
        hint = did_you_mean(str(path[-1]), allowed)
        return error("unknown-field", f'Unknown field "{path[-1]}"',
                     f"This mapping does not take \"{path[-1]}\".{hint}\nAllowed fields: {known_list(allowed, 20)}.", path)
    if kind == "missing":
        return error("missing-field", f'Missing required field "{label}"',
                     f'Add "{label}" here.{_description(path, data)}', path)
    if kind == "literal_error":
        expected = _literal_values(ctx.get("expected", ""))
        if label == "apiVersion":
            return error("unsupported-api-version", f"Unsupported apiVersion {_describe(value)}",
                         "This version of mlops-infra reads apiVersion: mlops-infra/v1. "
                         "Set it, or upgrade mlops-infra if the document was written for a newer version.", path)
        hint = did_you_mean(str(value), expected)
        return error("invalid-value", f'Invalid value for "{label}": {_describe(value)}',
                     f"Use one of {known_list(expected)}.{hint}", path)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        expected = _literal_values(ctx.get("expected_tags", ""))
        tag = ctx.get("tag", "")
        hint = did_you_mean(str(tag), expected)
        if kind == "union_tag_not_found":
            return error("missing-field", 'Missing required field "kind"',
                         f"Add kind: one of {known_list(expected)}.", (*path, "kind"))
        return error("invalid-value", f'Invalid kind "{tag}"', f"Use one of {known_list(expected)}.{hint}",
                     (*path, "kind") if isinstance(value, dict) and "kind" in value else path)
    if kind == "string_pattern_mismatch":
        return error("invalid-format", f'Invalid {label}: {_describe(value)}', _pattern_hint(label, ctx), path)
    if kind == "value_error":
        message = str(err.get("msg", "")).removeprefix("Value error, ")
        code = "plaintext-secret" if message.startswith("plaintext secret") else "invalid-value"
        summary = "Plaintext secret" if code == "plaintext-secret" else f'Invalid "{label}"'
        return error(code, summary, message[:1].upper() + message[1:] + ("" if message.endswith(".") else "."), path)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return error("out-of-range", f'"{label}" is out of range: {_describe(value)}',
                     f"{err['msg']}.", path)
    if kind in _TYPE_WORDS:
        quoted = isinstance(value, str) and kind in ("int_type", "float_type", "bool_type")
        fix = " Remove the quotes." if quoted else ""
        return error("wrong-type", f'"{label}" must be {_TYPE_WORDS[kind]}, not {_describe(value)}',
                     f"Write {_TYPE_WORDS[kind]} here.{fix}", path)
    return error("invalid-value", f'Invalid "{label}"', f"{err.get('msg', 'invalid value')}.", path)


def _annotation_at(path: Path, data: Any) -> Any:
    from mlops_infra.spec.system import MLSystem

    annotation: Any = MLSystem
    current = data
    for part in path:
        if isinstance(part, int):
            annotation = _item_annotation(annotation)
            current = current[part] if isinstance(current, list) and part < len(current) else None
        else:
            annotation = _field_annotation(annotation, part)
            current = current.get(part) if isinstance(current, dict) else None
        if isinstance(current, dict):
            annotation = _narrow_union(annotation, current) if len(_union_members(annotation)) > 1 else annotation
    return annotation


def _description(path: Path, data: Any) -> str:
    parent = _annotation_at(path[:-1], data)
    for member in _union_members(parent):
        model = _as_model(member)
        if model is not None:
            for name, field in model.model_fields.items():
                if path and path[-1] in (name, field.alias) and field.description:
                    return f" It is: {field.description}"
    return ""


def _literal_values(expected: str) -> list[str]:
    return [part.strip().strip("'\"") for part in expected.replace(" or ", ",").split(",") if part.strip()]


def _pattern_hint(label: str, ctx: dict) -> str:
    pattern = ctx.get("pattern", "")
    if "a-z0-9" in pattern:
        return "Names use lowercase letters, digits and '-', start and end with a letter or digit, at most 63 characters."
    if label == "account":
        return 'An AWS account id is 12 digits, quoted: account: "123456789012".'
    if label == "region":
        return "Use an AWS region name such as us-east-1 or eu-west-1."
    if label == "address":
        return "Use an email address such as ml-team@example.com."
    if label == "url":
        return "Use an https:// URL without credentials or a query string, or a secret reference {secret: name}."
    return f"The value must match {pattern}."


def _collapse_union_noise(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """A value that fits no member of a plain union yields one error per member; keep the best."""
    by_path: dict[Path, list[Diagnostic]] = {}
    for d in diagnostics:
        by_path.setdefault(d.path, []).append(d)
    out = []
    for items in by_path.values():
        secret = [d for d in items if d.code == "plaintext-secret"]
        out.extend(secret[:1] if secret else items)
    return out


_ = Literal  # re-exported for annotations in callers
