"""The plan as JSON: ``Plan.to_json()`` (the documented machine format), byte-stable.

Contract: sorted keys, two-space indent, ASCII only, one trailing newline; equal plans give
identical bytes. The same shape is what ``--out`` saves (with the plan file's own envelope).
"""

from __future__ import annotations

from mlops_infra import jsoncodec
from mlops_infra.plan.model import Plan
from mlops_infra.render.safety import check_rendered


def render_json(plan: Plan) -> str:
    """``plan.to_json()`` as stable JSON text (:func:`render_json_bytes` decoded)."""
    return render_json_bytes(plan).decode()


def render_json_bytes(plan: Plan) -> bytes:
    """``plan.to_json()`` as the ASCII bytes of :func:`render_json`'s text, checked by the redaction
    layer as they are (``plan`` writes them to stdout as they are: a plan's tens of megabytes are not
    decoded to text and encoded back)."""
    data = plan.to_json()
    return check_rendered(jsoncodec.pretty_bytes(data), plan, data)
