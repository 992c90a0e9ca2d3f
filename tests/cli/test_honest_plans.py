"""What a user sees in the plan's cost and ML summary, through the console script in a temporary
directory: prices per region and per use (never borrowed, missing ones visible as "not counted"),
endpoints without autoscaling counted at their fixed replicas, Kubernetes plans in Kubernetes terms.

Each test reproduces a path from the UX review of 2026-12-03 (friction 4 and 5). Plans on AWS run
against a state as after an apply (:func:`applied_state_file`): a first apply's endpoints wait for
their model versions to be registered (A1), so they cost nothing yet.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.model_versions import ASSUME_AVAILABLE
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli, run_cli_subprocess

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
THIRD_PARTY = ("infracost", "tsaol", "vantage")

RECSYS = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: recsys, owner: ml@example.com}
models:
  - {name: ranker, framework: pytorch, approval: automatic, artifacts_uri: "s3://recsys-models-222222222222/ranker/"}
endpoints:
  - name: ranker-api
    model: {name: ranker, version: 3}
    instance_type: ml.m5.xlarge
    replicas: {min: 2, max: 6}
environments:
  prod:
    target: {kind: aws, region: eu-west-1, account: "222222222222"}
"""


@pytest.fixture(autouse=True)
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("MLOPS_INFRA_PRICES", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def applied_state_file(spec: Path, env: str, out: Path) -> Path:
    """``out``: the state of ``spec``'s ``env`` after an apply in which every pinned model version was
    registered (so its endpoints exist), as the file backend writes it."""
    out.write_text(dumps(applied_state(compile_file(spec, env, registry=ASSUME_AVAILABLE))))
    return out


def cost_section(text: str) -> str:
    return text.split("\nCost ", 1)[1].split("\nResource changes", 1)[0]


def test_reference_prod_in_eu_west_1_uses_eu_west_1_prices_per_use(tmp_path: Path) -> None:
    shutil.copy(REFERENCE, tmp_path / "mlsystem.yaml")
    applied_state_file(tmp_path / "mlsystem.yaml", "prod", tmp_path / "state.json")
    result = run_cli_subprocess("plan", "mlsystem.yaml", "--env", "prod", "--state", "state.json")
    assert result.code == 0, result.stderr
    cost = cost_section(result.stdout)
    # the drift job at the eu-west-1 SageMaker Processing price (AWS bill line "$0.257 per Processing ml.m5.xlarge
    # hour in EU (Ireland)"), nothing borrowed from us-east-1 or from hosting
    assert "monitors.drift  $187.61  730 runs/month x up to 1 h x ml.m5.xlarge @ $0.257/h" in cost
    for borrowed in ("us-east-1 price used", "inference price used", "price used for"):
        assert borrowed not in result.stdout
    # what the catalog lacks stays visible, never guessed
    assert ("endpoints.scorer: no eu-west-1 price for ml.g5.xlarge (SageMaker hosting) in the price catalog: "
            "not counted") in cost
    assert ("training_jobs.retrain: no eu-west-1 price for ml.g5.12xlarge (SageMaker training) in the price "
            "catalog: not counted") in cost
    assert "mlops-infra catalog refresh --regions eu-west-1" in cost
    assert "  unchanged  $187.61\n" in cost  # what is counted; what is not is said next to the total
    assert "  not counted  endpoints.scorer, training_jobs.retrain (no price or no schedule" in cost
    assert "price source: https://github.com/aws-samples/sagemaker-ssh-helper/" in cost
    assert not any(name in result.stdout for name in THIRD_PARTY)
    markdown = run_cli("plan", "mlsystem.yaml", "--env", "prod", "--state", "state.json", "--format", "markdown").stdout
    assert "| **Not counted** | 2 items without a price or a schedule (see the cost notes) |" in markdown


def test_kubernetes_dev_plan_names_nodes_and_says_what_is_only_declared(tmp_path: Path) -> None:
    shutil.copy(REFERENCE, tmp_path / "mlsystem.yaml")
    text = run_cli_subprocess("plan", "mlsystem.yaml", "--env", "dev")
    assert text.code == 0, text.stderr
    as_json = run_cli("plan", "mlsystem.yaml", "--env", "dev", "--format", "json")
    assert as_json.code == 0, as_json.stderr
    for output in (text.stdout, as_json.stdout):
        assert "ml.g5" not in output and "ml.m5" not in output, "SageMaker instance names in a Kubernetes plan"
        assert not any(name in output for name in THIRD_PARTY)
    assert ("gpu-train: new training cluster, 0-1 g5.12xlarge nodes (4 A10G each), spot") in text.stdout
    # a first apply creates dev's MLflow registry, so v14 cannot exist yet: the endpoint waits (firstapply-2)
    assert ("scorer: new endpoint, waits for fraud-model v14 before it runs on 1-2 replicas on g5.xlarge nodes "
            "(1 A10G each)") in text.stdout
    # a data source is a ConfigMap declaring a bucket: it is not described as provisioned
    assert ("transactions: new data store, declared only (ConfigMap data-transactions): the bucket must already "
            "exist in the S3-compatible store with kms encryption, versioning on, retention 400 days; none of it "
            "is provisioned or enforced here") in text.stdout
    cost = cost_section(text.stdout)
    assert "0-1 nodes x g5.12xlarge node @ $5.672/h" in cost
    assert "endpoints.scorer: waits for fraud-model v14, so nothing runs yet; priced once it is created" in cost
    assert "spot: not priced (no spot price source); the on-demand figure is its ceiling" in cost
    assert "EC2 on-demand node price, us-east-1: the target names no region" in cost
    # once an apply serves v14 (the prior state proves it), the endpoint is priced on its nodes
    (tmp_path / "state.json").write_text(dumps(applied_state(compile_file(tmp_path / "mlsystem.yaml", "dev"))))
    served = run_cli("plan", "mlsystem.yaml", "--env", "dev", "--state", "state.json", "--format", "json")
    assert served.code == 0, served.stderr
    plan = json.loads(served.stdout)
    scorer = next(line for line in plan["cost"]["lines"] if line["address"] == "endpoints.scorer")
    assert scorer["basis"] == "1-2 replicas x g5.xlarge node @ $1.006/h"


def test_replicas_without_autoscaling_warn_and_are_counted_at_min(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(RECSYS)
    validate = run_cli_subprocess("validate", "mlsystem.yaml")
    assert validate.code == 0
    assert ('mlsystem.yaml:10:5: warning: Endpoint "ranker-api" has replicas 2-6 but no autoscaling: it runs at 2 '
            "replicas") in validate.stderr
    assert "add autoscaling: {metric: invocations_per_replica, target: 50}" in validate.stderr
    assert "write replicas: {min: 2, max: 2}" in validate.stderr

    # what the resources run: 2 instances, nothing that scales them
    graph = compile_file(spec, "prod", registry=ASSUME_AVAILABLE)
    variants = [v for r in graph.resources if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
                for v in r.inputs["productionVariants"]]
    assert [v["initialInstanceCount"] for v in variants] == [2]
    assert not [r for r in graph.resources if r.type.startswith("aws:appautoscaling")]

    # the cost says the same: 2 replicas, not a 2-6 range
    applied_state_file(spec, "prod", tmp_path / "state.json")
    plan = run_cli_subprocess("plan", "mlsystem.yaml", "--state", "state.json")
    assert plan.code == 0, plan.stderr
    cost = cost_section(plan.stdout)
    assert "  unchanged  $375.22\n" in cost  # 2 x $0.257 x 730 h
    assert "2 replicas (fixed: no autoscaling) x ml.m5.xlarge @ $0.257/h" in cost

    # raising the unused max changes nothing, and the plan says so (the review saw "+$297.84")
    spec.write_text(RECSYS.replace("max: 6}", "max: 8}"))
    raised = run_cli_subprocess("plan", "mlsystem.yaml", "--state", "state.json")
    assert raised.code == 0, raised.stderr
    assert ("endpoints.ranker-api  ranker-api: replicas.max 6 -> 8 (no effect: no autoscaling, runs at 2 fixed)"
            in raised.stdout)
    assert "  unchanged  $375.22\n" in cost_section(raised.stdout)
    assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy." in raised.stdout


def test_a_new_endpoint_without_autoscaling_is_summarised_at_its_fixed_count(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(RECSYS.replace("  - name: ranker-api", "  - name: other\n    model: {name: ranker, version: 3}\n"
                                   "    instance_type: ml.m5.xlarge\n    replicas: {min: 1, max: 1}\n"
                                   "  - name: ranker-api"))
    (tmp_path / "before.yaml").write_text(RECSYS)
    applied_state_file(tmp_path / "before.yaml", "prod", tmp_path / "state.json")  # the model group exists
    plan = run_cli("plan", "mlsystem.yaml", "--state", "state.json")
    assert plan.code == 0, plan.stderr
    assert "other: new endpoint, ranker v3 on 1 replica x ml.m5.xlarge, all at once" in plan.stdout
    assert "endpoints.other       $187.61 (new)  1 replica x ml.m5.xlarge @ $0.257/h" in plan.stdout
    ml_changes = plan.stdout.split("\nML changes", 1)[1].split("\nCost ", 1)[0]
    assert "ranker-api" not in ml_changes  # unchanged: not in the ML changes


def test_autoscaling_keeps_the_range(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(RECSYS.replace(
        "    replicas: {min: 2, max: 6}\n",
        "    replicas: {min: 2, max: 6}\n    autoscaling: {metric: invocations_per_replica, target: 50}\n"))
    validate = run_cli("validate", "mlsystem.yaml")
    # the one warning left is the advisory guardrail: no alert watches ranker-api (docs/guardrails.md)
    warnings = [line for line in validate.output.splitlines() if ": warning: " in line]
    assert validate.code == 0 and "replicas-without-autoscaling" not in validate.output
    assert warnings == ["mlsystem.yaml:7:5: warning: Guardrail endpoint_alerts (advisory in prod): endpoints.ranker-api "
                        "has no alert that notifies a channel"]
    applied_state_file(spec, "prod", tmp_path / "state.json")
    cost = cost_section(run_cli("plan", "mlsystem.yaml", "--state", "state.json").stdout)
    assert "  unchanged  $375.22 to $1,125.66\n" in cost and "2-6 replicas x ml.m5.xlarge @ $0.257/h" in cost
