"""Reading a state one resource at a time gives exactly what reading it whole gives.

The whole read (``parse_state`` of text) is the reference: for any state and any layout, the file
read by ``load_state`` (one resource at a time when the layout allows, else whole) and the bytes
read by ``parse_state`` (plain and gzipped) give an equal ``PriorState`` (every resource, the
serial, the errors), and layouts Pulumi writes do take the resource-at-a-time path.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_infra.state import pulumi_state
from mlops_infra.state.pulumi_state import StateError, load_state, parse_state
from mlops_infra.state.resource_texts import SENTINEL, NotSplittable, ResourceTexts
from tests.state.test_pulumi_state import _numeric_twin  # one helper for both files

URN = "urn:pulumi:prod::ml::aws:s3/bucket:Bucket::b{}"

scalars = (st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
           | st.sampled_from(["{", "}", "\n    }", '"resources": [', "]", "\u00e9t\u00e9", "\x7f"]))
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["resources", "a", "}", "{", "\u00fc", "urn", "key"]) | st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)


@st.composite
def resources(draw: st.DrawFn) -> list[dict]:
    out = []
    for index in range(draw(st.integers(0, 5))):
        entry: dict = {"urn": draw(st.sampled_from([URN.format(index), URN.format(0), "urn-1"])),
                       "type": "aws:s3/bucket:Bucket", "custom": draw(st.booleans())}
        for key in ("id", "parent", "provider"):
            if draw(st.booleans()):
                entry[key] = draw(st.sampled_from(["x", URN.format(9), URN.format(9) + "::id", "bad urn"]))
        for key in ("inputs", "outputs", "propertyDependencies", "someFutureField"):
            if draw(st.booleans()):
                entry[key] = draw(st.dictionaries(st.text(max_size=6), values, max_size=4))
        if "inputs" in entry and draw(st.integers(0, 2)) == 0:  # outputs repeating the inputs, or nearly
            entry["outputs"] = draw(st.sampled_from([_copy, _numeric_twin]))(entry["inputs"])
        if draw(st.booleans()):
            entry["dependencies"] = draw(st.lists(st.sampled_from([URN.format(1), URN.format(2)]), max_size=2))
        if draw(st.integers(0, 5)) == 0:
            entry["delete"] = True
        if draw(st.integers(0, 5)) == 0:
            entry["protect"] = True
        out.append(entry)
    return out


def _copy(value: object) -> object:
    return json.loads(json.dumps(value))


@st.composite
def states(draw: st.DrawFn) -> dict:
    deployment: dict = {"manifest": {"time": "2026-11-01T09:00:00Z", "magic": "m", "version": "v3.205.0"}}
    if draw(st.booleans()):
        deployment["secrets_providers"] = {"type": "passphrase", "state": {"salt": "s"}}
    deployment["resources"] = draw(resources())
    if draw(st.integers(0, 3)) == 0:
        deployment["pending_operations"] = [{"resource": {}, "type": "creating"}]
    if draw(st.integers(0, 3)) == 0:
        deployment["metadata"] = draw(values)
    if draw(st.booleans()):
        return {"version": draw(st.sampled_from([3, 4])), "deployment": deployment}
    return {"version": 3, "checkpoint": {"stack": "organization/ml/prod", "config": {}, "latest": deployment}}


LAYOUTS = {
    "indent 4 (pulumi)": lambda doc: json.dumps(doc, indent=4, ensure_ascii=False),
    "indent 2": lambda doc: json.dumps(doc, indent=2),
    "tabs": lambda doc: json.dumps(doc, indent="\t", ensure_ascii=False),
    "crlf": lambda doc: json.dumps(doc, indent=4).replace("\n", "\r\n"),
    "compact": lambda doc: json.dumps(doc),
    "compact (pulumi >= 3.238)": lambda doc: json.dumps(doc, separators=(",", ":"), ensure_ascii=False),
    "bom": lambda doc: "\ufeff" + json.dumps(doc, indent=4),
}


def whole(text: str, source: str) -> PriorStateOrError:
    """The reference: the state read whole (text takes that path), or its error."""
    try:
        return parse_state(text, source)
    except StateError as err:
        return (err.summary, err.detail)


PriorStateOrError = object


def by_path(path: Path) -> PriorStateOrError:
    try:
        return load_state(path)
    except StateError as err:
        return (err.summary, err.detail)


def by_bytes(data: bytes, source: str) -> PriorStateOrError:
    try:
        return parse_state(data, source)
    except StateError as err:
        return (err.summary, err.detail)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=states(), layout=st.sampled_from(sorted(LAYOUTS)))
def test_read_by_resource_equals_the_whole_read(doc: dict, layout: str, tmp_path: Path) -> None:
    text = LAYOUTS[layout](doc)
    path = tmp_path / "state.json"
    path.write_bytes(text.encode())
    reference = whole(text, str(path))

    assert by_path(path) == reference
    assert by_bytes(text.encode(), str(path)) == reference
    assert by_bytes(gzip.compress(text.encode()), str(path)) == reference
    if not isinstance(reference, tuple):  # the serial is the SHA-256 of the canonical deployment
        deployment = doc.get("deployment") or doc["checkpoint"]["latest"]
        canonical = json.dumps(deployment, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        if b"\x7f" not in canonical and all(not isinstance(v, float) for v in _leaves(deployment)):
            assert reference.serial == hashlib.sha256(canonical).hexdigest()


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def read_by_resource(text: str) -> object:
    return pulumi_state._read_by_resource(io.BytesIO(text.encode()), "s.json")


def test_the_layouts_pulumi_writes_are_read_one_resource_at_a_time(shared_dir: Path) -> None:
    fixtures = sorted((shared_dir / "fixtures" / "pulumi").glob("*.json"))
    taken = [f.name for f in fixtures if pulumi_state._read_by_resource(io.BytesIO(f.read_bytes()), f.name)]

    assert {"pulumi_checkpoint-v3.json", "stratify_sample-export.json"} <= set(taken)
    for path in fixtures:
        assert by_path(path) == whole(path.read_bytes().decode("utf-8", "replace"), str(path)), path.name


def deployment_text(resources_text: str, after: str = "") -> str:
    return ('{\n    "version": 3,\n    "deployment": {\n        "manifest": {},\n        "resources": [\n'
            f'{resources_text}\n        ]{after}\n    }}\n}}\n')


GOOD = '            {\n                "urn": "urn:pulumi:p::ml::t:m:T::a",\n                "type": "t:m:T"\n            }'


@pytest.mark.parametrize(("label", "text", "taken"), [
    ("pulumi's layout", deployment_text(GOOD + ",\n" + GOOD.replace("::a", "::b")), True),
    ("an element closing at its own indentation inside it",
     deployment_text('            {\n                "urn": "urn:pulumi:p::ml::t:m:T::a", "inputs": {\n'
                     '            },\n                "type": "t:m:T"\n            }'), False),
    ("two elements on one line", deployment_text('            {"urn": "u", "type": "t"}, {"urn": "v", "type": "t"}'),
     False),
    ("an element that is not an object", deployment_text(GOOD + ",\n            7"), False),
    ("the sentinel in the document", deployment_text(GOOD, f',\n        "x": "{SENTINEL.decode()}"'), False),
    ("pending operations closing at the same indentation",
     deployment_text(GOOD, ',\n        "pending_operations": [\n            {"type": "creating"}\n        ]'), False),
    ("a nested resources array first",
     deployment_text(GOOD).replace('"manifest": {}', '"manifest": {\n        "resources": [\n        ]\n        }'),
     False),
    ("compact, as Pulumi >= 3.238 writes it",
     json.dumps({"version": 3, "deployment": {"resources": [{"urn": "u", "type": "t"}]}}, separators=(",", ":")), True),
    ("compact with Python's spaces (one run: no element is cut)",
     json.dumps({"version": 3, "deployment": {"resources": [{"urn": "u", "type": "t"}]}}), True),
    ("compact, an element that is not an object",
     json.dumps({"version": 3, "deployment": {"resources": [{"urn": "u", "type": "t"}, 7]}}, separators=(",", ":")),
     False),
])
def test_what_is_not_pulumis_layout_is_read_whole_with_the_same_result(label: str, text: str, taken: bool) -> None:
    assert (read_by_resource(text) is not None) is taken, label
    assert by_bytes(text.encode(), "s.json") == whole(text, "s.json")


def test_a_damaged_resource_gives_the_whole_reads_error(tmp_path: Path) -> None:
    text = deployment_text(GOOD + ",\n" + GOOD.replace('"type": "t:m:T"', '"type": 7'))
    path = tmp_path / "s.json"
    path.write_text(text)

    with pytest.raises(StateError) as info:
        load_state(path)

    assert (info.value.summary, info.value.detail) == whole(text, str(path))


def test_texts_are_cut_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlops_infra.state.resource_texts.BLOCK", 7)
    doc = {"version": 3, "deployment": {"resources": [{"urn": URN.format(i), "type": "t", "inputs": {"v": "x" * i}}
                                                      for i in range(40)]}}
    text = json.dumps(doc, indent=4)
    texts = ResourceTexts(io.BytesIO(text.encode()).read, 1 << 20)

    assert [json.loads(t) for t in texts] == doc["deployment"]["resources"]
    assert json.loads(texts.head + b'"x"' + texts.tail) == {"version": 3, "deployment": {"resources": "x"}}
    with pytest.raises(NotSplittable):
        list(ResourceTexts(io.BytesIO(text.encode()).read, 100))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=states(), group=st.sampled_from([1, 40, 300]))
def test_resources_parsed_in_groups_equal_the_whole_read(doc: dict, group: int, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of a few resources (cut past ``group`` bytes, parsed as one list) and blocks smaller
    than a resource give what the whole read gives."""
    monkeypatch.setattr("mlops_infra.state.pulumi_state.GROUP_BYTES", group)
    monkeypatch.setattr("mlops_infra.state.resource_texts.BLOCK", 64)
    text = LAYOUTS["indent 4 (pulumi)"](doc)
    path = tmp_path / "state.json"
    path.write_bytes(text.encode())

    assert by_path(path) == whole(text, str(path))


