"""The AWS drift job gets its data contract in a file, not in 256-character environment values (audit limits-1).

A SageMaker Processing job's ``Environment`` holds at most 100 entries of at most 256 characters
(botocore ``sagemaker`` ``ProcessingEnvironmentMap`` / ``ProcessingEnvironmentValue``, read here), and
SageMaker checks them when CreatePipeline parses the definition; ``COLUMN_TYPES`` of a contract of
about ten columns was longer, so the apply of a real feature table failed there. The contract is now
an S3 object the stack writes in the platform artifacts bucket (``compile/aws/monitoring.py``
``add_contract``), downloaded by the Processing step (``ProcessingInputs``) and read by the job from
``CONTRACT_FILE`` (``compile/kubernetes/scripts/drift_job.py`` ``contract``).
"""

from __future__ import annotations

import json

import botocore.session
import pytest

from mlops_infra.compile import drift_job
from mlops_infra.compile.aws import monitoring
from mlops_infra.graph import DesiredGraph, is_json
from tests.compile.aws.cases import compile_text, compiled
from tests.support.shared_files import REFERENCE
from tests.support.text_edits import edit

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
REFERENCE_TEXT = REFERENCE.read_text()
CONTRACT = "      columns:\n        amount: float\n        merchant_id: string\n        country: string\n        is_fraud: bool\n"
WIDE = [f"feature_{n:03d}" for n in range(40)] + ["is_fraud"]


def _shape(name: str):
    return botocore.session.get_session().get_service_model("sagemaker").shape_for(name)


def _wide_text(labels: int = 0) -> str:
    columns = "".join(f"        {c}: {'bool' if c == 'is_fraud' else 'float'}\n" for c in WIDE)
    text = edit(REFERENCE_TEXT, CONTRACT, "      columns:\n" + columns)
    if labels:
        text = edit(text, "    team: risk\n", "    team: risk\n" + "".join(f"    label-{n}: v{n}\n" for n in range(labels)))
    return text


def _steps(graph: DesiredGraph) -> list[dict]:
    out = []
    for pipeline in (r for r in graph.resources if r.type == PIPELINE):
        definition = pipeline.inputs["pipelineDefinition"]
        definition = definition["$json"] if is_json(definition) else json.loads(definition)
        out += [(pipeline, s) for s in definition["Steps"] if s["Type"] == "Processing"]
    return out


@pytest.mark.parametrize("graph", [pytest.param(lambda: compiled(REFERENCE, "prod"), id="reference"),
                                   pytest.param(lambda: compile_text(_wide_text()), id="41-columns")])
def test_every_processing_environment_fits_sagemakers_limits(graph) -> None:
    entries, value = _shape("ProcessingEnvironmentMap"), _shape("ProcessingEnvironmentValue")
    assert (entries.metadata["max"], value.metadata["max"]) == (100, 256)
    steps = _steps(graph())
    assert steps
    for pipeline, step in steps:
        env = step["Arguments"]["Environment"]
        assert len(env) <= entries.metadata["max"], pipeline.urn
        long = {k: len(v) for k, v in env.items() if isinstance(v, str) and len(v) > value.metadata["max"]}
        assert long == {}, pipeline.urn


