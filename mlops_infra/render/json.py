"""The plan as JSON: ``Plan.to_json()`` (the documented machine format), byte-stable.

Contract: sorted keys, two-space indent, ASCII only, one trailing newline; equal plans give
identical bytes. The same shape is what ``--out`` saves (with the plan file's own envelope).
:func:`render_json_bytes` is ``jsoncodec.pretty_bytes(plan.to_json())`` exactly, written from
:meth:`~mlops_infra.plan.model.Plan.to_json_lazy` (one resource's data at a time) where orjson can.
"""

from __future__ import annotations

from mlops_infra import jsoncodec
from mlops_infra.plan.model import Plan, lazy_json
from mlops_infra.render.safety import check_rendered


def render_json(plan: Plan) -> str:
    """``plan.to_json()`` as stable JSON text (:func:`render_json_bytes` decoded)."""
    return render_json_bytes(plan).decode()


def render_json_bytes(plan: Plan) -> bytes:
    """``plan.to_json()`` as the ASCII bytes of :func:`render_json`'s text, checked by the redaction
    layer as they are (``plan`` writes them to stdout as they are: a plan's tens of megabytes are not
    decoded to text and encoded back); a finding is located from ``plan.to_json()`` made then."""
    data = _streamed_bytes(plan)
    if data is None:
        data = jsoncodec.pretty_bytes(plan.to_json())
    return check_rendered(data, plan)


def _streamed_bytes(plan: Plan) -> bytes | None:
    """``jsoncodec.pretty_bytes(plan.to_json())``, written by orjson from ``plan.to_json_lazy()``
    (``default=lazy_json`` writes each resource change's ``to_json()`` where ``to_json()`` has it, at
    the same depth: :class:`~mlops_infra.plan.model.LazyChange`); None where ``pretty_bytes`` would
    not take orjson's bytes (orjson refuses the data, or writes text that is not ASCII): the caller
    then makes them as ``pretty_bytes`` does."""
    data = jsoncodec.orjson_pretty_bytes(plan.to_json_lazy(), default=lazy_json)
    return data if data is not None and data.isascii() else None
