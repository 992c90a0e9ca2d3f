"""Kubernetes labels and annotations: label-safe versions of the system's tags.

Contract: :func:`labels` returns a dict whose every key and value is valid for Kubernetes
(``[prefix/]name`` keys, values of at most 63 characters of ``[A-Za-z0-9._-]`` starting and
ending alphanumeric) and that always holds ``app.kubernetes.io/managed-by: mlops-infra`` and
``app.kubernetes.io/part-of: <system>``. The tag ``managed-by`` of :meth:`CompileContext.tags`
becomes the recommended ``app.kubernetes.io/managed-by`` label. Invalid characters become ``-``;
over-long values are cut and suffixed with a short hash so they stay distinct.
"""

from __future__ import annotations

import re

from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.naming import short_hash

MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
ADDRESS = "mlops-infra/address"
"""Label holding the ML address (``endpoints.scorer``) a Kubernetes object belongs to."""

_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_PREFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RENAMED = {"managed-by": MANAGED_BY}


def is_label_value(value: str) -> bool:
    """Whether ``value`` is a valid Kubernetes label value."""
    return len(value) <= 63 and bool(_VALUE_RE.match(value))


def is_label_key(key: str) -> bool:
    """Whether ``key`` is a valid Kubernetes label key (``[prefix/]name``)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _PREFIX_RE.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_NAME_RE.match(name))


def label_value(text: str) -> str:
    """``text`` made a valid label value (deterministic)."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._")
    if len(value) > 63:
        value = f"{value[:54].rstrip('-._')}-{short_hash(text, 8)}"
    return value


def label_key(text: str) -> str:
    """``text`` made a valid label key; an invalid prefix is folded into the name."""
    prefix, _, name = text.rpartition("/")
    prefix = re.sub(r"[^a-z0-9.-]+", "-", prefix.lower()).strip("-.")
    name = label_value(name) or "label"
    return f"{prefix}/{name}" if prefix and _PREFIX_RE.match(prefix) else name


def labels(ctx: CompileContext, address: str, **extra: str) -> dict[str, str]:
    """Labels for an object of ``address``: the system's tags, recommended labels and ``extra``."""
    out: dict[str, str] = {}
    for key, value in ctx.tags().items():
        out[_RENAMED.get(key) or label_key(key)] = label_value(value)
    out[PART_OF] = label_value(ctx.system.metadata.name)
    out[ADDRESS] = label_value(address)
    for key, value in extra.items():
        out[label_key(key)] = label_value(value)
    return dict(sorted(out.items()))


def selector(ctx: CompileContext, app: str) -> dict[str, str]:
    """The stable pod selector of a workload the platform runs (``app.kubernetes.io/name``)."""
    return {"app.kubernetes.io/instance": label_value(f"{ctx.system.metadata.name}-{ctx.env}"),
            "app.kubernetes.io/name": label_value(app)}
