"""``mlops-infra plan`` and model versions (finding A1), on the user's path: the console script in a
temporary directory, ``--refresh`` reading a SageMaker registry on a moto server through
``AWS_ENDPOINT_URL`` (the usual credential chain: credentials of prod's account, 222222222222, which the
registry read asks STS for first, obtained from moto's ``AssumeRole``), and the offline default."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra.state.model_registry import group_of
from tests.scenarios.harness import load_file
from tests.support.cli import run_cli_subprocess
from tests.support.moto_server import reset, running_moto_server
from tests.support.promotion import assumed_session

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
SERVING = {"aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
           "aws:sagemaker/endpoint:Endpoint", "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"}


def _plan(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    shutil.copy(REFERENCE, tmp_path / "mlsystem.yaml")
    result = run_cli_subprocess("plan", str(tmp_path / "mlsystem.yaml"), "--env", "prod", "--format", "json", *args,
                                env={"PULUMI_BACKEND_URL": f"file://{tmp_path}", **(env or {})})
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def _created(plan: dict) -> set[str]:
    return {c["type"] for c in plan["resourceChanges"] if c["action"] == "create"}


def _check(plan: dict) -> dict:
    return next(m for m in plan["ml"] if m["kind"] == "version-check" and m["address"] == "endpoints.scorer")


def test_offline_first_plan_waits_because_this_apply_creates_the_group(tmp_path: Path):
    plan = _plan(tmp_path)
    assert not _created(plan) & SERVING
    check = _check(plan)
    assert check["details"]["basis"] == "created-now" and "waits for fraud-model v12" in check["summary"]


@pytest.mark.moto
@pytest.mark.parametrize(("approvals", "created"), [
    (["Approved"] * 12, True),
    (["Approved"] * 11 + ["PendingManualApproval"], False),  # prod has the model_approved gate
    (["Approved"] * 5, False),  # v12 not registered yet
])
def test_refresh_reads_the_registry_to_decide(tmp_path: Path, approvals: list[str], created: bool):
    system = load_file(REFERENCE, "prod")
    region = system.environments["prod"].target.region
    with running_moto_server() as url:
        reset(url)
        prod = assumed_session(url, f"arn:aws:iam::{system.environments['prod'].target.account}:role/operator", region)
        sagemaker = prod.client("sagemaker", endpoint_url=url)
        group = group_of(system, "prod", "fraud-model")
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
        for approval in approvals:
            sagemaker.create_model_package(ModelPackageGroupName=group, ModelApprovalStatus=approval,
                                           InferenceSpecification={
                                               "Containers": [{"Image": "x.dkr.ecr.eu-west-1.amazonaws.com/m:1"}],
                                               "SupportedContentTypes": ["a"], "SupportedResponseMIMETypes": ["a"]})
        keys = prod.get_credentials().get_frozen_credentials()
        plan = _plan(tmp_path, "--refresh", env={"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": keys.access_key,
                                                 "AWS_SECRET_ACCESS_KEY": keys.secret_key,
                                                 "AWS_SESSION_TOKEN": keys.token, "AWS_DEFAULT_REGION": region})
        reset(url)
    assert (_created(plan) >= SERVING) is created
    assert not (_created(plan) & SERVING) or created
    check = _check(plan)
    assert check["details"]["basis"] == "registry"
    assert check["details"]["state"] == ("ready" if created else "waiting")
