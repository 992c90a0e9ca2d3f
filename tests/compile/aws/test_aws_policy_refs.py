"""A role policy's dependencies are read from the policy's compact JSON text (``iam._text_ref_urns``, the text
``iam.fits`` writes anyway), not found by searching its statements: the same URNs, and a search whenever the
text holds a ``"$ref"`` the reading does not take as a ref. tests/compile/test_ref_hints.py compares every
compiled graph's dependencies with those of searching every input."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.compile.aws import iam
from mlops_infra.graph import ref, ref_urns

_URNS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_STATEMENT = st.fixed_dictionaries({
    "Sid": st.text(max_size=5), "Effect": st.just("Allow"), "Action": st.lists(st.text(max_size=5), max_size=2),
    "Resource": st.lists(st.text(max_size=8) | st.builds(ref, _URNS, st.sampled_from(["arn", "id", "name"])),
                         max_size=4),
}, optional={"Condition": st.dictionaries(st.text(max_size=4), st.dictionaries(
    st.text(max_size=4), st.text(max_size=6) | st.builds(ref, _URNS, st.just("arn")), max_size=2), max_size=2)})


def _read(document) -> list[str] | None:
    text = orjson.dumps(document)
    return iam._text_ref_urns(text, text.count(b'"$ref"'))


@settings(max_examples=300, deadline=None)
@given(st.lists(_STATEMENT, max_size=5))
def test_the_text_gives_the_refs_a_search_finds_or_none(statements) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    found = _read(document)
    text = orjson.dumps(document)
    if found is not None:
        assert sorted(found) == sorted(ref_urns(document))
    else:  # left to the search: an escaped character (quote, backslash, control character), or a "$ref" text
        assert b"\\" in text or text.count(b'"$ref"') != len(ref_urns(document))


def test_a_ref_the_reading_does_not_take_leaves_the_policy_to_the_search() -> None:
    """Objects and texts holding ``$ref`` that are not refs as ``graph.ref`` writes them: None, so the
    statements are searched (a ref with its keys the other way round is still a ref there)."""
    urn = "urn:pulumi:prod::sys::mlops:serving:Endpoint$aws:iam/role:Role::scorer-serving"
    plain = [ref(urn, "arn")]
    assert _read({"Resource": plain}) == [urn]
    for odd in ({"output": "arn", "$ref": urn}, {"$ref": urn, "output": "arn", "more": 1}, "$ref", {"$ref": 3, "output": "arn"},
                ref('urn:with"quote', "arn"), ref("urn:x", "arn\\"), {"$ref": "a", "output": "b\\", "c": 1}):
        assert _read({"Resource": [*plain, odd]}) is None, odd


def test_a_role_policy_s_dependencies_are_its_refs_and_its_role() -> None:
    """Through ``add_role``: the RolePolicy depends on its role and on every resource its statements name by
    ref, each once, sorted; interned as the URNs of the graph are."""
    from mlops_infra.compile import compile_system
    from tests.compile.aws.cases import CASES, system

    _, path, env = next(c for c in CASES if "prod" in c[0])
    graph = compile_system(system(path, env), env)
    policies = [r for r in graph.resources if r.type == iam.ROLE_POLICY]
    by_urn = graph.by_urn()
    assert policies
    for policy in policies:
        expected = set(ref_urns(policy.inputs))
        assert policy.dependencies == tuple(sorted(expected)) and policy.inputs["role"]["$ref"] in expected, policy.urn
        assert all(by_urn[d].urn is d for d in policy.dependencies)
