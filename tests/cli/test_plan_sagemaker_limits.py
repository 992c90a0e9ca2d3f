"""``plan --refresh`` judges the SageMaker run-time limits (plan/quotas.sagemaker_limit_warnings; audit scale45)
against the account's own Service Quotas values, read once with the instance quotas
(cli/commands/plan.instance_quota_preflight, state/aws_live/service_quotas.py); ``plan`` without it
against AWS's defaults.

The reference with its spot retrain at 24 nodes (audit scale45-2's reproduction): offline, one warning
against the default 20; with ``--refresh`` and the account's 'Maximum number of instances per spot
training job' raised to 32, none (the offline default is not repeated); at 16, one naming 16 and the
account; a read that fails still gets the default-based warning after the could-not-read one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.cli.main import main
from mlops_infra.plan.instance_quotas import quota_name
from mlops_infra.plan.quotas import PER_JOB
from tests.support import fixtures
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import reset, running_moto_server
from tests.support.moto_server import sagemaker_quotas as quotas_answered
from tests.support.shared_files import reference_at_nodes

ROOMY = {quota_name("ml.g5.xlarge", "endpoint"): 40, quota_name("ml.g5.12xlarge", "spot training job"): 48,
         quota_name("ml.m5.xlarge", "processing job"): 4}
"""Instance quotas the 24-node reference fits, so only the per-job limit can warn."""
SPOT = PER_JOB["spot training job"]

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("no_stray_reads")]
no_stray_reads = fixtures.no_stray_reads


@pytest.fixture
def nodes24(tmp_path: Path) -> Path:
    return reference_at_nodes(tmp_path, 24)


def _plan(capsys, monkeypatch, spec: Path, url: str | None) -> list[str]:
    monkeypatch.chdir(spec.parent)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1", **({"AWS_ENDPOINT_URL": url} if url else {})}.items():
        monkeypatch.setenv(key, value)
    caller_is(monkeypatch, "222222222222")
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(spec), "--env", "prod", "--format", "json", *(["--refresh"] if url else [])])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    return [w for w in json.loads(out)["warnings"] if w.startswith(("SageMaker quota:", "instance quotas:"))]


def test_the_per_job_limit_is_the_default_offline_and_the_accounts_value_with_refresh(capsys, monkeypatch, nodes24):
    (offline,) = _plan(capsys, monkeypatch, nodes24, None)
    assert ("every run of training_jobs.retrain asks 24 instances (ResourceConfig.InstanceCount, its nodes) for one "
            f"spot training job; a new AWS account allows 20 ('{SPOT}', Service Quotas L-DB62C864)") in offline
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({SPOT: 32}, ROOMY):
            raised = _plan(capsys, monkeypatch, nodes24, url)
        with quotas_answered({SPOT: 16}, ROOMY):
            (low,) = _plan(capsys, monkeypatch, nodes24, url)
        reset(url)
    assert raised == []
    assert low.startswith("SageMaker quota: every run of training_jobs.retrain asks 24 instances")
    assert f"'{SPOT}' is 16 in account 222222222222 in eu-west-1 (Service Quotas L-DB62C864)" in low


def test_a_failed_quota_read_keeps_the_default_check(capsys, monkeypatch, nodes24):
    with running_moto_server() as url:
        reset(url)
        monkeypatch.setattr("mlops_infra.state.aws_live.service_quotas.sagemaker_quotas",
                            lambda *a, **k: (_ for _ in ()).throw(ValueError("refused")))
        unread, per_job = _plan(capsys, monkeypatch, nodes24, url)
        reset(url)
    assert unread.startswith("instance quotas: could not read the SageMaker quotas in eu-west-1 (ValueError)")
    assert "asks 24 instances" in per_job and "a new AWS account allows 20" in per_job
