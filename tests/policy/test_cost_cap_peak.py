"""``max_hourly_cost_usd`` and ``over-budget`` price AWS training at its peak, the count ``max_gpus``
uses (audit cost-3).

SageMaker starts the instances each job asks for and bills each while it runs (botocore
``ResourceConfig.InstanceCount``, ``DescribeTrainingJobResponse.BillableTimeInSeconds``), and two
jobs' runs can overlap. The cap divided the monthly runs by 730 h (an average), and the budget
counted nodes.max only: two daily 8-node jobs on an 8-node cluster hold 16 nodes at once, $113.44/h
at the illustrative $7.09/h, and passed a $60 cap and budget.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.guardrails import cost_ceiling, evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec import parse_system
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.guardrails import GUARDED, edit, loaded

TWO_JOBS = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: budget-demo, owner: a@example.com}
data_sources:
  - {name: data, kind: object_store, encryption: kms}
clusters:
  - name: gpu-train
    accelerator: {type: A10G, count: 4}
    nodes: {min: 0, max: 8}
    max_hourly_cost_usd: 60
training_jobs:
  - {name: a, cluster: gpu-train, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1, command: [python], inputs: [data], nodes: 8, max_runtime: 6h, triggers: {schedule: "0 3 * * *"}}
  - {name: b, cluster: gpu-train, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1, command: [python], inputs: [data], nodes: 8, max_runtime: 6h, triggers: {schedule: "0 3 * * *"}}
environments:
  prod:
    target: {kind: aws, region: us-east-1, account: "111111111111"}
    guardrails: {production: true, max_gpus: 64, max_hourly_cost_usd: 60}
"""


@pytest.fixture
def training_price(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> float:
    """A catalog with a us-east-1 Training row for ml.g5.12xlarge (the shipped catalog has none): its
    value is the shipped us-east-1 Hosting price (illustrative, to drive the code path), beside the
    shipped rows."""
    usd = catalog.price("ml.g5.12xlarge", "inference", "us-east-1").usd_per_hour
    shipped = json.loads(catalog.prices_path().read_text())
    shipped["prices"].append(["sagemaker", "training", "us-east-1", "ml.g5.12xlarge", usd,
                              next(iter(shipped["sources"]))])
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(shipped))
    monkeypatch.setenv(catalog.PRICES_ENV, str(path))
    return usd


def cap(text: str, env: str = "prod"):
    system = loaded(text, env).system
    for graph in (compile_system(system, env), facts_graph(system, env)):
        (result,) = [r for r in evaluate(graph, guardrail_settings(system, env)) if r.rule == "max_hourly_cost_usd"]
        yield result


def test_two_jobs_that_may_run_at_once_fail_the_cap_at_their_peak(training_price: float) -> None:
    assert training_price == 7.09
    for result in cap(TWO_JOBS):
        (finding,) = result.findings
        assert (result.status, result.level) == ("fail", "mandatory")
        assert "prod may cost $113.44/h at full scale, over its cap of $60.00/h" in finding.message
        assert "clusters.gpu-train: $113.44/h" in finding.message
        # the fix names what the figure counts, update fleets included since pricing45-5 (audit review45-b-3)
        assert "endpoints at max replicas with what their update runs beside them" in finding.fix
    ceiling = cost_ceiling(compile_system(loaded(TWO_JOBS, "prod").system, "prod"))
    assert [address for address, _ in ceiling.by_item] == ["clusters.gpu-train"]  # the jobs: at the cluster's peak
    # max_gpus counts the same 16 nodes (4 GPUs each = 64)
    text = edit(TWO_JOBS, ("max_gpus: 64", "max_gpus: 63"))
    system = loaded(text, "prod").system
    gpus = {r.rule: r for r in evaluate(compile_system(system, "prod"), guardrail_settings(system, "prod"))}["max_gpus"]
    assert "prod uses 64 GPUs at full scale" in gpus.findings[0].message


def test_within_max_nodes_the_peak_is_the_jobs_nodes(training_price: float) -> None:
    text = edit(TWO_JOBS, ("nodes: 8, max_runtime: 6h, triggers: {schedule: \"0 3 * * *\"}}\n  - {name: b",
                           "nodes: 2, max_runtime: 6h, triggers: {schedule: \"0 3 * * *\"}}\n  - {name: b"))
    text = edit(text, ("max_hourly_cost_usd: 60}", "max_hourly_cost_usd: 100}"))
    ceiling = cost_ceiling(compile_system(loaded(text, "prod").system, "prod"))
    assert ceiling.by_item == (("clusters.gpu-train", pytest.approx(10 * training_price)),)  # 2 + 8 > 8
    smaller = edit(text, ("nodes: 8, max_runtime", "nodes: 4, max_runtime"))
    ceiling = cost_ceiling(compile_system(loaded(smaller, "prod").system, "prod"))
    # 2 + 4 within nodes.max 8: SageMaker starts 6, never nodes.max (closing-34e-1)
    assert ceiling.by_item == (("clusters.gpu-train", pytest.approx(6 * training_price)),)
    assert all(r.status == "pass" for r in cap(smaller))


def test_the_cluster_budget_counts_the_jobs_runs_at_once(training_price: float) -> None:
    (warning,) = [d for d in parse_system(TWO_JOBS).diagnostics if d.code == "over-budget"]
    assert warning.summary == 'Cluster "gpu-train" may cost $113.44/h in environment prod, over its budget of $60.00/h'
    assert warning.detail.startswith("16 nodes (its training jobs' runs at once: a 8 + b 8; SageMaker starts the "
                                     "nodes each job asks for, not nodes.max)")


def test_an_unpriced_training_peak_fails_the_cap_closed() -> None:
    (result, _) = cap(TWO_JOBS)  # the shipped catalog: no Training price for ml.g5.12xlarge in us-east-1
    (finding,) = result.findings
    assert "no price in the price catalog in us-east-1 (clusters.gpu-train)" in finding.message


def test_a_cluster_no_job_runs_on_adds_nothing_on_aws() -> None:
    # GUARDED's cluster has no training job: SageMaker starts nothing for it, so it is neither priced nor unpriced
    system = loaded(GUARDED, "prod").system
    ceiling = cost_ceiling(compile_system(system, "prod"))
    assert [address for address, _ in ceiling.by_item] == ["endpoints.api"] and ceiling.not_counted == ()
