"""Pipes in code spans (audit prcomment item 4): ``\\|`` is a GFM table-cell rule. In a table cell a
row is split at unescaped pipes before inlines are read and ``\\|`` gives ``|`` back, inside code
spans too (GFM spec 4.10 "Tables (extension)", https://github.github.com/gfm/#tables-extension-);
anywhere else a code span shows every backslash (GFM spec 6.3 "Code spans",
https://github.github.com/gfm/#code-spans). markdown-it-py with its table rule follows both."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from mlops_infra.plan.model import CostEstimate, CostLine, CostRange
from mlops_infra.render.markdown import code_span, render_markdown

from .sample_plans import changes_plan, huge_plan

GFM = MarkdownIt("commonmark").enable("table")
COMMAND = "mlops-infra plan 'systems/a|b/mlsystem.yaml' --env staging --format text"


def codes(html: str) -> list[str]:
    return re.findall(r"<code>(.*?)</code>", html)


def test_a_code_span_escapes_pipes_only_in_a_table_cell() -> None:
    assert code_span("a|b") == "`a|b`"
    assert code_span("a|b", in_table=True) == "`a\\|b`"
    assert codes(GFM.render(f"x {code_span('a|b')} y\n")) == ["a|b"]
    table = f"| h |\n|---|\n| {code_span('a|b', in_table=True)} |\n"
    assert codes(GFM.render(table)) == ["a|b"]


def test_the_cut_note_quotes_a_command_with_a_pipe_as_written() -> None:
    text = render_markdown(huge_plan(items=60), max_chars=20000, command=COMMAND)
    assert "were left out" in text  # the cut note, outside any table
    html = GFM.render(text)
    assert COMMAND in codes(html)
    assert "a\\|b" not in html


def test_a_pipe_in_a_table_cell_stays_in_its_cell() -> None:
    cost = CostEstimate(before=CostRange(1.0, 1.0), after=CostRange(2.0, 2.0),
                        lines=(CostLine("endpoints.a|b", "1 replica", 1.0, 2.0),), sources=())
    tokens = GFM.parse(render_markdown(changes_plan(cost=cost)))
    cells: list[list[str]] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close":
            cells.append(row)
            row = None
    [address_row] = [r for r in cells if r and "endpoints.a" in r[0]]
    assert len(address_row) == 5  # ML item, basis, before, after, change: the pipe split nothing
    html = GFM.render(render_markdown(changes_plan(cost=cost)))
    assert "endpoints.a|b" in codes(html)
