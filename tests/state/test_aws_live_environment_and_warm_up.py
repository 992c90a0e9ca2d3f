"""``plan --refresh`` reads a Lambda function's environment variables and an alarm's warm-up (stop 33's
"Noticed and left" (a) and (b)), on the patched moto server (tests/support/moto_server.py; patch 18 keeps
an alarm's ``WarmUpConfiguration``):

- the fraud-detection example's staging functions (a channel forwarder, the retrain gate, the rollout
  runner, which has no environment) and its drift monitor's silence alarm, created in moto from the
  state an apply leaves: ``Drift: none``;
- a forwarder's variables edited in the console are drift, variable by variable, named with what
  happened (added, removed, changed); a live value never appears in the plan's text, JSON or PR comment,
  nor in promote's ``no_drift`` evidence, whatever its name or shape (audit closing-34b-1: a key added
  under ``ENCRYPTION_KEY``, ``SIGNING_KEY``, ``ANTHROPIC_KEY``, ``HF_HUB``, or typed over a compiled
  variable, was printed in full), and the state's value only when it is the compiled graph's own and
  neither named like a credential (``SECRET_ID``) nor secret-shaped;
- the silence alarm put again without its warm-up, and a warm-up added by hand to another alarm, are
  drift;
- pure: Lambda's ``EnvironmentResponse.Error`` without variables is not read as every variable
  removed, and a Pulumi secret in the state is compared by presence only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.drift import SENSITIVE, find_drift, left_alone
from mlops_infra.promote.gates import FAIL, GateInputs, GateResult, evaluate_gates
from mlops_infra.state.aws_live import TRACKING, scan_aws
from mlops_infra.state.aws_live.lambda_ import map_lambda_function
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, UNKNOWN, LiveState, PriorState, StateResource
from mlops_infra.state.pulumi_state import load_state
from tests.cli.test_plan_cmd import run
from tests.scenarios.harness import compile_file
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps, resources
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import client, handler_zip

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FORWARDER = "fraud-detection-staging-notify-oncall"
SILENCE = "fraud-detection-staging.monitor-silent.drift"
ERRORS = "fraud-detection-staging-notify-oncall.errors"
KEPT_ALARMS = ("drift-silent-alarm", "oncall-forwarder-errors-alarm")
WEBHOOK = "https://hooks.slack.com/services/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"
"""A Slack incoming-webhook URL's shape (the secret a forwarder keeps in Secrets Manager)."""
TOKEN = "ghp_" + "Z7wq4Xk2Lm9Pn3Rt8Vb5Yc1Hd6Jf0Gs2Ae4U"
"""A GitHub personal access token's shape, pasted under a name that does not look secret."""
NEW_SECRET_NAME = "attacker-owned-webhook"
HAND_ADDED = {
    "ENCRYPTION_KEY": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "SIGNING_KEY": "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A=",
    "ANTHROPIC_KEY": "sk-ant-api03-" + "Qm7xK2vL9pR4tW8yZ1bN6cF3hJ5dG0sA",
    "HF_HUB": "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"}
"""The audit's repro (closing-34b-1): keys under names no credential detector knows, shapes it has no rule
for (64 hex, base64, Anthropic, Hugging Face)."""
TYPED_OVER = "sk-ant-api03-" + "Lw3Ve8Nq1Xs6Tj0Uk4Hb9Ym2Pc7Rd5Gf"
"""A key typed over a compiled variable's value (the gate's PIPELINE_NAME)."""


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_url: str) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PULUMI_BACKEND_URL", "MLOPS_INFRA_DEBUG", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    caller_is(monkeypatch, "111111111111")  # staging's; seeded with moto's test keys (the envs-7 account check)


def _kept(record: dict[str, Any]) -> bool:
    if not record.get("custom") or record["type"].startswith("pulumi:providers:"):
        return True
    name = record["urn"].rsplit("::", 1)[-1]
    return record["type"] == FUNCTION or (record["type"] == ALARM and name in KEPT_ALARMS)


