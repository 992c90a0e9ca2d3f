"""How the plan shows a SageMaker endpoint whose create did not finish (``initErrors``), by what a live read says.

An endpoint that is ``Failed`` accepts only DeleteEndpoint (botocore sagemaker 2017-07-24
``DescribeEndpointOutput.EndpointStatus``), and Pulumi's empty update of it neither waits nor retries
(terraform-provider-aws ``resourceEndpointUpdate`` waits only on a config change): apply now reads it and replaces
a Failed one, deleting first (``pulumi up --replace`` with ``deleteBeforeReplace`` for that run;
:mod:`mlops_infra.apply.failed_endpoints`). The init-error reason alone is no proof (a wait that timed out leaves
it ``Creating``/``InService``), so:

- ``plan --refresh`` reading it ``Failed``: a replace that deletes first, with no outage line (it serves nothing),
  not among the Job replaces apply takes from the plan (apply reads the endpoint again itself);
- reading it in another status: the update, saying it is not Failed;
- without a live read: the update, saying apply reads it first and replaces it if it is Failed.

Before (fe6a43d) every case was the update telling the user to delete the endpoint by hand and ``pulumi refresh``.
The last test runs ``plan --refresh`` against a moto server whose endpoint is set ``Failed`` in moto's backend
(moto's ``FakeEndpoint`` is created ``InService`` and never fails by itself).
"""

from __future__ import annotations

import json

import pytest

from mlops_infra.plan import init_errors
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.render import render_json, render_markdown, render_text
from mlops_infra.state.aws_live.sagemaker import map_endpoint
from mlops_infra.state.model import LiveState, StateResource
from mlops_infra.state.pulumi_state import parse_state
from tests.plan.test_init_errors_plan import AWS_REASON, FRAUD, _changed, _is
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.cli import run_cli

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
NAME = "fraud-detection-staging-scorer"
OUTAGE = "(an outage)"


def _failed_state():
    graph = compile_file(FRAUD, "staging")

    def mark(record: dict) -> dict:
        record["initErrors"] = [AWS_REASON.replace("{urn}", record["urn"])]
        return record

    checkpoint = edit_resource(applied_state(graph), _is(ENDPOINT), mark)
    [urn] = [r.urn for r in graph.resources if r.type == ENDPOINT]
    return graph, checkpoint, urn


