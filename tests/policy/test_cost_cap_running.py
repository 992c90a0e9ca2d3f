"""``max_hourly_cost_usd`` counts what runs part of the time while it runs, and a Kubernetes cluster
that borrows at the nodes ``max_gpus`` counts (stop 35, brief costpeak).

- Drift jobs: each run is one ``ml.m5.xlarge`` Processing instance (``compile/aws/monitoring.drift_step``,
  ``ClusterConfig.InstanceCount`` 1), billed while it runs (botocore ``ProcessingClusterConfig``
  ``SelectedInstanceCount``: "The job is billed for this instance type and count"). The cap divided
  the monthly runs by 730 h: a 6-hourly job counted 1/6 of its instance ($0.04/h in eu-west-1), so a
  $0.50/h cap passed at $0.30/h while every run holds $0.514/h. On AWS nothing waits for the run
  before (pipeline executions run side by side), so a 2-minute schedule with its 5-minute minimum
  runtime holds 3 runs at once, where the average counted 2.5.
- Kueue borrowing: ``max_gpus`` counts a Kubernetes cluster at max nodes + ``borrowing.max_nodes``
  (``policy/rules.gpu_usage``), the cost cap counted max nodes only; a cluster that borrows without
  a limit failed ``max_gpus`` closed and passed the cost cap.

Figures are hand-computed from the shipped catalog: eu-west-1 ``ml.m5.xlarge`` Hosting $0.257 and
Processing $0.257 (sagemaker-ssh-helper bill lines), us-east-1 EC2 ``g5.12xlarge`` $5.672 and
``m5.xlarge`` $0.192 (Karpenter's table).
"""

from __future__ import annotations

import json

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.guardrails import cost_ceiling, evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec.guardrails import Guardrails, guardrail_settings
from tests.spec.test_cap_description import SCHEMA, descriptions
from tests.support.guardrails import edit, loaded

DRIFT = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: driftpeak, owner: a@example.com}
data_sources:
  - {name: events, kind: object_store, encryption: kms}
models:
  - {name: clf, framework: pytorch, approval: manual, artifacts_uri: "s3://driftpeak-models/clf/"}
endpoints:
  - name: api
    model: {name: clf, version: 3}
    instance_type: ml.m5.xlarge
    replicas: {min: 1, max: 1}
    rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}
    capture: {sample_percent: 10}
monitors:
  - {name: api-drift, endpoint: api, metric: feature_drift, baseline: events, threshold: 0.2, schedule: 6h}
  - {name: api-errors, endpoint: api, metric: error_rate, threshold: 1%}
alerts:
  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}
  - {name: api-drift, monitor: api-drift, for: 1h, severity: warning, notify: [oncall]}
channels:
  - {name: oncall, kind: email, address: oncall@example.com}
environments:
  dev:
    target: {kind: kubernetes, context: kind-dev, namespace: driftpeak-dev}
    guardrails: {max_hourly_cost_usd: 0.25}
  prod:
    target: {kind: aws, region: eu-west-1, account: "222222222222"}
    promote_from: dev
    gates: [model_approved]
    guardrails: {production: true, max_hourly_cost_usd: 0.5}
"""

BORROW = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: borrowpeak, owner: a@example.com}
data_sources:
  - {name: data, kind: object_store, encryption: kms}
clusters:
  - name: gpu-train
    accelerator: {type: A10G, count: 4}
    nodes: {min: 0, max: 2}
    borrowing: {cohort: shared, max_nodes: 2}
training_jobs:
  - {name: a, cluster: gpu-train, image: registry.example.com/t:1, command: [python], inputs: [data], nodes: 2, max_runtime: 6h, triggers: {schedule: "0 3 * * *"}}
environments:
  dev:
    target: {kind: kubernetes, context: kind-dev, namespace: borrow-dev}
    guardrails: {max_gpus: 16, max_hourly_cost_usd: 20}
"""


def results(text: str, env: str, rule: str = "max_hourly_cost_usd"):
    """The rule's result on the compiled graph (plan, apply, the policy pack) and on validate's."""
    system = loaded(text, env).system
    for graph in (compile_system(system, env), facts_graph(system, env)):
        (result,) = [r for r in evaluate(graph, guardrail_settings(system, env)) if r.rule == rule]
        yield result


def ceiling(text: str, env: str):
    return cost_ceiling(compile_system(loaded(text, env).system, env))


def test_the_catalog_prices_the_figures_are_computed_from() -> None:
    assert catalog.price("ml.m5.xlarge", "processing", "eu-west-1").usd_per_hour == 0.257
    assert catalog.price("ml.m5.xlarge", "inference", "eu-west-1").usd_per_hour == 0.257
    assert catalog.ec2_price("ml.g5.12xlarge", "us-east-1").usd_per_hour == 5.672
    assert catalog.ec2_price("ml.m5.xlarge", "us-east-1").usd_per_hour == 0.192


