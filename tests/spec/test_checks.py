"""Semantic checks: what they accept, what they warn about, and what their messages say."""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from tests.support.reference import REFERENCE_WARNINGS, reference_findings, without_reference_warnings
from tests.support.text_edits import edit, line_of


def by_code(result, code: str):
    found = [d for d in result.diagnostics if d.code == code]
    assert found, f"no {code}: {[(d.code, d.summary) for d in result.diagnostics]}"
    return found[0]


def test_reference_checks_clean(reference_text: str) -> None:
    result = parse_system(reference_text)
    assert result.ok
    assert reference_findings(result.diagnostics) == REFERENCE_WARNINGS  # B3: prod is eu-west-1, the image us-east-1


def test_a_job_larger_than_a_kubernetes_environments_queue_is_an_error_there(reference_text: str) -> None:
    """Finding B7: dev is Kubernetes, where the cluster is a Kueue ClusterQueue with a quota of max
    nodes and no cohort; Kueue never admits a run larger than that, so it is an error, not a warning."""
    text = edit(reference_text, "      training_jobs.retrain.nodes: 1", "      training_jobs.retrain.nodes: 2")
    result = parse_system(text)
    found = without_reference_warnings(result.diagnostics)
    assert [(d.code, d.severity) for d in found] == [("too-many-nodes", "error")]
    d = found[0]
    assert "environment dev" in d.summary and "Kueue never admits" in d.summary
    assert d.detail.startswith("In environment dev:")


def test_a_job_larger_than_an_aws_environments_cluster_stays_a_warning(reference_text: str) -> None:
    """On SageMaker a cluster is only capacity configuration: a run gets the nodes it asks for."""
    text = edit(reference_text, "      endpoints.scorer.model.version: 13\n",
                "      endpoints.scorer.model.version: 13\n      clusters.gpu-train.nodes: {min: 0, max: 1}\n")
    found = [d for d in without_reference_warnings(parse_system(text).diagnostics) if d.code == "too-many-nodes"]
    assert [(d.severity, "environment staging" in d.summary) for d in found] == [("warning", True)]


def test_unknown_reference_has_did_you_mean_and_known_names(reference_text: str) -> None:
    result = parse_system(edit(reference_text, "    cluster: gpu-train", "    cluster: gpu-trian"))
    d = by_code(result, "unknown-reference")
    assert 'Did you mean "gpu-train"?' in d.detail
    assert "Known clusters" in d.detail
    assert d.address == "training_jobs.retrain"


@pytest.mark.parametrize(("line", "repeated", "noun", "path"), [
    ("      on_alerts: [fraud-drift]", "      on_alerts: [fraud-drift, fraud-drift]", "Alert",
     ("training_jobs", 0, "triggers", "on_alerts", 1)),
    ("    notify: [ml-team]", "    notify: [ml-team, ml-team]", "Channel", ("alerts", 0, "notify", 1)),
])
def test_a_name_repeated_in_a_list_of_references_is_an_error_at_the_repeat(
        reference_text: str, line: str, repeated: str, noun: str, path: tuple) -> None:
    """A list of references names a set: a retraining trigger repeated made two EventBridge rules of
    one name, and the compile stopped on the duplicate URN as an internal error (found by a
    property test of mutated documents)."""
    text = edit(reference_text, line, repeated)
    result = parse_system(text)
    found = without_reference_warnings(result.diagnostics)
    assert [(d.code, d.severity, d.path) for d in found] == [("repeated-reference", "error", path)]
    assert found[0].summary.startswith(f"{noun} ") and "listed twice" in found[0].summary
    assert "Remove this one." in found[0].detail
    assert found[0].location.line == line_of(text, repeated)


def test_duplicate_names_point_at_the_second(reference_text: str) -> None:
    result = parse_system(edit(reference_text, "  - name: ml-team\n", "  - name: oncall\n"))
    d = by_code(result, "duplicate-name")
    assert d.path == ("channels", 1, "name")


def test_instance_type_with_or_without_ml_prefix(reference_text: str) -> None:
    for shape in ("ml.g5.xlarge", "g5.xlarge"):
        text = edit(reference_text, "    accelerator: {type: A10G, count: 1}", f"    instance_type: {shape}")
        assert parse_system(text).ok, shape


