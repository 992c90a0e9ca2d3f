"""apply replaces, deleting first, the SageMaker endpoints it finds ``Failed`` right before ``pulumi up``, and no
other (:mod:`mlops_infra.apply.failed_endpoints`).

Before (fe6a43d) an endpoint whose create failed (state ``initErrors``, live ``EndpointStatus: Failed``) got
Pulumi's empty update, which neither waits nor retries (terraform-provider-aws ``resourceEndpointUpdate`` waits
only ``if d.HasChanges("endpoint_config_name", "deployment_config")``) and drops the record: the endpoint stayed
Failed ("DeleteEndpoint is the only operation that can be performed on a failed endpoint", botocore sagemaker
2017-07-24 ``DescribeEndpointOutput.EndpointStatus``) and apply passed no ``--replace``. Now apply reads each such
endpoint (``DescribeEndpoint``) and passes a Failed one's URN to ``up(replace=[...])`` (pulumi/automation
``_stack.py``: ``--replace <urn>``) with ``$MLOPS_INFRA_DELETE_FIRST`` naming it, so the program registers it with
``deleteBeforeReplace`` for that run (a targeted replace asks no provider and takes the resource's option:
pulumi/pulumi ``step_generator.go`` ``diff``/``continueStepsFromDiff``). ``Creating``, ``InService`` and
``Updating`` endpoints are never replaced, nor one apply cannot read (its line says so and what to do).

Where it runs: a moto server (:mod:`tests.support.moto_server`) whose endpoint is set ``Failed`` (or ``Creating``)
in moto's backend, since moto creates every endpoint ``InService`` (``moto/sagemaker/models.py``
``FakeEndpoint.__init__``) and never fails one (``Updating``: a real UpdateEndpoint under the moto patch that
makes updates take time); the real Automation API driving the recording Pulumi stand-in
(:mod:`tests.support.pulumi_stand_in`); and a botocore ``Stubber`` (named as such) for an AccessDenied answer.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_infra.plan import init_errors
from mlops_infra.plan.model import Action
from mlops_infra.state.pulumi_state import parse_state
from tests.cli.test_apply_stack_identity import FRAUD, REPO, pulumi, repo
from tests.plan.test_init_errors_plan import AWS_REASON, _is, _plan
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo", "seeded_endpoint"]  # fixtures; the moto helper the plan tests use

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
NAME = "fraud-detection-staging-scorer"
REGION = "us-east-1"
DELETE_FIRST_ENV = "MLOPS_INFRA_DELETE_FIRST"
""":data:`mlops_infra.program.delete_first.DELETE_FIRST_ENV`, spelled out: the apply tests run on code without it."""


@contextlib.contextmanager
def seeded_endpoint(url: str, name: str, status: str, reason: str = "") -> Iterator[None]:
    """An endpoint ``name`` in the moto server at ``url`` (its model and config too), its ``EndpointStatus`` set to
    ``status`` in moto's backend (moto makes every endpoint ``InService``); all three deleted on exit (moto's
    backends outlive a server in one test process)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    from tests.support.moto_server import client, endpoint_updates_take

    sm = client("sagemaker", url, REGION)
    model, config = f"{name}-m", f"{name}-c"
    sm.create_model(ModelName=model, ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
                    PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/m:1"})
    sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "primary", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    try:
        with contextlib.ExitStack() as updating:
            if status == "Updating":  # a real UpdateEndpoint that takes an hour (moto_server patch 3)
                updating.enter_context(endpoint_updates_take(3600))
                sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
            else:
                endpoint = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].endpoints[name]
                endpoint.endpoint_status = status
                endpoint.failure_reason = reason or None
            yield
    finally:
        with contextlib.suppress(Exception):
            sm.delete_endpoint(EndpointName=name)
        sm.delete_endpoint_config(EndpointConfigName=config)
        sm.delete_model(ModelName=model)


