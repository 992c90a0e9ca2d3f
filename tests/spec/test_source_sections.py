"""A diagnostic's file:line from its piece of the document, without composing the whole text.

``LoadedDocument.locate`` composes the top-level section (or the sequence item) holding the path
(mlops_infra/spec/source_sections.py); these tests hold it to the answer of the whole-text compose
for every node of every shipped document and of documents written in other YAML styles, and show
that a warning on one cluster of a large document composes only that cluster.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.spec import loader, source_sections
from mlops_infra.spec.loader import LoadedDocument, parse_document
from tests.support.benchmarks import benchmark_module
from tests.support.shared_files import REFERENCE

ROOT = Path(__file__).resolve().parents[2]



def _generated(endpoints: int) -> str:
    return benchmark_module("bench_validate").generate(endpoints)


STYLES = {
    "compact-sequences-and-comments": """\
apiVersion: mlops-infra/v1
kind: MLSystem
# a comment at column 0
metadata:
  name: x
clusters:
- name: a
  nodes: {min: 0, max: 2}
# between items, at column 0
- name: b
  accelerator:
    type: A10G
    count: 1

endpoints:
  - name: e1
    model: m
  -   name: e2
      model: m
  - - nested
    - list
""",
    "leading-document-marker-quoted-keys-and-block-scalars": """\
---
"apiVersion": mlops-infra/v1
'kind': MLSystem
metadata:
  name: x
  description: |
    several lines
      kept as written
notes: >-
  folded
  text
empty:
clusters: []
""",
    "flow-mapping-over-lines": """\
apiVersion: mlops-infra/v1
metadata: {name: x,
  labels: {a: b}}
endpoints: [
  {name: e1, model: m},
  {name: e2, model: m}]
""",
    "multi-line-quoted-scalar": """\
apiVersion: mlops-infra/v1
metadata:
  name: x
  text: "first line
    second line"
endpoints:
  - name: "e1"
    model: m
""",
    "core-words-and-numbers-as-keys": """\
apiVersion: mlops-infra/v1
null: 1
1_000: a
true: b
metadata:
  name: x
""",
}

UNCUT = {
    "anchor": "a: &x 1\nb: *x\n",
    "crlf": "a: 1\r\nb: 2\r\n",
    "bom": "\ufeffa: 1\n",
    "directive": "%YAML 1.2\n---\na: 1\n",
    "second-marker": "a: 1\n---\nb: 2\n",
    "root-sequence": "- a\n- b\n",
    "flow-root": "{a: 1,\nb: 2}\n",
    "complex-key": "? a\n: 1\n",
    "only-comments": "# nothing\n",
}


def _documents() -> list[tuple[str, str]]:
    docs = [(str(p.relative_to(ROOT)), p.read_text()) for p in sorted((ROOT / "examples").glob("*/mlsystem.yaml"))]
    if REFERENCE.exists():
        docs.append(("reference", REFERENCE.read_text()))
    docs.append(("generated-12-endpoints", _generated(12)))
    return docs + sorted(STYLES.items())


def _fresh(doc: LoadedDocument) -> LoadedDocument:
    """``doc`` as :func:`parse_document` made it, nothing composed yet."""
    fresh = LoadedDocument(doc.name, doc.text, doc.data)
    fresh._pieces = loader._PieceIndex(doc.text, [str(key) for key in doc.data])
    return fresh


def _all_paths(text: str) -> list[tuple]:
    paths = list(loader._compose_positions(text))
    # paths that are not written (a missing field, an index past the end): their nearest ancestor
    extra = [(*p, "not-written") for p in paths if p and p[-1] != "[key]"]
    extra += [(*p, 10_000) for p in paths if p and p[-1] != "[key]"]
    return paths + extra + [("no-such-section",), ("no-such-section", 0, "x")]


@pytest.mark.parametrize("name,text", _documents(), ids=[n for n, _ in _documents()])
def test_every_path_is_located_where_the_whole_text_compose_puts_it(name: str, text: str) -> None:
    doc, diagnostics = parse_document(text, name)
    assert doc is not None, diagnostics
    whole = LoadedDocument(doc.name, doc.text, doc.data)
    assert whole.positions  # composed whole first: locate() answers from it
    paths = _all_paths(text)
    wrong = []
    for path in paths:
        scoped = _fresh(doc)
        if scoped.locate(path) != whole.locate(path):
            wrong.append((path, scoped.locate(path), whole.locate(path)))
    assert not wrong, wrong[:5]
    assert len(paths) > 10
    answered = {p for p in paths if _fresh(doc)._piece_index().positions_for(p) is not None}
    if name == "core-words-and-numbers-as-keys":  # `null:`, `1_000:`, `true:` are not read from the line
        assert ("metadata", "name") in answered and not answered & {("None",), ("1000",), ("True",)}
    else:
        assert len(answered) > len(paths) / 2  # the pieces answered, not the whole-text fallback


@pytest.mark.parametrize("name", sorted(STYLES))
def test_the_styles_are_cut_into_sections(name: str) -> None:
    """The handwritten styles are cut (so the test above checks the pieces, not the fallback)."""
    assert source_sections.cut(STYLES[name]) is not None


@pytest.mark.parametrize("name", sorted(UNCUT))
def test_texts_a_piece_could_read_differently_are_not_cut(name: str) -> None:
    assert source_sections.cut(UNCUT[name]) is None


def test_a_section_that_is_not_a_sequence_has_no_items() -> None:
    sections = source_sections.cut(STYLES["compact-sequences-and-comments"])
    keys = [sections.lines[p.start].split(":")[0] for p in sections.sections]
    assert keys == ["apiVersion", "kind", "metadata", "clusters", "endpoints"]
    assert sections.items(keys.index("metadata")) is None
    clusters = sections.items(keys.index("clusters"))
    assert [sections.lines[p.start] for p in clusters] == ["- name: a", "- name: b"]
    endpoints = sections.items(keys.index("endpoints"))
    assert [sections.lines[p.start] for p in endpoints] == ["  - name: e1", "  -   name: e2", "  - - nested"]


def test_a_cut_that_is_not_the_documents_sections_is_not_used() -> None:
    """yaml-rs refuses a quoted scalar or a flow collection continued at column 0 (so a parsed
    document is never cut inside one), but libyaml reads ``a: "x\nb: 1"`` as one key: were the
    cut used, ``b`` would be located on line 2. Its sections do not match the parsed keys (one, ``a``),
    so the whole text answers, as it does for a document whose keys are not known."""
    text = 'a: "x\nb: 1"\nc: 2\n'
    assert len(source_sections.cut(text).sections) == 3
    index = loader._PieceIndex(text, ["a", "c"])
    assert index.positions_for(("b",)) is None and index.positions_for(("c",)) is None
    assert loader._PieceIndex(text, None).positions_for(("c",)) is None
    doc = LoadedDocument("f.yaml", text, {"a": "x b: 1", "c": 2})
    doc._pieces = index
    assert (doc.locate(("b",)).line, doc.locate(("c",)).line) == (1, 3)


def test_a_key_line_must_name_the_key_parsed_at_its_place() -> None:
    index = loader._PieceIndex("a: 1\nb: 2\n", ["a", "z"])
    assert index.positions_for(("a",)) is None


def test_a_warning_on_one_cluster_composes_that_cluster_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """A path into a cluster's nested mapping: its piece (that cluster) is composed, nothing more."""
    text = _generated(200)
    doc, _ = parse_document(text, "big.yaml")
    composed: list[int] = []
    real = loader._compose_root
    monkeypatch.setattr(loader, "_compose_root", lambda t: composed.append(len(t)) or real(t))
    location = doc.locate(("clusters", 0, "nodes", "max"))
    assert composed and max(composed) < len(text) / 100, composed
    whole = LoadedDocument(doc.name, text, doc.data)
    assert location == whole.locate(("clusters", 0, "nodes", "max"))
    assert whole.source_line(location.line).strip().startswith("max:")


