"""The plan as JSON: ``Plan.to_json()`` (the documented machine format), byte-stable.

Contract: sorted keys, two-space indent, ASCII only, one trailing newline; equal plans give
identical bytes. The same shape is what ``--out`` saves (with the plan file's own envelope).
"""

from __future__ import annotations

from mlops_infra import jsoncodec
from mlops_infra.plan.model import Plan
from mlops_infra.render.safety import check_rendered


def render_json(plan: Plan) -> str:
    """``plan.to_json()`` as stable JSON text (checked as the ASCII bytes it is written from)."""
    data = plan.to_json()
    return check_rendered(jsoncodec.pretty_bytes(data), plan, data).decode()