@pytest.fixture
def moto_env(monkeypatch) -> Iterator[str]:
    from tests.support.moto_server import running_moto_server

    with running_moto_server() as url:
        for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing",
                           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"}.items():
            monkeypatch.setenv(key, value)
        from tests.support.moto_accounts import caller_is

        caller_is(monkeypatch, "111111111111")  # staging's; seeded with moto's test keys (apply's registry read asks)
        yield url


def _candidate(name: str):
    from mlops_infra.apply.failed_endpoints import Candidate

    return Candidate(f"urn:pulumi:staging::p::{ENDPOINT}::{name}", name, "endpoints.scorer")


# -- which endpoints are read, and what is decided ------------------------------------------------------------------

def _staging_prior(marked: bool):
    checkpoint = applied_state(compile_file(REPO / FRAUD, "staging"))
    if marked:
        checkpoint = edit_resource(checkpoint, _is(ENDPOINT), lambda r: r.update(initErrors=["x"]))
    return parse_state(dumps(checkpoint).encode(), "state.json")


def test_the_plan_endpoint_with_init_errors_is_the_one_candidate():
    from mlops_infra.apply.failed_endpoints import Candidate, candidates

    plan, urn = _plan("staging", _is(ENDPOINT), [AWS_REASON])
    assert candidates(plan.changes, _staging_prior(True)) == (Candidate(urn, NAME, "endpoints.scorer"),)
    assert candidates(plan.changes, _staging_prior(False)) == ()  # no initErrors in the state: nothing read


@pytest.mark.moto
def test_only_a_failed_endpoint_is_replaced(moto_env):
    from mlops_infra.apply.failed_endpoints import read_failed
    from tests.support.moto_server import client

    sm = client("sagemaker", moto_env, REGION)
    statuses = {"fe-failed": "Failed", "fe-inservice": "InService", "fe-creating": "Creating",
                "fe-updating": "Updating"}
    with contextlib.ExitStack() as stack:
        for name, status in statuses.items():
            stack.enter_context(seeded_endpoint(moto_env, name, status, "CannotStartContainerError" * (
                status == "Failed")))
        found = read_failed(sm, [_candidate(n) for n in [*statuses, "fe-gone"]])
    assert found.failed == [_candidate("fe-failed").urn]
    assert found.excluded == [_candidate("fe-creating").urn, _candidate("fe-updating").urn]  # closing-36a-1
    assert found.lines == [
        "endpoints.scorer: the endpoint fe-failed is Failed (CannotStartContainerError): it is deleted and created "
        "again (`pulumi up --replace`, deleting first)",
        "endpoints.scorer: the endpoint fe-inservice is InService, not Failed: not replaced; Pulumi's update clears "
        "the init-error record",
        "endpoints.scorer: the endpoint fe-creating is still Creating: left out of this apply with its 0 dependents "
        "(`pulumi up --exclude`), so the state keeps its record; apply again when it is InService or Failed",
        "endpoints.scorer: the endpoint fe-updating is still Updating: left out of this apply with its 0 dependents "
        "(`pulumi up --exclude`), so the state keeps its record; apply again when it is InService or Failed",
        "endpoints.scorer: SageMaker has no endpoint fe-gone; Pulumi's update goes on as planned"]


def test_an_endpoint_that_cannot_be_read_is_never_replaced_and_the_line_says_what_to_do():
    """botocore ``Stubber`` stand-in: DescribeEndpoint answers AccessDeniedException, then ThrottlingException."""
    import boto3
    from botocore.stub import Stubber

    from mlops_infra.apply.failed_endpoints import read_failed

    sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(sm) as stub:
        for code in ("AccessDeniedException", "ThrottlingException"):
            stub.add_client_error("describe_endpoint", code, "not now", 400, expected_params={"EndpointName": NAME})
        found = read_failed(sm, [_candidate(NAME), _candidate(NAME)])
    assert found.failed == []
    assert found.excluded == [_candidate(NAME).urn] * 2  # left out, so its record stays (closing-36a-1)
    assert found.lines == [
        f"endpoints.scorer: could not read the endpoint {NAME} ({code}: not now): left out of this apply with its 0 "
        "dependents (`pulumi up --exclude`), so the state keeps its record; apply again once it can be read (a Failed "
        f"one is then replaced; by hand: `aws sagemaker delete-endpoint --endpoint-name {NAME}`, `pulumi refresh`)"
        for code in ("AccessDeniedException", "ThrottlingException")]