def test_a_warning_on_a_plain_value_of_one_cluster_composes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key of a cluster's entry with a plain value on its line: located from the lines
    (:func:`source_sections.entry_value_at`), nothing composed, PyYAML not needed; the whole-text answer."""
    text = _generated(200)
    doc, _ = parse_document(text, "big.yaml")
    composed: list[int] = []
    real = loader._compose_root
    monkeypatch.setattr(loader, "_compose_root", lambda t: composed.append(len(t)) or real(t))
    location = doc.locate(("clusters", 0, "max_hourly_cost_usd"))
    assert not composed, composed
    whole = LoadedDocument(doc.name, text, doc.data)
    assert location == whole.locate(("clusters", 0, "max_hourly_cost_usd"))
    assert whole.source_line(location.line).strip().startswith("max_hourly_cost_usd:")


def test_an_environment_document_shares_what_was_composed() -> None:
    """``with_data`` (an environment's effective document) reuses the pieces already composed."""
    text = _generated(12)
    doc, _ = parse_document(text, "g.yaml")
    doc.locate(("clusters", 0))
    effective = doc.with_data(doc.data, {})
    assert effective._pieces is doc._pieces


def test_pieces_answer_alike_whichever_path_is_located_first_when_the_whole_text_does_not_compose() -> None:
    """yaml-rs reads a tab after a sequence dash, libyaml refuses it (closing-35a-2): the whole text does not
    compose, so each path's location comes from its piece, the same whether or not a path in the refused
    item (which falls back to the whole text, and gets 1:1) was located before it."""
    text = "a: 1\nb:\n  - x: 1\n  -\tx: 2\nc: 3\n"
    doc, diagnostics = parse_document(text, "tab.yaml")
    assert doc is not None, diagnostics
    assert loader._compose_root(text) is None
    alone = _fresh(doc).locate(("c",))
    after = _fresh(doc)
    assert after.locate(("b", 1, "x")).line == 1  # its piece does not compose either
    assert (alone.line, alone.column) == (after.locate(("c",)).line, after.locate(("c",)).column) == (5, 4)
    assert after.locate(("b", 0, "x")).line == 3


def test_a_document_that_forgot_its_lines_answers_alike() -> None:
    """``forget_lines`` drops the line list, the cut and composed pieces and the whole text's
    positions (memory while ``plan --state`` reads the state and compiles); each is made again from the
    text when asked, with the same answers, and the pieces still answer (the parsed keys are kept)."""
    text = _generated(12)
    doc, _ = parse_document(text, "g.yaml")
    paths = [("clusters", 0, "max_hourly_cost_usd"), ("endpoints", 3, "model"), ("metadata", "name")]
    before = [doc.locate(p) for p in paths]
    lines = [doc.source_line(where.line) for where in before]
    assert doc.positions and doc._lines is not None and doc._pieces._sections
    doc.forget_lines()
    assert doc._lines is None and doc._positions is None and doc._pieces._sections is None
    assert doc._piece_index().positions_for(paths[1]) is not None  # the cut, not the whole-text fallback
    assert [doc.locate(p) for p in paths] == before
    assert [doc.source_line(where.line) for where in before] == lines
