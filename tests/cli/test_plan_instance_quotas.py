"""``plan --refresh`` on AWS reads the account's SageMaker instance quotas and warns before apply
(cli/commands/plan.instance_quota_preflight, state/aws_live/service_quotas.py, plan/instance_quotas.py).

Against the moto server (patch 13 answers Service Quotas for SageMaker from the values a test sets):
a new account whose quotas for the reference's GPU types are 0 gets one warning each, in the JSON
plan and the text plan (its endpoint, which waits for its model version in a fresh environment, is
counted as it will be created); an account with raised quotas gets none; an unreadable account says
the check was not made. The stand-in's paging and applied-over-default values have a test of their own.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from mlops_infra.cli.main import main
from mlops_infra.plan.instance_quotas import quota_name
from mlops_infra.state.aws_live.service_quotas import sagemaker_quotas
from tests.support import fixtures
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import client, reset, running_moto_server
from tests.support.moto_server import sagemaker_quotas as quotas_answered

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
SERVE, TRAIN, DRIFT = (quota_name("ml.g5.xlarge", "endpoint"), quota_name("ml.g5.12xlarge", "spot training job"),
                       quota_name("ml.m5.xlarge", "processing job"))
"""The reference's retrain runs on a ``spot: true`` cluster: its quota is the spot family's."""
ON_DEMAND_TRAIN = quota_name("ml.g5.12xlarge", "training job")
NEW_ACCOUNT = {SERVE: 0, TRAIN: 0, DRIFT: 4, quota_name("ml.t2.medium", "endpoint"): 2}
"""AWS's defaults as a new account may see them: 0 for the GPU types (users' reports, plan/instance_quotas.py)."""

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("no_stray_reads")]
no_stray_reads = fixtures.no_stray_reads  # reads a test gives up on end before the next test


def test_the_stand_in_pages_sagemaker_quotas_and_lists_applied_values_only():
    defaults = {f"ml.m5.{size} for endpoint usage": 1 for size in ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge")}
    with running_moto_server() as url, quotas_answered({"ml.m5.large for endpoint usage": 8}, defaults):
        reset(url)
        quotas = client("service-quotas", url, "eu-west-1")
        pages = list(quotas.get_paginator("list_aws_default_service_quotas").paginate(
            ServiceCode="sagemaker", PaginationConfig={"PageSize": 2}))
        assert [len(p["Quotas"]) for p in pages] == [2, 2, 1]
        assert {q["QuotaName"]: q["Value"] for p in pages for q in p["Quotas"]} == defaults
        (applied,) = quotas.list_service_quotas(ServiceCode="sagemaker")["Quotas"]
        assert (applied["QuotaName"], applied["Value"], applied["ServiceCode"]) == ("ml.m5.large for endpoint usage",
                                                                                   8, "sagemaker")
        assert applied["QuotaCode"].startswith("L-") and applied["QuotaArn"].endswith(f"sagemaker/{applied['QuotaCode']}")
        assert quotas.list_service_quotas(ServiceCode="ec2")["Quotas"] == []
        read = sagemaker_quotas("eu-west-1", endpoint_url=url, session=_session())
        assert read == {**defaults, "ml.m5.large for endpoint usage": 8.0}  # the applied value wins


def _session():
    import boto3

    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")


def _plan(capsys, monkeypatch, url: str, tmp_path: Path, fmt: str = "json", *extra: str,
          spec: Path = FRAUD) -> tuple[int, str, str]:
    monkeypatch.chdir(tmp_path)
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    caller_is(monkeypatch, "222222222222")  # prod's; seeded with moto's test keys (the registry read asks)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(spec), "--env", "prod", "--refresh", "--format", fmt, *extra])
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _instance_warnings(data: dict) -> list[str]:
    return [w for w in data["warnings"] if w.startswith(("SageMaker quota:", "instance quotas:"))]


def test_plan_refresh_warns_where_a_new_account_cannot_run_the_reference(capsys, monkeypatch, tmp_path: Path):
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({}, NEW_ACCOUNT):
            code, out, err = _plan(capsys, monkeypatch, url, tmp_path)
            assert code == 0, err
            endpoint, train = _instance_warnings(json.loads(out))
            code, text, err = _plan(capsys, monkeypatch, url, tmp_path, "text")
        with quotas_answered({SERVE: 40, TRAIN: 2}, NEW_ACCOUNT):
            code, raised, err = _plan(capsys, monkeypatch, url, tmp_path)
        reset(url)
    assert endpoint.startswith("SageMaker quota: 'ml.g5.xlarge for endpoint usage' is 0 in account 222222222222 in "
                               "eu-west-1; creating this environment's endpoints needs 3 (endpoints.scorer 3 once "
                               "fraud-model v12 is registered), so the `pulumi up` that creates them fails at "
                               "CreateEndpoint (ResourceLimitExceeded).")
    assert "'ml.g5.12xlarge for spot training job usage' is 0" in train and "fails at CreateTrainingJob" in train
    assert "fails at CreateEndpoint" in " ".join(text.split())  # the text plan shows it too
    assert code == 0 and json.loads(raised)["refreshed"] is True and _instance_warnings(json.loads(raised)) == []


@pytest.mark.parametrize(("on_demand", "spot", "warned"), [(2, 0, True), (0, 2, False)])
def test_the_spot_retrain_is_judged_against_the_spot_quota(capsys, monkeypatch, tmp_path: Path, on_demand, spot,
                                                            warned):
    """The reference's retrain is a managed spot job (``EnableManagedSpotTraining``), which SageMaker
    counts against ``<type> for spot training job usage`` (plan/instance_quotas.py; audit preflight-1):
    on-demand room does not save it, and an on-demand 0 does not refuse it."""
    quotas = {**NEW_ACCOUNT, SERVE: 40, ON_DEMAND_TRAIN: on_demand, TRAIN: spot}
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({}, quotas):
            code, out, err = _plan(capsys, monkeypatch, url, tmp_path)
    assert code == 0, err
    warnings = _instance_warnings(json.loads(out))
    if warned:
        (train,) = warnings
        assert train.startswith("SageMaker quota: 'ml.g5.12xlarge for spot training job usage' is 0 in account "
                                "222222222222 in eu-west-1; a run of training_jobs.retrain needs 2, so it fails at "
                                "CreateTrainingJob (ResourceLimitExceeded).")
    else:
        assert warnings == []


def test_the_account_wide_totals_are_judged_when_every_type_fits(capsys, monkeypatch, tmp_path: Path):
    """Every per-type quota ample, but 'Number of instances across active endpoints' 2 (the scorer
    needs 3 to be created) and '... across all spot training jobs' 1 (a retrain run needs 2): two
    warnings (audit preflight-2); the on-demand training total does not concern the spot retrain."""
    totals = {"Number of instances across active endpoints": 2, "Number of instances across all training jobs": 1,
              "Number of instances across all spot training jobs": 1, "Number of instances across all processing jobs": 4}
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({}, {**NEW_ACCOUNT, SERVE: 40, TRAIN: 2, ON_DEMAND_TRAIN: 2, **totals}):
            code, out, err = _plan(capsys, monkeypatch, url, tmp_path)
    assert code == 0, err
    endpoints, spot = _instance_warnings(json.loads(out))
    assert endpoints.startswith("SageMaker quota: 'Number of instances across active endpoints' is 2 in account "
                                "222222222222 in eu-west-1; creating this environment's endpoints needs 3 "
                                "(endpoints.scorer 3 once fraud-model v12 is registered), so the `pulumi up` that "
                                "creates them fails at CreateEndpoint (ResourceLimitExceeded).")
    assert spot.startswith("SageMaker quota: 'Number of instances across all spot training jobs' is 1 in account "
                           "222222222222 in eu-west-1; a run of training_jobs.retrain needs 2, so it fails at "
                           "CreateTrainingJob (ResourceLimitExceeded).")


def test_a_max_runtime_past_the_accounts_longest_run_time_is_warned(capsys, monkeypatch, tmp_path: Path):
    """max_runtime 10d validates (the API allows 28 days) but the account's 'Longest run time for a
    training job' is AWS's default 432,000 s (5 days): the plan says so (audit preflight-8)."""
    spec = tmp_path / "mlsystem.yaml"
    text = FRAUD.read_text(encoding="utf-8")
    assert text.count("    max_runtime: 6h\n") == 1
    spec.write_text(text.replace("    max_runtime: 6h\n", "    max_runtime: 10d\n"), encoding="utf-8")
    quotas = {**NEW_ACCOUNT, SERVE: 40, TRAIN: 2, "Longest run time for a training job": 432000}
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({}, quotas):
            code, out, err = _plan(capsys, monkeypatch, url, tmp_path, spec=spec)
    assert code == 0, err
    (warning,) = _instance_warnings(json.loads(out))
    assert warning.startswith("SageMaker quota: 'Longest run time for a training job' is 432000 s (5 days) in account "
                              "222222222222 in eu-west-1; every run of training_jobs.retrain asks up to 864000 s "
                              "(10 days) (MaxRuntimeInSeconds, its max_runtime)")


@pytest.mark.parametrize(("endpoint", "cause"), [("http://127.0.0.1:9", "(EndpointConnectionError)"),  # nothing listens
                                                  ("not a url", "(ValueError)")])
def test_an_unreadable_account_says_the_check_was_not_made(capsys, monkeypatch, tmp_path: Path, endpoint, cause):
    code, out, err = _plan(capsys, monkeypatch, endpoint, tmp_path)
    assert code == 0, err
    (warning,) = _instance_warnings(json.loads(out))
    assert warning.startswith(f"instance quotas: could not read the SageMaker quotas in eu-west-1 {cause}")
    assert "servicequotas:ListServiceQuotas" in warning


def test_a_silent_account_is_given_what_the_refresh_deadline_left(capsys, monkeypatch, tmp_path: Path):
    """The read shares ``--refresh-timeout`` (what the scan left of it, at least ``QUOTA_READ_FLOOR``
    seconds) and the plan says it had no answer, instead of waiting out botocore's timeouts and retries
    (about 30 s; tests/faults/test_refresh_faults.py bounds the whole command with a state to scan)."""
    from mlops_infra.cli.commands.plan import QUOTA_READ_FLOOR
    from tests.support.fault_proxy import fault_proxy

    with running_moto_server() as url, fault_proxy(url, "silence") as proxy:
        reset(url)
        started = time.monotonic()
        code, out, err = _plan(capsys, monkeypatch, proxy.url, tmp_path, "json", "--refresh-timeout", "2")
        elapsed = time.monotonic() - started
    assert code == 0, err
    (warning,) = _instance_warnings(json.loads(out))
    # the registry read took its half of the 2 s (cli plan.registry_view); the quota read got the rest
    assert re.match(r"instance quotas: could not read the SageMaker quotas in eu-west-1 \(no answer within [12] s\)",
                    warning), warning
    assert elapsed < 2 + QUOTA_READ_FLOOR + 8
