"""One model's ``artifacts_uri`` bucket used by AWS environments in two regions (spec/artifacts_region.py; audit
envs-4): a bucket has one region, and SageMaker reads model artifacts only in the model's (botocore sagemaker
``ContainerDefinition.ModelDataUrl``). Before, validate was silent and each stack compiled the bucket as its own
region's."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.spec import parse_system
from tests.support.cli import run_cli

LLM = Path(__file__).resolve().parents[2] / "examples" / "llm-platform" / "mlsystem.yaml"
OVERRIDE = "      models.reranker.artifacts_uri: s3://llm-platform-model-imports-us-east-1-333333333333/reranker/\n"
BASE_URI = "    artifacts_uri: s3://llm-platform-model-imports-444444444444/reranker/"


def _without_the_staging_override() -> str:
    text = LLM.read_text()
    assert text.count(OVERRIDE) == 1
    return text.replace(OVERRIDE, "")


def _found(text: str) -> list:
    return [d for d in parse_system(text, "mlsystem.yaml").diagnostics if d.code == "artifacts-uri-region"]


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle))


def test_one_bucket_for_staging_in_us_east_1_and_prod_in_us_west_2_is_an_error_at_the_base_uri(tmp_path) -> None:
    text = _without_the_staging_override()
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec))
    assert result.code == 1, result.output
    assert (f"mlsystem.yaml:{_line(text, BASE_URI)}:20: error: Model \"reranker\": artifacts bucket "
            "llm-platform-model-imports-444444444444 is used by AWS environments in different regions: staging "
            "(us-east-1), prod (us-west-2)") in result.output
    assert "Override models.reranker.artifacts_uri in staging" in result.output
    assert "S3 replication" in result.output and "ContainerDefinition.ModelDataUrl" in result.output


def test_the_example_with_a_staging_bucket_of_its_region_validates() -> None:
    assert not _found(LLM.read_text())


def test_two_overrides_naming_one_bucket_are_reported_at_the_later_one() -> None:
    text = LLM.read_text().replace(
        "      training_jobs.finetune-chat.image: 123456789012.dkr.ecr.us-west-2",
        "      models.reranker.artifacts_uri: s3://llm-platform-model-imports-us-east-1-333333333333/r/\n"
        "      training_jobs.finetune-chat.image: 123456789012.dkr.ecr.us-west-2")
    found = _found(text)
    assert len(found) == 1 and found[0].is_error
    assert found[0].path == ("environments", "prod", "overrides", "models.reranker.artifacts_uri")
    assert "staging (us-east-1), prod (us-west-2)" in found[0].summary


def test_one_bucket_in_one_region_and_kubernetes_environments_are_fine() -> None:
    text = _without_the_staging_override().replace("region: us-east-1, account: \"333333333333\"",
                                                   "region: us-west-2, account: \"333333333333\"")
    assert not _found(text)  # dev (Kubernetes) reads the same base URI: not compared


def test_a_bucket_a_hundred_models_read_from_names_six_of_their_fields_and_how_many_more() -> None:
    """A missing bucket named every model's ``artifacts_uri`` field twice in one sentence; with 100 models it names
    the first six and how many more, and so does the list of buckets S3 did not answer for."""
    from types import SimpleNamespace

    from mlops_infra.spec.artifacts_region import bucket_region_findings

    models = [f"m{i:03}" for i in range(100)]
    answers = [SimpleNamespace(bucket="shared", region=None, missing=True, problem=None)]
    answers += [SimpleNamespace(bucket=f"b{i:03}", region=None, missing=False, problem="AccessDenied") for i in range(100)]
    missing, unknown = bucket_region_findings(answers, {"shared": models}, "prod", "us-east-1")
    fields = ", ".join(f"models.m{i:03}.artifacts_uri" for i in range(6)) + " and 94 more"
    assert missing.startswith(f"artifacts bucket shared ({fields}) does not exist") and "m006" not in missing
    assert f"point {fields} in environment prod at" in missing
    assert ("S3 did not say the region of b000 (AccessDenied), b001 (AccessDenied), b002 (AccessDenied), "
            "b003 (AccessDenied), b004 (AccessDenied), b005 (AccessDenied) and 94 more; ") in unknown


def test_a_cut_field_list_says_which_models_every_field_belongs_to() -> None:
    """closing-44c-2. Fails before: the fix named six of the 100 fields to change and no output listed the rest; it
    now says they are every model whose artifacts_uri is in the bucket (missing and other-region alike)."""
    from types import SimpleNamespace

    from mlops_infra.spec.artifacts_region import bucket_region_findings

    models = [f"m{i:03}" for i in range(100)]
    answers = [SimpleNamespace(bucket="shared", region=None, missing=True, problem=None),
               SimpleNamespace(bucket="far", region="eu-west-1", missing=False, problem=None),
               SimpleNamespace(bucket="few", region="eu-west-1", missing=False, problem=None)]
    missing, far, few = bucket_region_findings(answers, {"shared": models, "far": models, "few": models[:7]},
                                               "prod", "us-east-1")
    assert missing.endswith("at the bucket that holds the versions: every model whose artifacts_uri is in "
                            "s3://shared/, 100 of them."), missing
    assert far.endswith("(kept in step with S3 replication): every model whose artifacts_uri is in s3://far/, "
                        "100 of them."), far
    assert "m006" in few and "every model" not in few  # a list of seven is written whole
