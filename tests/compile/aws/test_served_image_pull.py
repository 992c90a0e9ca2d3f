"""The serving role pulls the image of the version it serves, not only the images the spec names
(audit removal-2, the image side).

A compiled SageMaker ``Model`` names its model package only, so it runs the image that package was
registered with, and SageMaker pulls it with the serving role at every instance start (botocore
``CreateModelInput.ExecutionRoleArn``; SageMaker "CreateModel API: Execution Role Permissions").
A model without ``serving_image`` or ``framework_version`` is served by its registering job's image:
remove the job and the spec names no image any more, so the pull must come from what is served (the
registry view's record of the served version), see ``compile/aws/serving._served_images``.
"""

from __future__ import annotations

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, is_json
from mlops_infra.model_versions import ASSUME_AVAILABLE, ModelRegistry, RegistryView, VersionRecord
from mlops_infra.spec import parse_system
from tests.support.removals import REFERENCE_TEXT, without_training_job
from tests.support.text_edits import edit

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PROD = "arn:aws:ecr:eu-west-1:222222222222:repository"
TRAIN_IMAGE = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud-train:1.4.2"
"""The image prod's v12 was registered with (the job's image, as prod's override would name it)."""
SERVE_IMAGE = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:2.0.0"


def _view(*records: VersionRecord, serving: dict[str, int] | None = None) -> RegistryView:
    group = ModelRegistry("fraud-model", "group fraud-detection-prod-fraud-model (222222222222/eu-west-1)",
                          "registry", True, {r.version: r for r in records})
    return RegistryView({"fraud-model": group}, serving or {})


def _graph(text: str, registry: RegistryView = ASSUME_AVAILABLE) -> DesiredGraph:
    loaded = parse_system(text, "mlsystem.yaml", "prod")
    assert loaded.system is not None, [(d.summary, d.detail) for d in loaded.diagnostics]
    return compile_system(loaded.system, "prod", registry=registry)


def _pulls(graph: DesiredGraph) -> list[str] | None:
    """The repositories the scorer's serving role may pull from (None: no pull statement)."""
    [policy] = [r for r in graph.resources if r.type == ROLE_POLICY and r.name == "scorer-serving-policy"]
    document = policy.inputs["policy"]
    assert is_json(document)
    [statement] = [s for s in next(iter(document.values()))["Statement"] if s["Sid"] == "ModelImagesPull"] or [None]
    return None if statement is None else sorted(statement["Resource"])


def _with_serving_image(text: str) -> str:
    return edit(text, "    framework: pytorch\n", f"    framework: pytorch\n    serving_image: {SERVE_IMAGE}\n")


def test_without_the_job_the_serving_role_keeps_the_pull_of_the_served_versions_image():
    graph = _graph(without_training_job(), _view(VersionRecord(12, "Approved", "Completed", image=TRAIN_IMAGE)))
    assert _pulls(graph) == [f"{PROD}/fraud-train"]


def test_the_served_versions_image_is_pulled_beside_the_jobs_when_they_differ():
    """v12 was registered before the job moved to another repository: both run under this role."""
    old = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud-train-legacy:1.3.0"
    graph = _graph(REFERENCE_TEXT, _view(VersionRecord(12, "Approved", "Completed", image=old)))
    assert _pulls(graph) == [
        f"{PROD}/fraud-train-legacy", "arn:aws:ecr:us-east-1:123456789012:repository/fraud-train"]


def test_a_canary_keeps_the_pull_of_the_version_it_served_before():
    """During a version bump the old variant runs under the same role until the controller lands the new config."""
    text = without_training_job(edit(REFERENCE_TEXT, "    model: {name: fraud-model, version: 12}\n",
                                     "    model: {name: fraud-model, version: 13}\n"))
    graph = _graph(text, _view(VersionRecord(12, "Approved", "Completed", image=TRAIN_IMAGE),
                               VersionRecord(13, "Approved", "Completed", image=SERVE_IMAGE),
                               serving={"scorer": 12}))
    assert _pulls(graph) == [f"{PROD}/fraud-serve", f"{PROD}/fraud-train"]


@pytest.mark.parametrize("registry", [ASSUME_AVAILABLE, _view(VersionRecord(12, "Approved", "Completed")),
                                      _view(VersionRecord(12, "Approved", "Completed", image=SERVE_IMAGE))],
                         ids=["offline", "registry-without-image", "registry-with-that-image"])
@pytest.mark.parametrize("job", [True, False], ids=["with-job", "without-job"])
def test_a_model_with_a_serving_image_pulls_exactly_that_repository(registry, job):
    text = _with_serving_image(REFERENCE_TEXT)
    graph = _graph(text if job else without_training_job(text), registry)
    assert _pulls(graph) == [f"{PROD}/fraud-serve"]


def test_offline_without_the_job_the_served_image_is_unknown_to_the_compiler():
    """No registry read, no job, no serving image: the compiler cannot name the image (the plan warns,
    tests/plan/test_serving_pull.py); a registry record without an image is the same."""
    assert _pulls(_graph(without_training_job())) is None
    assert _pulls(_graph(without_training_job(), _view(VersionRecord(12, "Approved", "Completed")))) is None
