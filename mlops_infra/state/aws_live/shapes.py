"""Pure helpers from AWS response shapes to Pulumi's: engine names (camelCase), ISO dates, tag
maps, policy documents as JSON strings, and unset values dropped. Shared by the service mappers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

_ACRONYM = re.compile(r"([A-Z])([A-Z]+)(?=[A-Z][a-z]|[0-9]|$)")


def pulumi_name(aws_key: str) -> str:
    """An AWS API member name in Pulumi's engine spelling: ``KMSMasterKeyID`` -> ``kmsMasterKeyId``,
    ``MemorySizeInMB`` -> ``memorySizeInMb``, ``OKActions`` -> ``okActions``."""
    key = _ACRONYM.sub(lambda m: m.group(1) + m.group(2).lower(), aws_key)
    return key[:1].lower() + key[1:]


def pulumi_shape(value: Any, *, renames: Mapping[str, str] | None = None,
                 opaque: Iterable[str] = ()) -> Any:
    """Recursively rename AWS keys to Pulumi names (``renames`` first, by AWS key) and turn
    dates into ISO strings. Keys in ``opaque`` (by AWS key) keep their value verbatim: maps of
    user data such as ``Environment`` whose keys must not be renamed."""
    renames = renames or {}
    opaque = frozenset(opaque)
    return _shape(value, renames, opaque)


def _shape(value: Any, renames: Mapping[str, str], opaque: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            renames.get(k) or pulumi_name(k): (v if k in opaque else _shape(v, renames, opaque))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_shape(v, renames, opaque) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat().replace("+00:00", "Z")
    return value


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping without ``None`` values (Pulumi omits unset inputs)."""
    return {k: v for k, v in mapping.items() if v is not None}


def tag_map(tags: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """``[{Key|key, Value|value}]`` (AWS tag lists) -> ``{key: value}`` (Pulumi ``tags``)."""
    out: dict[str, str] = {}
    for tag in tags or ():
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


def policy_text(document: Any) -> str | None:
    """A policy document as Pulumi stores it: a JSON string (boto3 decodes some to dicts)."""
    if document is None or isinstance(document, str):
        return document
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
