"""An endpoint still being created at apply time keeps its ``initErrors`` record, and a Failed one whose record was
lost is planned and replaced all the same (audit closing-36a-1, :mod:`mlops_infra.apply.failed_endpoints`).

Before: apply kept Pulumi's empty update for an endpoint it read ``Creating``/``Updating``/``SystemUpdating`` (or
could not read); that update succeeds at once (terraform-provider-aws ``resourceEndpointUpdate`` waits only on a
config change) and the engine drops ``initErrors``, so when the endpoint then went ``Failed`` ("DeleteEndpoint is
the only operation that can be performed on a failed endpoint", botocore sagemaker 2017-07-24
``DescribeEndpointOutput.EndpointStatus``) no plan, refreshed or not, and no apply ever looked at it again. Now:

- such an endpoint and its dependents are left out of the ``up`` (``Stack.up(exclude=[urn],
  exclude_dependents=True)``: ``--exclude <urn> --exclude-dependents``), which keeps its state record as it is
  (pulumi/pulumi ``step_generator.go``: an excluded resource is an untargeted SameStep of ``old.Copy()``;
  ``pkg/resource/state.go`` ``Copy`` clones ``InitErrors``), and apply says so;
- ``plan --refresh`` plans an endpoint read ``Failed`` as the delete-first replace with or without the record, and
  apply of that saved plan reads it again (DescribeEndpoint) and replaces it, deleting first.

Where it runs: a moto server (:mod:`tests.support.moto_server`) whose endpoint status is set in moto's backend
(moto never fails one), the real Automation API driving the recording Pulumi stand-in
(:mod:`tests.support.pulumi_stand_in`, which records ``up``'s arguments and does not touch the state: that the
excluded record survives is the engine's rule cited above), and a botocore ``Stubber`` (named as such).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mlops_infra.errors import UserError
from mlops_infra.plan import init_errors
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.aws_live.sagemaker import map_endpoint
from mlops_infra.state.dependents import state_dependents
from mlops_infra.state.model import LiveState, StateResource
from mlops_infra.state.pulumi_state import parse_state
from tests.apply.test_failed_endpoints import (
    DELETE_FIRST_ENV,
    NAME,
    REGION,
    _candidate,
    _replace_args,
    _staging_repo,
    moto_env,
    seeded_endpoint,
)
from tests.cli.test_apply_stack_identity import FRAUD, REPO, pulumi, repo
from tests.plan.test_failed_endpoint_plan import _failed_state
from tests.plan.test_init_errors_plan import _is
from tests.scenarios.harness import compile_file
from tests.support.applied_state import dumps, edit_resource
from tests.support.cli import run_cli

__all__ = ["moto_env", "pulumi", "repo"]  # fixtures

ENDPOINT = init_errors.ENDPOINT
STACK_STATE = "stacks/staging/.pulumi/stacks/fraud-detection/staging.json"


def _args(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]


# -- what apply decides ---------------------------------------------------------------------------------------------

@pytest.mark.moto
def test_an_endpoint_still_in_progress_is_left_out_and_said(moto_env):
    from mlops_infra.apply.failed_endpoints import read_failed
    from tests.support.moto_server import client

    sm = client("sagemaker", moto_env, REGION)
    import contextlib

    statuses = {"fe2-creating": "Creating", "fe2-sysupdating": "SystemUpdating", "fe2-updating": "Updating",
                "fe2-inservice": "InService"}
    with contextlib.ExitStack() as stack:
        for name, status in statuses.items():
            stack.enter_context(seeded_endpoint(moto_env, name, status))
        found = read_failed(sm, [_candidate(n) for n in statuses])
    assert found.failed == []
    assert found.excluded == [_candidate(n).urn for n in ("fe2-creating", "fe2-sysupdating", "fe2-updating")]
    assert found.lines[:3] == [
        f"endpoints.scorer: the endpoint {name} is still {status}: left out of this apply with its 0 dependents "
        "(`pulumi up --exclude`), so the state keeps its record; apply again when it is InService or Failed"
        for name, status in list(statuses.items())[:3]]
    assert found.lines[3] == ("endpoints.scorer: the endpoint fe2-inservice is InService, not Failed: not replaced; "
                              "Pulumi's update clears the init-error record")


def test_an_endpoint_that_cannot_be_read_is_left_out():
    """botocore ``Stubber`` stand-in: DescribeEndpoint answers AccessDeniedException."""
    import boto3
    from botocore.stub import Stubber

    from mlops_infra.apply.failed_endpoints import read_failed

    sm = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(sm) as stub:
        stub.add_client_error("describe_endpoint", "AccessDeniedException", "no", 400,
                              expected_params={"EndpointName": NAME})
        found = read_failed(sm, [_candidate(NAME)])
    assert (found.failed, found.excluded) == ([], [_candidate(NAME).urn])
    assert found.lines == [
        f"endpoints.scorer: could not read the endpoint {NAME} (AccessDeniedException: no): left out of this apply "
        "with its 0 dependents (`pulumi up --exclude`), so the state keeps its record; apply again once it can be "
        f"read (a Failed one is then replaced; by hand: `aws sagemaker delete-endpoint --endpoint-name {NAME}`, "
        "`pulumi refresh`)"]


def test_the_dependents_left_out_are_the_ones_the_state_records():
    """What ``--exclude-dependents`` leaves out with the endpoint (the desired graph's dependents) is what the
    applied state says depends on it (``state.dependents``, Pulumi's dependency graph rule)."""
    from mlops_infra.apply.failed_endpoints import dependents

    graph, checkpoint, urn = _failed_state()
    prior = parse_state(dumps(checkpoint).encode(), "state.json")
    found = dependents(graph, [urn])
    assert found and sorted(found) == sorted(state_dependents(prior, [urn]))
    assert {r.type for r in graph.resources if r.urn in found} >= {"aws:appautoscaling/target:Target"}


# -- apply, end to end: Creating -> left out; then Failed -> replaced -----------------------------------------------

@pytest.mark.moto
@pytest.mark.parametrize("status", ["Creating", "Updating"])
def test_apply_leaves_an_endpoint_still_in_progress_out_of_up(repo: Path, pulumi, moto_env, status) -> None:
    urn = _staging_repo(repo)
    before = (repo / STACK_STATE).read_bytes()
    with seeded_endpoint(moto_env, NAME, status):
        result = run_cli("apply", FRAUD, "--env", "staging", "--yes")
    [up] = pulumi.ran("up")
    assert _args(up["args"], "--exclude") == [urn], result.output
    assert "--exclude-dependents" in up["args"] and "--target" not in up["args"]
    assert _replace_args(up["args"]) == [] and DELETE_FIRST_ENV not in up["env"]
    from mlops_infra.apply.failed_endpoints import dependents

    count = len(dependents(compile_file(REPO / FRAUD, "staging"), [urn]))
    assert f"endpoints.scorer: the endpoint {NAME} is still {status}: left out of this apply with its {count} " \
           "dependents (`pulumi up --exclude`), so the state keeps its record; apply again when it is InService or " \
           "Failed" in result.stdout, result.output
    assert (repo / STACK_STATE).read_bytes() == before  # the stand-in's up changed nothing: the record is there
    assert json.loads(before)["checkpoint"]["latest"]["resources"]  # (the state the next plan reads)


def _lost_record_state():
    """fraud-detection/staging's applied state whose endpoint has no initErrors (the update cleared it)."""
    graph, checkpoint, urn = _failed_state()
    cleared = edit_resource(checkpoint, _is(ENDPOINT), lambda r: r.pop("initErrors", None))
    return graph, cleared, urn


def test_a_refreshed_failed_endpoint_without_the_record_is_the_delete_first_replace():
    graph, checkpoint, urn = _lost_record_state()
    prior = parse_state(dumps(checkpoint).encode(), "state.json")
    assert not prior.resources[urn].init_errors
    reading = map_endpoint({"EndpointName": NAME, "EndpointStatus": "Failed", "FailureReason": "health check"})
    live = LiveState({urn: StateResource(urn, ENDPOINT, id=NAME, inputs=reading.inputs, outputs=reading.outputs)})
    plan = make_plan(graph, prior, live=live)
    [change] = [c for c in plan.changes if c.urn == urn]
    assert (change.action, change.reason.code, change.delete_before_replace) == (Action.REPLACE, "endpoint-failed", True)
    assert change.reason.message.startswith("the state records no init error")
    from mlops_infra.render import render_json, render_text

    assert init_errors.FAILED_NOTE in render_text(plan)  # no outage line: it serves nothing
    [entry] = [c for c in json.loads(render_json(plan))["resourceChanges"] if c["urn"] == urn]
    assert (entry["action"], entry["deleteBeforeReplace"], entry["reason"]["code"]) == ("replace", True,
                                                                                       "endpoint-failed")
    assert "it is Failed (DescribeEndpoint), and a Failed endpoint accepts only DeleteEndpoint" in change.reason.message
    assert plan.has_changes and init_errors.forced_replaces(plan.changes) == ()  # apply reads it again
    assert not [w for w in plan.warnings if "create-first" in w]
    for status in ("InService", "Creating"):  # not Failed: nothing to do, as before
        reading = map_endpoint({"EndpointName": NAME, "EndpointStatus": status})
        live = LiveState({urn: StateResource(urn, ENDPOINT, id=NAME, inputs=reading.inputs, outputs=reading.outputs)})
        [change] = [c for c in make_plan(graph, prior, live=live).changes if c.urn == urn]
        assert change.action is Action.NOOP, status


def test_apply_reads_a_refreshed_failed_endpoint_without_the_record():
    from mlops_infra.apply.failed_endpoints import Candidate, check

    graph, checkpoint, urn = _lost_record_state()
    prior = parse_state(dumps(checkpoint).encode(), "state.json")
    reading = map_endpoint({"EndpointName": NAME, "EndpointStatus": "Failed"})
    live = LiveState({urn: StateResource(urn, ENDPOINT, id=NAME, inputs=reading.inputs, outputs=reading.outputs)})

    class SageMaker:
        def __init__(self, status):
            self.status = status

        def describe_endpoint(self, EndpointName):
            return {"EndpointName": EndpointName, "EndpointStatus": self.status}

    lines: list[str] = []
    decided = check(make_plan(graph, prior, live=live), prior, REGION, lines.append, SageMaker("Failed"), graph)
    assert decided.replace == (urn,) and decided.env == {DELETE_FIRST_ENV: urn} and decided.exclude == ()
    # never a delete without apply's own read: an endpoint that is InService by now keeps the plan's... nothing
    decided = check(make_plan(graph, prior, live=live), prior, REGION, lines.append, SageMaker("InService"), graph)
    assert decided.replace == () and decided.env == {}
    from mlops_infra.apply.failed_endpoints import candidates

    assert candidates(make_plan(graph, prior).changes, prior) == ()  # offline: no record, nothing to read
    assert isinstance(candidates(make_plan(graph, prior, live=live).changes, prior)[0], Candidate)


@pytest.mark.moto
def test_apply_of_a_refreshed_plan_replaces_the_failed_endpoint_whose_record_was_lost(
        repo: Path, pulumi, moto_env, monkeypatch) -> None:
    from tests.support.moto_accounts import caller_is

    caller_is(monkeypatch, "111111111111")  # staging's; seeded with moto's test keys (the envs-7 account check)
    urn = _staging_repo(repo, init_errors_on_endpoint=False)
    [urn] = [r.urn for r in compile_file(REPO / FRAUD, "staging").resources if r.type == ENDPOINT]
    with seeded_endpoint(moto_env, NAME, "Failed", "The primary container failed the ping health check"):
        planned = run_cli("plan", FRAUD, "--env", "staging", "--refresh", "--out", "plan.json")
        assert planned.code in (0, 2), planned.output
        saved = json.loads(Path("plan.json").read_text(encoding="utf-8"))
        result = run_cli("apply", FRAUD, "--env", "staging", "--plan", "plan.json", "--yes")
    [entry] = [c for c in saved["plan"]["resourceChanges"] if c["urn"] == urn] if "plan" in saved else \
        [c for c in saved["resourceChanges"] if c["urn"] == urn]
    assert (entry["action"], entry["reason"]["code"]) == ("replace", "endpoint-failed"), entry
    [up] = pulumi.ran("up")
    assert _replace_args(up["args"]) == [urn], result.output
    assert up["env"][DELETE_FIRST_ENV] == urn
    assert "--exclude" not in up["args"]
    assert f"endpoints.scorer: the endpoint {NAME} is Failed (The primary container failed the ping health check): " \
           "it is deleted and created again" in result.stdout, result.output


# -- the ordered apply and --target ---------------------------------------------------------------------------------

def test_an_ordered_apply_drops_the_left_out_endpoints_sequence_from_phase_one():
    from mlops_infra.cli.commands.apply import _without
    from mlops_infra.plan.model import ChangeSequence, SequenceStep

    graph, _, urn = _failed_state()
    from mlops_infra.apply.failed_endpoints import dependents

    [target] = dependents(graph, [urn])[:1]
    ours = ChangeSequence("endpoints.scorer", "instance type", (SequenceStep("deregister", (target,), "d"),
                                                                SequenceStep("update", (urn,), "u")))
    other = ChangeSequence("endpoints.other", "instance type", (SequenceStep("deregister", ("urn:x",), "d"),
                                                                SequenceStep("update", ("urn:y",), "u")))
    assert _without([ours, other], (urn,), graph) == [other]
    assert _without([ours, other], (), graph) == [ours, other]


def test_engine_never_passes_exclude_with_targets(repo: Path, pulumi) -> None:
    """``pulumi up`` refuses ``--target`` with ``--exclude`` (``pkg/cmd/pulumi/operations/up.go``
    ``MarkFlagsMutuallyExclusive("target", "exclude")``): a targeted ``up`` gets only its targets (the excluded
    endpoint is untargeted, so left as it is); a URN both targeted and excluded is a caller's bug, refused before
    any Pulumi command."""
    from mlops_infra.apply import engine

    urn = _staging_repo(repo)
    with pytest.raises(ValueError, match=re.escape(f"targeted and excluded at once: {urn}")):
        engine.up(repo / "stacks/staging", "staging", targets=[urn], exclude=[urn])
    assert pulumi.ran("up") == []
    with pytest.raises(UserError):  # the stand-in fails every up; its arguments are what matters
        engine.up(repo / "stacks/staging", "staging", targets=["urn:x"], exclude=[urn], replace=[urn])
    [up] = pulumi.ran("up")
    assert _args(up["args"], "--target") == ["urn:x"]
    assert "--exclude" not in up["args"] and "--exclude-dependents" not in up["args"] and "--replace" not in up["args"]
    with pytest.raises(UserError):
        engine.up(repo / "stacks/staging", "staging", exclude=[urn], replace=[urn, "urn:job"])
    up = pulumi.ran("up")[-1]
    assert _args(up["args"], "--exclude") == [urn] and "--exclude-dependents" in up["args"]
    assert _replace_args(up["args"]) == ["urn:job"]  # never replace what is left out
