"""On AWS the cost cap and the cluster budget count the nodes a cluster's jobs ask for, never
``nodes.max`` (audit closing-34e-1).

SageMaker starts ``ResourceConfig.InstanceCount`` instances per training job (botocore ``sagemaker``:
"The number of ML compute instances to use"), compiled as the job's ``nodes``
(``compile/aws/training.py``); nothing is compiled from ``clusters[].nodes`` on AWS. 633478f priced
a cluster at max(nodes.max, sum of its jobs' nodes) once one job ran on it: one weekly 1-node job on
an 8-node A10G x 4 cluster made the cap count 8 x $7.09/h and a $20 cap fail as mandatory, while
that cluster without a job counted $0 (and the budget warned about it anyway). Prices: the shipped
us-east-1 Hosting values filed as Training rows (illustrative, to drive the code path), as in
tests/policy/test_cost_cap_peak.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.guardrails import cost_ceiling, evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec import load_system, parse_system
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.guardrails import REPO, loaded

ONE_JOB = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: job-nodes-demo, owner: a@example.com}
data_sources:
  - {name: data, kind: object_store, encryption: kms}
clusters:
  - {name: gpu-train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 8}, max_hourly_cost_usd: 20}
training_jobs: JOBS
environments:
  prod:
    target: {kind: aws, region: us-east-1, account: "111111111111"}
    guardrails: {production: true, max_hourly_cost_usd: 20}
"""
JOB = ('\n  - {name: a, cluster: gpu-train, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1, '
       'command: [python], inputs: [data], nodes: 1, max_runtime: 6h, triggers: {schedule: "0 3 * * 1"}}')


def illustrative_catalog(path: Path, region: str, types: tuple[str, ...], others: dict[str, float] | None = None
                         ) -> dict[str, float]:
    """The shipped catalog plus a Training, Hosting and Processing row in ``region`` for each of
    ``types`` whose value is the shipped us-east-1 Hosting price, and for each of ``others`` (a type
    the catalog lacks) the value given (illustrative, not published prices); rows the catalog has
    are kept."""
    shipped = json.loads(catalog.prices_path().read_text())
    source = next(iter(shipped["sources"]))
    usd = {t: catalog.price(t, "inference", "us-east-1").usd_per_hour for t in types} | dict(others or {})
    types = tuple(usd)
    for use in ("training", "inference", "processing"):
        for t in types:
            if not any(row[:4] == ["sagemaker", use, region, t] for row in shipped["prices"]):
                shipped["prices"].append(["sagemaker", use, region, t, usd[t], source])
    path.write_text(json.dumps(shipped))
    return usd


@pytest.fixture
def g5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> float:
    usd = illustrative_catalog(tmp_path / "prices.json", "us-east-1", ("ml.g5.12xlarge",))["ml.g5.12xlarge"]
    monkeypatch.setenv(catalog.PRICES_ENV, str(tmp_path / "prices.json"))
    return usd


def cap_results(text: str, env: str = "prod"):
    system = loaded(text, env).system
    for graph in (compile_system(system, env), facts_graph(system, env)):
        (result,) = [r for r in evaluate(graph, guardrail_settings(system, env)) if r.rule == "max_hourly_cost_usd"]
        yield result


def test_one_1_node_job_counts_one_node_not_nodes_max(g5: float) -> None:
    assert g5 == 7.09
    text = ONE_JOB.replace("JOBS", JOB)
    ceiling = cost_ceiling(compile_system(loaded(text, "prod").system, "prod"))
    assert ceiling.by_item == (("clusters.gpu-train", pytest.approx(g5)),)  # InstanceCount 1, not nodes.max 8
    assert [(r.status, r.level) for r in cap_results(text)] == [("pass", "mandatory")] * 2
    codes = {d.code for d in parse_system(text).diagnostics}
    assert not codes & {"over-budget", "budget-unchecked"}, codes  # $7.09/h within the $20 budget


def test_the_budget_warns_at_the_jobs_nodes(g5: float) -> None:
    text = ONE_JOB.replace("JOBS", JOB.replace("nodes: 1,", "nodes: 3,"))
    (warning,) = [d for d in parse_system(text).diagnostics if d.code == "over-budget"]
    assert warning.summary == 'Cluster "gpu-train" may cost $21.27/h in environment prod, over its budget of $20.00/h'
    assert warning.detail.startswith("3 nodes (its training jobs' runs at once: a 3; SageMaker starts the nodes "
                                     "each job asks for, not nodes.max) x $7.0900/h")
    (result, _) = cap_results(text)
    assert (result.status, result.level) == ("fail", "mandatory")
    assert "clusters.gpu-train: $21.27/h" in result.findings[0].message  # the cap counts the same 3 nodes


@pytest.mark.parametrize("priced", [True, False])
def test_a_cluster_no_job_runs_on_gets_no_budget_warning(priced: bool, request: pytest.FixtureRequest) -> None:
    if priced:
        request.getfixturevalue("g5")
    text = ONE_JOB.replace("JOBS", "[]")
    assert cost_ceiling(compile_system(loaded(text, "prod").system, "prod")).by_item == ()  # the cap: $0
    codes = {d.code for d in parse_system(text).diagnostics}
    assert not codes & {"over-budget", "budget-unchecked"}, codes  # the budget: the same $0, nothing unchecked


def test_llm_platform_prod_counts_what_its_jobs_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usd = illustrative_catalog(tmp_path / "prices.json", "us-west-2",
                               ("ml.p4d.24xlarge", "ml.p5.48xlarge", "ml.g5.xlarge", "ml.m5.xlarge"),
                               {"ml.g6.xlarge": 0.9})
    monkeypatch.setenv(catalog.PRICES_ENV, str(tmp_path / "prices.json"))
    text = (REPO / "examples" / "llm-platform" / "mlsystem.yaml").read_text()
    target = '    target: {kind: aws, region: us-west-2, account: "444444444444"}\n'
    assert text.count(target) == 1
    spec = tmp_path / "mlsystem.yaml"
    # 1300: the endpoints count at their update's peak (audit pricing45-5), the $800 this test set passed without it
    spec.write_text(text.replace(target, target + "    guardrails: {max_hourly_cost_usd: 1300}\n"))
    system = load_system(spec, "prod").system
    ceiling = cost_ceiling(compile_system(system, "prod"))
    items = dict(ceiling.by_item)
    # finetune-chat asks for 2 of h100-train's max 4 nodes, train-embedder for 1 of a100-train's max 2
    assert items["clusters.h100-train"] == pytest.approx(2 * usd["ml.p5.48xlarge"])
    assert items["clusters.a100-train"] == pytest.approx(1 * usd["ml.p4d.24xlarge"])
    # chat (canary, prod max 8): 8 + its finish's new fleet 8 + the canary's last 8; embeddings (blue_green,
    # max 8): 8 + the new fleet 8; reranker (rolling [25, ...], max 6): 6 + one batch of ceil(25% x 6) = 2
    assert items["endpoints.chat"] == pytest.approx(24 * usd["ml.p4d.24xlarge"])
    assert items["endpoints.embeddings"] == pytest.approx(16 * usd["ml.g5.xlarge"])
    assert items["endpoints.reranker"] == pytest.approx(8 * usd["ml.g6.xlarge"])
    assert ceiling.not_counted == () and 800 < ceiling.usd_per_hour < 1300
    (result,) = [r for r in evaluate(compile_system(system, "prod"), guardrail_settings(system, "prod"))
                 if r.rule == "max_hourly_cost_usd"]
    assert result.status == "pass", [f.message for f in result.findings]
