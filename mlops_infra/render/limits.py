"""The size limits a rendered plan is cut to, apart from the renderers (``plan``'s options name them at import)."""

from __future__ import annotations

GITHUB_COMMENT_LIMIT = 65536
"""The most characters of a GitHub comment body (``422 Validation Failed``, "Body is too long (maximum is 65536
characters)": see :mod:`mlops_infra.render.markdown`): the Markdown plan's default ``--max-chars``."""
