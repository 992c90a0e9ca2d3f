"""Checks of rendered Markdown shared by the renderer and command tests."""

from __future__ import annotations

import re


def fences_balanced(text: str) -> bool:
    """Every fence that opens a code block is closed by a fence of the same length (a cut body
    must never leave one open: the rest of the comment would render as code)."""
    opened = None
    for line in text.splitlines():
        match = re.match(r"^\s*(`{3,})", line)
        if not match:
            continue
        if opened is None:
            opened = match.group(1)
        elif match.group(1) == opened and line.strip() == opened:
            opened = None
    return opened is None
