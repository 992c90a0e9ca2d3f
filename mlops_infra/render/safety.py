"""The renderers' side of the redaction layer: a rendered plan is checked before it is returned.

Contract: plans are redacted when they are built (sensitive values become ``(sensitive)``), so a
secret shape in a rendered plan means a secret reached the plan unmarked (a credential written
inline in a field the spec does not type as a secret, a plaintext value in a state file) or a bug.
:func:`check_rendered` runs the layer's :func:`~mlops_infra.secrets.check_output` over the exact
text a renderer produced and, when it finds something, names each place by resource URN and
attribute path (:func:`plan_places`) and its kind, never the value.
"""

from __future__ import annotations

from typing import Any, AnyStr

from mlops_infra.plan.model import Plan
from mlops_infra.secrets import SecretInOutputError, check_output, redact, scan_tree

UnsafePlanError = SecretInOutputError
"""The error a renderer raises for a plan holding a secret shape (a ``UserError``: exit 1)."""


def plan_places(plan: Plan, data: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(where, kind) of every secret shape in the plan: ``<urn> <attribute path>`` for resource
    changes, a JSON path elsewhere; keys shaped like a secret are not spelled out."""
    data = plan.to_json() if data is None else data
    places = []
    for finding in scan_tree(data, names=False):
        path = list(finding.path)
        if finding.in_key:
            path[-1] = "<a key shaped like a secret>"
        places.append((_describe(path, data), finding.kind))
    return places


def _describe(path: list[Any], data: dict[str, Any]) -> str:
    if len(path) >= 2 and path[0] == "resourceChanges" and isinstance(path[1], int):
        urn = data["resourceChanges"][path[1]].get("urn", "?")
        return redact(f"{urn} " + _json_path(path[2:]).lstrip("."))
    return redact("plan" + _json_path(path))


def _json_path(path: list[Any]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def check_rendered(text: AnyStr, plan: Plan, data: dict[str, Any] | None = None) -> AnyStr:
    """``text`` (or its UTF-8 bytes) unchanged when it holds no secret shape; else :class:`UnsafePlanError`."""
    check_output(text, "the plan", locate=lambda: plan_places(plan, data))
    return text
