"""Deterministic names: physical resource names and content hashes.

Contract: the same inputs always give the same name; names fit the given length by cutting and
appending a short hash of the full name, so two long names never collide by truncation.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mlops_infra.graph import canonical_json


def short_hash(value: Any, length: int = 8) -> str:
    """A hex digest prefix of the canonical JSON of ``value``."""
    text = value if isinstance(value, str) else canonical_json(value)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def ecr_repository_name(*parts: str, max_len: int = 63) -> str:
    """A physical name that is also an ECR repository name: runs of ``-`` become one.

    botocore ``RepositoryName``: ``(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*``, one
    separator between alphanumerics, so ``xn--fraud`` cannot be in it. When collapsing changes the
    name, a hash of the full name keeps it distinct from a system really called ``xn-fraud``.
    """
    name = physical_name(*parts, max_len=max_len)
    collapsed = re.sub(r"-{2,}", "-", name)
    if collapsed == name:
        return name
    digest = short_hash(name, 7)
    return f"{collapsed[: max_len - len(digest) - 1].rstrip('-')}-{digest}"


_NOT_IN_NAMES = re.compile(r"[^a-z0-9-]+")
"""What a physical name may not hold. A lowercased ASCII text whose characters other than ``-``
are all alphanumeric holds only ``a-z0-9-`` already (``str.isalnum`` of an ASCII character is
``[A-Za-z0-9]``, and lowercasing left no ``A-Z``): the substitution would change nothing, so
:func:`physical_name` skips it (tests/compile/test_naming.py compares both)."""


def physical_name(*parts: str, max_len: int = 63, sep: str = "-") -> str:
    """Join parts into a lowercase name of at most ``max_len`` characters: the non-empty parts
    joined by ``sep``, lowercased, each run of characters other than ``a-z0-9-`` made one ``-``,
    ``-`` stripped from both ends, cut and hashed when too long."""
    name = sep.join(filter(None, parts)).lower()
    if not (name.isascii() and name.replace("-", "").isalnum()):  # else only a-z0-9- (see _NOT_IN_NAMES)
        name = _NOT_IN_NAMES.sub("-", name)
    name = name.strip("-")
    if len(name) <= max_len:
        return name
    digest = short_hash(name, 7)
    return f"{name[: max_len - len(digest) - 1].rstrip('-')}-{digest}"


def common_prefix(texts: list[str]) -> str:
    """The longest text every one of ``texts`` starts with (``""`` for none): character by character,
    as an IAM ``*`` pattern needs (``os.path.commonprefix``'s answer, without its path module)."""
    if not texts:
        return ""
    first, last = min(texts), max(texts)  # the common prefix of all is the common prefix of these two
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:size]
