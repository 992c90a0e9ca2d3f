"""rolling-batch-out-of-range: on AWS a ``rolling`` step outside SageMaker's 5-50 % batch warns at the step
(spec/rolling_batch.py cites botocore ``RollingUpdatePolicy.MaximumBatchSize``). Before, a 2 % step compiled
to a 5 % batch (and 80 % to 50 %) without a word.

Each warning is checked against the compiled ``maximumBatchSize``, so it cannot outlive the clamp it describes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

CODE = "rolling-batch-out-of-range"
ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text()
ROLLOUT = "      strategy: canary\n      steps: [10, 100]\n      bake: 10m\n      rollback_on: [churn-api-slow]\n"
PROD = '  prod:\n    target: {kind: aws, region: us-east-1, account: "123456789012"}\n'


def _rolling(steps: str) -> str:
    return edit(QUICKSTART, ROLLOUT, f"      strategy: rolling\n      steps: {steps}\n      bake: 10m\n")


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == CODE]


def _batch(text: str) -> int:
    loaded = parse_system(text, env="prod")
    assert loaded.ok
    [endpoint] = [r for r in compile_system(loaded.system, "prod").resources
                  if r.type == "aws:sagemaker/endpoint:Endpoint"]
    return endpoint.inputs["deploymentConfig"]["rollingUpdatePolicy"]["maximumBatchSize"]["value"]


def test_a_step_under_5_percent_warns_at_the_step_with_what_runs() -> None:
    text = _rolling("[2]")
    [d] = _found(text)
    assert _batch(text) == 5
    assert d.severity == "warning" and d.address == "endpoints.churn-api"
    assert d.path == ("endpoints", 0, "rollout", "steps", 0)
    assert d.location is not None and d.location.line == line_of(text, "      steps: [2]")
    assert d.summary == 'Endpoint "churn-api": rolling step 2% runs as batches of 5% on AWS'
    assert d.detail == (
        "SageMaker's rolling update takes a batch of 5 to 50% of the endpoint's capacity (botocore "
        "RollingUpdatePolicy.MaximumBatchSize), so on AWS the first step, 2%, is updated in batches of 5%. "
        "Set steps: [5] to say what runs, or use strategy: canary for a smaller step: its steps are shares of "
        "traffic the rollout controller moves (for example steps: [2, 25, 100]).")


def test_a_step_over_50_percent_warns_with_blue_green_as_the_fix() -> None:
    text = _rolling("[80, 100]")
    [d] = _found(text)
    assert _batch(text) == 50
    assert d.summary == 'Endpoint "churn-api": rolling step 80% runs as batches of 50% on AWS'
    assert d.detail.endswith("updated in batches of 50%. Set steps: [50] to say what runs, or use strategy: "
                             "blue_green to bring up the whole new fleet at once.")


@pytest.mark.parametrize(("steps", "batch"), [("[5]", 5), ("[25, 50, 100]", 25), ("[50]", 50)])
def test_a_step_sagemaker_takes_does_not_warn(steps: str, batch: int) -> None:
    text = _rolling(steps)
    assert _found(text) == [] and _batch(text) == batch


def test_no_steps_is_the_default_batch_without_a_warning() -> None:
    text = edit(QUICKSTART, ROLLOUT, "      strategy: rolling\n      bake: 10m\n")
    assert _found(text) == [] and _batch(text) == 25


def test_kubernetes_environments_do_not_warn() -> None:
    """dev is Kubernetes there, where rollout-ignored-on-kubernetes already says the steps do nothing."""
    text = edit(_rolling("[2]"), PROD, "")
    text = text.replace("    promote_from: dev\n    gates: [model_approved, progressive_rollout, alerts_routed]\n", "")
    diagnostics = parse_system(text).diagnostics
    assert [d for d in diagnostics if d.is_error] == []
    assert _found(text) == [] and "rollout-ignored-on-kubernetes" in {d.code for d in diagnostics}


def test_two_aws_environments_sharing_the_step_warn_once() -> None:
    staging = '  staging:\n    target: {kind: aws, region: us-east-1, account: "111111111111"}\n'
    text = edit(_rolling("[2]"), PROD, staging + PROD)
    assert len(_found(text)) == 1


def test_an_override_warns_at_the_override() -> None:
    override = "    overrides:\n      endpoints.churn-api.rollout: {strategy: rolling, steps: [1]}\n"
    text = edit(QUICKSTART, PROD, PROD + override)
    [d] = _found(text)
    assert d.summary == 'Endpoint "churn-api": rolling step 1% runs as batches of 5% on AWS'
    assert d.location is not None and d.location.line == line_of(text, "      endpoints.churn-api.rollout:")
    assert _batch(text) == 5


def test_validate_prints_the_file_and_line_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "mlsystem.yaml"
    text = _rolling("[2]")
    path.write_text(text)
    result = run_cli("validate", str(path))
    assert result.code == 0 and "Traceback" not in result.output
    line = line_of(text, "      steps: [2]")
    assert f"{path}:{line}:15: warning: Endpoint \"churn-api\": rolling step 2% runs as batches of 5% on AWS" \
        in result.stderr
