"""Which container trains and which serves, per environment region (finding B3), and validate's checks.

Rules encoded (sources in mlops_infra/spec/containers.py): SageMaker pulls images from private ECR
only, and only of its own region; a model package's container is an ECR path; a framework version
resolves per region from the SageMaker SDK's image table (the package's copy).
"""

from __future__ import annotations

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

SYSTEM = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: imgs}
clusters:
  - {name: gpu, accelerator: {type: A10G, count: 1}, nodes: {min: 0, max: 1}}
training_jobs:
  - name: train
    cluster: gpu
    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1
    registers: scorer
models:
  - {name: scorer, framework: pytorch}
endpoints:
  - {name: api, model: {name: scorer, version: 1}, instance_type: ml.m5.xlarge, replicas: {min: 1, max: 1}}
environments:
  staging: {target: {kind: aws, region: us-east-1, account: "111111111111"}}
  prod: {target: {kind: aws, region: eu-west-1, account: "222222222222"}}
"""


def codes(text: str) -> list[tuple[str, str, str]]:
    return [(d.code, str(d.severity), d.address) for d in parse_system(text).diagnostics]


def register_image(system, env: str) -> str:
    graph = compile_system(system, env)
    steps = [s for r in graph.resources if r.type == "aws:sagemaker/pipeline:Pipeline"
             for s in r.inputs["pipelineDefinition"]["$json"]["Steps"]]
    return {s["Name"]: s for s in steps if s["Name"] in ("Train", "RegisterModel")}


def test_an_image_of_another_region_warns_in_that_environment_with_the_fix() -> None:
    result = parse_system(SYSTEM)
    assert result.ok
    found = {d.address: d for d in result.diagnostics}
    assert sorted(found) == ["models.scorer", "training_jobs.train"]
    serving = found["models.scorer"]
    assert serving.summary == "models.scorer: the serving image is in us-east-1, environment prod is in eu-west-1"
    assert "botocore ContainerDefinition.Image" in serving.detail
    assert "give the model a serving_image in eu-west-1 (override models.scorer.serving_image in environment prod)" \
        in serving.detail
    assert serving.location.line == line_of(SYSTEM, "image: 111111111111")
    fixed = edit(SYSTEM, '  prod: {target: {kind: aws, region: eu-west-1, account: "222222222222"}}',
                 '  prod:\n    target: {kind: aws, region: eu-west-1, account: "222222222222"}\n    overrides:\n'
                 "      training_jobs.train.image: 222222222222.dkr.ecr.eu-west-1.amazonaws.com/train:1\n"
                 "      models.scorer.serving_image: 222222222222.dkr.ecr.eu-west-1.amazonaws.com/serve:1\n")
    assert codes(fixed) == []


@pytest.mark.parametrize("image", ["ghcr.io/example/train:1", "public.ecr.aws/example/train:1",
                                   "docker.io/library/python:3.12"])
def test_an_image_outside_private_ecr_is_an_error_on_aws(image: str) -> None:
    text = edit(SYSTEM, "111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1", image)
    result = parse_system(text)
    assert not result.ok
    errors = [d for d in result.diagnostics if d.is_error]
    assert {d.code for d in errors} == {"image-not-in-ecr"}
    serving = next(d for d in errors if d.address == "models.scorer")
    assert "ModelPackageContainerDefinition.Image" in serving.detail and "reused to serve" in serving.summary
    training = next(d for d in errors if d.address == "training_jobs.train")
    assert "TrainingRepositoryAccessMode=Vpc" in training.detail


def test_the_serving_image_is_not_the_training_image() -> None:
    text = edit(SYSTEM, "  - {name: scorer, framework: pytorch}",
                "  - {name: scorer, framework: pytorch, serving_image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/serve:1}")
    system = parse_system(text, env="staging").system
    steps = register_image(system, "staging")
    assert steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"].endswith("/train:1")
    assert steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"].endswith("/serve:1")


def test_framework_images_resolve_per_region_for_training_and_serving() -> None:
    text = edit(SYSTEM, "    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1\n",
                '    framework: pytorch\n    framework_version: "2.5"\n')
    assert codes(text) == []  # each environment resolves its own region's images: nothing to warn about
    for env, region in (("staging", "us-east-1"), ("prod", "eu-west-1")):
        steps = register_image(parse_system(text, env=env).system, env)
        assert steps["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == \
            f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.5-gpu-py311"  # A10G cluster
        # the registered model is served by the *inference* image of the same version (CPU endpoint)
        assert steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"][0]["Image"] == \
            f"763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-inference:2.5-cpu-py311"


def test_a_version_with_no_inference_image_is_an_error_with_did_you_mean() -> None:
    text = edit(SYSTEM, "  - {name: scorer, framework: pytorch}",
                '  - {name: scorer, framework: pytorch, framework_version: "2.8"}')
    result = parse_system(text)
    errors = [d for d in result.diagnostics if d.is_error]
    assert [(d.code, d.address) for d in errors] == [("framework-version-unavailable", "models.scorer")]
    first = errors[0]
    assert first.summary == "models.scorer: pytorch 2.8 has no SageMaker inference image"
    assert "Versions with an inference image in eu-west-1, newest first: 2.6.0, 2.6, 2.5.1, 2.5" in first.detail
    assert '2.6.0' in first.detail and 'Did you mean' in first.detail
    assert first.location.line == line_of(text, 'framework_version: "2.8"')


def test_the_plan_shows_the_resolved_uri() -> None:
    from mlops_infra.plan.planner import make_plan
    from mlops_infra.state.model import PriorState

    text = edit(SYSTEM, "  - {name: scorer, framework: pytorch}",
                '  - {name: scorer, framework: pytorch, framework_version: "2.5"}')
    system = parse_system(text, env="prod").system
    plan = make_plan(compile_system(system, "prod"), PriorState.empty())
    summaries = [c.summary for c in plan.ml]
    assert ("scorer: new registered model, pytorch, manual approval, served by "
            "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.5-cpu-py311") in summaries


def test_a_framework_training_job_needs_an_image_on_kubernetes() -> None:
    text = edit(SYSTEM, "    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1\n",
                '    framework: pytorch\n    framework_version: "2.5"\n')
    text = edit(text, "  staging: {target: {kind: aws, region: us-east-1, account: \"111111111111\"}}",
                "  dev: {target: {kind: kubernetes, context: kind, namespace: imgs}}")
    errors = [d for d in parse_system(text).diagnostics if d.is_error]
    assert [(d.code, d.address) for d in errors] == [("framework-image-needs-aws", "training_jobs.train")]
    assert "override training_jobs.train.image in dev" in errors[0].detail


def test_image_and_framework_are_exclusive() -> None:
    text = edit(SYSTEM, "    registers: scorer\n", '    registers: scorer\n    framework: pytorch\n    framework_version: "2.5"\n')
    assert not parse_system(text).ok
    text = edit(SYSTEM, "    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1\n", "")
    result = parse_system(text)
    assert not result.ok and any("needs an image" in d.detail.lower() + d.summary.lower() for d in result.diagnostics)
