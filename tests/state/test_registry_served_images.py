"""A registry read describes every version an endpoint serves or still runs, so the serving role keeps
the pull of its image (closing-33c-1).

A compiled SageMaker ``Model`` names only its model package, so it runs the image the package was
registered with (botocore ``ModelPackageContainerDefinition.Image``), pulled with the serving role at
every instance start (botocore ``CreateModelInput.ExecutionRoleArn``). Only ``DescribeModelPackage``
gives that image: botocore ``ModelPackageSummary`` (``ListModelPackages``) has no ``Image``. These
tests run the REAL :func:`~mlops_infra.state.aws_live.model_registry.read_registry` against a moto
server, then compile with what it read: the system is the reference without its training job (no
spec names the image any more), v1-v12 registered with the job's image.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import serving as aws_serving
from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import DesiredGraph
from mlops_infra.model_versions import ASSUME_AVAILABLE, RegistryView
from mlops_infra.plan import serving_pull
from mlops_infra.spec import parse_system
from mlops_infra.state.aws_live.model_registry import read_registry
from mlops_infra.state.model import LiveState, PriorState
from mlops_infra.state.model_registry import group_of
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps
from tests.support.moto_server import client, reset, running_moto_server, session
from tests.support.sagemaker_live import live_endpoint

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "training-job-removed-keeps-the-serving-image-pull"
REGION = "eu-west-1"
ENV = "prod"
OLD = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
"""The image v1-v12 were registered with (the removed job's)."""
NEW = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serve:2.0.0"
OLD_REPO = "arn:aws:ecr:us-east-1:123456789012:repository/fraud-train"
NEW_REPO = "arn:aws:ecr:us-east-1:123456789012:repository/fraud-serve"
ROLE = "arn:aws:iam::222222222222:role/fraud-detection-prod-scorer-serving"


def _system(version: int) -> Any:
    text = (SCENARIO / "mlsystem.yaml").read_text(encoding="utf-8")
    pinned = "    model: {name: fraud-model, version: 12}\n"
    assert pinned in text
    loaded = parse_system(text.replace(pinned, f"    model: {{name: fraud-model, version: {version}}}\n"),
                          "mlsystem.yaml", ENV)
    assert loaded.system is not None
    return loaded.system


def _prior() -> PriorState:
    """The scenario's prior state: the last apply serves v12 and its role pulls from fraud-train."""
    return parse_state((SCENARIO / "prior.json").read_bytes(), "prior.json")


def _register(sagemaker: Any, group: str, v13_approval: str, v13_image: str) -> list[str]:
    """v1-v12 approved with :data:`OLD`, v13 with ``v13_approval`` and ``v13_image``; the package ARNs."""
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    arns = []
    for version in range(1, 14):
        made = sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus="Approved" if version <= 12 else v13_approval,
            InferenceSpecification={"Containers": [{
                "Image": OLD if version <= 12 else v13_image,
                "ModelDataUrl": f"s3://fraud-artifacts/training/retrain/run-{version}/output/model.tar.gz"}],
                "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]})
        arns.append(made["ModelPackageArn"])
    return arns


def _live_endpoint(sagemaker: Any, system: Any, variants: dict[str, str]) -> None:
    """The scorer's live endpoint, its config's variants (name -> model package ARN) each on its own model,
    as the rollout controller leaves it mid-canary (:mod:`mlops_infra.rollout.drivers.sagemaker`)."""
    live_endpoint(sagemaker, physical_name(system.metadata.name, ENV, "scorer"), variants.items(), ROLE)


def _read(system: Any, prior: PriorState, v13_approval: str, v13_image: str, live: tuple[int, ...] = (),
          serving: str = "prior") -> RegistryView:
    with running_moto_server() as url:
        reset(url)
        try:
            sagemaker = client("sagemaker", url, REGION)
            arns = _register(sagemaker, group_of(system, ENV, "fraud-model"), v13_approval, v13_image)
            if live:
                _live_endpoint(sagemaker, system, {("primary", "canary")[i]: arns[v - 1] for i, v in enumerate(live)})
            return read_registry(system, ENV, prior, session_factory=lambda: session(REGION), endpoint_url=url,
                                 serving=serving)
        finally:
            reset(url)


def _pulls(graph: DesiredGraph) -> list[str]:
    [policy] = [r for r in graph.resources if r.type == serving_pull.ROLE_POLICY and r.name == "scorer-serving-policy"]
    return sorted(serving_pull.pulls(policy.inputs["policy"]))


def _warnings(graph: DesiredGraph, prior: PriorState) -> list[str]:
    from mlops_infra.cli.commands.plan import make
    from mlops_infra.plan.drift import find_drift

    live = LiveState(resources={u: r for u, r in prior.resources.items()
                                if r.custom and not r.type.startswith("pulumi:providers:")})
    plan = make(graph, prior, live, find_drift(prior, live), [])
    return [w for w in plan.warnings if "serving role" in w]


@pytest.mark.parametrize("v13_image", [OLD, NEW], ids=["same-image", "moved-image"])
def test_a_bump_waiting_for_approval_keeps_the_pull_of_the_version_it_keeps_serving(v13_image: str) -> None:
    system, prior = _system(13), _prior()
    view = _read(system, prior, "PendingManualApproval", v13_image)
    assert view.models["fraud-model"].versions[12].image == OLD  # described: the served version
    graph = compile_system(system, ENV, registry=view)
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["state"], decision["serve"], decision["basis"]) == ("holding", 12, "registry")
    assert OLD_REPO in _pulls(graph)
    assert _warnings(graph, prior) == []


def test_a_canary_before_its_apply_keeps_the_pull_of_the_version_it_served_before() -> None:
    system, prior = _system(13), _prior()
    view = _read(system, prior, "Approved", NEW)
    graph = compile_system(system, ENV, registry=view)
    assert graph.model_versions["endpoints.scorer"]["state"] == "ready"
    assert _pulls(graph) == [NEW_REPO, OLD_REPO]  # both variants run under the role
    assert _warnings(graph, prior) == []


def test_a_canary_after_its_apply_keeps_the_pull_of_the_variant_the_live_endpoint_still_runs() -> None:
    """After the bump's apply the prior state's model is v13 (so ``serving`` is 13), while the controller's
    canary still runs v12 beside it: only the live endpoint says so."""
    system = _system(13)
    prior = parse_state(dumps(applied_state(compile_system(system, ENV, registry=ASSUME_AVAILABLE))).encode(),
                        "prior.json")
    view = _read(system, prior, "Approved", NEW, live=(12, 13))
    assert view.serving == {"scorer": 13}
    assert view.running == {"scorer": (12, 13)}
    assert view.models["fraud-model"].versions[12].image == OLD
    assert _pulls(compile_system(system, ENV, registry=view)) == [NEW_REPO, OLD_REPO]


def test_the_pulumi_programs_live_read_describes_the_version_the_endpoint_serves() -> None:
    """``program/entry.registry_view``: ``read_registry(..., PriorState.empty(), serving="live")``."""
    system = _system(13)
    view = _read(system, PriorState.empty(), "PendingManualApproval", NEW, live=(12,), serving="live")
    assert view.serving == {"scorer": 12}
    assert view.models["fraud-model"].versions[12].image == OLD
    graph = compile_system(system, ENV, registry=view)
    assert graph.model_versions["endpoints.scorer"]["serve"] == 12
    assert _pulls(graph) == [OLD_REPO]


def test_a_served_version_the_registry_no_longer_lists_is_warned_of_on_the_refresh_path() -> None:
    """The prior serves v12, but the registry lists no v12 (deleted): its image stays unknown, the role's
    fraud-train pull is dropped, and the plan says so although the versions were read."""
    system, prior = _system(13), _prior()
    view = _read(system, prior, "Approved", NEW)
    registry = view.models["fraud-model"]
    versions = {v: r for v, r in registry.versions.items() if v != 12}
    view = RegistryView({"fraud-model": type(registry)(registry.model, registry.where, registry.basis,
                                                       registry.complete, versions)}, view.serving)
    graph = compile_system(system, ENV, registry=view)
    assert _pulls(graph) == [NEW_REPO]
    [warning] = _warnings(graph, prior)
    assert "loses the ECR pull of " + OLD_REPO in warning
    assert "The registry read did not give the image of v12 of fraud-model" in warning
    assert "--refresh" not in warning
    [endpoint] = [r for r in graph.resources if r.type == "mlops:serving:Endpoint"]
    assert endpoint.inputs[aws_serving.IMAGE_UNKNOWN_FACT] == [12]


def test_the_image_unknown_fact_is_named_alike_in_the_compiler_and_the_plan() -> None:
    assert aws_serving.IMAGE_UNKNOWN_FACT == serving_pull.IMAGE_UNKNOWN_FACT


def test_running_round_trips_and_stays_out_of_a_view_without_it() -> None:
    view = RegistryView({}, {"scorer": 13}, (), {"scorer": (12, 13)})
    assert RegistryView.from_json(json.loads(json.dumps(view.to_json()))) == view
    assert "running" not in RegistryView({}, {"scorer": 13}).to_json()
