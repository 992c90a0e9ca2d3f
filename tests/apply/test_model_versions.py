"""Apply and the model registry (finding A1): apply decides its graph from the registry read at its start,
as ``plan --refresh`` does (an unreadable registry leaves the offline decision, with a warning), and the
Pulumi program compiles with that same view, so ``pulumi up`` registers the graph that was shown.

SageMaker reads as in tests/state/test_model_registry.py, on a moto server on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlops_infra.apply.model_versions import registry_view_env
from mlops_infra.cli.commands.plan import desired_and_prior
from mlops_infra.cli.output import error_console
from mlops_infra.compile import compile_system
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


def _work(tmp_path: Path, monkeypatch, url: str | None) -> Path:
    """The bump scenario (pins v13; the stack serves v12) in ``tmp_path``, its prior state from BASE."""
    import shutil

    shutil.copy(BUMP, tmp_path / "mlsystem.yaml")
    applied = dumps(applied_state(compile_system(load_file(BASE, "staging"), "staging")))
    (tmp_path / "prior.json").write_text(applied, encoding="utf-8")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url or "http://127.0.0.1:9")  # a port nothing listens on
    if url:  # seeded with moto's test keys (123456789012): apply's registry read asks for staging's account
        from tests.support.moto_accounts import caller_is

        caller_is(monkeypatch, load_file(BUMP, "staging").environments["staging"].target.account)
    return tmp_path


def _as_apply(work: Path):
    return desired_and_prior(work / "mlsystem.yaml", "staging", work / "prior.json", error_console(),
                             read_registry=True)


@pytest.mark.moto
def test_apply_decides_from_the_registry_a_version_that_turned_out_unapproved(tmp_path, moto_url, aws_env,
                                                                               monkeypatch):
    """v13 is PendingManualApproval: apply's graph keeps v12 serving (holding), decided from the registry,
    instead of refusing every apply of the environment until v13 is approved (the offline graph assumed
    v13, so apply refused it, and the saved `plan --refresh` that showed the holding was 'stale')."""
    work = _work(tmp_path, monkeypatch, moto_url)
    system = load_file(BUMP, "staging")
    _register(moto_url, system, "staging", ["Approved"] * 12 + ["PendingManualApproval"])
    desired = _as_apply(work)
    decision = desired.graph.model_versions["endpoints.scorer"]
    assert (decision["state"], decision["serve"], decision["basis"]) == ("holding", 12, "registry")
    assert "PendingManualApproval" in decision["why"] and not desired.registry.warnings
    refreshed = desired_and_prior(work / "mlsystem.yaml", "staging", work / "prior.json", error_console(), refresh=True)
    assert refreshed.graph.digest() == desired.graph.digest()  # what `plan --refresh --out` saves


@pytest.mark.moto
def test_the_program_compiles_with_the_view_apply_decided_with(tmp_path, moto_url, aws_env, monkeypatch):
    work = _work(tmp_path, monkeypatch, moto_url)
    _register(moto_url, load_file(BUMP, "staging"), "staging", ["Approved"] * 13)
    view = _as_apply(work).registry
    assert view.decide("scorer", "fraud-model", 13, gated=True).basis == "registry"
    with registry_view_env(view) as extra:
        path = extra[REGISTRY_VIEW_ENV]
        assert RegistryView.from_json(json.loads(Path(path).read_text())) == view
    assert not os.path.exists(path)  # the private file is gone after the apply


def test_an_unreadable_registry_leaves_the_offline_decision_and_hands_it_to_the_program(tmp_path, aws_env,
                                                                                        monkeypatch):
    """The program gets the offline view too: left to itself, a program whose own read fails assumes
    every pinned version exists (program/entry.py), a graph nobody reviewed."""
    work = _work(tmp_path, monkeypatch, None)
    desired = _as_apply(work)
    prior = parse_state((work / "prior.json").read_bytes(), "prior.json")
    assert desired.registry.warnings and "fraud-model" in desired.registry.warnings[0]
    assert desired.graph.digest() == _reviewed(load_file(BUMP, "staging"), "staging", prior).digest()
    with registry_view_env(desired.registry) as extra:
        assert RegistryView.from_json(json.loads(Path(extra[REGISTRY_VIEW_ENV]).read_text())) == desired.registry


def test_a_kubernetes_first_apply_reads_no_registry_and_waits_for_the_version():
    """Firstapply-2: apply decides on Kubernetes too. A first apply creates the MLflow registry, so there is
    nothing to read (no warning) and the scorer waits: no InferenceService, unlike a graph that assumes v14."""
    path = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
    desired = desired_and_prior(path, "dev", None, error_console(), read_registry=True)
    assert not desired.registry.warnings
    assert desired.registry.models["fraud-model"].basis == "created-now"
    assert desired.graph.model_versions["endpoints.scorer"]["state"] == "waiting"
    assert not [r for r in desired.graph.resources if r.type.endswith(":InferenceService")]
    assert desired.graph.digest() != compile_system(load_file(path, "dev"), "dev").digest()


def test_the_digest_ignores_how_a_decision_was_reached():
    system = load_file(BUMP, "staging")
    prior = parse_state(dumps(applied_state(compile_system(load_file(BASE, "staging"), "staging"))).encode(), "s")
    offline = _reviewed(system, "staging", prior)
    assumed = compile_system(system, "staging")
    assert offline.model_versions and not assumed.model_versions
    assert offline.digest() == assumed.digest()  # same resources: same desired graph


@pytest.mark.moto
@pytest.mark.parametrize("refresh", [False, True], ids=["plan", "plan-refresh"])
def test_a_plan_then_an_apply_whose_endpoint_read_fails_is_not_stale(tmp_path, aws_env, monkeypatch, refresh):
    """closing-33d-2: after the bump's apply (v13 serves the image models.fraud-model.serving_image names)
    the canary still runs v12 beside v13, and DescribeEndpointConfig is denied at apply (and at `plan
    --refresh`). The plan saved before (offline, or read) is not refused as stale: which
    versions the endpoint runs is unknown, not a change of the desired graph (2403e4b put that fact in the
    endpoint component, and apply's graph digest no longer matched the reviewed plan's). Apply shows the
    warning that names the endpoint and the pull its serving role loses. Real CLI, in-process (the registry
    reader's client is patched to answer from moto)."""
    from mlops_infra.state.aws_live import model_registry
    from tests.state.test_registry_live_read import _denied, _patched_client
    from tests.state.test_registry_served_images import (
        ENV,
        OLD_REPO,
        SCENARIO,
        _live_endpoint,
        _prior,
        _register,
    )
    from tests.support.cli import run_cli
    from tests.support.moto_accounts import caller_is
    from tests.support.moto_server import client, reset, running_moto_server

    text = (SCENARIO / "mlsystem.yaml").read_text(encoding="utf-8")
    pinned = "    model: {name: fraud-model, version: 12}\n"
    assert pinned in text
    framework, serve = "    framework: pytorch\n", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:2.0.0"
    assert framework in text  # v13 serves the image the spec now names; v12 ran the removed job's image
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text.replace(pinned, pinned.replace("12", "13")).replace(
        framework, f"{framework}    serving_image: {serve}\n"), encoding="utf-8")
    system = load_file(spec, ENV)
    with running_moto_server() as url:
        reset(url)
        try:
            sagemaker = client("sagemaker", url, system.environments[ENV].target.region)
            arns = _register(sagemaker, group_of(system, ENV, "fraud-model"), "Approved", serve)
            _live_endpoint(sagemaker, system, {"primary": arns[11], "canary": arns[12]})
            monkeypatch.setenv("AWS_ENDPOINT_URL", url)
            caller_is(monkeypatch, system.environments[ENV].target.account)  # seeded with moto's test keys
            _patched_client(monkeypatch, url, lambda c: None)
            bump = model_registry.read_registry(system, ENV, _prior())  # the bump's apply reads both: both pulls
            assert bump.running == {"scorer": (12, 13)} and not bump.warnings
            (tmp_path / "prior.json").write_text(dumps(applied_state(compile_system(system, ENV, registry=bump))),
                                                 encoding="utf-8")
            _patched_client(monkeypatch, url, lambda c: c.meta.events.register(
                "before-call.sagemaker.DescribeEndpointConfig", _denied("AccessDeniedException", "DescribeEndpointConfig")))
            common = (str(spec), "--env", ENV, "--state", str(tmp_path / "prior.json"))
            planned = run_cli("plan", *common, "--out", str(tmp_path / "plan.json"), *(["--refresh"] if refresh else []))
            assert planned.code == 0, planned.output
            applied = run_cli("apply", *common, "--plan", str(tmp_path / "plan.json"), "--yes")
            unplanned = run_cli("apply", *common, "--yes")
        finally:
            reset(url)
    assert "stale plan" not in applied.output
    lines = applied.stderr.strip().splitlines()  # the spec's validate warnings (budget-unchecked, bcd6774) come first
    assert applied.code == 1 and lines[-1] == (
        "error: the Pulumi CLI is not installed (no `pulumi` on PATH): install it from "
        "https://www.pulumi.com/docs/install/ to apply; `mlops-infra plan` works without it")
    assert not [line for line in lines[:-1] if line.startswith("error") or ": error:" in line], lines  # the only error
    assert unplanned.code == 1 and "could not read which model versions endpoint scorer serves" in unplanned.output
    assert f"loses the ECR pull of {OLD_REPO}" in unplanned.output
    assert "could not read which versions the live endpoint runs" in unplanned.output
