"""Renderers: a :class:`~mlops_infra.plan.model.Plan` as terminal text, PR markdown or JSON.

Contract: every renderer is pure (Plan -> str), deterministic and prints only what the plan holds
(already redacted); each refuses a plan holding a value shaped like a secret
(:mod:`mlops_infra.render.safety`). :data:`RENDERERS` maps a ``--format`` name to its function.
"""

from __future__ import annotations

from mlops_infra.render.human import render_text
from mlops_infra.render.json import render_json, render_json_bytes
from mlops_infra.render.markdown import render_markdown

FORMATS = ("text", "markdown", "json")

__all__ = ["FORMATS", "render_json", "render_json_bytes", "render_markdown", "render_text"]
