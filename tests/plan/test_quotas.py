"""The plan warns about the AWS account quotas an environment's graph alone passes (plan/quotas.py).

Each quota at its default and one past it, with what each counts (the default event bus only); the
region where a quota differs; the maximum past which only a split helps; Kubernetes graphs and the examples get none; and the user's path: ``plan`` of a
generated system of 460 endpoints (2.2 IAM roles and 1.1 SageMaker pipelines per endpoint) shows the
two warnings in text and JSON, while the reference stays quiet.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlops_infra.graph import DesiredGraph, DesiredResource, make_urn
from mlops_infra.plan.quotas import QUOTAS, quota_warnings
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
AWS = {"cloud": "aws", "region": "eu-west-1", "account": "222222222222"}


def _graph(resources: list[tuple[str, dict]], metadata: dict | None = None) -> DesiredGraph:
    made = tuple(sorted((DesiredResource(urn=make_urn("prod", "q", [type_], f"r{i}"), type=type_, name=f"r{i}",
                                         custom=True, parent=None, inputs=inputs)
                         for i, (type_, inputs) in enumerate(resources)), key=lambda r: r.urn))
    return DesiredGraph("q", "prod", made, {}, dict(AWS if metadata is None else metadata), {})


def _many(type_: str, count: int, **inputs) -> list[tuple[str, dict]]:
    return [(type_, dict(inputs))] * count


@pytest.mark.parametrize(("type_", "default", "what"), [
    ("aws:iam/role:Role", 1_000, "IAM roles"),
    ("aws:sagemaker/pipeline:Pipeline", 500, "SageMaker pipelines"),
    ("aws:appautoscaling/target:Target", 500, "Application Auto Scaling scalable targets for SageMaker"),
    ("aws:cloudwatch/eventRule:EventRule", 300, "EventBridge rules on the default event bus"),
])
def test_a_quota_warns_one_past_its_default(type_: str, default: int, what: str) -> None:
    assert quota_warnings(_graph(_many(type_, default))) == []
    (warning,) = quota_warnings(_graph(_many(type_, default + 1)))
    assert warning.startswith(f"AWS quota: this environment alone needs {default + 1:,} {what}; a new AWS account "
                              f"allows {default:,} (")
    assert "request an increase first" in warning


def test_iam_is_one_quota_per_account_and_has_a_maximum() -> None:
    (warning,) = quota_warnings(_graph(_many("aws:iam/role:Role", 1_001)))
    assert "Unless the quota of account 222222222222 was raised (it can be raised to 5,000)" in warning
    (warning,) = quota_warnings(_graph(_many("aws:iam/role:Role", 5_001)))
    assert "more than the 5,000 it can be raised to: `pulumi up` will fail; split the system" in warning


def test_a_regional_quota_names_the_region_and_eventbridge_has_a_smaller_one_in_two_regions() -> None:
    (warning,) = quota_warnings(_graph(_many("aws:sagemaker/pipeline:Pipeline", 501)))
    assert "Unless the quota of account 222222222222 in eu-west-1 was raised, `pulumi up` fails partway" in warning
    rules = _many("aws:cloudwatch/eventRule:EventRule", 101)
    assert quota_warnings(_graph(rules)) == []
    for region in ("af-south-1", "eu-south-1"):
        (warning,) = quota_warnings(_graph(rules, {**AWS, "region": region}))
        assert "needs 101 EventBridge rules on the default event bus; a new AWS account allows 100" in warning


def test_only_rules_on_the_default_bus_count() -> None:
    rules = (_many("aws:cloudwatch/eventRule:EventRule", 300)
             + _many("aws:cloudwatch/eventRule:EventRule", 5, eventBusName="default")
             + _many("aws:cloudwatch/eventRule:EventRule", 50, eventBusName="ml-events"))
    (warning,) = quota_warnings(_graph(rules))
    assert "needs 305 EventBridge rules" in warning


def test_every_quota_is_checked_in_order_and_a_kubernetes_graph_has_none() -> None:
    everything = [item for type_, n in (("aws:iam/role:Role", 1_001), ("aws:sagemaker/pipeline:Pipeline", 501),
                                        ("aws:appautoscaling/target:Target", 501),
                                        ("aws:cloudwatch/eventRule:EventRule", 301))
                  for item in _many(type_, n)]
    warnings = quota_warnings(_graph(everything))
    assert [w.split(" needs ")[1].split("; ")[0].split(" ", 1)[1] for w in warnings] == [q.what for q in QUOTAS]
    assert quota_warnings(_graph(everything, {"cloud": "kubernetes", "namespace": "ml"})) == []


def test_the_examples_need_no_quota_raised() -> None:
    from tests.compile.aws.cases import CASES, compiled

    for _, path, env in CASES:
        assert quota_warnings(compiled(path, env)) == [], (path, env)


def _generated(tmp_path: Path, endpoints: int) -> Path:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(generate(endpoints))
    return spec


def test_plan_shows_the_warnings_in_text_and_json(tmp_path: Path) -> None:
    spec = _generated(tmp_path, 460)
    text = run_cli("plan", str(spec), "--env", "prod", "--no-color")
    assert text.code == 0, text.output
    warned = [line for line in text.stdout.splitlines() if line.startswith("Warning: AWS quota:")]
    data = json.loads(run_cli("plan", str(spec), "--env", "prod", "--format", "json").stdout)
    roles, pipelines = (sum(c["type"] == t for c in data["resourceChanges"])  # all created: a first plan
                        for t in ("aws:iam/role:Role", "aws:sagemaker/pipeline:Pipeline"))
    assert roles > 1_000 and pipelines > 500
    assert [w.split(" needs ")[1].split("; ")[0] for w in warned] == [f"{roles:,} IAM roles",
                                                                      f"{pipelines:,} SageMaker pipelines"]
    assert [w for w in data["warnings"] if w.startswith("AWS quota:")] == [w.removeprefix("Warning: ") for w in warned]
    quiet = run_cli("plan", str(REPO / "examples" / "fraud-detection" / "mlsystem.yaml"), "--env", "prod",
                    "--no-color")
    assert quiet.code == 0 and "AWS quota" not in quiet.output
