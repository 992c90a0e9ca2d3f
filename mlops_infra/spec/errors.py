"""Turn pydantic validation errors into friendly diagnostics with raw-document paths.

Contract: :func:`diagnostics_from_validation` never raises; every pydantic error becomes exactly
one diagnostic whose ``path`` exists in the raw data (or is its nearest ancestor plus the missing
key), whose summary names the field, and whose detail says how to fix it, with a did-you-mean
where a name or an enum value is involved.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from mlops_infra.diagnostics import Diagnostic, Path, did_you_mean, error, known_list
from mlops_infra.secrets import contains_secret
from mlops_infra.spec.as_written import key_fix, quote_fix, unquote_fix
from mlops_infra.spec.limits import INT32_MAX


def diagnostics_from_validation(exc: ValidationError, data: Any, root: type[BaseModel],
                                prefix: Path = ()) -> list[Diagnostic]:
    """One diagnostic per pydantic error, with paths translated onto ``data``.

    ``prefix`` is the raw path of the value that was validated when it is a part of ``data`` (an
    item re-validated on its own), so error locations are relative to it.
    """
    out: list[Diagnostic] = []
    members: dict[Path, list[_Error]] = {}
    for err in exc.errors(include_url=False):
        loc = (*prefix, *err["loc"])
        if loc and loc[-1] == "[key]":
            out.append(_key_diagnostic(err, _data_path(loc[:-1], data, root)[0]))
            continue
        path, model = _data_path(loc, data, root)
        if path and loc[-1] != path[-1] and _is_member_tag(loc[-1]):
            members.setdefault(path, []).append(_error(err, path, data))  # one error per union member
            continue
        out.append(_diagnostic(err, path, data, model))
    out += [_union_diagnostic(errors) for errors in members.values()]
    return _collapse_union_noise(out)


def _key_diagnostic(err: dict, path: Path) -> Diagnostic:
    """A mapping key that is not text: a number, a boolean, null, or a complex (list) key."""
    key = err.get("input")
    parent = _field_label(path[:-1])
    text_path = (*path[:-1], key if isinstance(key, str) else str(key), KEY)  # where the key itself is
    if key is None:
        shown, fix = "null", ("An empty or null key (null, ~) names nothing: give the entry a name, in quotes "
                              'if it looks like a number ("1": value).')
    elif isinstance(key, bool | int | float):
        shown = _describe(key)
        written = shown.removeprefix("the number ").removeprefix("the boolean ")
        fix = key_fix(parent, "a boolean" if isinstance(key, bool) else "a number", written)
    else:
        shown = "a list" if isinstance(key, tuple) else "a mapping"
        fix = (f"This is a complex key (written with ? [...] or ? {{...}}), which makes it {shown}; keys of "
               f'"{parent}" are text: write a plain key.')
    return error("wrong-type", f'A key in "{parent}" is {shown}, not text', fix, text_path)


KEY = "[key]"
"""Last path segment of a diagnostic about a mapping key itself (positions place it at the key)."""


def _is_member_tag(part: Any) -> bool:
    """Whether a ``loc`` segment names a member of a plain union (``str``, ``constrained-int``)."""
    return isinstance(part, str) and (part in _SCALAR_TAGS or part.startswith(("constrained-", "function-")))


_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "none", "SecretRef"})


def _union_diagnostic(errors: list[_Error]) -> Diagnostic:
    """One diagnostic for a value that fits no member of a union.

    A member whose type the value has but whose limit it breaks (a NaN for ``float``, a string past
    its length for ``str``) says the most; otherwise the value has none of the members' types, and
    the diagnostic lists them all.
    """
    typed = sorted((e for e in errors if e.kind not in _TYPE_WORDS), key=lambda e: e.msg.find(PLAINTEXT) >= 0)
    if typed:  # a plaintext-secret refusal comes last: a URL field taking text says what text it takes
        e = typed[0]
        return (_HANDLERS.get(e.kind) or _generic)(e)
    words = list(dict.fromkeys(_TYPE_WORDS[e.kind] for e in errors))
    if "a number" in words and "a whole number" in words:
        words.remove("a whole number")
    e = errors[0]
    expected = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    return error("wrong-type", f'"{e.label}" must be {expected}, not {_describe(e.value)}',
                 f"Write {expected} here.", e.path)

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
            if _is_member_tag(part) and len(_union_members(annotation)) > 1:
                continue  # a mapping given where a plain union (str | int | ...) is expected
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
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * 0.30103)} digits"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN (not a number)" if math.isnan(value) else f"{'minus ' * (value < 0)}infinity"
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


@dataclass(frozen=True)
class _Error:
    """One pydantic error, located in the raw document."""

    kind: str
    path: Path
    data: Any
    value: Any
    ctx: dict
    msg: str

    @property
    def label(self) -> str:
        return _field_label(self.path)


def _error(err: dict, path: Path, data: Any) -> _Error:
    return _Error(err["type"], path, data, err.get("input"), err.get("ctx") or {}, str(err.get("msg", "")))


def _diagnostic(err: dict, path: Path, data: Any, annotation: Any) -> Diagnostic:
    e = _error(err, path, data)
    handler = _HANDLERS.get(e.kind) or (_wrong_type if e.kind in _TYPE_WORDS else _generic)
    return handler(e)


def _unknown_field(e: _Error) -> Diagnostic:
    allowed = field_names(_annotation_at(e.path[:-1], e.data))
    hint = did_you_mean(str(e.path[-1]), allowed)
    return error("unknown-field", f'Unknown field "{e.path[-1]}"',
                 f"This mapping does not take \"{e.path[-1]}\".{hint}\nAllowed fields: {known_list(allowed, 20)}.", e.path)


def _missing(e: _Error) -> Diagnostic:
    return error("missing-field", f'Missing required field "{e.label}"',
                 f'Add "{e.label}" here.{_description(e.path, e.data)}', e.path)


def _literal(e: _Error) -> Diagnostic:
    expected = _literal_values(e.ctx.get("expected", ""))
    if e.label == "apiVersion":
        return error("unsupported-api-version", f"Unsupported apiVersion {_quoted(e.value)}",
                     f"This version of mlops-infra reads apiVersion: {expected[0]}. "
                     "Set it, or upgrade mlops-infra if the document was written for a newer version.", e.path)
    if e.path == ("kind",):
        return error("unsupported-kind", f"Unsupported kind {_quoted(e.value)}",
                     f"mlops-infra reads documents of kind: {expected[0]}. Check that this is an MLSystem file.", e.path)
    hint = did_you_mean(str(e.value), expected)
    if e.label == "gates":
        from mlops_infra.spec.environments import GATES

        known = "\n".join(f"  {name}: {meaning}" for name, meaning in GATES.items())
        return error("unknown-gate", f"Unknown gate {_quoted(e.value)}", f"Known gates:{hint}\n{known}", e.path)
    return error("invalid-value", f'Invalid value for "{e.label}": {_describe(e.value)}',
                 f"Use one of {known_list(expected)}.{hint}", e.path)


def _union_tag(e: _Error) -> Diagnostic:
    expected = _literal_values(e.ctx.get("expected_tags", ""))
    if e.kind == "union_tag_not_found":
        return error("missing-field", 'Missing required field "kind"',
                     f"Add kind: one of {known_list(expected)}.", (*e.path, "kind"))
    tag = e.ctx.get("tag", "")
    return error("invalid-value", f'Invalid kind "{tag}"', f"Use one of {known_list(expected)}.{did_you_mean(str(tag), expected)}",
                 (*e.path, "kind") if isinstance(e.value, dict) and "kind" in e.value else e.path)


def _pattern(e: _Error) -> Diagnostic:
    shown = "" if e.label == "url" else f": {_describe(e.value)}"  # a URL may hold a token: never quoted
    return error("invalid-format", f"Invalid {e.label}{shown}", _pattern_hint(e.label, e.ctx, e.value), e.path)


def _value_error(e: _Error) -> Diagnostic:
    message = e.msg.removeprefix("Value error, ")
    if message.startswith(PLAINTEXT):
        return error("plaintext-secret", f'Plaintext secret in "{e.label}"',
                     _sentence(f'"{e.label}" ' + message.removeprefix(PLAINTEXT)), e.path)
    return error("invalid-value", f'Invalid "{e.label}"', _sentence(message), e.path)


def _out_of_range(e: _Error) -> Diagnostic:
    detail = _sentence(e.msg)
    if e.ctx.get("le") == INT32_MAX:
        detail += (f" {INT32_MAX:,} is the largest count or version the targets store: AWS Application Auto "
                   "Scaling and SageMaker take a 32-bit integer, and so do KServe and Kubeflow replicas.")
    return error("out-of-range", f'"{e.label}" is out of range: {_describe(e.value)}', detail, e.path)


def _too_long(e: _Error) -> Diagnostic:
    limit = e.ctx.get("max_length")
    text = isinstance(e.value, str)
    summary = f'"{e.label}" is too long' if text else f'"{e.label}" has too many entries'
    what = "characters" if text else "entries"
    detail = f"It may have at most {limit:,} {what}." if isinstance(limit, int) else _sentence(e.msg)
    return error("out-of-range", summary, detail, e.path)


def _not_finite(e: _Error) -> Diagnostic:
    return error("out-of-range", f'"{e.label}" must be a finite number, not {_describe(e.value)}',
                 "NaN and infinity reach no target (JSON cannot even write them); write a number such as 50.",
                 e.path)


def _wrong_type(e: _Error) -> Diagnostic:
    words = _TYPE_WORDS[e.kind]
    if e.kind == "string_type" and isinstance(e.value, int | float) and not isinstance(e.value, bool):
        return error("wrong-type", f'"{e.label}" must be text in quotes, not {_describe(e.value)}',
                     quote_fix(e.label, _shown(e.value)), e.path)
    quoted = isinstance(e.value, str) and e.kind in ("int_type", "float_type", "bool_type", "int_parsing")
    fix = unquote_fix(words) if quoted else f"Write {words} here."  # as_written drops the quotes' part if unquoted
    return error("wrong-type", f'"{e.label}" must be {words}, not {_describe(e.value)}', fix, e.path)


def _generic(e: _Error) -> Diagnostic:
    return error("invalid-value", f'Invalid "{e.label}"', _sentence(e.msg or "invalid value"), e.path)


_HANDLERS: dict[str, Callable[[_Error], Diagnostic]] = {
    "extra_forbidden": _unknown_field,
    "missing": _missing,
    "literal_error": _literal,
    "union_tag_invalid": _union_tag,
    "union_tag_not_found": _union_tag,
    "string_pattern_mismatch": _pattern,
    "value_error": _value_error,
    "greater_than_equal": _out_of_range,
    "less_than_equal": _out_of_range,
    "greater_than": _out_of_range,
    "less_than": _out_of_range,
    "finite_number": _not_finite,
    "string_too_long": _too_long,
    "too_long": _too_long,
}
"""pydantic error type -> the diagnostic it becomes; type errors use :func:`_wrong_type`."""

PLAINTEXT = "plaintext secret: this field "
"""How :class:`~mlops_infra.spec.base.SecretRef` starts its refusal of plaintext (see base.py)."""


def _shown(value: Any) -> str:
    """A number as written, or its size when it is too long to show."""
    return str(value) if not isinstance(value, int) or value.bit_length() <= 64 else _describe(value)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) and len(value) < 60 else _describe(value)


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


def _pattern_hint(label: str, ctx: dict, value: Any) -> str:
    pattern = ctx.get("pattern", "")
    if pattern.startswith("^[a-z0-9]"):  # Name (DNS-1123 label)
        suggestion = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")[:63].strip("-")
        # never a suggestion made from a secret: cleaned, it no longer looks like one to the redaction layer
        hint = (f' For example "{suggestion}".' if suggestion and suggestion != value and not contains_secret(str(value))
                else "")
        return ("Names use lowercase letters, digits and '-', start and end with a letter or digit, at most "
                f"63 characters.{hint}")
    if label == "account":
        return 'An AWS account id is 12 digits, quoted: account: "123456789012".'
    if label == "region":
        return "Use an AWS region name such as us-east-1 or eu-west-1."
    if label == "channel":
        return ('A Slack channel is "#name" (lowercase letters of any script, digits, "-" and "_", at most 80 '
                'characters), "@user" or a channel ID such as C0123456789; no spaces, invisible characters, '
                'quotes, braces or emoji.')
    if label == "address":
        return "Use an email address such as ml-team@example.com."
    if label == "baseline_prefix":
        return ("A key prefix of the baseline data source: letters, digits, / and ! _ . * ' ( ) - (the characters "
                "S3 names safe in object keys) and = (partitions such as date=2026-11-01/), not starting with /, "
                "such as snapshots/2026-11/.")
    if label == "url":
        return _url_problem(str(value)) + (" Use an https:// URL without credentials or a query string, or a "
                                           "secret reference {secret: name} when the URL holds a token.")
    return f"The value must match {pattern}."


def _url_problem(url: str) -> str:
    """What is wrong with a webhook URL, in words."""
    if not url.startswith("https://"):
        return "The URL must start with https:// (alerts are sent over TLS only)."
    rest = url.removeprefix("https://")
    if not rest:
        return "The URL has no host after https://."
    if any(c.isspace() for c in rest):
        return "The URL contains a space or line break; URL-encode it (%20)."
    if "@" in rest or "?" in rest:
        return "The URL holds credentials or a query string, which may be a token."
    return "The URL is not valid."


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