def _alarm_call(inputs: dict[str, Any]) -> dict[str, Any]:
    """``PutMetricAlarm``'s arguments for a state's alarm inputs (no metric queries among those kept)."""
    call = {"AlarmName": inputs["name"], "AlarmDescription": inputs["alarmDescription"],
            "Namespace": inputs["namespace"], "MetricName": inputs["metricName"],
            "Dimensions": [{"Name": k, "Value": v} for k, v in inputs["dimensions"].items()],
            "Statistic": inputs["statistic"], "Period": inputs["period"], "Threshold": float(inputs["threshold"]),
            "ComparisonOperator": inputs["comparisonOperator"], "EvaluationPeriods": inputs["evaluationPeriods"],
            "DatapointsToAlarm": inputs["datapointsToAlarm"], "TreatMissingData": inputs["treatMissingData"],
            "ActionsEnabled": inputs["actionsEnabled"], "AlarmActions": inputs["alarmActions"],
            "OKActions": inputs["okActions"], "Tags": [{"Key": k, "Value": v} for k, v in inputs["tags"].items()]}
    warm_up = inputs.get("warmUpConfiguration")
    if warm_up:
        call["WarmUpConfiguration"] = {
            "WarmUpPeriodDurationInMinutes": warm_up["warmUpPeriodDurationInMinutes"],
            "OnlyStartEvaluatingAfterWarmUpPeriodEnds": warm_up["onlyStartEvaluatingAfterWarmUpPeriodEnds"]}
    return call


