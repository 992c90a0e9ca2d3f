"""The scheduled runner: the compiled Lambda's archive, run as Lambda runs it, makes real reconcile passes
on a moto server (patched as documented in tests/support/moto_server.py).

The archive is written to a directory and its handler imported from there the way the Python runtime
does (``module.function`` split at the last dot, ``importlib.import_module``), in a separate process
whose every ``mlops_infra`` module must come from the archive: a module missing from
``compile/aws/rollout_runner.CODE`` fails here, not in AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_infra.compile.aws import rollout_runner
from tests.compile.aws.cases import REFERENCE, compiled, one
from tests.rollout.aws_world import canary_percent, status_tags
from tests.support.moto_server import client, reset

pytestmark = [pytest.mark.moto, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

LAMBDA_RUNTIME = """
import importlib, json, sys
code = sys.argv[1]
sys.path.insert(0, code)
modname, fname = sys.argv[2].rsplit(".", 1)
module = importlib.import_module(modname)
try:
    result = getattr(module, fname)({}, None)
except Exception as exc:
    result = {"raised": f"{type(exc).__name__}: {exc}"}
outside = {n: m.__file__ for n, m in sys.modules.items() if n.startswith("mlops_infra")
           and not (m.__file__ or "").startswith(code)}
print("RESULT " + json.dumps({"result": result, "outside": outside}))
"""


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The reference prod graph's runner archive, written out as Lambda unpacks it."""
    function = one(compiled(REFERENCE, "prod"), rollout_runner.FUNCTION, "platform")
    root = tmp_path_factory.mktemp("lambda-code")
    for name, text in function.inputs["code"]["$archive"].items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root, function.inputs["handler"], json.loads((root / "rollouts.json").read_text())


def invoke(root: Path, handler: str, moto_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLOPS_"))}
    env.update(AWS_ENDPOINT_URL=moto_url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    done = subprocess.run([sys.executable, "-I", "-c", LAMBDA_RUNTIME, str(root), handler], env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    answer = json.loads(line[len("RESULT "):])
    assert answer["outside"] == {}, "the archive imported mlops_infra modules it does not ship"
    answer["log"] = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    return answer


def deploy_previous_version(moto_url: str, document: dict) -> tuple:
    """What ``pulumi up`` of version 12 leaves: v11 serving, the graph's final config for v12 beside it,
    the rollback alarms in OK."""
    item = document["rollouts"][0]
    target, plan = item["endpoint"], item["plan"]
    sm = client("sagemaker", moto_url, document["region"])
    cw = client("cloudwatch", moto_url, document["region"])
    role, image = "arn:aws:iam::123456789012:role/serving", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:1"
    old_model, old_config = f"{target['endpoint']}-v11-0ld0ld00", f"{target['endpoint']}-cfg-0ld0ld00"
    for model in (old_model, target["model"]):
        sm.create_model(ModelName=model, ExecutionRoleArn=role, PrimaryContainer={"Image": image})
    for config, model in ((old_config, old_model), (target["finalConfig"], target["model"])):
        sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
            "VariantName": "primary", "ModelName": model, "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}])
    sm.create_endpoint(EndpointName=target["endpoint"], EndpointConfigName=old_config)
    for alarm in plan["rollbackAlarms"]:
        cw.put_metric_alarm(AlarmName=alarm, MetricName="ModelLatency", Namespace="AWS/SageMaker",
                            Statistic="Average", Period=60, EvaluationPeriods=5, Threshold=250000,
                            ComparisonOperator="GreaterThanThreshold",
                            Dimensions=[{"Name": "EndpointName", "Value": target["endpoint"]}])
        cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="healthy")
    return sm, target["endpoint"]


def test_the_lambda_archive_starts_a_canary_and_sets_its_first_step(archive, moto_url):
    root, handler, document = archive
    reset(moto_url)
    sm, endpoint = deploy_previous_version(moto_url, document)

    first = invoke(root, handler, moto_url)
    (line,) = first["log"]
    assert line["endpoint"] == "scorer" and line["action"] == "set_traffic" and line["acted"] is True
    assert first["result"] == {"endpoints": [line]}
    config = sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"]
    assert config.startswith(f"{endpoint[:40]}-rollout-v12-")  # primary on v11 + canary v12 at weight 0
    assert canary_percent(sm, endpoint) == 0
    tags = status_tags(sm, endpoint)
    assert (tags["phase"], tags["revision"], tags["previous"], tags["step"]) == ("progressing", "12", "11", "0")

    second = invoke(root, handler, moto_url)  # the next tick: the first step's weights
    assert second["log"][0]["action"] == "set_traffic" and second["log"][0]["acted"] is True
    assert canary_percent(sm, endpoint) == document["rollouts"][0]["plan"]["steps"][0] == 2

    third = invoke(root, handler, moto_url)  # InService at 2%: the step is in effect, its bake starts
    assert third["log"][0]["action"] == "record" and third["log"][0]["acted"] is True
    assert float(status_tags(sm, endpoint)["in-effect"]) >= float(status_tags(sm, endpoint)["since"])

    fourth = invoke(root, handler, moto_url)  # mid-bake: nothing to do
    assert fourth["log"][0]["action"] == "wait" and fourth["log"][0]["acted"] is False
    assert canary_percent(sm, endpoint) == 2 and status_tags(sm, endpoint)["step"] == "0"


def test_a_failing_endpoint_is_logged_and_fails_the_invocation(archive, moto_url):
    root, handler, _ = archive
    reset(moto_url)  # no endpoint at all: DescribeEndpoint fails
    answer = invoke(root, handler, moto_url)
    (line,) = answer["log"]
    assert line["endpoint"] == "scorer" and "Could not find endpoint" in line["error"]
    assert answer["result"]["raised"].startswith("RuntimeError: the reconcile pass failed for scorer")
