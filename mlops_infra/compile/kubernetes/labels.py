"""Kubernetes labels and annotations: label-safe versions of the system's tags.

Contract: :func:`labels` returns a dict whose every key and value is valid for Kubernetes
(``[prefix/]name`` keys, values of at most 63 characters of ``[A-Za-z0-9._-]`` starting and
ending alphanumeric) and that always holds ``app.kubernetes.io/managed-by: mlops-infra`` and
``app.kubernetes.io/part-of: <system>``. The tag ``managed-by`` of :meth:`CompileContext.tags`
becomes the recommended ``app.kubernetes.io/managed-by`` label. Invalid characters become ``-``;
over-long values are cut and suffixed with a short hash so they stay distinct. The cleaning rules
live in :mod:`mlops_infra.spec.labels`, which refuses labels that would collide once cleaned.
"""

from __future__ import annotations

from mlops_infra.compile.context import CompileContext
from mlops_infra.spec.labels import is_label_key, is_label_value, label_key, label_value

__all__ = ["ADDRESS", "MANAGED_BY", "PART_OF", "is_label_key", "is_label_value", "label_key", "label_value",
           "labels", "selector"]

MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
ADDRESS = "mlops-infra/address"
"""Label holding the ML address (``endpoints.scorer``) a Kubernetes object belongs to."""


def labels(ctx: CompileContext, address: str, **extra: str) -> dict[str, str]:
    """Labels for an object of ``address``: the system's tags, recommended labels and ``extra``."""
    out: dict[str, str] = {}
    for key, value in ctx.tags().items():
        out[label_key(key)] = label_value(value)
    out[PART_OF] = label_value(ctx.system.metadata.name)
    out[ADDRESS] = label_value(address)
    for key, value in extra.items():
        out[label_key(key)] = label_value(value)
    return dict(sorted(out.items()))


def selector(ctx: CompileContext, app: str) -> dict[str, str]:
    """The stable pod selector of a workload the platform runs (``app.kubernetes.io/name``)."""
    return {"app.kubernetes.io/instance": label_value(f"{ctx.system.metadata.name}-{ctx.env}"),
            "app.kubernetes.io/name": label_value(app)}
