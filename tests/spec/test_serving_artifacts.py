"""Finding B5: an AWS endpoint's serving role must be able to read its model's artifacts.

The rule and its source (botocore ``CreateModelInput.ExecutionRoleArn``) are in
``mlops_infra/spec/artifacts.py``: the role reads the artifacts of the jobs here that register the
model, and the model's ``artifacts_uri``; with neither, validate reports an error (the apply
would fail at ``CreateModel``).
"""

from __future__ import annotations

from mlops_infra.spec import parse_system
from tests.compile.aws.cases import compile_text, of_type
from tests.support.shared_files import REFERENCE
from tests.support.text_edits import edit

QUICKSTART = "mlops_infra/examples/quickstart.yaml"


def _text() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[2] / QUICKSTART).read_text()


def test_a_model_no_job_registers_needs_an_artifacts_uri_on_aws():
    text = edit(_text(), "    artifacts_uri: s3://churn-quickstart-models-123456789012/churn-model/   # trained outside this system\n", "")
    found = [d for d in parse_system(text).diagnostics if d.code == "model-artifacts-unknown"]
    assert [(d.severity, d.address) for d in found] == [("error", "endpoints.churn-api")]  # prod only: dev is Kubernetes
    assert "In environment prod" in found[0].detail and "models.churn-model.artifacts_uri" in found[0].detail


def test_the_serving_role_reads_exactly_the_declared_prefix_and_its_own_training_artifacts():
    """The declared prefix, and (since 5f7235f, finding removal-2) ``training/*`` of the environment's own
    artifacts bucket, which holds every version a training job of this system registered, so that a
    served version stays readable after its job is removed; nothing else."""
    graph = compile_text(_text(), "prod")
    (policy,) = [r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == "churn-api-serving-policy"]
    statements = {s["Sid"]: s for s in policy.inputs["policy"]["$json"]["Statement"]}
    assert sorted(statements["ReadModelArtifactsObjects"]["Resource"]) == [
        "arn:aws:s3:::churn-quickstart-models-123456789012/churn-model/*",
        "arn:aws:s3:::churn-quickstart-prod-platform-artifacts-123456789012/training/*"]


def test_the_reference_and_the_examples_need_no_change():
    """Making B5 an error changes nothing for documents whose models are trained here or name their
    artifacts (the reference document, unchanged, and every example)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    documents = [REFERENCE, root / QUICKSTART,
                 *sorted((root / "examples").glob("*/mlsystem.yaml"))]
    assert len(documents) >= 4
    for path in documents:
        found = [d for d in parse_system(path.read_text(), str(path)).diagnostics if d.code == "model-artifacts-unknown"]
        assert found == [], path


def test_the_serving_role_may_decrypt_the_declared_prefix_through_s3_only():
    """An artifacts_uri bucket may use its own KMS key (storage audit finding 3): SageMaker reads the
    model data with the serving role, and an SSE-KMS object needs kms:Decrypt on its key. The grant is
    any key of the region, but only as S3 uses it for that bucket's objects (object ARN, or the bucket
    ARN when the bucket uses an S3 Bucket Key)."""
    graph = compile_text(_text(), "prod")
    (policy,) = [r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == "churn-api-serving-policy"]
    statements = {s["Sid"]: s for s in policy.inputs["policy"]["$json"]["Statement"]}
    decrypt = statements["DecryptImportedModels"]
    region = decrypt["Condition"]["StringEquals"]["kms:ViaService"].split(".")[1]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Effect"] == "Allow"
    assert decrypt["Resource"] == [f"arn:aws:kms:{region}:*:key/*"]
    assert decrypt["Condition"] == {
        "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [
            "arn:aws:s3:::churn-quickstart-models-123456789012",
            "arn:aws:s3:::churn-quickstart-models-123456789012/churn-model/*"]}}


def test_a_model_trained_here_gets_no_foreign_key_grant():
    from tests.compile.aws.cases import REFERENCE, compiled

    graph = compiled(REFERENCE, "prod")
    sids = {s["Sid"] for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy")
            for s in r.inputs["policy"]["$json"]["Statement"]}
    assert "UseDataKey" in sids and "DecryptImportedModels" not in sids