def applied_in_moto(url: str, path: Path, *, secret_variable: str | None = None) -> dict[str, dict[str, Any]]:
    """The example's staging state, only its components, providers, functions and two alarms (the drift
    monitor's silence alarm, the forwarder's errors alarm), created in moto from the state's inputs (the
    role ARN as moto gives it). ``secret_variable``: that forwarder variable is a Pulumi secret in the
    state (as a program's ``pulumi.secret`` leaves it). Returns the kept records by logical name."""
    checkpoint = applied_state(compile_file(BASE, "staging"))
    latest = checkpoint["checkpoint"]["latest"]
    latest["resources"] = [r for r in latest["resources"] if _kept(r)]
    records = {r["urn"].rsplit("::", 1)[-1]: r for r in resources(checkpoint) if r.get("custom")
               and r["type"] in (FUNCTION, ALARM)}
    role = client("iam", url).create_role(RoleName="fraud-env-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam, cloudwatch = client("lambda", url), client("cloudwatch", url)
    for record in records.values():
        inputs = record["inputs"]
        if record["type"] == FUNCTION:
            inputs["role"] = record["outputs"]["role"] = role
            environment = inputs.get("environment")
            lam.create_function(FunctionName=record["id"], Runtime=inputs["runtime"], Role=role,
                                Handler=inputs["handler"], Code={"ZipFile": handler_zip()},
                                MemorySize=inputs["memorySize"], Timeout=inputs["timeout"], Tags=inputs["tags"],
                                Architectures=inputs["architectures"],
                                **({"Environment": {"Variables": environment["variables"]}} if environment else {}))
        else:
            cloudwatch.put_metric_alarm(**_alarm_call(inputs))
    if secret_variable:
        forwarder = records["oncall-forwarder"]
        for side in ("inputs", "outputs"):
            forwarder[side]["environment"]["variables"][secret_variable] = {
                SECRET_SIG: SECRET_MARKER, "ciphertext": "v1:AAAAAAAAAAAAAAAA:c2VjcmV0LWNpcGhlcnRleHQ="}
    path.write_text(dumps(checkpoint), encoding="utf-8")
    return records


def _plan(capsys, state: Path, *extra: str) -> str:
    code, out, err = run(capsys, "plan", str(BASE), "--env", "staging", "--state", str(state), "--refresh", *extra)
    assert code == 0, err
    return out


def _drift(capsys, state: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(_plan(capsys, state, "--format", "json"))
    assert data["refreshed"] is True and data["refresh"]["complete"] is True, data["refresh"]
    return {d["urn"].rsplit("::", 1)[-1]: d for d in data["drift"] if d["type"] in (FUNCTION, ALARM)}


@pytest.mark.moto
def test_functions_and_the_silence_alarm_as_applied_are_no_drift(capsys, moto_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    applied_in_moto(moto_url, state)
    assert _drift(capsys, state) == {}
    live = client("lambda", moto_url).get_function(FunctionName=FORWARDER)["Configuration"]["Environment"]
    assert live["Variables"]["SECRET_ID"] == "slack-oncall-webhook"  # the environment is there to be read
    [alarm] = client("cloudwatch", moto_url).describe_alarms(AlarmNames=[SILENCE])["MetricAlarms"]
    assert alarm["WarmUpConfiguration"] == {"WarmUpPeriodDurationInMinutes": 185,
                                            "OnlyStartEvaluatingAfterWarmUpPeriodEnds": True}


@pytest.mark.moto
def test_an_environment_edited_in_the_console_is_drift_without_a_secret_value(capsys, moto_url: str,
                                                                                tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    applied_in_moto(moto_url, state)
    lam = client("lambda", moto_url)
    variables = dict(lam.get_function(FunctionName=FORWARDER)["Configuration"]["Environment"]["Variables"])
    variables.pop("CHANNEL_KIND")
    variables.update(MLOPS_CHANNEL="payments", SECRET_ID=NEW_SECRET_NAME, RECEIVER=WEBHOOK, NOTE=TOKEN)
    lam.update_function_configuration(FunctionName=FORWARDER, Environment={"Variables": variables})

    drift = _drift(capsys, state)
    assert set(drift) == {"oncall-forwarder"}
    changes = {c["path"]: (c["before"], c["after"]) for c in drift["oncall-forwarder"]["changes"]}
    # the live side never shows a value; the state's shows only the compiled graph's own, not SECRET_ID's
    assert changes == {
        "environment.variables.CHANNEL_KIND": ("slack", None),
        "environment.variables.MLOPS_CHANNEL": ("oncall", SENSITIVE),
        "environment.variables.NOTE": (None, SENSITIVE),
        "environment.variables.RECEIVER": (None, SENSITIVE),
        "environment.variables.SECRET_ID": (SENSITIVE, SENSITIVE)}
    assert drift["oncall-forwarder"]["summary"] == (
        "function oncall-forwarder: environment MLOPS_CHANNEL oncall -> <sensitive>, environment SECRET_ID changed, "
        "environment CHANNEL_KIND removed, environment NOTE added, environment RECEIVER added outside Pulumi")

    text, comment = _plan(capsys, state), _plan(capsys, state, "--format", "markdown")
    assert "environment MLOPS_CHANNEL oncall -> <sensitive>" in text and "SECRET_ID changed" in text
    assert "environment MLOPS_CHANNEL oncall -> &lt;sensitive>" in comment and "environment NOTE added" in comment
    json_text = _plan(capsys, state, "--format", "json")
    for output in (text, comment, json_text):
        for value in (WEBHOOK, TOKEN, NEW_SECRET_NAME, "hooks.slack.com", TOKEN[:12], "payments"):
            assert value not in output  # "payments" too: a live value is never shown, whatever it looks like


def _no_drift_gate(url: str, state: Path) -> GateResult:
    """Promote's ``no_drift`` gate on the state file read live, its inputs as ``cli/commands/promote.py``
    ``_src_drift`` builds them (the source's graph as ``left`` and ``desired``); no drift alerts declared."""
    prior, graph = load_state(state), compile_file(BASE, "staging")
    live = scan_aws(list(prior.resources.values()), region="us-east-1", endpoint_url=url)
    found = find_drift(prior, live, left=left_alone(graph), desired=graph)
    gate_inputs = GateInputs("staging", "prod", None, RegistryView(), (), src_prior=prior, src_live=live,
                             src_drift=found, src_alerts=())
    (result,) = evaluate_gates(["no_drift"], gate_inputs, {})
    return result


@pytest.mark.moto
def test_a_key_added_or_typed_in_the_console_is_never_shown(capsys, moto_url: str, tmp_path: Path) -> None:
    """The audit's repro (closing-34b-1): four keys added to the forwarder under names no detector knows,
    and a key typed over the gate's PIPELINE_NAME. Each variable is named with what happened; no value of
    theirs reaches the plan's text, markdown, JSON or promote's no_drift evidence. Old code (5ef0689)
    printed all five in full."""
    state = tmp_path / "state.json"
    records = applied_in_moto(moto_url, state)
    lam = client("lambda", moto_url)
    variables = dict(lam.get_function(FunctionName=FORWARDER)["Configuration"]["Environment"]["Variables"])
    lam.update_function_configuration(FunctionName=FORWARDER, Environment={"Variables": {**variables, **HAND_ADDED}})
    gate = records["retrain-gate"]
    lam.update_function_configuration(FunctionName=gate["id"], Environment={"Variables": {
        **gate["inputs"]["environment"]["variables"], "PIPELINE_NAME": TYPED_OVER}})

    drift = _drift(capsys, state)
    assert drift["oncall-forwarder"]["summary"] == (
        "function oncall-forwarder: environment ANTHROPIC_KEY added, environment ENCRYPTION_KEY added, "
        "environment HF_HUB added, environment SIGNING_KEY added outside Pulumi")
    assert drift["retrain-gate"]["summary"] == (
        "function retrain-gate: environment PIPELINE_NAME fraud-detection-staging-train-retrain -> <sensitive> "
        "changed outside Pulumi")
    outputs = {"text": _plan(capsys, state), "markdown": _plan(capsys, state, "--format", "markdown"),
               "json": _plan(capsys, state, "--format", "json")}
    no_drift = _no_drift_gate(moto_url, state)
    outputs["promote"] = f"{no_drift.reason}\n" + "\n".join(no_drift.evidence)
    assert no_drift.status == FAIL and "environment HF_HUB added" in outputs["promote"]
    for where, output in outputs.items():
        assert "ENCRYPTION_KEY" in output and "PIPELINE_NAME" in output, where
        for value in (*HAND_ADDED.values(), TYPED_OVER, TYPED_OVER[:16], "9f86d081884c7d65", "Zm9vYmFy", "hf_AbCd"):
            assert value not in output, (where, value)


@pytest.mark.moto
def test_a_pulumi_secret_variable_is_compared_by_presence_only(capsys, moto_url: str, tmp_path: Path) -> None:
    """The state holds SECRET_ID as a Pulumi secret (passphrase-encrypted: unreadable here): an edit of its
    value cannot be seen and is no drift, its removal is, shown without a value."""
    state = tmp_path / "state.json"
    applied_in_moto(moto_url, state, secret_variable="SECRET_ID")
    lam = client("lambda", moto_url)
    variables = dict(lam.get_function(FunctionName=FORWARDER)["Configuration"]["Environment"]["Variables"])
    lam.update_function_configuration(FunctionName=FORWARDER,
                                      Environment={"Variables": {**variables, "SECRET_ID": NEW_SECRET_NAME}})
    assert _drift(capsys, state) == {}
    variables.pop("SECRET_ID")
    lam.update_function_configuration(FunctionName=FORWARDER, Environment={"Variables": variables})
    drift = _drift(capsys, state)
    assert [(c["path"], c["before"], c["after"]) for c in drift["oncall-forwarder"]["changes"]] == [
        ("environment.variables.SECRET_ID", SENSITIVE, None)]
    assert "ciphertext" not in json.dumps(drift) and "c2VjcmV0" not in json.dumps(drift)


@pytest.mark.moto
def test_the_gate_and_runner_environments_are_read_too(capsys, moto_url: str, tmp_path: Path) -> None:
    """The retrain gate's pipeline edited, and an environment given to the runner (compiled without one)."""
    state = tmp_path / "state.json"
    records = applied_in_moto(moto_url, state)
    lam = client("lambda", moto_url)
    gate = records["retrain-gate"]
    variables = {**gate["inputs"]["environment"]["variables"], "PIPELINE_NAME": "someone-elses-pipeline"}
    lam.update_function_configuration(FunctionName=gate["id"], Environment={"Variables": variables})
    lam.update_function_configuration(FunctionName=records["rollout-runner"]["id"],
                                      Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap"}})
    drift = _drift(capsys, state)
    # the variable and what happened, the compiled value, never the live one (audit closing-34b-1)
    assert {k: v["summary"] for k, v in drift.items()} == {
        "retrain-gate": "function retrain-gate: environment PIPELINE_NAME fraud-detection-staging-train-retrain -> "
                        "<sensitive> changed outside Pulumi",
        "rollout-runner": "function rollout-runner: environment AWS_LAMBDA_EXEC_WRAPPER added outside Pulumi"}
    assert "someone-elses-pipeline" not in json.dumps(drift) and "/opt/wrap" not in json.dumps(drift)


@pytest.mark.moto
def test_the_silence_alarm_put_again_without_its_warm_up_is_drift(capsys, moto_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    records = applied_in_moto(moto_url, state)
    cloudwatch = client("cloudwatch", moto_url)
    bare = dict(records["drift-silent-alarm"]["inputs"])
    bare.pop("warmUpConfiguration")
    cloudwatch.put_metric_alarm(**_alarm_call(bare))  # what a console edit sends: the alarm without it
    errors = {**records["oncall-forwarder-errors-alarm"]["inputs"],
              "warmUpConfiguration": {"warmUpPeriodDurationInMinutes": 2880,
                                      "onlyStartEvaluatingAfterWarmUpPeriodEnds": True}}
    cloudwatch.put_metric_alarm(**_alarm_call(errors))
    drift = _drift(capsys, state)
    assert {k: v["summary"] for k, v in drift.items()} == {
        "drift-silent-alarm": "alarm drift-silent-alarm: warm-up minutes 185 -> (none), warm-up before any "
                              "evaluation true -> false changed outside Pulumi",
        "oncall-forwarder-errors-alarm": "alarm oncall-forwarder-errors-alarm: warm-up minutes (none) -> 2880, "
                                         "warm-up before any evaluation false -> true changed outside Pulumi"}
    text = _plan(capsys, state)
    assert "alarm drift-silent-alarm: warm-up minutes 185 -> (none)" in text


def _prior(urn: str, variables: Any) -> PriorState:
    return PriorState(source="test", version=3, serial="1", project="p", stack="dev",
                      resources={urn: _function(urn, variables)})


def _function(urn: str, variables: Any) -> StateResource:
    inputs = {"name": "f"} if variables is None else {"name": "f", "environment": {"variables": variables}}
    return StateResource(urn=urn, type=FUNCTION, custom=True, id="f", inputs=inputs, outputs={})


def test_an_environment_lambda_could_not_apply_is_not_read_as_removed() -> None:
    """botocore ``EnvironmentResponse``: "If it fails, the response contains details about the error"
    (no ``Variables``): the reading holds the unknown sentinel, never compared."""
    failed = map_lambda_function({"Configuration": {"FunctionName": "f", "Environment": {
        "Error": {"ErrorCode": "KMSAccessDeniedException", "Message": "Lambda was unable to decrypt"}}}})
    assert failed.inputs["environment"] == {"variables": UNKNOWN}
    assert "environment" not in map_lambda_function({"Configuration": {"FunctionName": "f"}}).inputs
    assert "environment" not in map_lambda_function(
        {"Configuration": {"FunctionName": "f", "Environment": {"Variables": {}}}}).inputs
    urn = "urn:pulumi:dev::p::aws:lambda/function:Function::f"
    prior = _prior(urn, {"SECRET_ID": "s", "MODE": "a"})
    live = LiveState(resources={urn: StateResource(urn=urn, type=FUNCTION, custom=True, id="f",
                                                   inputs=failed.inputs, outputs={})})
    assert find_drift(prior, live, tracking=TRACKING) == []


def test_no_live_value_is_shown_and_the_state_value_only_when_it_is_the_compiled_graphs() -> None:
    """A live value never, under any name (audit closing-34b-1); the state's value only when the desired
    graph gives the same function that same plain value and it is neither named like a credential nor
    secret-shaped; without the graph, no value at all."""
    urn = "urn:pulumi:dev::p::aws:lambda/function:Function::f"
    prior = _prior(urn, {"DB_PASSWORD": "hunter2", "TOKEN_SECRET_KEY": "token", "MODE": "a", "HOOK": WEBHOOK,
                         "KEEP": "same", "GONE": "plain-gone", "STALE": "applied-then"})
    live = LiveState(resources={urn: _function(urn, {
        "DB_PASSWORD": "hunter3", "TOKEN_SECRET_KEY": "other", "MODE": "b", "HOOK": "https://example.com/x",
        "KEEP": "same", "ADDED": "plain", "STALE": "live-now", **HAND_ADDED})})
    compiled = {"DB_PASSWORD": "hunter2", "TOKEN_SECRET_KEY": "token", "MODE": "a", "HOOK": WEBHOOK,
                "KEEP": "same", "GONE": "plain-gone", "STALE": "compiled-now"}
    desired = DesiredGraph("p", "dev", (DesiredResource(urn, FUNCTION, "f", True, None,
                                                        {"environment": {"variables": compiled}}),))
    [item] = find_drift(prior, live, tracking=TRACKING, desired=desired)
    added = tuple((f"environment.variables.{name}", None, SENSITIVE) for name in sorted(HAND_ADDED))
    assert item.changes == (
        ("environment.variables.ADDED", None, SENSITIVE), added[0],
        ("environment.variables.DB_PASSWORD", SENSITIVE, SENSITIVE), added[1],
        ("environment.variables.GONE", "plain-gone", None), added[2],
        ("environment.variables.HOOK", SENSITIVE, SENSITIVE),
        ("environment.variables.MODE", "a", SENSITIVE), added[3],
        ("environment.variables.STALE", SENSITIVE, SENSITIVE),
        ("environment.variables.TOKEN_SECRET_KEY", SENSITIVE, SENSITIVE))
    assert item.summary == (
        "function f: environment DB_PASSWORD, environment HOOK, environment MODE a -> <sensitive>, "
        "environment STALE, environment TOKEN_SECRET_KEY changed, environment ADDED added, "
        "environment ANTHROPIC_KEY added, environment ENCRYPTION_KEY added, environment GONE removed, "
        "environment HF_HUB added, environment SIGNING_KEY added outside Pulumi")
    shown = json.dumps([item.changes, item.summary])
    for value in ("hunter", "hooks.slack", "example.com", "plain\"", "applied-then", "other", *HAND_ADDED.values()):
        assert value not in shown, value
    [bare] = find_drift(prior, live, tracking=TRACKING)  # no graph: no value on either side
    assert {c[1] for c in bare.changes} <= {None, SENSITIVE} and {c[2] for c in bare.changes} <= {None, SENSITIVE}
    assert bare.summary.startswith("function f: environment DB_PASSWORD, environment HOOK, environment MODE, "
                                   "environment STALE, environment TOKEN_SECRET_KEY changed, environment ADDED added")
    # a whole map that is a Pulumi secret, or unknown, is not compared
    whole = {SECRET_SIG: SECRET_MARKER, "ciphertext": "x"}
    prior = _prior(urn, whole)
    assert find_drift(prior, live, tracking=TRACKING) == []
