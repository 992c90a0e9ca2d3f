"""Aliases in the plan, as the Pulumi engine matches them (plan/planner.py; pulumi
pkg/resource/deploy/step_generator.go ``getOldResource``: the URN first, then each alias; a prior found
under an alias is this resource's, and ``isOperatedOn`` keeps its old URN out of the deletes).

The case that needs it (audit firstapply-1 b): stacks applied before hold the namespace as a
``kubernetes:core/v1:Namespace``; the graph now registers a ``NamespacePatch`` aliased to that URN.
Without the alias the plan (and ``pulumi up``) deletes the Namespace, and with it every object in it.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.graph import GraphBuilder, ResourceOptions
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.model import PriorState, StateResource

PROVIDER = "pulumi:providers:kubernetes"
OLD = "kubernetes:core/v1:Namespace"
NEW = "kubernetes:core/v1:NamespacePatch"
LABELS = {"app.kubernetes.io/managed-by": "mlops-infra"}


def namespace(annotations: dict[str, str] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "team-a", "labels": labels or LABELS}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def graph_and_prior(*, aliased: bool, annotations: dict[str, str] | None = None, extra_alias: tuple[str, ...] = ()):
    b = GraphBuilder("proj", "dev")
    provider = b.add(PROVIDER, "k8s", {"context": "kind"})
    old_urn = b.urn_for(OLD, "team-a", None)
    options = ResourceOptions(aliases=(*extra_alias, old_urn)) if aliased else None
    ns = b.add(NEW, "team-a", namespace(annotations), provider=provider, options=options)
    cm = b.add("kubernetes:core/v1:ConfigMap", "cfg", {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "cfg", "namespace": "team-a"},
                                                       "data": {"a": "b"}}, provider=provider, depends_on=[ns])
    graph = b.build()
    inputs = {r.urn: r.inputs for r in graph.resources}
    prior = PriorState("prior.json", 3, "1", "proj", "dev", {
        provider: StateResource(urn=provider, type=PROVIDER, custom=True, id="p1", inputs={"context": "kind"}),
        old_urn: StateResource(urn=old_urn, type=OLD, custom=True, id="team-a", provider=provider,
                               inputs=namespace(), outputs=namespace()),
        cm: StateResource(urn=cm, type="kubernetes:core/v1:ConfigMap", custom=True, id="team-a/cfg", provider=provider,
                          dependencies=(old_urn,), inputs=inputs[cm], outputs=inputs[cm]),
    })
    return graph, prior, ns, old_urn


def by_urn(plan) -> dict[str, Any]:
    return {c.urn: c for c in plan.changes}


def test_an_aliased_type_change_takes_the_prior_over_and_deletes_nothing():
    graph, prior, ns, old_urn = graph_and_prior(aliased=True)
    plan = make_plan(graph, prior)
    changes = by_urn(plan)
    assert old_urn not in changes and not [c for c in plan.changes if c.action is Action.DELETE]
    assert changes[ns].action is Action.NOOP and changes[ns].reason.code == "aliased"
    assert "the kubernetes:core/v1:Namespace team-a in the state" in changes[ns].reason.message
    assert all(c.action is Action.NOOP for c in plan.changes)
    assert not plan.warnings


def test_an_aliased_resource_whose_inputs_differ_is_updated_in_place():
    graph, prior, ns, _ = graph_and_prior(aliased=True, annotations={"pulumi.com/patchForce": "true"})
    change = by_urn(make_plan(graph, prior))[ns]
    assert change.action is Action.UPDATE and change.reason.code == "aliased"
    assert [(c.path, c.before, c.after) for c in change.changes] == [
        ("metadata.annotations", None, {"pulumi.com/patchForce": "true"})]
    assert change.reason.message.endswith("metadata.annotations can be updated in place")


def test_without_the_alias_the_namespace_and_everything_in_it_would_be_deleted():
    graph, prior, ns, old_urn = graph_and_prior(aliased=False)
    plan = make_plan(graph, prior)
    changes = by_urn(plan)
    assert changes[old_urn].action is Action.DELETE and changes[ns].action is Action.CREATE
    assert any("team-a is deleted, which discards every object in the namespace" in w for w in plan.warnings)


def test_the_first_alias_in_the_state_is_taken_and_a_missing_one_is_skipped():
    graph, prior, ns, old_urn = graph_and_prior(aliased=True, extra_alias=("urn:pulumi:dev::proj::x:y:Z::gone",))
    changes = by_urn(make_plan(graph, prior))
    assert changes[ns].reason.code == "aliased" and old_urn not in changes


def test_an_alias_that_is_itself_desired_is_not_taken():
    """The engine refuses to let a resource claim a URN another registration has (getOldResource:
    "already seen"); here the old URN is desired too, so it is planned as itself."""
    b = GraphBuilder("proj", "dev")
    old_urn = b.urn_for(OLD, "team-a", None)
    b.add(OLD, "team-a", namespace())
    ns = b.add(NEW, "team-a", namespace(), options=ResourceOptions(aliases=(old_urn,)))
    graph = b.build()
    prior = PriorState("prior.json", 3, "1", "proj", "dev", {old_urn: StateResource(
        urn=old_urn, type=OLD, custom=True, id="team-a", inputs=namespace(), outputs=namespace())})
    changes = by_urn(make_plan(graph, prior))
    assert changes[old_urn].action is Action.NOOP and changes[ns].action is Action.CREATE
