"""``plan --refresh`` on AWS reads the failed-event handling of the Lambdas (``compile/aws/lambda_failures.py``):
the forwarder's failure queue and the invoke configs, on a real moto server. Applied as compiled: no
drift; the queue's retention and tags changed and the forwarder's invoke config deleted in the console:
drift, shown before the plan, and the config re-created (``missing-in-cloud``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_plan_cmd import run
from tests.scenarios.harness import compile_file
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps, resources
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import client, handler_zip

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
BASE = Path(__file__).resolve().parents[1] / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"
QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
KEPT = (QUEUE, INVOKE_CONFIG)


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


def applied_in_moto(url: str, path: Path) -> dict[str, Any]:
    """The base system's staging state, only its components, providers, failure queue and invoke configs,
    created in moto from the state's inputs (ids and ARNs as moto gives them: the queue's id is its URL,
    as pulumi-aws keeps it). Returns the queue's URL and the state's records by logical name."""
    checkpoint = applied_state(compile_file(BASE, "staging"))
    latest = checkpoint["checkpoint"]["latest"]
    latest["resources"] = [r for r in latest["resources"]
                           if not r.get("custom") or r["type"].startswith("pulumi:providers:") or r["type"] in KEPT]
    records = {r["urn"].rsplit("::", 1)[-1]: r for r in resources(checkpoint) if r["type"] in KEPT}
    queue = records["oncall-forwarder-failed"]
    sqs = client("sqs", url)
    queue_url = sqs.create_queue(QueueName=queue["inputs"]["name"], tags=queue["inputs"]["tags"], Attributes={
        "KmsMasterKeyId": queue["inputs"]["kmsMasterKeyId"],
        "MessageRetentionPeriod": str(queue["inputs"]["messageRetentionSeconds"])})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue["id"] = queue["outputs"]["id"] = queue["outputs"]["url"] = queue_url
    queue["outputs"]["arn"] = queue_arn
    role = client("iam", url).create_role(RoleName="fraud-lambda", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    lam = client("lambda", url)
    for name in ("oncall-forwarder-async", "rollout-runner-async"):
        config = records[name]
        lam.create_function(FunctionName=config["id"], Runtime="python3.12", Role=role, Handler="h.handler",
                            Code={"ZipFile": handler_zip()})
        destination = {}
        if "destinationConfig" in config["inputs"]:
            for side in ("inputs", "outputs"):
                config[side]["destinationConfig"]["onFailure"]["destination"] = queue_arn
            destination = {"DestinationConfig": {"OnFailure": {"Destination": queue_arn}}}
        lam.put_function_event_invoke_config(
            FunctionName=config["id"], MaximumRetryAttempts=config["inputs"]["maximumRetryAttempts"],
            MaximumEventAgeInSeconds=config["inputs"]["maximumEventAgeInSeconds"], **destination)
    path.write_text(dumps(checkpoint), encoding="utf-8")
    return {"queue_url": queue_url, "records": records}


@pytest.mark.moto
def test_refresh_reads_the_failure_queue_and_invoke_configs(capsys, moto_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    made = applied_in_moto(moto_url, state)
    code, out, err = run(capsys, "plan", str(BASE), "--state", str(state), "--refresh", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["refreshed"] is True and data["refresh"]["complete"] is True
    assert [d for d in data["drift"] if d["type"] in KEPT] == []

    client("sqs", moto_url).set_queue_attributes(QueueUrl=made["queue_url"],
                                                 Attributes={"MessageRetentionPeriod": "345600"})
    client("sqs", moto_url).tag_queue(QueueUrl=made["queue_url"], Tags={"team": "payments"})
    client("lambda", moto_url).delete_function_event_invoke_config(FunctionName="fraud-detection-staging-notify-oncall")
    code, out, err = run(capsys, "plan", str(BASE), "--state", str(state), "--refresh", "--format", "json")
    assert code == 0, err
    drift = {d["summary"] for d in json.loads(out)["drift"] if d["type"] in KEPT}
    assert drift == {
        "queue oncall-forwarder-failed: retention 1209600 -> 345600, tags team risk -> payments changed outside Pulumi",
        "async invocation config oncall-forwarder-async deleted outside Pulumi"}
    recreated = [c for c in json.loads(out)["resourceChanges"] if c["type"] == INVOKE_CONFIG
                 and c["reason"]["code"] == "missing-in-cloud"]
    assert [c["urn"].rsplit("::", 1)[-1] for c in recreated] == ["oncall-forwarder-async"]

    code, out, err = run(capsys, "plan", str(BASE), "--state", str(state), "--refresh")
    assert code == 0, err
    assert "queue oncall-forwarder-failed: retention 1209600 -> 345600" in out
    assert "async invocation config oncall-forwarder-async deleted outside Pulumi" in out
