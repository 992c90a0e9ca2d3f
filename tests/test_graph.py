"""graph: the canonical JSON of ``$json`` values and the dependencies of compiled resources."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.graph import (
    GraphBuilder,
    ResourceOptions,
    canonical_json,
    is_ref,
    iter_refs,
    ref,
    ref_urns,
    resolve,
)

_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [1e-5, 1.5e-7, 1e-9, 0.0001, 1e16, 1e-10, 0.1, -2.0, 123456789.125, float("nan"), float("inf")])
_TEXT = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u2028😀\x7f"), max_size=6)
_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | _FLOATS | _TEXT
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                       max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_canonical_json_is_the_standard_librarys_compact_sorted_text(value) -> None:
    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_canonical_json_asks_the_spelling_check_only_of_texts_that_may_need_it(monkeypatch) -> None:
    """``spelled_otherwise`` (two regex searches) is asked only of orjson's text holding DEL, ``e-`` or
    ``.0000``, the literal parts of everything it matches; a text of names and whole numbers is taken as
    orjson wrote it, one with a small float or DEL is still written by the standard library."""
    import mlops_infra.graph as graph_module
    from mlops_infra import jsoncodec

    asked: list[bytes] = []
    monkeypatch.setattr(graph_module, "spelled_otherwise", lambda data: asked.append(data) or jsoncodec.spelled_otherwise(data))
    plain = {"EndpointName": "bench-prod-endpoint-0001", "VariantName": "primary", "period": 60, "x": [1.5, True]}
    assert canonical_json(plain) == json.dumps(plain, sort_keys=True, separators=(",", ":")) and asked == []
    for value in ({"threshold": 1e-05}, {"threshold": 0.00001}, {"name": "a\x7fb"}, {"name": "name-e-1"}):
        asked.clear()
        assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":")) and asked, value
    assert jsoncodec._EXPONENT.pattern.startswith(b"e-") and jsoncodec._SMALL_FIXED.pattern.startswith(rb"\.0000")


@settings(max_examples=300, deadline=None)
@given(st.recursive(_SCALARS | st.builds(ref, st.text(max_size=5), st.sampled_from(["id", "arn"])),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                    max_leaves=20))
def test_ref_urns_finds_what_iter_refs_finds(value) -> None:
    assert sorted(ref_urns(value)) == sorted(r["$ref"] for r in iter_refs(value))


def test_only_the_ref_sentinel_is_a_ref() -> None:
    """``{"$ref": <urn>, "output": <name>}`` is a ref; another object holding ``$ref`` is plain data:
    no dependency, resolved as it is."""
    plain = {"$ref": "urn:x", "other": "y"}
    value = {"a": plain, "b": [ref("urn:r", "arn")]}
    assert not is_ref(plain) and is_ref(ref("urn:r"))
    assert ref_urns(value) == ["urn:r"] and [r["$ref"] for r in iter_refs(value)] == ["urn:r"]
    assert resolve(value, lambda urn, output: f"{urn}.{output}") == {"a": plain, "b": ["urn:r.arn"]}


def test_builder_resources_are_the_dataclass_s_own() -> None:
    """GraphBuilder makes each resource without the dataclass's ``__init__``: every field is set, and
    the object equals (and reprs as) the one ``DesiredResource(...)`` makes from the same fields."""
    from dataclasses import fields

    from mlops_infra.graph import DesiredResource, GraphBuilder, ResourceOptions, make_urn

    builder = GraphBuilder("proj", "dev")
    parent = builder.add("mlops:serving:Endpoint", "scorer", {"modelVersion": 3}, custom=False,
                         address="endpoints.scorer", role="component")
    key = builder.urn_for("aws:kms/key:Key", "key", None)
    assert builder.add("aws:kms/key:Key", "key", {}) == key
    child = builder.add("aws:sagemaker/model:Model", "scorer-model", {"a": [ref(key, "arn"), {"b": ref(parent)}]},
                        parent=parent, depends_on=[parent, key], provider="urn:provider",
                        options=ResourceOptions(protect=True), address="endpoints.scorer", role="model")
    assert child == make_urn("dev", "proj", ["mlops:serving:Endpoint", "aws:sagemaker/model:Model"], "scorer-model")
    assert builder.urn_for("t:m:T", "x", child) == make_urn(
        "dev", "proj", ["mlops:serving:Endpoint", "aws:sagemaker/model:Model", "t:m:T"], "x")
    resources = builder.build().by_urn()
    made = resources[child]
    expected = DesiredResource(urn=child, type="aws:sagemaker/model:Model", name="scorer-model", custom=True,
                               parent=parent, inputs=made.inputs, dependencies=tuple(sorted([parent, key])),
                               provider="urn:provider", options=ResourceOptions(protect=True),
                               address="endpoints.scorer", role="model")
    assert made == expected and repr(made) == repr(expected)
    assert {f.name: getattr(made, f.name) for f in fields(made)} == {f.name: getattr(expected, f.name)
                                                                     for f in fields(expected)}
    component = resources[parent]
    assert component.provider is None and component.dependencies == () and component.options == ResourceOptions()


def test_builder_refuses_unknown_parents_and_duplicate_urns() -> None:
    import pytest

    from mlops_infra.graph import GraphBuilder

    builder = GraphBuilder("proj", "dev")
    builder.add("t:m:T", "a", {})
    with pytest.raises(ValueError, match="duplicate URN"):
        builder.add("t:m:T", "a", {})
    with pytest.raises(ValueError, match="is not in the graph"):
        builder.add("t:m:T", "b", {}, parent="urn:pulumi:dev::proj::t:m:T::missing")
    with pytest.raises(ValueError, match="is not in the graph"):
        builder.add("t:m:T", "b", {}, parent="")
    assert builder.urn_for("t:m:T", "b", "") == builder.urn_for("t:m:T", "b", None) == "urn:pulumi:dev::proj::t:m:T::b"


def test_digest_of_a_graph_of_several_batches_is_the_digest_of_its_json() -> None:
    """The digest hashes resources a batch at a time: across batch ends it is still the SHA-256 of
    the canonical JSON of the whole graph (without modelVersions)."""
    import hashlib

    from mlops_infra.graph import _DIGEST_BATCH, GraphBuilder
    from mlops_infra.jsoncodec import canonical_bytes

    builder = GraphBuilder("proj", "dev")
    first = builder.add("t:m:T", "r0", {"n": 0, "text": "é"})
    for n in range(1, 2 * _DIGEST_BATCH + 1):
        builder.add("t:m:T", f"r{n}", {"n": n, "source": ref(first, "arn"), "weight": n / 7})
    builder.model_versions["endpoints.x"] = {"state": "ready"}
    graph = builder.build()
    data = graph.to_json()
    data.pop("modelVersions")
    assert len(graph.resources) == 2 * _DIGEST_BATCH + 1
    assert graph.digest() == hashlib.sha256(canonical_bytes(data)).hexdigest()


_OPTIONS = st.builds(ResourceOptions, protect=st.booleans(),
                     replace_on_changes=st.lists(st.sampled_from(["a", "b.c"]), max_size=2).map(tuple),
                     delete_before_replace=st.booleans(),
                     ignore_changes=st.lists(st.sampled_from(["tags", "x"]), max_size=2).map(tuple),
                     additional_secret_outputs=st.lists(st.just("s"), max_size=1).map(tuple),
                     retain_on_delete=st.booleans(),
                     aliases=st.lists(st.just("urn:pulumi:s::p::t:m:T::old"), max_size=1).map(tuple))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.none() | st.just(ResourceOptions()) | _OPTIONS, st.booleans(), _VALUES,
                          st.integers(0, 3), st.text(max_size=3), st.booleans()), max_size=8),
       st.integers(1, 4))
def test_digest_rows_give_the_digest_of_to_json(rows, batch) -> None:
    """The digest's own rows (:func:`mlops_infra.graph._json_rows`) hash as ``to_json`` of each
    resource does: with graph.REF_HINTS off (``to_json``), and the SHA-256 of the whole canonical
    JSON; options of every kind (none, equal to the default but another object, set), dependencies
    none, one or several, components, odd inputs (the fallback's too), small batches."""
    import hashlib

    from mlops_infra import graph as graph_module
    from mlops_infra.jsoncodec import canonical_bytes

    builder = GraphBuilder("proj", "dev")
    urns: list[str] = []
    for n, (options, custom, value, deps, address, provider) in enumerate(rows):
        urns.append(builder.add("t:m:T", f"r{n}", {"v": value}, custom=custom, options=options,
                                depends_on=urns[:deps], address=address,
                                provider="urn:pulumi:dev::proj::pulumi:providers:aws::p" if provider else None))
    real_batch, real_hints = graph_module._DIGEST_BATCH, graph_module.REF_HINTS
    graph_module._DIGEST_BATCH = batch
    try:
        fast = builder.build().digest()
        graph_module.REF_HINTS = False
        slow = builder.build().digest()
    finally:
        graph_module._DIGEST_BATCH, graph_module.REF_HINTS = real_batch, real_hints
    data = builder.build().to_json()
    data.pop("modelVersions", None)
    assert fast == slow == hashlib.sha256(canonical_bytes(data)).hexdigest()


def test_builder_keeps_one_string_per_type_chain_and_urn() -> None:
    """Memory (issue 14's 10,000-endpoint plan): the type chains the builder keeps for every resource
    are one string per distinct chain, and each URN is the interned string a state's reader holds too."""
    import sys

    builder = GraphBuilder("p", "s")
    parents = [builder.add("mlops:serving:Endpoint", f"ep-{i}", {}, custom=False) for i in range(3)]
    for parent in parents:
        for j in range(4):
            builder.add("aws:sagemaker/model:Model", f"{parent[-4:]}-m{j}", {}, parent=parent)
    chains = list(builder._chains.values())
    assert len({id(chain) for chain in chains}) == len(set(chains)) == 2
    graph = builder.build()
    assert all(sys.intern(r.urn) is r.urn for r in graph.resources)
