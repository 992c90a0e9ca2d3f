"""AWS-only bounds on spec values (``spec/aws_values.py`` ``check_aws_values``): errors in AWS
environments, nothing on Kubernetes.

A training job's ``max_runtime`` is the SageMaker training step's ``StoppingCondition.MaxRuntimeInSeconds``:
"The maximum value is 28 days" (botocore ``StoppingCondition``, whose shape has no ``max``, so the
request-shape tests of the compiled pipeline cannot see it; the doc text is read from botocore here).
"""

from __future__ import annotations

import botocore.session

from mlops_infra.spec import parse_system
from mlops_infra.spec.limits import SAGEMAKER_MAX_RUNTIME_SECONDS
from tests.support.text_edits import edit, line_of


def errors(text: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml", env).diagnostics if d.code == "training-runtime-too-long"]


def test_the_limit_is_what_botocore_documents() -> None:
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("StoppingCondition")
    assert "The maximum value is 28 days." in shape.members["MaxRuntimeInSeconds"].documentation
    assert "max" not in shape.members["MaxRuntimeInSeconds"].metadata
    assert SAGEMAKER_MAX_RUNTIME_SECONDS == 28 * 86400


def test_twenty_nine_days_is_an_error_on_aws_only(reference_text: str) -> None:
    text = edit(reference_text, "    max_runtime: 6h\n", "    max_runtime: 29d\n")
    found = errors(text)
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("training_jobs", 0, "max_runtime"), "training_jobs.retrain")]
    assert found[0].location.line == line_of(text, "    max_runtime: 29d")
    assert found[0].summary == ('Training job "retrain" may run 29d; a SageMaker training job runs at most 28 days')
    assert "StoppingCondition.MaxRuntimeInSeconds" in found[0].detail and "(AWS)" in found[0].detail
    assert errors(text, "prod") and not errors(text, "dev")  # PyTorchJob activeDeadlineSeconds takes it


def test_twenty_eight_days_fit(reference_text: str) -> None:
    assert not errors(edit(reference_text, "    max_runtime: 6h\n", "    max_runtime: 28d\n"))
    assert not errors(edit(reference_text, "    max_runtime: 6h\n", "    max_runtime: 4w\n"))


def test_an_override_is_refused_where_it_is_written(reference_text: str) -> None:
    text = edit(reference_text, "      endpoints.scorer.replicas: {min: 3, max: 20}\n",
                "      endpoints.scorer.replicas: {min: 3, max: 20}\n      training_jobs.retrain.max_runtime: 5w\n")
    found = errors(text, "prod")
    assert len(found) == 1 and found[0].location.line == line_of(text, "      training_jobs.retrain.max_runtime: 5w")
    assert not errors(text, "staging")
