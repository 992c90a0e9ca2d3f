"""Editing a spec's text in tests: replace one fragment, find the line a fragment is on."""

from __future__ import annotations


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced by ``new``; ``old`` must be there."""
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    """1-based line on which ``fragment`` starts in ``text``; it must be there."""
    assert fragment in text, fragment
    return text[: text.index(fragment)].count("\n") + 1
