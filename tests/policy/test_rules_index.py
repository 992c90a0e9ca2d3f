"""The guardrail rules' one-pass index (``policy.rules.INDEX_RESOURCES``) gives what a scan of the
graph per resource type, ``component_facts`` and ``gpu_usage`` of every fact give: the same
results, findings, messages and order, on random graphs and on the compiled examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.plan.guardrails import evaluate
from mlops_infra.policy import rules
from mlops_infra.policy.facts import component_facts
from mlops_infra.spec.guardrails import RULES, GuardrailSettings
from tests.support.guardrails import FRAUD_DETECTION, GUARDED, compiled

OTHER_TYPES = ("aws:s3/bucketObject:BucketObject", "mlops:ml:Endpoint", "kubernetes:apps/v1:Deployment")
KINDS = ("endpoint", "cluster", "model", "monitor", "alert", "data_source", "channel", "training_job", "nonsense")
NAMES = ("a", "b", "c")

flags = st.dictionaries(st.sampled_from(rules.PUBLIC_ACCESS_FLAGS), st.sampled_from([True, False, "true"]), max_size=4)
sse = st.lists(st.fixed_dictionaries({"applyServerSideEncryptionByDefault": st.fixed_dictionaries(
    {"sseAlgorithm": st.sampled_from(["aws:kms", "aws:kms:dsse", "AES256", 3])})}) | st.just("x"), max_size=2)
statement = st.fixed_dictionaries({"Effect": st.sampled_from(["Allow", "Deny"]),
                                   "Principal": st.sampled_from(["*", {"AWS": "*"}, {"AWS": ["x", "*"]}, "arn"])})
policy = st.fixed_dictionaries({"Statement": st.lists(statement, max_size=2) | statement}).map(
    lambda p: {"$json": p}) | st.just("not json") | st.just(None)
service = st.fixed_dictionaries({"spec": st.fixed_dictionaries({"type": st.sampled_from(
    ["LoadBalancer", "NodePort", "ClusterIP"])})}) | st.just({"spec": "x"})
facts = st.fixed_dictionaries({
    "kind": st.sampled_from(KINDS), "name": st.sampled_from(NAMES) | st.just(3)}, optional={
    "factsVersion": st.just(1), "gpus": st.integers(-1, 4) | st.just("2"), "maxReplicas": st.integers(0, 3),
    "minReplicas": st.integers(0, 3), "autoscaling": st.none() | st.just({"metric": "m", "target": 1}),
    "maxNodes": st.integers(0, 3), "encryption": st.sampled_from(["kms", "s3"]),
    "nodes": st.integers(0, 3) | st.just("2"), "cluster": st.sampled_from(NAMES),
    "borrowing": st.fixed_dictionaries({"cohort": st.just("c")}, optional={"maxNodes": st.none() | st.integers(0, 2)}),
    "rollout": st.just({"strategy": "all_at_once"}), "capturePercent": st.integers(0, 10), "model": st.sampled_from(NAMES),
    "approval": st.sampled_from(["manual", "automatic"]), "endpoint": st.sampled_from(NAMES),
    "monitor": st.sampled_from(NAMES), "notify": st.lists(st.just("oncall"), max_size=1)})


@st.composite
def graphs(draw) -> DesiredGraph:
    count = draw(st.integers(0, 14))
    urns = [f"urn:pulumi:s::p::t::r{i}" for i in range(count)]
    resources = []
    for urn in urns:
        type_ = draw(st.sampled_from(rules.RESOURCE_TYPES + OTHER_TYPES))
        custom = draw(st.booleans())
        inputs = {rules.BUCKET: st.fixed_dictionaries({}, optional={"bucket": st.sampled_from(["b", 7])}),
                  rules.BUCKET_ENCRYPTION: st.fixed_dictionaries({"rules": sse}),
                  rules.BUCKET_PUBLIC_ACCESS_BLOCK: flags, rules.BUCKET_POLICY: st.fixed_dictionaries({"policy": policy}),
                  rules.KUBERNETES_SERVICE: service}.get(type_, facts)
        resources.append(DesiredResource(
            urn=urn, type=type_, name=urn[-2:], custom=custom, parent=None, inputs=draw(inputs),
            dependencies=tuple(draw(st.lists(st.sampled_from(urns), max_size=3))),
            address=draw(st.sampled_from(["", "data_sources.a"]))))
    return DesiredGraph("p", "s", tuple(resources), metadata={"cloud": draw(st.sampled_from(["aws", "kubernetes"]))})


every_rule = st.builds(lambda production, gpus, gates: GuardrailSettings(
    "s", production, dict.fromkeys(RULES, "mandatory"), max_gpus=gpus, gates=gates),
    st.booleans(), st.none() | st.integers(0, 6), st.sampled_from([(), ("model_approved",)]))


def _both(monkeypatch: pytest.MonkeyPatch, graph: DesiredGraph, settings: GuardrailSettings, facts=None):
    found = evaluate(graph, settings, facts)
    monkeypatch.setattr(rules, "INDEX_RESOURCES", False)
    try:
        return found, evaluate(graph, settings, facts)
    finally:
        monkeypatch.setattr(rules, "INDEX_RESOURCES", True)


@settings(max_examples=400, deadline=None)
@given(graph=graphs(), guard=every_rule)
def test_the_index_gives_the_results_of_a_scan_per_type(graph: DesiredGraph, guard: GuardrailSettings) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = _both(monkeypatch, graph, guard)
        assert fast == slow
        by_type, found = rules._index(graph.resources, True)
        assert list(found.items()) == list(component_facts(graph.resources).items())
        assert by_type == {t: rules._resources(graph, t) for t in rules.RESOURCE_TYPES}
        subject = rules.Subject.of(graph, guard, None)
        for cloud in ("aws", "kubernetes", None):
            assert rules._gpu_usage(sorted([*subject.of_kind("cluster"), *subject.of_kind("endpoint"),
                                            *subject.of_kind("training_job")],
                                           key=rules._first), cloud) == rules.gpu_usage(found, cloud)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("text", [GUARDED, FRAUD_DETECTION.read_text()], ids=["guarded", "fraud-detection"])
def test_the_index_gives_the_results_of_a_scan_per_type_on_the_examples(text: str, env: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.policy.facts import RULE_SECTIONS, system_facts

    system, graph = compiled(text, env)
    guard = GuardrailSettings(env, True, dict.fromkeys(RULES, "mandatory"), max_gpus=0)
    fast, slow = _both(monkeypatch, graph, guard)
    assert fast == slow and any(r.findings for r in fast)
    empty = DesiredGraph(graph.project, env, (), metadata=graph.metadata)
    fast, slow = _both(monkeypatch, empty, guard, system_facts(system, env, RULE_SECTIONS))
    assert fast == slow


gpu_facts = st.dictionaries(
    st.sampled_from(["clusters.", "endpoints.", "models.", "zz."]).flatmap(lambda s: st.sampled_from(NAMES).map(s.__add__)),
    st.fixed_dictionaries({"kind": st.sampled_from(["cluster", "endpoint", "model", "training_job"])}, optional={
        "gpus": st.integers(0, 2), "maxReplicas": st.integers(0, 2), "minReplicas": st.integers(0, 2),
        "autoscaling": st.none(), "maxNodes": st.integers(0, 2), "nodes": st.integers(0, 2),
        "cluster": st.sampled_from(NAMES), "name": st.sampled_from(NAMES),
        "borrowing": st.fixed_dictionaries({"cohort": st.just("c"), "maxNodes": st.none() | st.integers(0, 1)})}),
    max_size=8)


@settings(max_examples=400, deadline=None)
@given(found=gpu_facts, cap=st.integers(0, 3))
def test_max_gpus_by_kind_gives_what_gpu_usage_of_every_fact_gives(found: dict, cap: int) -> None:
    """Ties between clusters and endpoints, kinds that disagree with the address: the same finding."""
    guard = GuardrailSettings("s", True, {"max_gpus": "mandatory"}, max_gpus=cap)
    graph = DesiredGraph("p", "s", ())
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = _both(monkeypatch, graph, guard, found)
    assert fast == slow


def test_max_gpus_lists_tied_items_in_address_order() -> None:
    found = {"endpoints.a": {"kind": "endpoint", "gpus": 2, "maxReplicas": 1},
             "clusters.z": {"kind": "cluster", "gpus": 2, "maxNodes": 1}}
    guard = GuardrailSettings("s", True, {"max_gpus": "mandatory"}, max_gpus=0)
    (result,) = evaluate(DesiredGraph("p", "s", ()), guard, found)
    assert "(clusters.z: 2 GPU(s) x 1 node(s) = 2; endpoints.a: 2 GPU(s) x 1 replica(s) = 2)" in result.findings[0].message
