"""Mid-canary from one model to another, the registry read finds the stable variant's version in the OLD model's
group, so the serving role keeps pulling its image (stop 42's "Registry views" noticed-and-left, left43a).

Against the session's moto server: ``scorer`` was switched from ``fraud-model`` (v1, its packages registered with
:data:`OLD`) to ``fraud-model-gbt`` v2 (Approved, :data:`NEW`) and applied, so the prior state serves
``fraud-model-gbt`` v2; the rollout controller's canary still runs ``fraud-model`` v1 in the ``primary`` variant
beside ``fraud-model-gbt`` v2 in ``canary`` (``DescribeEndpoint`` -> ``DescribeEndpointConfig`` ->
``DescribeModel`` ``PrimaryContainer.ModelPackageName``). SageMaker pulls each variant's image with the model's
execution role, the endpoint's serving role, at every instance start (botocore
``CreateModelInput.ExecutionRoleArn``); only ``DescribeModelPackage`` of that version in ITS group gives the image
(``InferenceSpecification.Containers[].Image``). Before, ``read_live`` dropped variants of another model's group
whenever one ran the pinned model, so the old variant's version was neither described nor pulled.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.naming import physical_name
from mlops_infra.model_versions import ASSUME_AVAILABLE, RegistryView
from mlops_infra.spec import parse_system
from mlops_infra.state.aws_live.model_registry import read_registry
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import group_of
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.aws.test_aws_model_switch_hold import SECOND_MODEL
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps
from tests.support.moto_server import client, session
from tests.support.sagemaker_live import live_endpoint
from tests.support.shared_files import REFERENCE

pytestmark = pytest.mark.moto
moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
ENV, REGION = "staging", "us-east-1"
SYSTEM = "switch-canary-43a"
"""A system name of this module's own: the session's moto backends keep every other module's groups."""
OLD = "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-old-serve:1.0.0"
NEW = "111111111111.dkr.ecr.us-east-1.amazonaws.com/fraud-gbt-serve:2.0.0"
OLD_REPO = "arn:aws:ecr:us-east-1:111111111111:repository/fraud-old-serve"
NEW_REPO = "arn:aws:ecr:us-east-1:111111111111:repository/fraud-gbt-serve"
ROLE = "arn:aws:iam::111111111111:role/switch-canary-43a-staging-scorer-serving"


def _system() -> Any:
    """The reference (renamed :data:`SYSTEM`) with ``fraud-model-gbt`` declared; staging's ``scorer`` pins its v2."""
    text = REFERENCE.read_text(encoding="utf-8")
    for old, new in (("  name: fraud-detection\n", f"  name: {SYSTEM}\n"),
                     ("models:\n  - name: fraud-model\n", SECOND_MODEL),
                     ("      endpoints.scorer.model.version: 13\n",
                      "      endpoints.scorer.model.version: 2\n      endpoints.scorer.model.name: fraud-model-gbt\n"),
                     ("registers: fraud-model ", "registers: fraud-model-gbt ")):
        assert old in text, old
        text = text.replace(old, new)
    loaded = parse_system(text, "case.yaml", ENV)
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics if d.severity == "error"]
    return loaded.system


def _register(sagemaker: Any, group: str, image: str, count: int) -> list[str]:
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    return [sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": image, "ModelDataUrl": f"s3://fraud-artifacts/{group}/{v}.tar.gz"}],
                                "SupportedContentTypes": ["application/json"],
                                "SupportedResponseMIMETypes": ["application/json"]})["ModelPackageArn"]
        for v in range(1, count + 1)]


def _mid_canary(url: str, system: Any) -> None:
    """``fraud-model`` v1 in ``primary`` beside ``fraud-model-gbt`` v2 in ``canary``, as the controller leaves it."""
    sagemaker = client("sagemaker", url, REGION)
    [old_v1] = _register(sagemaker, group_of(system, ENV, "fraud-model"), OLD, 1)
    new_v2 = _register(sagemaker, group_of(system, ENV, "fraud-model-gbt"), NEW, 2)[1]
    live_endpoint(sagemaker, physical_name(system.metadata.name, ENV, "scorer"),
                  (("primary", old_v1), ("canary", new_v2)), ROLE)


def _pulls(system: Any, view: RegistryView) -> list[str]:
    graph = compile_system(system, ENV, registry=view)
    assert graph.model_versions["endpoints.scorer"]["state"] == "ready"
    [policy] = [r for r in graph.resources if r.type == "aws:iam/rolePolicy:RolePolicy"
                and r.name == "scorer-serving-policy"]
    [statement] = [s for s in next(iter(policy.inputs["policy"].values()))["Statement"] if s["Sid"] == "ModelImagesPull"]
    return sorted(statement["Resource"])


def test_mid_canary_the_stable_variants_image_comes_from_the_old_models_group(moto_url: str) -> None:
    system = _system()
    _mid_canary(moto_url, system)
    applied = parse_state(dumps(applied_state(compile_system(system, ENV, registry=ASSUME_AVAILABLE))).encode(),
                          "applied.json")
    for prior, serving in ((applied, "prior"), (PriorState.empty(), "live")):  # plan/apply; the Pulumi program
        view = read_registry(system, ENV, prior, session_factory=lambda: session(REGION), endpoint_url=moto_url,
                             serving=serving)
        assert (view.warnings, dict(view.serving), dict(view.running)) == ((), {"scorer": 2}, {"scorer": (2,)}), serving
        assert view.models["fraud-model"].versions[1].image == OLD, serving  # described in ITS group
        pulls = _pulls(system, view)
        assert OLD_REPO in pulls and NEW_REPO in pulls, (serving, pulls)
        assert view.running_models == {"scorer": {"fraud-model": (1,)}}, serving
        assert view.runs("scorer", "fraud-model-gbt", 2) == (("fraud-model", 1), ("fraud-model-gbt", 2))
        assert RegistryView.from_json(view.to_json()) == view  # how apply hands it to the Pulumi program
