"""Apply and the model registry (finding A1): the registry is read before ``pulumi up``; a graph that
would differ from the reviewed one is refused; the Pulumi program compiles with the same view.

SageMaker reads as in tests/state/test_model_registry.py, on a moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlops_infra.apply.model_versions import check_registry, registry_view_env
from mlops_infra.compile import compile_system
from mlops_infra.errors import UserError
from mlops_infra.model_versions import REGISTRY_VIEW_ENV, RegistryView
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import group_of, offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import load_file
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
BASE = SCENARIOS / "no-changes-after-apply" / "mlsystem.yaml"
BUMP = SCENARIOS / "model-version-bump-with-canary-rollout" / "mlsystem.yaml"


def _register(url: str, system, env: str, approvals: list[str]) -> None:
    from tests.support.moto_server import client

    sagemaker = client("sagemaker", url, system.environments[env].target.region)
    group = group_of(system, env, "fraud-model")
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    for approval in approvals:
        sagemaker.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus=approval,
                                       InferenceSpecification={"Containers": [{"Image": "a.dkr.ecr.us-east-1.amazonaws.com/m:1"}],
                                                               "SupportedContentTypes": ["a"], "SupportedResponseMIMETypes": ["a"]})


@pytest.fixture()
def aws_env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def _reviewed(system, env: str, prior: PriorState):
    """The graph `plan` showed (offline view), as apply compiles it before confirming."""
    return compile_system(system, env, registry=offline_registry_view(system, env, prior))


@pytest.mark.moto
def test_a_version_that_turned_out_unapproved_refuses_the_apply(moto_url, aws_env):
    system = load_file(BUMP, "staging")  # pins v13; the stack serves v12
    prior = parse_state(dumps(applied_state(compile_system(load_file(BASE, "staging"), "staging"))).encode(), "s")
    _register(moto_url, system, "staging", ["Approved"] * 12 + ["PendingManualApproval"])
    with pytest.raises(UserError) as refused:
        check_registry(system, "staging", prior, _reviewed(system, "staging", prior), endpoint_url=moto_url)
    assert "plan again" in str(refused.value)
    assert "scorer: holding" in refused.value.detail and "PendingManualApproval" in refused.value.detail


@pytest.mark.moto
def test_the_reviewed_graph_goes_on_when_the_registry_agrees(moto_url, aws_env):
    system = load_file(BUMP, "staging")
    prior = parse_state(dumps(applied_state(compile_system(load_file(BASE, "staging"), "staging"))).encode(), "s")
    _register(moto_url, system, "staging", ["Approved"] * 13)
    view, warnings = check_registry(system, "staging", prior, _reviewed(system, "staging", prior), endpoint_url=moto_url)
    assert warnings == [] and view.decide("scorer", "fraud-model", 13, gated=True).basis == "registry"
    with registry_view_env(view) as extra:
        path = extra[REGISTRY_VIEW_ENV]
        assert RegistryView.from_json(json.loads(Path(path).read_text())) == view
    assert not os.path.exists(path)  # the private file is gone after the apply


def test_an_unreadable_registry_keeps_the_reviewed_graph_and_warns(aws_env):
    system = load_file(BASE, "staging")
    graph = _reviewed(system, "staging", PriorState.empty())
    view, warnings = check_registry(system, "staging", PriorState.empty(), graph, endpoint_url="http://127.0.0.1:9")
    assert view is None and warnings and "fraud-model" in warnings[0]


def test_kubernetes_needs_no_registry_read():
    system = load_file(Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    assert check_registry(system, "dev", PriorState.empty(), None) == (None, [])


def test_the_digest_ignores_how_a_decision_was_reached():
    system = load_file(BUMP, "staging")
    prior = parse_state(dumps(applied_state(compile_system(load_file(BASE, "staging"), "staging"))).encode(), "s")
    offline = _reviewed(system, "staging", prior)
    assumed = compile_system(system, "staging")
    assert offline.model_versions and not assumed.model_versions
    assert offline.digest() == assumed.digest()  # same resources: same desired graph