def test_the_contract_file_holds_every_column_in_order_with_its_type() -> None:
    graph = compile_text(_wide_text())
    [contract] = [r for r in graph.resources if r.type == OBJECT]
    document = json.loads(contract.inputs["content"])
    assert document["columns"] == WIDE  # the spec's order: positional rows are named by it
    assert document["types"] == {c: "bool" if c == "is_fraud" else "float" for c in WIDE}
    artifacts = "fraud-detection-prod-platform-artifacts-222222222222"
    assert (contract.inputs["bucket"], contract.inputs["key"]) == (artifacts, "drift-jobs/drift/contract.json")
    assert contract.inputs["serverSideEncryption"] == "aws:kms"
    key = next(r for r in graph.resources if r.type == "aws:kms/key:Key")
    assert contract.inputs["kmsKeyId"] == {"$ref": key.urn, "output": "arn"}  # the bucket policy's key, by ARN
    bucket = next(r for r in graph.resources if r.type == "aws:s3/bucket:Bucket" and r.inputs["bucket"] == artifacts)
    assert bucket.urn in contract.dependencies and contract.address == "monitors.drift"

    [(pipeline, step)] = [(p, s) for p, s in _steps(graph) if p.address == "monitors.drift"]
    arguments = step["Arguments"]
    assert arguments["ProcessingInputs"] == [{"InputName": "contract", "S3Input": {
        "S3Uri": f"s3://{artifacts}/drift-jobs/drift/contract.json", "LocalPath": "/opt/ml/processing/input/contract",
        "S3DataType": "S3Prefix", "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}]
    env = arguments["Environment"]
    assert env["CONTRACT_FILE"] == "/opt/ml/processing/input/contract/contract.json"
    assert "COLUMNS" not in env and "COLUMN_TYPES" not in env
    assert contract.urn in pipeline.dependencies  # written before the pipeline that reads it exists


def test_the_drift_role_reads_its_contract_file_and_nothing_else_of_the_artifacts_bucket() -> None:
    graph = compiled(REFERENCE, "prod")
    [policy] = [r for r in graph.resources if r.type == "aws:iam/rolePolicy:RolePolicy" and r.address == "monitors.drift"]
    statements = {s["Sid"]: s for s in policy.inputs["policy"]["$json"]["Statement"]}
    artifacts = "fraud-detection-prod-platform-artifacts-222222222222"
    assert statements["ReadContractObjects"]["Resource"] == [f"arn:aws:s3:::{artifacts}/drift-jobs/drift/contract.json*"]
    assert statements["ReadContractList0"]["Resource"] == [f"arn:aws:s3:::{artifacts}"]
    assert statements["ReadContractList0"]["Condition"] == {"StringLike": {"s3:prefix": ["drift-jobs/drift/contract.json*"]}}
    others = [r for s in statements.values() if not s["Sid"].startswith("ReadContract")
              for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
              if isinstance(r, str) and artifacts in r]
    assert others == []


def test_the_object_takes_at_most_ten_tags_whatever_the_labels() -> None:
    """S3: "You can associate up to 10 tags with an object"; the provider's default tags carry every label."""
    graph = compile_text(_wide_text(labels=20))
    [contract] = [r for r in graph.resources if r.type == OBJECT]
    assert contract.inputs["overrideProvider"] == {"defaultTags": {"tags": {}}}
    assert len(contract.inputs["tags"]) <= 10 and contract.inputs["tags"]["mlops-infra/item"] == "monitors.drift"
    provider = next(r for r in graph.resources if r.type == "pulumi:providers:aws")
    assert len(provider.inputs["defaultTags"]["tags"]) > 10  # what the object opts out of


def test_without_a_contract_there_is_no_file_and_no_input() -> None:
    text = edit(REFERENCE_TEXT, "    contract:\n" + CONTRACT + "      freshness: 24h\n", "")
    graph = compile_text(text)
    assert [r for r in graph.resources if r.type == OBJECT] == []
    [(_, step)] = [(p, s) for p, s in _steps(graph) if p.address == "monitors.drift"]
    assert "ProcessingInputs" not in step["Arguments"] and "CONTRACT_FILE" not in step["Arguments"]["Environment"]


def test_the_file_is_what_the_job_reads(tmp_path) -> None:
    """The compiled object's content, where SageMaker puts it, read by the shipped job."""
    from mlops_infra.compile.kubernetes.scripts import drift_job as job

    graph = compile_text(_wide_text())
    [contract] = [r for r in graph.resources if r.type == OBJECT]
    path = tmp_path / drift_job.CONTRACT_FILE_NAME
    path.write_text(contract.inputs["content"], encoding="utf-8")
    columns, types = job.contract({"CONTRACT_FILE": str(path)})
    assert columns == WIDE and types["feature_000"] == "float" and types["is_fraud"] == "bool"
    assert monitoring.CONTRACT_LOCAL_PATH.startswith("/opt/ml/processing/")  # ProcessingS3Input.LocalPath's rule