def test_groups_are_runs_of_whole_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs of whole elements, a few per text; one each within ``size`` of the document's end."""
    monkeypatch.setattr("mlops_infra.state.resource_texts.BLOCK", 7)
    doc = {"version": 3, "deployment": {"resources": [{"urn": URN.format(i), "type": "t", "inputs": {"v": "x" * i}}
                                                      for i in range(40)]}}
    text = json.dumps(doc, indent=4)
    for size in (0, 1, 400, 1000, 1 << 20):
        texts = ResourceTexts(io.BytesIO(text.encode()).read, 1 << 20)
        groups = list(texts.groups(size))
        assert [r for g in groups for r in json.loads(b"[" + g + b"]")] == doc["deployment"]["resources"]
        assert len(groups) == {0: 40, 1: 40, 400: len(groups), 1000: len(groups), 1 << 20: 40}[size]
        assert size not in (400, 1000) or 1 < len(groups) < 40
        assert json.loads(texts.head + b'"x"' + texts.tail) == {"version": 3, "deployment": {"resources": "x"}}



@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=states(), size=st.sampled_from([0, 1, 40, 300, 1 << 20]), block=st.sampled_from([7, 64, 4096]))
def test_groups_with_brackets_are_the_groups_between_brackets(doc: dict, size: int, block: int,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``groups(size, brackets=True)`` yields ``b"[" + text + b"]"`` of each text of ``groups(size)``
    (what the state read parses), and finds the same head and tail, across blocks of every size."""
    monkeypatch.setattr("mlops_infra.state.resource_texts.BLOCK", block)
    data = LAYOUTS["indent 4 (pulumi)"](doc).encode()
    plain, bracketed = (ResourceTexts(io.BytesIO(data).read, 1 << 20) for _ in range(2))
    try:
        expected = [b"[" + text + b"]" for text in plain.groups(size)]
    except NotSplittable:
        with pytest.raises(NotSplittable):
            list(bracketed.groups(size, brackets=True))
        return
    found = list(bracketed.groups(size, brackets=True))
    assert found == expected and all(type(text) is bytes for text in found)
    assert (bracketed.head, bracketed.tail) == (plain.head, plain.tail)

urn_texts = st.lists(st.sampled_from(["urn:pulumi:", "a", ":", "::", "b", "$", "t:m:T", "urn-1", ""]), max_size=9).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(urn_texts | st.sampled_from([URN.format(1), "urn:pulumi:prod::ml::", "urn:pulumi:prod::ml::::x",
                                              "urn:pulumi:prod::ml:::t::x", "urn:pulumi:a:::b::t::n"]), max_size=8))
def test_urn_shapes_agree_with_parse_urn(urns: list[str]) -> None:
    shapes = pulumi_state._UrnShapes()
    for urn in urns:
        parts = pulumi_state.parse_urn(urn)
        assert shapes.parts_key(urn) == (None if parts is None else (parts.project, parts.stack)), urn


@settings(max_examples=300, deadline=None)
@given(resources(), st.lists(st.sampled_from([None, 7, "", [], {}, [7], "x", True]), min_size=10, max_size=10),
       st.booleans())
def test_the_resource_fast_path_reads_what_the_checked_path_reads(entries: list[dict], odd: list, packed: bool) -> None:
    """The reader's fast path gives :func:`_parse_resource`'s resource (its fields and its inputs and
    outputs as JSON, types included) and :func:`_malformed_urns`' malformed URNs, or None and no
    malformed URN (then the checked path gives the error, and ``malformed_urns`` the URNs), also for
    fields of the wrong JSON type, whether it keeps inputs and outputs packed or as read."""
    fields = ["urn", "type", "custom", "id", "parent", "provider", "inputs", "outputs", "dependencies", "protect"]
    reader = pulumi_state._ResourceReader(packed)
    for index, entry in enumerate(entries):
        if index % 2:
            entry = {**entry, fields[index % len(fields)]: odd[index % len(odd)]}
        found: list[str] = []
        fast = reader.resource(entry, index, found)
        try:
            checked = pulumi_state._parse_resource(entry, index, "s.json")
        except StateError:
            assert fast is None
        else:
            assert fast is None or (fast == checked and _as_json(fast) == _as_json(checked))
        expected = pulumi_state._malformed_urns(entry, index)
        if fast is None:
            assert found == [] and reader.malformed_urns(entry, index) == expected
        else:
            assert found == expected


def _as_json(resource: object) -> str:
    """A resource's fields as JSON text: equal values of other JSON types (``1``, ``1.0``, ``true``) differ."""
    return json.dumps(dataclasses.asdict(resource))


def test_urns_named_again_are_the_same_string_objects() -> None:
    provider = "urn:pulumi:prod::ml::pulumi:providers:aws::default"
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": provider, "type": "pulumi:providers:aws", "custom": True, "id": "p1"},
        {"urn": URN.format(1), "type": "t", "custom": True, "provider": provider + "::p1"},
        {"urn": URN.format(2), "type": "t", "custom": True, "parent": URN.format(1), "provider": provider + "::p1",
         "dependencies": [URN.format(1)]}]}}
    prior = parse_state(json.dumps(doc, indent=4).encode(), "s.json")
    first, second = prior.resources[URN.format(1)], prior.resources[URN.format(2)]

    assert second.parent is first.urn and second.dependencies[0] is first.urn
    assert first.provider is second.provider is prior.resources[provider].urn