def _plan_with(status: str | None):
    graph, checkpoint, urn = _failed_state()
    prior = parse_state(dumps(checkpoint).encode(), "state.json")
    live = None
    if status is not None:  # what the scan keeps of DescribeEndpoint (state/aws_live/sagemaker.map_endpoint)
        reading = map_endpoint({"EndpointName": NAME, "EndpointConfigName": "c", "EndpointStatus": status,
                                "EndpointArn": f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{NAME}"})
        state = prior.resources[urn]
        live = LiveState({urn: StateResource(urn, ENDPOINT, id=state.id, inputs=reading.inputs,
                                             outputs=reading.outputs)})
    return make_plan(graph, prior, live=live), urn


def test_a_refreshed_failed_endpoint_is_a_replace_that_deletes_first_without_an_outage_line():
    plan, urn = _plan_with("Failed")
    [change] = [c for c in _changed(plan) if c.urn == urn]
    assert (change.urn, change.action, change.reason.code) == (urn, Action.REPLACE, "init-error")
    # its autoscaling is deletedWith it (autoscale-1): AWS deregisters it with the endpoint, Pulumi replaces it with it
    others = {(c.type, c.action, c.reason.code, c.delete_before_replace) for c in _changed(plan) if c.urn != urn}
    assert others == {(t, Action.REPLACE, "deleted-with-replaced", True)
                      for t in ("aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy")}
    assert change.delete_before_replace  # the name stays: created first, CreateEndpoint would refuse it
    assert change.reason.message.endswith(
        "it is Failed (DescribeEndpoint), and a Failed endpoint accepts only DeleteEndpoint: apply deletes it and "
        "creates it again (`pulumi up --replace`, deleting first; by hand: `aws sagemaker delete-endpoint "
        f"--endpoint-name {NAME}`, then `pulumi refresh`)")
    assert not [w for w in plan.warnings if "create-first" in w]  # no "this is a bug" name-collision warning
    assert init_errors.forced_replaces(plan.changes) == ()  # apply reads it again; never the plan's word
    for text in (render_text(plan), render_markdown(plan)):
        assert init_errors.FAILED_NOTE in text and OUTAGE not in text
    [entry] = [c for c in json.loads(render_json(plan))["resourceChanges"] if c["urn"] == urn]
    assert entry["action"] == "replace" and entry["deleteBeforeReplace"] is True


@pytest.mark.parametrize("status", ["InService", "Creating", "Updating"])
def test_a_refreshed_endpoint_that_is_not_failed_keeps_the_update(status):
    plan, urn = _plan_with(status)
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.UPDATE, "init-error")
    assert not change.delete_before_replace
    if status == "InService":
        assert change.reason.message.endswith(
            "Pulumi's update of an unchanged endpoint neither waits nor retries, it only clears this record; "
            f"it is {status} (DescribeEndpoint), not Failed, so apply does not replace it")
    else:  # still in progress: apply leaves it out, so the record stays (closing-36a-1)
        assert change.reason.message.endswith(
            f"it is {status} (DescribeEndpoint), not Failed: apply leaves it and its dependents out until it is "
            "InService or Failed")


def test_without_a_live_read_the_update_says_apply_checks_it_and_replaces_it_if_failed():
    plan, urn = _plan_with(None)
    [change] = _changed(plan)
    assert (change.urn, change.action, change.reason.code) == (urn, Action.UPDATE, "init-error")
    assert change.reason.message.endswith(
        "Pulumi's update of an unchanged endpoint neither waits nor retries, it only clears this record; a Failed "
        "endpoint accepts only DeleteEndpoint, so apply reads it first (DescribeEndpoint) and, if it is Failed, "
        "deletes it and creates it again (`pulumi up --replace`, deleting first; by hand: `aws sagemaker delete-endpoint "
        "--endpoint-name fraud-detection-staging-scorer`, then `pulumi refresh`); `plan --refresh` reads it too")
    assert "run `pulumi refresh`, and apply creates it again" not in change.reason.message  # the old advice


def test_a_failed_endpoint_whose_config_changes_too_is_replaced_and_says_both():
    graph, checkpoint, urn = _failed_state()

    def older_deployment(record: dict) -> None:  # deployment_config: an UpdateEndpoint that waits
        record["inputs"]["deploymentConfig"]["blueGreenUpdatePolicy"]["terminationWaitInSeconds"] = 300

    prior = parse_state(dumps(edit_resource(checkpoint, _is(ENDPOINT), older_deployment)).encode(), "state.json")
    reading = map_endpoint({"EndpointName": NAME, "EndpointStatus": "Failed"})
    plan = make_plan(graph, prior, live=LiveState({urn: StateResource(urn, ENDPOINT, id=NAME, outputs=reading.outputs)}))
    [change] = [c for c in _changed(plan) if c.urn == urn]
    assert (change.action, change.reason.code, change.delete_before_replace) == (Action.REPLACE, "init-error", True)
    assert "it is Failed (DescribeEndpoint)" in change.reason.message and "; also " in change.reason.message
    offline = make_plan(graph, prior)
    [change] = [c for c in _changed(offline) if c.urn == urn]
    assert change.action is Action.UPDATE and change.reason.code != "init-error"
    assert "neither waits" not in change.reason.message  # a config change's update waits
    assert "apply reads it first (DescribeEndpoint) and, if it is Failed" in change.reason.message


@pytest.mark.moto
def test_plan_refresh_reads_the_failed_endpoint_from_sagemaker(tmp_path, monkeypatch):
    """A real ``plan --refresh`` (moto server): the scan's DescribeEndpoint gives the status the plan decides by."""
    from tests.apply.test_failed_endpoints import seeded_endpoint
    from tests.support.moto_accounts import caller_is
    from tests.support.moto_server import running_moto_server

    _, checkpoint, urn = _failed_state()
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint), encoding="utf-8")
    with running_moto_server() as url:
        for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_EC2_METADATA_DISABLED": "true"}.items():
            monkeypatch.setenv(key, value)
        caller_is(monkeypatch, "111111111111")  # staging's; seeded with moto's test keys (the envs-7 account check)
        with seeded_endpoint(url, NAME, "Failed"):
            result = run_cli("plan", str(FRAUD), "--env", "staging", "--state", str(state), "--refresh",
                             "--format", "json")
    assert result.code == 0, result.output
    [entry] = [c for c in json.loads(result.stdout)["resourceChanges"] if c["urn"] == urn]
    assert (entry["action"], entry["deleteBeforeReplace"]) == ("replace", True), entry
    assert "it is Failed (DescribeEndpoint)" in entry["reason"]["message"]