def test_accelerator_case_hint(reference_text: str) -> None:
    d = by_code(parse_system(edit(reference_text, "type: A10G, count: 1", "type: a10g, count: 1")),
                "unknown-accelerator")
    assert '"A10G"' in d.detail


def test_accelerator_count_lists_what_exists(reference_text: str) -> None:
    d = by_code(parse_system(edit(reference_text, "type: A10G, count: 1", "type: H100, count: 2")),
                "invalid-accelerator-count")
    assert "8 (p5.48xlarge)" in d.detail


V100 = "accelerator: {type: V100, count: 1}"  # ml.p3.2xlarge: training prices in us-east-1 and eu-west-1


def test_cluster_budget_warning_names_price_source_and_region(reference_text: str) -> None:
    # the cluster counts retrain's 2 nodes, not nodes.max 8: SageMaker starts what a job asks for (closing-34e-1)
    text = edit(edit(reference_text, "accelerator: {type: A10G, count: 4}", V100),
                "    max_hourly_cost_usd: 60", "    max_hourly_cost_usd: 5")
    result = parse_system(text)
    assert result.ok, "a budget overrun is a warning"
    warnings = [d for d in result.diagnostics if d.code == "over-budget"]
    assert {w.summary.split(" in environment ")[1].split(",")[0] for w in warnings} == {"staging", "prod"}
    prod = next(w for w in warnings if "environment prod" in w.summary)
    staging = next(w for w in warnings if "environment staging" in w.summary)
    assert "$8.26/h" in prod.summary and "$7.65/h" in staging.summary  # each region's own training price
    assert "$4.1310/h for ml.p3.2xlarge in eu-west-1." in prod.detail
    assert prod.detail.startswith("2 nodes (its training jobs' runs at once: retrain 2;")
    assert "Price source: https://github.com/aws-samples/sagemaker-ssh-helper/" in prod.detail
    assert "(as of 2023-12)" in prod.detail
    assert prod.location.line == line_of(text, "    max_hourly_cost_usd: 5")


def test_budget_without_a_training_price_in_the_region_warns_nothing(reference_text: str) -> None:
    text = edit(reference_text, "    max_hourly_cost_usd: 60", "    max_hourly_cost_usd: 1")
    assert [d for d in parse_system(text).diagnostics if d.code == "over-budget"] == []  # ml.g5.12xlarge: none


def test_budget_is_checked_with_the_environments_overrides(reference_text: str) -> None:
    text = edit(edit(reference_text, "accelerator: {type: A10G, count: 4}", V100),
                "      endpoints.scorer.replicas: {min: 3, max: 20}",
                "      endpoints.scorer.replicas: {min: 3, max: 20}\n      training_jobs.retrain.nodes: 16")
    warnings = [d for d in parse_system(text).diagnostics if d.code == "over-budget"]
    assert [w.summary for w in warnings] == [
        'Cluster "gpu-train" may cost $66.10/h in environment prod, over its budget of $60.00/h']
    assert warnings[0].detail.startswith("16 nodes (its training jobs' runs at once: retrain 16;")
    assert warnings[0].location.line == line_of(text, "    max_hourly_cost_usd: 60")
    # nodes.max alone starts nothing on AWS: overriding it no longer moves the count (closing-34e-1)
    text = edit(edit(reference_text, "accelerator: {type: A10G, count: 4}", V100),
                "      endpoints.scorer.replicas: {min: 3, max: 20}",
                "      endpoints.scorer.replicas: {min: 3, max: 20}\n      clusters.gpu-train.nodes: {min: 0, max: 16}")
    assert [d for d in parse_system(text).diagnostics if d.code == "over-budget"] == []


def test_rollback_alert_with_info_severity_warns(reference_text: str) -> None:
    text = edit(reference_text, "    monitor: latency\n    for: 5m\n    severity: critical",
                "    monitor: latency\n    for: 5m\n    severity: info")
    result = parse_system(text)
    assert result.ok
    assert by_code(result, "rollback-alert-severity").path == ("endpoints", 0, "rollout", "rollback_on", 0)


def test_rollback_alert_on_another_endpoint_warns(reference_text: str) -> None:
    text = edit(reference_text, "  - name: latency\n    endpoint: scorer\n",
                "  - name: latency\n    endpoint: other\n")
    text = edit(text, "endpoints:\n  - name: scorer\n",
                "endpoints:\n  - name: other\n    model: {name: fraud-model, version: 1}\n"
                "    replicas: {min: 1, max: 1}\n    rollout: {strategy: blue_green}\n  - name: scorer\n")
    result = parse_system(text)
    assert result.ok, result.diagnostics
    assert "not \"scorer\"" in by_code(result, "rollback-alert-endpoint").summary


