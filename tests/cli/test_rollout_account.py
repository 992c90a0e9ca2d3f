"""``mlops-infra rollout`` with AWS credentials of another account than the environment's: a user error naming
both accounts and the fix, exit 1, before anything is read or changed (audit closing-39a-3;
``rollout/connect.py`` ``check_account``). Before, it read the endpoint with those credentials: "the SageMaker
endpoint ... does not exist" and "Apply the environment first" (a false statement about the environment's account),
or, with a same-named endpoint in that other account, it rolled that endpoint out.

The example's prod is account 222222222222 (eu-west-1), staging 111111111111; on the moto server
(tests/support/moto_server.py) credentials of an account come from STS ``AssumeRole`` (tests/support/moto_accounts.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.rollout.connect import aws_target
from mlops_infra.spec import load_system
from tests.support.cli import assert_clear_error, run_cli, run_cli_subprocess
from tests.support.moto_accounts import account_client, use_account
from tests.support.moto_server import reset, running_moto_server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
ROLE = "arn:aws:iam::111111111111:role/serving"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fraud:1"
WRONG = ("rollout of 'scorer' in environment 'prod' (eu-west-1): these AWS credentials are for account "
         "111111111111; environment prod is in account 222222222222")

pytestmark = pytest.mark.moto


@pytest.fixture
def moto_url():
    with running_moto_server() as url:
        reset(url)
        yield url


def _spec(tmp_path: Path, name: str) -> Path:
    """The example under a system name no other test deploys (moto's backends persist across the session)."""
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(EXAMPLE.read_text().replace("name: fraud-detection", f"name: {name}", 1))
    return spec


@pytest.mark.parametrize("flag", [(), ("--abort",), ("--resume",)])
def test_staging_credentials_for_prod_name_both_accounts(moto_url, monkeypatch, tmp_path, flag):
    spec = _spec(tmp_path, "acct-staging-creds")
    use_account(moto_url, "111111111111", monkeypatch)
    result = run_cli("rollout", "scorer", str(spec), "--env", "prod", *flag)
    assert_clear_error(result, WRONG, "Set AWS_PROFILE to a profile of account 222222222222",
                       "aws sts get-caller-identity", "Nothing was read or changed")
    assert "Apply the environment first" not in result.output and "does not exist" not in result.output


def test_the_console_script_says_it_without_a_traceback(moto_url, monkeypatch, tmp_path):
    spec = _spec(tmp_path, "acct-console")
    use_account(moto_url, "111111111111", monkeypatch)
    result = run_cli_subprocess("rollout", "scorer", str(spec), "--env", "prod")
    assert result.code == 1 and WRONG in result.stderr and "Traceback" not in result.output


def test_a_same_named_endpoint_in_the_other_account_is_not_touched(moto_url, monkeypatch, tmp_path):
    """The prod endpoint's name deployed in the staging account: the rollout refuses before any call, so its
    configuration, traffic and tags stay as they were."""
    spec = _spec(tmp_path, "acct-same-name")
    use_account(moto_url, "111111111111", monkeypatch)
    graph = compile_system(load_system(spec, "prod").system, "prod")
    target = aws_target(graph, graph.rollouts["endpoints.scorer"])
    sm = account_client("sagemaker", moto_url)
    old_model = target.model.replace("-v12-", "-v11-")
    for model in (old_model, target.model):
        sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    for name, model in (("acct-cfg-old", old_model), (target.final_config, target.model)):
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
            "VariantName": "primary", "ModelName": model, "InstanceType": "ml.g5.xlarge",
            "InitialInstanceCount": 2, "InitialVariantWeight": 1.0}])
    arn = sm.create_endpoint(EndpointName=target.endpoint, EndpointConfigName="acct-cfg-old")["EndpointArn"]
    before = sm.describe_endpoint(EndpointName=target.endpoint)
    result = run_cli("rollout", "scorer", str(spec), "--env", "prod")
    assert_clear_error(result, WRONG)
    after = sm.describe_endpoint(EndpointName=target.endpoint)
    assert after["EndpointConfigName"] == before["EndpointConfigName"] == "acct-cfg-old"
    assert after["ProductionVariants"] == before["ProductionVariants"]
    assert [t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]] == []


def test_credentials_of_the_environments_account_get_to_the_endpoint(moto_url, monkeypatch, tmp_path):
    """The same command with prod's account: past the check, to SageMaker (here: nothing applied yet)."""
    spec = _spec(tmp_path, "acct-right")
    use_account(moto_url, "222222222222", monkeypatch)
    result = run_cli("rollout", "scorer", str(spec), "--env", "prod")
    assert_clear_error(result, "the SageMaker endpoint 'acct-right-prod-scorer' does not exist",
                       "Apply the environment first")
    assert "these AWS credentials are for account" not in result.output
