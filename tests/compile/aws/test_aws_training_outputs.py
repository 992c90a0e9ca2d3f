"""A SageMaker training job is told where its output data sources are (audit datasources-2).

SageMaker passes a training container only what ``CreateTrainingJob`` names: its input channels
(``/opt/ml/input/data/<channel>``), one ``OutputDataConfig.S3OutputPath`` (the model) and its
``Environment`` (botocore ``sagemaker`` ``CreateTrainingJobRequest``). The Train step named no output
data source, so the reference's ``retrain``, which ``outputs: [feature-snapshots]`` and whose role may
write that bucket, could not find it on staging/prod (the bucket name holds the account, which the
container is not told), while on Kubernetes it gets ``MLOPS_OUTPUT_FEATURE_SNAPSHOTS``. The Train
step's ``Environment`` now holds the same variable (``compile/container_env.py`` ``data_source_uris``,
one rule for both targets), within botocore's ``TrainingEnvironmentMap`` (read here from botocore's
own model, not copied), and ``validate`` refuses more outputs than fit (``too-many-output-variables``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
import pytest

from mlops_infra.compile import compile_system, container_env
from mlops_infra.compile.aws import training
from mlops_infra.spec import parse_system
from mlops_infra.spec.limits import (
    SAGEMAKER_TRAINING_ENVIRONMENT_MAX,
    SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED,
    SAGEMAKER_TRAINING_OUTPUTS_MAX,
)
from tests.compile.aws.cases import CASES, REFERENCE, compile_text, compiled, of_type, system
from tests.support.text_edits import edit, line_of

SHAPES = botocore.session.get_session().get_service_model("sagemaker")


def _train_steps(graph) -> dict[str, dict[str, Any]]:
    """Train step arguments by pipeline resource name."""
    return {p.name: step["Arguments"] for p in of_type(graph, "aws:sagemaker/pipeline:Pipeline")
            for step in p.inputs["pipelineDefinition"]["$json"]["Steps"] if step["Name"] == "Train"}


def _statement(graph, policy: str, sid: str) -> dict[str, Any]:
    (resource,) = [r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == policy]
    return next(s for s in resource.inputs["policy"]["$json"]["Statement"] if s["Sid"] == sid)


def _bucket_of(graph, address: str) -> str:
    (bucket,) = [r for r in graph.resources if r.type.startswith("aws:s3/bucket") and r.type.endswith(":Bucket")
                 and r.address == address]
    return bucket.inputs["bucket"]


def test_the_reference_prod_train_step_names_the_bucket_its_role_may_write() -> None:
    graph = compiled(REFERENCE, "prod")
    environment = _train_steps(graph)["retrain-pipeline"]["Environment"]
    bucket = _bucket_of(graph, "data_sources.feature-snapshots")
    assert bucket == "fraud-detection-prod-feature-snapshots-222222222222"
    assert environment["MLOPS_OUTPUT_FEATURE_SNAPSHOTS"] == f"s3://{bucket}/"
    assert f"arn:aws:s3:::{bucket}/*" in _statement(graph, "retrain-training-policy", "WriteOutputs")["Resource"]
    assert not [k for k in environment if k.startswith("MLOPS_INPUT_")]  # inputs are channels on SageMaker


def test_both_targets_name_the_outputs_with_the_same_variables() -> None:
    """The Kubernetes run template and the SageMaker Train step give the same ``MLOPS_OUTPUT_*`` names;
    the inputs are ``MLOPS_INPUT_*`` on Kubernetes and one channel per data source on SageMaker, named
    as the data source (what ``mlops_entry.contract`` reads on each target)."""
    prod = _train_steps(compiled(REFERENCE, "prod"))["retrain-pipeline"]
    dev_graph = compile_system(system(REFERENCE, "dev"), "dev")
    (config,) = [r for r in dev_graph.resources if r.type == "kubernetes:core/v1:ConfigMap"
                 and r.inputs["metadata"]["name"] == "train-retrain"]
    template = json.loads(config.inputs["data"]["pytorchjob.json"])
    env = {e["name"]: e["value"] for e in  # MLOPS_RUN_NAME is a downward-API valueFrom (k8strain-4)
           template["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["env"] if "value" in e}
    outputs = sorted(k for k in env if k.startswith("MLOPS_OUTPUT_"))
    assert outputs == sorted(k for k in prod["Environment"] if k.startswith("MLOPS_OUTPUT_")) == [
        "MLOPS_OUTPUT_FEATURE_SNAPSHOTS"]
    assert env["MLOPS_OUTPUT_FEATURE_SNAPSHOTS"].startswith("s3://fraud-detection-dev-")
    assert [c["ChannelName"] for c in prod["InputDataConfig"]] == ["transactions"]
    assert [k for k in env if k.startswith("MLOPS_INPUT_")] == ["MLOPS_INPUT_TRANSACTIONS"]


@pytest.mark.parametrize(("case", "path", "env"), CASES, ids=[c[0] for c in CASES])
def test_every_train_step_environment_fits_botocore(case: str, path, env: str) -> None:
    """botocore ``TrainingEnvironmentMap``: entries, key pattern and length, value length."""
    shape = SHAPES.shape_for("TrainingEnvironmentMap")
    key, value = shape.key.metadata, shape.value.metadata
    assert (shape.metadata["max"], key["max"], value["max"]) == (
        SAGEMAKER_TRAINING_ENVIRONMENT_MAX, training.ENVIRONMENT_TEXT_MAX, training.ENVIRONMENT_TEXT_MAX)
    assert key["pattern"] == training.ENVIRONMENT_KEY.pattern
    graph = compiled(path, env)
    for job in system(path, env).training_jobs:
        arguments = _train_steps(graph)[f"{job.name}-pipeline"]
        environment = arguments["Environment"]
        assert len(environment) <= shape.metadata["max"]
        for name, text in environment.items():
            assert re.fullmatch(key["pattern"], name) and len(name) <= key["max"], name
            assert not isinstance(text, str) or len(text) <= value["max"], name
        assert {k: v for k, v in environment.items() if k.startswith("MLOPS_OUTPUT_")} == {
            container_env.data_source_variable("MLOPS_OUTPUT", o): f"s3://{_bucket_of(graph, f'data_sources.{o}')}/"
            for o in job.outputs}


def test_the_reserved_count_is_what_a_multi_node_job_without_outputs_sets() -> None:
    """:data:`SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED` is what the check leaves for mlops-infra's own
    variables: a two-node job (the four ``PET_*``) with no outputs sets exactly that many."""
    text = edit(REFERENCE.read_text(), "    outputs: [feature-snapshots]\n", "")
    (step,) = _train_steps(compile_text(text)).values()
    assert "PET_NNODES" in step["Environment"]
    assert len(step["Environment"]) == SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED


def _with_outputs(count: int) -> str:
    """The reference with ``retrain`` writing ``count`` data sources (feature-snapshots + extra ones)."""
    extra = [f"out-{i:02d}" for i in range(count - 1)]
    text = edit(REFERENCE.read_text(), "\nclusters:\n", "\n" + "".join(
        f"  - name: {name}\n    kind: object_store\n    encryption: kms\n    retention: 90d\n" for name in extra)
        + "\nclusters:\n")
    return edit(text, "    outputs: [feature-snapshots]", f"    outputs: [{', '.join(['feature-snapshots', *extra])}]")


def test_more_outputs_than_the_environment_holds_are_refused_on_aws_only() -> None:
    text = _with_outputs(SAGEMAKER_TRAINING_OUTPUTS_MAX + 2)
    loaded = parse_system(text, "mlsystem.yaml", "prod")
    found = [d for d in loaded.diagnostics if d.code == "too-many-output-variables"]
    assert loaded.system is None and [(d.severity, d.path, d.address) for d in found] == [
        ("error", ("training_jobs", 0, "outputs", SAGEMAKER_TRAINING_OUTPUTS_MAX), "training_jobs.retrain")]
    assert found[0].location.line == line_of(text, "    outputs: [feature-snapshots, out-00")
    assert found[0].summary == ('Training job "retrain" writes 94 data sources; on SageMaker it can be told of at '
                                "most 92")
    assert "(AWS)" in found[0].detail and "at most 100 variables, 8 of them mlops-infra's own" in found[0].detail
    assert "2 output(s) past the 92 that fit: out-91, out-92." in found[0].detail
    assert parse_system(text, "mlsystem.yaml", "dev").ok  # a Kubernetes container env has no such maximum


class _Aws:
    """The one field :func:`training.training_environment` reads of the AWS context."""

    def __init__(self, names: list[str]) -> None:
        self.buckets = {name: f"fraud-detection-prod-{name}-222222222222" for name in names}


def _retrain_writing(count: int):
    """The reference's two-node ``retrain`` writing ``count`` data sources (spec checks bypassed: the
    graph of so many outputs passes IAM's inline policy size first, ``compile/aws/iam.py``)."""
    loaded = parse_system(REFERENCE.read_text(), "mlsystem.yaml", "prod")
    assert loaded.system is not None
    job = loaded.system.training_jobs[0]
    return job.model_copy(update={"outputs": [f"out-{i:02d}" for i in range(count)]})


def test_as_many_outputs_as_fit_make_a_full_environment() -> None:
    assert not [d for d in parse_system(_with_outputs(SAGEMAKER_TRAINING_OUTPUTS_MAX), "mlsystem.yaml", "prod").diagnostics
                if d.code == "too-many-output-variables"]
    job = _retrain_writing(SAGEMAKER_TRAINING_OUTPUTS_MAX)
    environment = training.training_environment(_Aws(job.outputs), job)  # type: ignore[arg-type]
    assert job.nodes > 1 and len(environment) == SAGEMAKER_TRAINING_ENVIRONMENT_MAX
    assert environment["MLOPS_OUTPUT_OUT_91"] == "s3://fraud-detection-prod-out-91-222222222222/"


def test_an_environment_past_the_map_limits_is_a_bug_error() -> None:
    """What ``validate`` refuses never reaches the compiler; if it did, the step is not built."""
    job = _retrain_writing(SAGEMAKER_TRAINING_OUTPUTS_MAX + 1)
    with pytest.raises(ValueError, match=r"has 101 environment variables \(SageMaker takes at most 100.*this is a bug"):
        training.training_environment(_Aws(job.outputs), job)  # type: ignore[arg-type]
