"""Semantic checks on a structurally valid system (references, uniqueness, catalog facts, ...).

Contract: ``check_system(system, data)`` returns diagnostics with raw-document paths (indexes into
``data``'s lists); it never raises for user mistakes and never mutates its inputs.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.diagnostics import Diagnostic
from mlops_infra.spec.system import MLSystem


def check_system(system: MLSystem, data: dict[str, Any]) -> list[Diagnostic]:
    """All semantic diagnostics of ``system`` (see the module docstring)."""
    return []
