"""compile/aws/context.py: an item's tags, made without a sort per item, are ``ctx.tags`` with the
item tag: the same keys, values and order, whatever the system's labels."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.compile.aws.context import ITEM_TAG, AwsContext
from mlops_infra.compile.context import CompileContext
from mlops_infra.graph import GraphBuilder
from tests.compile.aws.cases import CASES, system

_KEYS = st.sampled_from([ITEM_TAG, "managed-by", "mlops-infra/system", "a", "team", "zz", "mlops-infra/j",
                         "mlops-infra/item0", "Mlops", "mlops-infra/environment"]) | st.text(max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, st.text(max_size=8), max_size=6), st.lists(st.text(max_size=12), min_size=1, max_size=4))
def test_item_tags_are_ctx_tags_with_the_item(labels: dict[str, str], addresses: list[str]) -> None:
    _, path, env = next(c for c in CASES if c[2] == "prod")
    base = system(path, env)
    labelled = base.model_copy(update={"metadata": base.metadata.model_copy(update={"labels": labels})})
    ctx = CompileContext(labelled, env, labelled.environments[env], "p", env, GraphBuilder("p", env))
    aws = AwsContext(ctx)
    for address in addresses:
        made, expected = aws.tags(address), ctx.tags(**{ITEM_TAG: address})
        assert list(made.items()) == list(expected.items())
        assert made is not aws.tags(address)  # a new dict each call


def test_the_resources_of_one_item_share_its_tags_object() -> None:
    """Each tagged resource's ``tags`` is its item's one object (memory, issue 14), equal to ``aws.tags``;
    the graph is read, never changed, so sharing it changes no byte (tests/scenarios' goldens)."""
    from mlops_infra.compile import compile_system

    _, path, env = next(c for c in CASES if c[2] == "prod")
    spec = system(path, env)
    graph = compile_system(spec, env)
    by_item: dict[str, list[dict[str, str]]] = {}
    for resource in graph.resources:
        tags = resource.inputs.get("tags") if resource.custom else None
        if isinstance(tags, dict) and tags.get(ITEM_TAG) == resource.address:  # not an image's tag list
            by_item.setdefault(resource.address, []).append(tags)
    # what AwsContext.add tags with (a drift contract object's own tags leave the labels out: another dict)
    expected = {address: AwsContext(CompileContext(spec, env, spec.environments[env], "p", env,
                                                   GraphBuilder("p", env))).tags(address) for address in by_item}
    by_item = {address: [t for t in tags if t == expected[address]] for address, tags in by_item.items()}
    shared = {address: tags for address, tags in by_item.items() if len(tags) > 1}
    assert shared, "no item tags several resources: the case shows nothing"
    for address, tags in shared.items():
        assert all(t is tags[0] for t in tags), address
