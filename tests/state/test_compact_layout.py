"""A compact state (the file backend's layout since Pulumi 3.238) is read a few resources at a time.

pulumi/pulumi 50c8b16e ("diy: Minify json state files", v3.238.0): ``pkg/backend/diy/state.go``
``saveCheckpoint`` marshals ``.json`` stack files with ``compactJSONMarshaler`` (``json.Encoder``,
no indentation, ``bytes.TrimSpace``), gzipped or not. Until 2026-12-06 ``resource_texts`` cut only the
indented layout, so a state written by current Pulumi was read whole. Here the whole read
(``pulumi_state.parse_json_document``) is made to fail where a test says the state is streamed.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from mlops_infra.state import pulumi_state, resource_texts
from mlops_infra.state.pulumi_state import load_state, parse_state
from mlops_infra.state.resource_texts import ResourceTexts
from tests.state.test_gzip_streaming import benchmark_checkpoint

REPO = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:prod::ml::aws:s3/bucket:Bucket::b{}"


def go_compact(doc: object) -> bytes:
    """``doc`` as Go's ``json.Encoder`` writes it without indentation (``SetEscapeHTML(false)``,
    UTF-8 kept), trimmed as ``compactJSONMarshaler`` trims it."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.fixture(scope="module")
def checkpoint() -> dict:
    """The applied checkpoint of the 4-endpoint benchmark system (74 resources)."""
    return benchmark_checkpoint()


@pytest.fixture
def no_whole_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def whole(data: object, source: str) -> object:
        raise AssertionError("the state was read whole")

    monkeypatch.setattr(pulumi_state, "parse_json_document", whole)


@pytest.fixture
def every_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    """One resource a run and blocks of 1 KiB: every element boundary is cut, across blocks."""
    monkeypatch.setattr(pulumi_state, "GROUP_BYTES", 1)
    monkeypatch.setattr(resource_texts, "BLOCK", 1 << 10)


def same_state(one: pulumi_state.PriorState, other: pulumi_state.PriorState) -> bool:
    return dataclasses.replace(one, source=other.source) == other


def whole(text: bytes) -> pulumi_state.PriorState:
    """The reference: the text read whole."""
    return parse_state(text.decode(), "s.json")


@pytest.mark.usefixtures("every_cut")
def test_a_compact_state_is_streamed_and_reads_as_the_indented_one(checkpoint: dict, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    indented = (json.dumps(checkpoint, indent=4) + "\n").encode()
    reference = parse_state(indented, "s.json")
    compact = go_compact(checkpoint)
    path = tmp_path / "dev.json"
    path.write_bytes(compact)

    monkeypatch.setattr(pulumi_state, "parse_json_document", lambda *a: pytest.fail("read whole"))
    assert len(reference.resources) > 50
    assert same_state(load_state(path), reference)  # every resource and the serial: the same plan
    assert same_state(parse_state(compact, "s3://b/dev.json"), reference)


def resource(index: int, **fields: object) -> dict:
    return {"urn": URN.format(index), "custom": True, "type": "aws:s3/bucket:Bucket", **fields}


ADVERSARIAL = {
    "the cut's bytes inside strings": [
        resource(0, inputs={"bucket": '},{"urn":"urn:pulumi:prod::ml::x::y"}', "tags": {'},{"urn":': "}]"}}),
        resource(1, outputs={"note": '"},{"urn":"', "list": ["}]", '{"urn":'], "}]": "},{"}),
    ],
    "an escaped quote before the cut's bytes": [resource(0, inputs={"a": '\\"},{"urn":'}), resource(1)],
    "a string ending in a brace before a key": [resource(0, inputs={"a": "{", "urn": "{"}), resource(1)],
}


@pytest.mark.usefixtures("every_cut", "no_whole_read")
@pytest.mark.parametrize("label", sorted(ADVERSARIAL))
def test_cut_bytes_inside_strings_are_not_cuts(label: str) -> None:
    doc = {"version": 3, "deployment": {"manifest": {}, "resources": ADVERSARIAL[label] + [resource(7)]}}
    text = go_compact(doc)
    streamed = pulumi_state._read_by_resource(io.BytesIO(text), "s.json")
    assert streamed is not None, label
    assert [r.urn for r in streamed.resources.values()] == [URN.format(i) for i in (0, 1, 7)]
    assert streamed.resources[URN.format(0)].inputs == doc["deployment"]["resources"][0].get("inputs", {})


@pytest.mark.usefixtures("every_cut")
def test_a_nested_object_that_looks_like_a_resource_gives_the_whole_reads_result() -> None:
    """Objects in a list whose first key is "urn" (a stack output of resource references, say) join
    with the cut's bytes: the text cut there does not parse, and the state is read whole, with the
    same result."""
    refs = [{"urn": URN.format(8), "id": "x"}, {"urn": URN.format(9), "id": "y"}]
    doc = {"version": 3, "deployment": {"manifest": {}, "resources": [
        resource(0, outputs={"refs": refs}), resource(1, inputs={"refs": refs, "more": [{"urn": "u"}, {"urn": "v"}]}),
    ]}}
    text = go_compact(doc)
    assert text.count(b'},{"urn":') == 4  # one between the resources
    reference = whole(text)
    assert same_state(parse_state(text, "s.json"), reference)
    assert reference.resources[URN.format(0)].outputs == {"refs": refs}


@pytest.mark.parametrize("after", [
    {},
    {"pending_operations": [{"resource": resource(5), "type": "creating"}]},
    {"metadata": {"integrity_error": "x]", "list": [[1], {"a": [2]}]}},
    {"pending_operations": [{"resource": {"urn": "u]"}, "type": "updating"}], "metadata": {"a": ["}]"]}},
])
def test_the_array_end_is_found_before_any_tail(after: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """What follows the resources (``DeploymentV3``: pending_operations, metadata, ...) may hold
    ``]`` and ``}]``: the end is the one with which the elements and the tail parse."""
    monkeypatch.setattr(resource_texts, "BLOCK", 256)  # the head in the first block, the tail not in it
    doc = {"version": 3, "checkpoint": {"stack": "prod", "latest": {
        "manifest": {"time": "t"}, "resources": [resource(0), resource(1, inputs={"x": [{"y": 1}]})], **after}}}
    text = go_compact(doc)
    texts = ResourceTexts(io.BytesIO(text).read, 1 << 20)
    found = [json.loads(group) for group in texts.groups(0, brackets=True)]
    assert [r for group in found for r in group] == doc["checkpoint"]["latest"]["resources"]
    array = b'"resources":' + go_compact(doc["checkpoint"]["latest"]["resources"])
    assert texts.tail == text[text.index(array) + len(array):]
    assert same_state(parse_state(text, "s.json"), whole(text))
    streamed = pulumi_state._read_by_resource(io.BytesIO(text), "s.json")
    assert streamed is not None
    assert streamed.pending_operations == len(after.get("pending_operations", ()))


@pytest.mark.usefixtures("every_cut")
def test_an_empty_compact_state_streams() -> None:
    text = go_compact({"version": 3, "checkpoint": {"stack": "prod", "latest": {"manifest": {}, "resources": []}}})
    streamed = pulumi_state._read_by_resource(io.BytesIO(text), "s.json")
    assert streamed is not None
    assert same_state(streamed, whole(text))
