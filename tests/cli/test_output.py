"""cli/output.write_stdout: the bytes ``typer.echo`` would write, for text and for a JSON plan's bytes."""

from __future__ import annotations

import io
import sys

import pytest
import typer

from mlops_infra.cli.output import write_stdout

PLAN = b'{\n  "changes": [],\n  "note": "caf\\u00e9 \\u001b"\n}\n'  # ASCII JSON, as render_json_bytes writes


def _written(monkeypatch: pytest.MonkeyPatch, encoding: str, write) -> bytes:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="\n", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    write()
    stream.flush()
    return raw.getvalue()


TEXTS = [PLAN.decode(), "plain text\n", "caf\u00e9\n", "\x1b[1mbold\x1b[0m\n"]


@pytest.mark.parametrize(("encoding", "text"), [(e, t) for e in ("utf-8", "ascii", "utf-16", "cp1252") for t in TEXTS
                                                if t.isascii() or e != "ascii"])  # echo cannot write é in ASCII
def test_text_is_written_as_echo_writes_it(monkeypatch: pytest.MonkeyPatch, encoding: str, text: str) -> None:
    assert _written(monkeypatch, encoding, lambda: write_stdout(text)) == \
        _written(monkeypatch, encoding, lambda: typer.echo(text, nl=False))


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "utf-16", "cp1252"])
def test_a_plans_bytes_are_written_as_echo_writes_their_text(monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    assert _written(monkeypatch, encoding, lambda: write_stdout(PLAN)) == \
        _written(monkeypatch, encoding, lambda: typer.echo(PLAN.decode(), nl=False))