@pytest.mark.parametrize(("key", "value"), [("api_token", "abc123"), ("dbPassword", "hunter2"),
                                            ("notes", "AKIAABCDEFGHIJKLMNOP")])
def test_secret_looking_hyperparameters_are_errors_without_echoing_the_value(reference_text: str, key: str,
                                                                              value: str) -> None:
    """A credential in a free-text field is an error (issue 13), said by place and kind, with how to
    store it on both targets of the reference (AWS staging/prod, Kubernetes dev)."""
    text = edit(reference_text, "learning_rate: 0.001}", f"learning_rate: 0.001, {key}: {value}}}")
    result = parse_system(text)
    assert not result.ok
    d = by_code(result, "plaintext-secret")
    assert d.severity == "error"
    assert value not in d.summary + d.detail
    assert d.path == ("training_jobs", 0, "hyperparameters", key)
    assert "aws secretsmanager create-secret --name retrain-" in d.detail
    assert "kubectl create secret generic retrain-" in d.detail


def test_harmless_hyperparameters_do_not_warn(reference_text: str) -> None:
    text = edit(reference_text, "learning_rate: 0.001}", "learning_rate: 0.001, max_tokens: 512, tokenizer: bpe}")
    assert not [d for d in parse_system(text).diagnostics if d.code == "plaintext-secret"]


def test_gates_without_promote_from_warn(reference_text: str) -> None:
    text = edit(reference_text, "    target: {kind: kubernetes, context: kind-mlops, namespace: fraud-dev}",
                "    target: {kind: kubernetes, context: kind-mlops, namespace: fraud-dev}\n    gates: [tests_passed]")
    assert by_code(parse_system(text), "gates-without-promotion").severity == "warning"


def test_gate_only_applies_to_its_environment(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.model.version: 13",
                "      endpoints.scorer.model.version: 13\n      endpoints.scorer.rollout: {strategy: all_at_once}")
    assert parse_system(text, env="staging").ok, "staging has no progressive_rollout gate"


def test_gate_error_from_an_override_points_at_it(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.replicas: {min: 3, max: 20}",
                "      endpoints.scorer.replicas: {min: 3, max: 20}\n      endpoints.scorer.rollout: {strategy: all_at_once}")
    d = by_code(parse_system(text), "gate-unsatisfiable")
    assert d.location.line == line_of(text, "endpoints.scorer.rollout: {strategy: all_at_once}")
    assert "environment prod" in d.summary


def test_three_environment_cycle_is_reported_once_with_its_path(reference_text: str) -> None:
    text = edit(reference_text, "namespace: fraud-dev}", "namespace: fraud-dev}\n    promote_from: prod")
    cycles = [d for d in parse_system(text).diagnostics if d.code == "promotion-cycle"]
    assert len(cycles) == 1
    assert "dev <- prod <- staging <- dev" in cycles[0].summary


@pytest.mark.parametrize(("metric", "threshold", "ok"), [
    ("latency_p99", "250ms", True), ("latency_p99", "2s", True), ("latency_p99", "0.25", False),
    ("latency_p99", "5%", False), ("error_rate", "1%", True), ("error_rate", "0.01", True),
    ("error_rate", "150%", False), ("error_rate", "1s", False), ("prediction_drift", "0.3", True),
    ("prediction_drift", "1.5", False), ("data_quality", "10%", False),
])
def test_threshold_units(reference_text: str, metric: str, threshold: str, ok: bool) -> None:
    text = edit(reference_text, "    metric: error_rate\n    threshold: 1%",
                f"    metric: {metric}\n    threshold: {threshold}")
    result = parse_system(text)
    bad = [d for d in result.diagnostics if d.code == "invalid-threshold"]
    assert (not bad) == ok, bad
    if bad:
        assert bad[0].detail


def test_baseline_on_a_live_metric_warns(reference_text: str) -> None:
    text = edit(reference_text, "    metric: latency_p99\n", "    metric: latency_p99\n    baseline: transactions\n")
    assert by_code(parse_system(text), "unused-field").severity == "warning"
