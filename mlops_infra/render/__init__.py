"""Renderers: a :class:`~mlops_infra.plan.model.Plan` as terminal text, PR markdown or JSON.

Contract: every renderer is pure (Plan -> str), deterministic and prints only what the plan holds
(already redacted); each refuses a plan holding a value shaped like a secret
(:mod:`mlops_infra.render.safety`). :data:`FORMATS` names the ``--format`` values; each renderer's module
is imported when its function is first read from this package (PEP 562 ``__getattr__``), so ``plan
--format json`` imports neither the text nor the Markdown renderer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_infra.render.human import render_text
    from mlops_infra.render.json import render_json, render_json_bytes
    from mlops_infra.render.markdown import render_markdown

FORMATS = ("text", "markdown", "json")

__all__ = ["FORMATS", "render_json", "render_json_bytes", "render_markdown", "render_text"]


def __getattr__(name: str) -> Any:
    """``render_text`` (:mod:`~mlops_infra.render.human`), ``render_markdown`` (:mod:`~mlops_infra.render.markdown`),
    ``render_json`` and ``render_json_bytes`` (:mod:`~mlops_infra.render.json`), each imported when first read."""
    if name == "render_text":
        from mlops_infra.render.human import render_text as found
    elif name == "render_markdown":
        from mlops_infra.render.markdown import render_markdown as found
    elif name == "render_json":
        from mlops_infra.render.json import render_json as found
    elif name == "render_json_bytes":
        from mlops_infra.render.json import render_json_bytes as found
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found
