"""Secrets in structured data (a parsed document, a plan's JSON): which path holds what kind.

Contract:
- :func:`scan_tree` walks every mapping key and string value of ``data`` and returns
  :class:`TreeFinding` (path, kind) for each one holding a secret shape (:mod:`.scan`), plus, when
  ``names=True``, each plaintext value stored under a credential-like name (``password: hunter2``,
  ``args: [--api-key, abc123]``) that is not a reference (a path, ``$VAR``, an ARN, a name under a
  ``*_name``/``*_file``/``*_id`` key...). Paths are tuples of keys and list indexes.
- Cost: the tree is serialised once with orjson and that text is scanned once with every rule's
  trigger and the credential-name trigger together; the rules' own pass, the names' pass and the
  walk that finds paths run only when that pass saw something. A SecretRef (``{secret: name}``)
  is a reference, not a value under the name "secret".
- Never returns a value; a mapping key shaped like a secret is reported at its own path.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from mlops_infra.secrets.scan import engine, find_secrets, prefilter_pattern

Path = tuple[str | int, ...]

NAMED_KIND = "a plaintext value under a credential-like name"


@dataclass(frozen=True, slots=True)
class TreeFinding:
    """``path`` holds ``kind``; ``in_key`` when the mapping key itself is secret-shaped."""

    path: Path
    kind: str
    in_key: bool = False


_NAMES_BUT_SECRET = (r"api_?key|auth_?key|service_?key|account_?key|db_?key|database_?key|priv_?key|private_?key"
                     r"|client_?key|db_?pass|database_?pass|key_?pass|password|passwd|pwd|contraseña|contrasena"
                     r"|token|credential|bearer|access_?key")
_STRONG_NAME = r"(?i)(?:" + _NAMES_BUT_SECRET.replace("|token|", "|token(?![a-rt-z])|") + "|secret)"
"""Credential names: detect-secrets' keyword DENYLIST (rules.CREDENTIAL_NAME_WORDS) plus the extra
words, where ``token`` must not go on into another word (``tokenizer``)."""

_REFERENCE_NAME = (r"(?i)(?:[_.-]|(?<=[a-z])(?=[A-Z]))(?:name|id|ref|arn|file|path|env|var|uri|type|mode|"
                   r"length|len|size|count|limit|ttl|expiry|expires|rotation|version|format|header)s?$")
"""A credential-like name that holds something about the credential, not the credential."""

_REFERENCE_VALUE = (
    r"^(?:[/~.$]|\{\{|arn:|s3://|gs://|file:|env:|secret:|vault:|projects/|https?://[^@?#\s]*$|[A-Z][A-Z0-9_]*$"
    r"|(?:true|false|none|null|yes|no|on|off|-)$|\(sensitive\)$)")
"""Values that point at a secret or are not one: paths, $VARS, templates, ARNs, URLs without
credentials (those have their own shapes), environment variable names, booleans."""


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    """One of the name and value patterns above, compiled on first use (a scan that finds nothing
    never needs them)."""
    return re.compile(pattern)


@cache
def names_credential(name: str) -> bool:
    """Whether a mapping key or flag (``secret_access_key``, ``--api-key``, ``dbPassword``) names a
    credential value (and not its name, file or id: ``secret_name``, ``password_file``)."""
    cleaned = name.lstrip("-").replace("-", "_")
    return bool(_compiled(_STRONG_NAME).search(cleaned)) and not _compiled(_REFERENCE_NAME).search(cleaned)


_NAMED_TRIGGER_PATTERN = (
    r'(?i)"(?:[^"]*(?:' + _NAMES_BUT_SECRET + r')[^"]*|[^"]+secret[^"]*|secret[^"]+)":"'
    r'|"-[^"]*(?:' + _NAMES_BUT_SECRET + r'|secret)[^"]*","')
"""In orjson's compact JSON: a key naming a credential with a string value, or a ``--flag`` naming
one followed by a string; the bare key ``secret`` (a SecretRef) is left to the walk's own rule."""


