"""What a failed plan said, for its section of the comment: its diagnostics and errors without the quoted
source lines and notes (:func:`error_excerpt`), or, for a plan printed before it failed, its last error
(:func:`final_error`)."""

from __future__ import annotations

import re

ERROR_LIMIT = 3000
"""Characters :func:`error_excerpt` keeps by default (a plan's section passes its own share)."""

FINAL_ERROR_LIMIT = 1000

_CUT_ERROR = "\n... (cut; see the log)"

_SNIPPET = re.compile(r"^\s*\d+ \| |^\s*\^\s*$")

_COUNTS = re.compile(r"^\d+ errors?, \d+ warnings?$")

_ERROR_HEAD = re.compile(r"^(?:\S[^\n]*: )?(?:internal )?error: ")


def error_excerpt(stderr: str, limit: int = ERROR_LIMIT) -> str:
    """What a failed plan said, for the comment: its diagnostics and errors without the quoted source
    lines (which could hold a value the author did not mean to publish) and without notes.

    ``mlops-infra`` prints the diagnostics sorted by position, warnings and errors together (each a
    line and its indented fix), then ``N errors, M warnings``, then a top-level error (a stack file it
    cannot read): when the whole does not fit in ``limit``, the messages kept are, whole and in their
    order, the count line and what follows it, then every error, then warnings while room remains;
    ``... (cut; see the log)`` says some were left out. Only an error too long for ``limit`` is cut."""
    lines = [line for line in stderr.splitlines()
             if not _SNIPPET.match(line) and not line.startswith(("Prior state:", "Spec:", "::"))]
    text = "\n".join(lines).strip()
    if len(text) <= limit:
        return text
    blocks = _message_blocks(lines)
    counts = next((i for i, block in enumerate(blocks) if _COUNTS.match(block)), len(blocks))
    rank = [0 if i >= counts else 1 if _ERROR_HEAD.match(block) else 2 for i, block in enumerate(blocks)]
    room, kept, size = limit - len(_CUT_ERROR), set(), -1
    for i in sorted(range(len(blocks)), key=lambda i: (rank[i], i)):
        if size + 1 + len(blocks[i]) <= room:
            kept.add(i)
            size += 1 + len(blocks[i])
    needed = [i for i in range(len(blocks)) if rank[i] < 2]
    if needed and not kept & set(needed):  # one error longer than the room: cut it
        text = "\n".join(blocks[i] for i in needed)
        return text[: limit - len(_CUT_ERROR)].rstrip() + _CUT_ERROR
    return "\n".join(blocks[i] for i in sorted(kept)) + _CUT_ERROR


def _message_blocks(lines: list[str]) -> list[str]:
    """The messages of a plan's stderr: each unindented line with the indented lines after it."""
    blocks: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if blocks and line[:1].isspace():
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return ["\n".join(block) for block in blocks]


_TOP_ERROR = re.compile(r"^\S[^\n]*: error: ", re.MULTILINE)


def final_error(stderr: str, limit: int = FINAL_ERROR_LIMIT) -> str:
    """For a failed plan that printed the plan: the last error (why it exits 1), from its line to
    the end; the findings before it are in the plan (its Guardrails section)."""
    starts = [m.start() for m in _TOP_ERROR.finditer(stderr)]
    return error_excerpt(stderr[starts[-1]:] if starts else stderr, limit)
