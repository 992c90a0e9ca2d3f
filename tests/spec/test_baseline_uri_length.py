"""A drift monitor's ``BASELINE_URI`` fits a SageMaker Processing environment value (``spec/aws_values.py``,
``baseline-uri-too-long``, audit limits-1): ``s3://<compiled baseline bucket>/<baseline_prefix>`` of more than
256 characters (botocore ``sagemaker`` ``ProcessingEnvironmentValue`` ``max``, read here) is an error at
``baseline_prefix``'s line in AWS environments, where the apply would fail at CreatePipeline; Kubernetes takes it."""

from __future__ import annotations

import botocore.session
import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.aws_values import PROCESSING_ENVIRONMENT_VALUE_MAX, baseline_bucket_length
from tests.compile.aws.cases import compile_text
from tests.support.shared_files import REFERENCE
from tests.support.text_edits import edit, line_of

TEXT = REFERENCE.read_text()
ANCHOR = "    baseline: transactions\n"
PROD_ROOM = 256 - len("s3://fraud-detection-prod-transactions-222222222222/")  # 204


def errors(text: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml", env).diagnostics if d.code == "baseline-uri-too-long"]


def with_prefix(prefix: str) -> str:
    return edit(TEXT, ANCHOR, f"{ANCHOR}    baseline_prefix: {prefix}\n")


def test_the_limit_is_botocores() -> None:
    shape = botocore.session.get_session().get_service_model("sagemaker").shape_for("ProcessingEnvironmentValue")
    assert shape.metadata["max"] == PROCESSING_ENVIRONMENT_VALUE_MAX == 256


def test_the_audits_prefix_is_an_error_at_its_line_on_aws_only() -> None:
    prefix = "snapshots/" + "region=eu-west-1/" * 12  # 214 characters: BASELINE_URI of 266 in prod
    text = with_prefix(prefix)
    found = errors(text, "prod")
    assert [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("monitors", 0, "baseline_prefix"), "monitors.drift")]
    assert found[0].location.line == line_of(text, "    baseline_prefix: snapshots/")
    assert found[0].summary == ("Monitor \"drift\"'s baseline URI is 266 characters; a SageMaker Processing job's "
                                "environment values are at most 256")
    assert "fits in 204 characters; it has 214" in found[0].detail and "(AWS)" in found[0].detail
    assert errors(text, "staging") and not errors(text, "dev")  # dev is Kubernetes


@pytest.mark.parametrize("extra", [0, 1])
def test_the_bound_is_exact(extra: int) -> None:
    prefix = "a" * (PROD_ROOM + extra)
    text = with_prefix(prefix)
    assert bool(errors(text, "prod")) == bool(extra)
    if not extra:  # the compiled value is the longest that fits
        graph = compile_text(text)
        [pipeline] = [r for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
                      and r.address == "monitors.drift"]
        env = pipeline.inputs["pipelineDefinition"]["$json"]["Steps"][0]["Arguments"]["Environment"]
        assert len(env["BASELINE_URI"]) == 256


def test_prediction_drift_reads_no_baseline_so_its_prefix_is_not_checked() -> None:
    text = edit(with_prefix("a" * 300), "    metric: feature_drift ", "    metric: prediction_drift ")
    assert not errors(text, "prod")


@pytest.mark.parametrize("source", ["transactions", "t" * 30, "a" * 20 + "-" + "b" * 30, "x" * 63])
def test_the_bucket_length_is_the_compiled_names(source: str) -> None:
    """Short, cut, cut where the cut ends in ``-`` (stripped before the hash), and the longest name."""
    text = TEXT.replace("transactions", source)
    graph = compile_text(text)
    buckets = [r.inputs["bucket"] for r in graph.resources if r.type == "aws:s3/bucket:Bucket"
               and r.address == f"data_sources.{source}"]
    assert [len(b) for b in buckets] == [baseline_bucket_length("fraud-detection", "prod", source, "222222222222")]
