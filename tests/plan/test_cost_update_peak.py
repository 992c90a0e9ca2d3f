"""``max_hourly_cost_usd`` counts each endpoint at its update's peak (audit pricing45-5): every SageMaker endpoint
update is a fleet swap that keeps the old fleet while the new one runs (``BlueGreenUpdatePolicy``), and a canary's
finish swaps the fleet beside primary and the canary variant. The instance quotas already counted these fleets
(``plan/instance_quotas.update_beside``); the cap counted max replicas only, so the reference staging scorer
(2-10 x ml.g5.xlarge, canary to 100%) was $14.08/h where 30 instances ($42.25/h) run at its finish."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.cost import hourly_ceiling
from mlops_infra.plan.instance_quotas import instance_needs
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec import load_system


def reference(shared_dir: Path, env: str):
    return load_system(shared_dir / "spec/reference-mlsystem.yaml", env).system


def test_the_reference_staging_canary_is_counted_at_its_finish(shared_dir: Path) -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference", "us-east-1").usd_per_hour
    assert hourly == 1.4084
    system = reference(shared_dir, "staging")
    graph = compile_system(system, "staging")
    (need,) = [n for n in instance_needs(graph) if n.use == "endpoint"]
    assert [(u.most, u.update) for u in need.items] == [(10, 20)]  # the quotas' reading: 10 + 20 at the finish
    for g in (graph, facts_graph(system, "staging")):  # plan and validate agree
        ceiling = hourly_ceiling(g)
        assert dict(ceiling.by_item)["endpoints.scorer"] == pytest.approx(30 * hourly)
        assert "endpoints.scorer" in ceiling.at_peak


@pytest.mark.parametrize(("rollout", "instances"), [
    ("{strategy: blue_green, bake: 10m}", 2 * 4),  # the new fleet beside the old
    ("{strategy: all_at_once}", 2 * 4),  # the same fleet swap on SageMaker
    ("{strategy: rolling, steps: [25, 100]}", 4 + 1),  # one batch: ceil(25% x 4)
    ("{strategy: canary, steps: [10, 50, 100], bake: 10m}", 4 + 4 + 4),  # the finish beside the canary at 100%
])
def test_each_aws_strategy_adds_what_its_update_runs(shared_dir: Path, rollout: str, instances: int) -> None:
    hourly = catalog.price("ml.g5.xlarge", "inference", "us-east-1").usd_per_hour
    text = (shared_dir / "spec/reference-mlsystem.yaml").read_text()
    system = load_system(shared_dir / "spec/reference-mlsystem.yaml", "staging").system
    assert system is not None and "scorer" in text
    endpoint = system.endpoints[0].model_copy(update={
        "replicas": system.endpoints[0].replicas.model_copy(update={"min": 1, "max": 4}),
        "rollout": _rollout(rollout)})
    system = system.model_copy(update={"endpoints": [endpoint]})
    for g in (compile_system(system, "staging"), facts_graph(system, "staging")):
        assert dict(hourly_ceiling(g).by_item)["endpoints.scorer"] == pytest.approx(instances * hourly)


def _rollout(text: str):
    import yaml

    from mlops_infra.spec.serving import Rollout

    return Rollout.model_validate(yaml.safe_load(text))


def test_a_kubernetes_canary_counts_its_revision_beside_the_stable_one(shared_dir: Path) -> None:
    system = reference(shared_dir, "dev")
    node = catalog.ec2_price("g5.xlarge").usd_per_hour
    (endpoint,) = system.endpoints
    high = endpoint.replicas.max
    ceiling = hourly_ceiling(compile_system(system, "dev"))
    # the canary revision at its last step (100%) runs the fleet again beside the stable revision
    assert dict(ceiling.by_item)["endpoints.scorer"] == pytest.approx(2 * high * node)


@pytest.mark.parametrize("strategy", ["rolling", "all_at_once", None])
def test_a_scale_to_zero_knative_switch_still_starts_one_replica(strategy: str | None) -> None:
    """Knative creates a new revision at initial-scale 1 (config-autoscaler default; allow-zero-initial-scale
    false) and reaches it before the route switches: a min-0 endpoint's update runs one beside the fleet (audit
    closing-45a-3: it counted 0)."""
    from mlops_infra.plan.cost import update_instances

    facts = {"kind": "endpoint", "minReplicas": 0, "maxReplicas": 4, "autoscaling": {"metric": "concurrency",
             "target": 4}, "rollout": {"strategy": strategy, "steps": []}}
    assert update_instances(facts, "kubernetes") == 1
    assert update_instances({**facts, "minReplicas": 3}, "kubernetes") == 3  # its minReplicas, as before
