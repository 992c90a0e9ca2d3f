"""Planning against a state Pulumi wrote: an endpoint's facts as the Python SDK stores them.

The SDK drops every top-level None of a component's props and registered outputs
(``pulumi/runtime/rpc.py`` ``serialize_properties``: "We treat properties that serialize to None as if
they don't exist"), so ``tests/support/applied_state`` stores component facts without them. An endpoint
without autoscaling must keep its "fixed at min" reading through that (compile/facts.py writes False),
and a state saved before that (no ``autoscaling`` key) must not show a replica, GPU or cost change that
no apply makes (policy/facts.settle_prior).
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.model import Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import load_state
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.guardrails import GUARDED, edit, loaded

FIXED = edit(GUARDED, ("    replicas: {min: 1, max: 4}\n    autoscaling: {metric: invocations_per_replica, target: 50}\n",
                       "    replicas: {min: 1, max: 8}\n"))
"""The audit's run2 system: an endpoint of 1 A10G, replicas 1-8 and no autoscaling (runs 1 fixed)."""


def graph_of(text: str, env: str = "prod") -> DesiredGraph:
    return compile_system(loaded(text, env).system, env)


def plan_against(tmp_path: Path, applied: DesiredGraph, desired: DesiredGraph, *, drop_key: bool = False) -> Plan:
    checkpoint = applied_state(applied, account="222222222222", region="us-east-1")
    if drop_key:  # a state saved before this release: the SDK dropped the endpoint's None
        def without(record: dict) -> None:
            for side in ("inputs", "outputs"):
                record[side] = {k: v for k, v in record[side].items() if k != "autoscaling"}
        checkpoint = edit_resource(checkpoint, lambda r: r["type"] == "mlops:serving:Endpoint", without)
    path = tmp_path / "state.json"
    path.write_text(dumps(checkpoint))
    return make_plan(desired, load_state(path))


def endpoint_facts_in(plan_state_path: Path) -> dict:
    return next(r.inputs for r in load_state(plan_state_path).resources.values() if r.type == "mlops:serving:Endpoint")


def test_an_endpoint_without_autoscaling_keeps_its_reading_in_the_state_pulumi_writes(tmp_path: Path) -> None:
    graph = graph_of(FIXED)
    plan = plan_against(tmp_path, graph, graph)
    assert endpoint_facts_in(tmp_path / "state.json")["autoscaling"] is False
    assert [c.summary for c in plan.ml] == []
    assert not plan.has_changes
    assert plan.cost.before == plan.cost.after


def test_a_state_saved_before_this_release_plans_no_ml_change(tmp_path: Path) -> None:
    graph = graph_of(FIXED)
    plan = plan_against(tmp_path, graph, graph, drop_key=True)
    assert "autoscaling" not in endpoint_facts_in(tmp_path / "state.json")
    assert [c.summary for c in plan.ml] == []
    assert plan.cost.before == plan.cost.after
    # the component records the key at the next apply: that is the one change
    assert [(c.action.name, c.type) for c in plan.changes if c.action.name != "NOOP"] == [
        ("UPDATE", "mlops:serving:Endpoint")]


def test_a_state_saved_before_the_key_existed_reads_an_autoscaled_endpoint_as_it_is(tmp_path: Path) -> None:
    graph = graph_of(GUARDED)  # autoscaling {invocations_per_replica, 50}, replicas 1-4
    plan = plan_against(tmp_path, graph, graph, drop_key=True)
    assert [c.summary for c in plan.ml] == []
    assert plan.cost.before == plan.cost.after


def test_a_real_change_against_a_state_with_the_key_is_still_shown(tmp_path: Path) -> None:
    plan = plan_against(tmp_path, graph_of(FIXED), graph_of(GUARDED))
    endpoint = {c.kind: c.summary for c in plan.ml if c.address == "endpoints.api"}
    assert endpoint["endpoint"] == ("api: replicas 1 (fixed) -> 1-4; autoscaling off -> invocations_per_replica "
                                    "target 50")
    assert endpoint["gpu-capacity"] == "api: +3 A10G GPUs (max)"


def test_settle_prior_fills_only_a_missing_endpoint_autoscaling() -> None:
    from mlops_infra.policy.facts import settle_prior

    old = {"endpoints.a": {"kind": "endpoint", "minReplicas": 1, "maxReplicas": 8},
           "endpoints.b": {"kind": "endpoint", "autoscaling": None},
           "endpoints.gone": {"kind": "endpoint"},
           "clusters.c": {"kind": "cluster"}}
    new = {"endpoints.a": {"kind": "endpoint", "autoscaling": False},
           "endpoints.b": {"kind": "endpoint", "autoscaling": {"metric": "m", "target": 1}},
           "clusters.c": {"kind": "cluster", "autoscaling": 1}}
    before, after = settle_prior(old, new)
    assert after is new
    assert before == {**old, "endpoints.a": {"kind": "endpoint", "minReplicas": 1, "maxReplicas": 8,
                                             "autoscaling": False}}
    assert "autoscaling" not in old["endpoints.a"]  # the facts themselves are not changed
    unchanged = {"endpoints.b": old["endpoints.b"]}
    assert settle_prior(unchanged, new)[0] is unchanged