@cache
def _named_trigger() -> Any:
    """:data:`_NAMED_TRIGGER_PATTERN` compiled by the scan engine, on first use (importing this
    module loads no regex engine)."""
    return engine().compile(_NAMED_TRIGGER_PATTERN.encode())


def is_plaintext_credential(value: Any) -> bool:
    """A non-empty string that is not a reference (see :data:`_REFERENCE_VALUE`)."""
    return isinstance(value, str) and len(value.strip()) >= 3 and not _compiled(_REFERENCE_VALUE).match(value.strip())


def _walk(data: Any, path: Path, texts: list[str], paths: list[tuple[Path, bool]],
          named: list[Path]) -> None:
    stack: list[tuple[Any, Path]] = [(data, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            texts.append(node)
            paths.append((where, False))
        elif isinstance(node, dict):
            for key, value in node.items():
                child = (*where, key if isinstance(key, str | int) else str(key))
                if isinstance(key, str):
                    texts.append(key)
                    paths.append((child, True))
                    if named is not None and isinstance(value, str) and names_credential(key) \
                            and is_plaintext_credential(value) and not _is_secret_ref(key, node):
                        named.append(child)
                stack.append((value, child))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                stack.append((item, (*where, index)))
                if named is not None and isinstance(item, str) and item.startswith("-") and index + 1 < len(node) \
                        and "=" not in item and names_credential(item) and is_plaintext_credential(node[index + 1]) \
                        and not str(node[index + 1]).startswith("-"):
                    named.append((*where, index + 1))


def _is_secret_ref(key: str, mapping: dict[Any, Any]) -> bool:
    return key == "secret" and set(mapping) <= {"secret", "key"}


@cache
def _any_trigger() -> Any:
    """Every rule's prefilter trigger and :data:`_NAMED_TRIGGER_PATTERN` in one pattern: text it finds
    nothing in holds no secret and no named credential (one pass, the common case)."""
    assert _NAMED_TRIGGER_PATTERN.startswith("(?i)")  # scoped below: ``re`` takes global flags only first
    return engine().compile(prefilter_pattern() + b"|(?i:" + _NAMED_TRIGGER_PATTERN[4:].encode() + b")")


def _dump(data: Any) -> bytes:
    """``data`` as compact JSON (keys that are not strings written as strings), or b"" when orjson
    cannot write it (an integer past 64 bits: the caller walks)."""
    try:
        return orjson.dumps(data)  # the fast path: a document's keys are strings
    except TypeError:
        pass
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return b""


def scan_tree(data: Any, *, names: bool = True, root: Path = ()) -> list[TreeFinding]:
    """Every secret in ``data`` by path (see the module contract), in walk order."""
    blob = _dump(data)
    if blob and _any_trigger().search(blob) is None:
        return []
    if blob and not find_secrets(blob) and not (names and _named_trigger().search(blob)):
        return []
    texts: list[str] = []
    paths: list[tuple[Path, bool]] = []
    named: list[Path] = []
    _walk(data, root, texts, paths, named if names else None)  # type: ignore[arg-type]
    found: dict[tuple[Path, bool], TreeFinding] = {}
    if texts:
        joined = "\n".join(t.replace("\n", " ") for t in texts)
        starts, offset = [], 0
        for text in texts:
            starts.append(offset)
            offset += len(text) + 1
        for finding in find_secrets(joined):
            index = bisect.bisect_right(starts, finding.start) - 1
            where, in_key = paths[index]
            found.setdefault((where, in_key), TreeFinding(where, finding.kind, in_key))
    for where in named:
        found.setdefault((where, False), TreeFinding(where, NAMED_KIND))
    return list(found.values())


def iter_strings(data: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every (path, string value) of ``data``, keys excluded."""
    texts: list[str] = []
    paths: list[tuple[Path, bool]] = []
    _walk(data, path, texts, paths, None)  # type: ignore[arg-type]
    for text, (where, in_key) in zip(texts, paths, strict=True):
        if not in_key:
            yield where, text