def test_check_reads_nothing_without_a_candidate():
    from mlops_infra.apply.failed_endpoints import check

    plan, _ = _plan("staging", _is(ENDPOINT), [AWS_REASON])  # the plan's endpoint update; the state holds no initErrors

    class NoCalls:
        def __getattr__(self, name):
            raise AssertionError(f"called {name}")

    assert check(plan, _staging_prior(False), REGION, print, NoCalls()) == ((), {}, ())


# -- apply, end to end ----------------------------------------------------------------------------------------------

def _staging_repo(repo: Path, init_errors_on_endpoint: bool = True) -> str:
    """``stacks/staging`` of the repository copy with the file backend's state of fraud-detection/staging, its
    endpoint marked with the bridge's init error; the endpoint's URN."""
    for name in ("Pulumi.yaml", "Pulumi.staging.yaml", "__main__.py"):
        (repo / "stacks/staging").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "stacks/staging" / name, repo / "stacks/staging" / name)
    checkpoint = applied_state(compile_file(REPO / FRAUD, "staging"))
    urns = []

    def mark(record: dict) -> dict:
        record["initErrors"] = [AWS_REASON.replace("{urn}", record["urn"])]
        urns.append(record["urn"])
        return record

    if init_errors_on_endpoint:
        checkpoint = edit_resource(checkpoint, _is(ENDPOINT), mark)
    folder = repo / "stacks/staging/.pulumi"
    (folder / "stacks/fraud-detection").mkdir(parents=True, exist_ok=True)
    (folder / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    (folder / "stacks/fraud-detection/staging.json").write_text(dumps(checkpoint), encoding="utf-8")
    return urns[0] if urns else ""


def _replace_args(args: list[str]) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--replace"]


@pytest.mark.moto
def test_apply_replaces_a_failed_endpoint_deleting_first(repo: Path, pulumi, moto_env) -> None:
    urn = _staging_repo(repo)
    with seeded_endpoint(moto_env, NAME, "Failed", "The primary container failed the ping health check"):
        result = run_cli("apply", FRAUD, "--env", "staging", "--yes")
    [up] = pulumi.ran("up")
    assert _replace_args(up["args"]) == [urn], result.output
    assert up["env"][DELETE_FIRST_ENV] == urn  # the program registers it with deleteBeforeReplace, this run only
    assert f"endpoints.scorer: the endpoint {NAME} is Failed (The primary container failed the ping health check): " \
           "it is deleted and created again" in result.stdout, result.output
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr  # up ran, and failed


@pytest.mark.moto
@pytest.mark.parametrize("status", ["InService"])  # Creating: tests/apply/test_in_progress_endpoints.py
def test_apply_never_replaces_an_endpoint_that_is_not_failed(repo: Path, pulumi, moto_env, status) -> None:
    _staging_repo(repo)
    with seeded_endpoint(moto_env, NAME, status):
        result = run_cli("apply", FRAUD, "--env", "staging", "--yes")
    assert f"the endpoint {NAME} is {status}, not Failed: not replaced" in result.stdout, result.output
    [up] = pulumi.ran("up")
    assert _replace_args(up["args"]) == []
    assert DELETE_FIRST_ENV not in up["env"]


def test_a_saved_refreshed_replace_is_not_taken_from_the_plan():
    """A refreshed plan's replace of the endpoint is not in the plan's forced list: apply decides by its own read."""
    from tests.plan.test_failed_endpoint_plan import _plan_with

    plan, urn = _plan_with("Failed")
    assert [c.action for c in plan.changes if c.urn == urn] == [Action.REPLACE]
    assert init_errors.forced_replaces(plan.changes) == ()
