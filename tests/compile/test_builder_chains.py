"""The graph builder the compilers add every resource through: each type chain is written once per
distinct chain, and a resource's dependencies are every ref its inputs hold (issue 14, compile speed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import mlops_infra.graph as graph_module
from mlops_infra.graph import GraphBuilder, make_urn, ref, ref_urns


def test_a_type_chain_is_written_once_for_every_parent_with_that_chain(monkeypatch) -> None:
    """Children of the same type under parents of the same chain share one chain, made (and interned)
    once, not once per child; their URNs are the engine's (:func:`make_urn`)."""
    made: list[str] = []
    real = graph_module.intern

    def counting(text: str) -> str:
        made.append(text)
        return real(text)

    monkeypatch.setattr(graph_module, "intern", counting)
    builder = GraphBuilder("proj", "dev")
    parents = [builder.add("mlops:serving:Endpoint", f"ep-{i}", {}, custom=False) for i in range(50)]
    for parent in parents:
        for kind in ("aws:sagemaker/model:Model", "aws:iam/role:Role"):
            builder.add(kind, f"{parent[-5:]}-{kind[-4:]}", {}, parent=parent)
    chains = [text for text in made if not text.startswith("urn:")]
    assert sorted(chains) == ["mlops:serving:Endpoint$aws:iam/role:Role",
                              "mlops:serving:Endpoint$aws:sagemaker/model:Model"]
    assert builder.urn_for("aws:iam/role:Role", "x", parents[7]) == make_urn(
        "dev", "proj", ["mlops:serving:Endpoint", "aws:iam/role:Role"], "x")
    graph = builder.build()
    assert len(graph.resources) == 150
    for resource in graph.resources:
        if resource.parent is not None:
            assert resource.urn == make_urn("dev", "proj", ["mlops:serving:Endpoint", resource.type], resource.name)


_URNS = st.sampled_from(["urn:pulumi:dev::proj::t:m:A::a", "urn:pulumi:dev::proj::t:m:B::b",
                         "urn:pulumi:dev::proj::t:m:T::self"])
_LEAVES = st.none() | st.booleans() | st.integers() | st.text(max_size=4) | st.builds(ref, _URNS, st.sampled_from(["id", "arn"]))
_INPUTS = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.sampled_from(["$ref", "a", "b"]), inner, max_size=3),
                       max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_INPUTS, st.lists(_URNS, max_size=2))
def test_dependencies_are_every_ref_the_inputs_hold(inputs, depends_on) -> None:
    """Whatever the inputs are (a ref itself, a dict, a list, a scalar), the dependencies are the sorted set
    of :func:`ref_urns` of them and ``depends_on``, without the resource itself."""
    builder = GraphBuilder("proj", "dev")
    for kind, name in (("t:m:A", "a"), ("t:m:B", "b")):
        builder.add(kind, name, {})
    urn = builder.add("t:m:T", "self", inputs if isinstance(inputs, dict) else {"v": inputs},
                      refs_in=inputs, depends_on=depends_on)
    expected = tuple(sorted((set(ref_urns(inputs)) | set(depends_on)) - {urn}))
    assert builder.resource(urn).dependencies == expected