def test_a_six_hourly_drift_job_counts_its_instance_while_it_runs() -> None:
    found = ceiling(DRIFT, "prod")
    # one drift run's ml.m5.xlarge at $0.257 (was 121.67 x 1 h x 0.257 / 730 = $0.043); the endpoint at its
    # canary's finish (audit pricing45-5): its 1 instance, the new fleet's 1 and the canary's last 1 (100% of 1)
    assert dict(found.by_item) == {"endpoints.api": pytest.approx(3 * 0.257), "monitors.api-drift": pytest.approx(0.257)}
    assert found.usd_per_hour == pytest.approx(4 * 0.257)
    assert found.at_peak == ("endpoints.api", "monitors.api-drift")
    for result in results(DRIFT, "prod"):
        (finding,) = result.findings
        assert (result.status, result.level) == ("fail", "mandatory")
        assert finding.message == (
            "prod may cost $1.03/h at full scale, over its cap of $0.50/h (endpoints.api: $0.77/h; "
            "monitors.api-drift: $0.26/h); counted at their peak (what may run at once, not a monthly average): "
            "endpoints.api, monitors.api-drift")


def test_drift_runs_that_overlap_on_aws_are_counted_at_once() -> None:
    # every 2 minutes, each run allowed its 5-minute minimum: ceil(300 / 120) = 3 runs at once (the average: 2.5)
    text = edit(DRIFT, ("threshold: 0.2, schedule: 6h", "threshold: 0.2, schedule: 2m"))
    assert dict(ceiling(text, "prod").by_item)["monitors.api-drift"] == pytest.approx(3 * 0.257)
    # an hourly job runs one at a time all hour: its peak is its average (the reference spec's drift job)
    hourly = edit(DRIFT, ("threshold: 0.2, schedule: 6h", "threshold: 0.2, schedule: 1h"))
    assert dict(ceiling(hourly, "prod").by_item)["monitors.api-drift"] == pytest.approx(0.257)


def test_a_kubernetes_drift_job_counts_one_node_while_it_runs() -> None:
    # the CronJob forbids concurrent runs: one m5.xlarge node at $0.192 (was 1/6 of it, $0.032)
    found = ceiling(DRIFT, "dev")
    assert dict(found.by_item)["monitors.api-drift"] == pytest.approx(0.192)
    assert "monitors.api-drift" in found.at_peak


def test_a_kubernetes_cluster_that_borrows_counts_the_nodes_max_gpus_counts() -> None:
    found = ceiling(BORROW, "dev")
    # (2 max nodes + 2 borrowed) x g5.12xlarge $5.672 = $22.688 (was 2 x 5.672 = $11.344)
    assert found.by_item == (("clusters.gpu-train", pytest.approx(4 * 5.672)),)
    assert found.at_peak == ("clusters.gpu-train",)
    for result in results(BORROW, "dev"):
        (finding,) = result.findings
        assert (result.status, result.level) == ("fail", "advisory")
        assert finding.message.startswith("dev may cost $22.69/h at full scale, over its cap of $20.00/h "
                                          "(clusters.gpu-train: $22.69/h); counted at their peak")
    # max_gpus counts the same 4 nodes: 4 GPUs x (2 + 2)
    for result in results(edit(BORROW, ("max_gpus: 16", "max_gpus: 15")), "dev", "max_gpus"):
        assert "dev uses 16 GPUs at full scale" in result.findings[0].message
    # without borrowing the cluster is its max nodes, as before
    alone = edit(BORROW, ("    borrowing: {cohort: shared, max_nodes: 2}\n", ""))
    assert ceiling(alone, "dev").by_item == (("clusters.gpu-train", pytest.approx(2 * 5.672)),)
    assert ceiling(alone, "dev").at_peak == ()


def test_borrowing_without_a_limit_fails_the_cost_cap_closed_as_max_gpus() -> None:
    text = edit(BORROW, ("borrowing: {cohort: shared, max_nodes: 2}", "borrowing: {cohort: shared}"))
    for result in results(text, "dev"):
        (finding,) = result.findings
        assert result.status == "fail" and finding.address == "clusters.gpu-train"
        assert finding.message == ("clusters.gpu-train has no cost bound in dev: 2 node(s) + borrowing from cohort "
                                   "shared without a limit, so the cap of $20.00/h cannot hold (the rule fails closed)")
        assert finding.fix.startswith("Set borrowing.max_nodes on the cluster")
    for result in results(text, "dev", "max_gpus"):
        assert [f.address for f in result.findings] == ["clusters.gpu-train"]


def test_the_cap_description_says_what_runs_part_of_the_time_is_counted_while_it_runs() -> None:
    text = Guardrails.model_fields["max_hourly_cost_usd"].description
    assert "never a monthly average" in text and "drift jobs at their runs at once" in text
    assert "a cluster that borrows at max nodes + borrowing.max_nodes" in text
    assert "so does borrowing without max_nodes" in text
    assert text in descriptions(json.loads(SCHEMA.read_text()))  # the shipped schema carries it
