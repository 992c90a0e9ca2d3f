"""An instance type the Region does not offer for its use is named by the plan (audit preflight-4;
plan/instance_quotas.offer_warnings and catalog_offer_warnings, cli/commands/plan.make).

``--refresh``: Service Quotas decides. The fraud reference's prod retrain runs ml.g5.12xlarge as a
spot training job in eu-west-1; a quota table that lists training quotas for other types but none for
it -> one warning, naming the job and CreateTrainingJob; listed at 0 -> the quota warning, not this one;
a table with no training quota at all -> nothing judged.

Offline: the price catalog decides, only where a Price List read of the Region holds that use's prices
(``mlops-infra catalog refresh``): a catalog without ml.g5.12xlarge's training price in eu-west-1 -> one
warning saying so, dated, with the fix; the shipped snapshot never decides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.catalog.pricelist import dumps_catalog, merge_catalog
from mlops_infra.cli.main import main
from mlops_infra.plan.instance_quotas import quota_name
from tests.support import fixtures
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import reset, running_moto_server
from tests.support.moto_server import sagemaker_quotas as quotas_answered

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
SPOT = quota_name("ml.g5.12xlarge", "spot training job")
LISTED = {quota_name("ml.g5.xlarge", "endpoint"): 40, quota_name("ml.t2.medium", "endpoint"): 2,
          quota_name("ml.m5.xlarge", "processing job"): 4, quota_name("ml.g5.2xlarge", "training job"): 0,
          quota_name("ml.g5.2xlarge", "spot training job"): 0, quota_name("ml.p3.2xlarge", "spot training job"): 0}
"""eu-west-1's table as the audit's reproduction answered it: no ml.g5.12xlarge training quota, on-demand or spot."""

pytestmark = [pytest.mark.usefixtures("no_stray_reads")]
no_stray_reads = fixtures.no_stray_reads


def _plan(capsys, monkeypatch, tmp_path: Path, *extra: str, url: str = "") -> tuple[int, dict, str]:
    monkeypatch.chdir(tmp_path)
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        if value:
            monkeypatch.setenv(key, value)
    if url and "--refresh" in extra:  # seeded with moto's test keys: the registry read asks for prod's account
        caller_is(monkeypatch, "222222222222")
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(FRAUD), "--env", "prod", "--format", "json", *extra])
    out, err = capsys.readouterr()
    return exit_info.value.code, json.loads(out), err


def _offer(data: dict) -> list[str]:
    return [w for w in data["warnings"] if "g5.12xlarge" in w]


@pytest.mark.moto
def test_a_type_the_region_s_quota_table_does_not_list_is_warned(capsys, monkeypatch, tmp_path: Path):
    with running_moto_server() as url:
        reset(url)
        with quotas_answered({}, LISTED):
            code, absent, err = _plan(capsys, monkeypatch, tmp_path, "--refresh", url=url)
            assert code == 0, err
        with quotas_answered({}, {**LISTED, SPOT: 0}):
            code, zero, err = _plan(capsys, monkeypatch, tmp_path, "--refresh", url=url)
        without = {k: v for k, v in LISTED.items() if "training" not in k}
        with quotas_answered({}, without):
            code, unjudged, err = _plan(capsys, monkeypatch, tmp_path, "--refresh", url=url)
        reset(url)
    (warning,) = _offer(absent)
    assert warning.startswith("SageMaker quota: 'ml.g5.12xlarge for spot training job usage' is not among the "
                              "SageMaker quotas of account 222222222222 in eu-west-1, which lists that use for 2 other "
                              "instance types: SageMaker most likely does not offer ml.g5.12xlarge for spot training "
                              "job use there, so training_jobs.retrain fails at CreateTrainingJob")
    assert warning.endswith("Pick an instance type the region lists for spot training job usage in Service Quotas, or "
                            "another region.")
    (listed_at_zero,) = _offer(zero)
    assert "'ml.g5.12xlarge for spot training job usage' is 0 in" in listed_at_zero and "not among" not in listed_at_zero
    assert code == 0 and _offer(unjudged) == []


def _catalog(tmp_path: Path, training: list[str]) -> Path:
    """The shipped catalog with eu-west-1's SageMaker training prices replaced by a Price List read
    listing ``training`` (as ``mlops-infra catalog refresh --regions eu-west-1`` writes it)."""
    base = json.loads((catalog.DATA / "prices.json").read_text(encoding="utf-8"))
    harvested = {("sagemaker", "training", "eu-west-1", name): (1.0, f"SKU{i}", "2026-11-01")
                 for i, name in enumerate(training)}
    document = merge_catalog(base, harvested, [("sagemaker", "training", "eu-west-1")],
                             endpoint="https://api.pricing.us-east-1.amazonaws.com", today="2026-11-30")
    path = tmp_path / "prices.json"
    path.write_text(dumps_catalog(document), encoding="utf-8")
    return path


def test_offline_a_price_list_catalog_without_the_type_in_the_region_decides(capsys, monkeypatch, tmp_path: Path):
    monkeypatch.setenv(catalog.PRICES_ENV, str(_catalog(tmp_path, ["ml.g5.2xlarge", "ml.m5.xlarge", "ml.p3.2xlarge"])))
    code, data, err = _plan(capsys, monkeypatch, tmp_path)
    assert code == 0, err
    (warning,) = _offer(data)
    assert warning == ("instance offer: the price catalog (prices.json, read from the AWS Price List on 2026-11-30) "
                       "has no SageMaker training price for ml.g5.12xlarge in eu-west-1, so SageMaker most likely does "
                       "not offer it there for spot training job use, and training_jobs.retrain would fail at "
                       "CreateTrainingJob. Pick an instance type the region offers, or another region; if the type is "
                       "newer than the catalog, refresh it (`mlops-infra catalog refresh --regions eu-west-1`) or plan "
                       "with --refresh (Service Quotas decides).")
    # the endpoint's and drift job's uses were not read from the Price List: the snapshot's rows do not decide
    assert [w for w in data["warnings"] if w.startswith("instance offer:")] == [warning]


def test_offline_a_catalog_listing_the_type_or_the_shipped_snapshot_says_nothing(capsys, monkeypatch, tmp_path: Path):
    monkeypatch.setenv(catalog.PRICES_ENV, str(_catalog(tmp_path, ["ml.g5.12xlarge", "ml.m5.xlarge"])))
    code, listed, err = _plan(capsys, monkeypatch, tmp_path)
    assert code == 0, err
    monkeypatch.delenv(catalog.PRICES_ENV)
    code, shipped, err = _plan(capsys, monkeypatch, tmp_path)
    assert code == 0, err
    assert ("sagemaker", "training", "eu-west-1", "ml.g5.12xlarge") not in catalog.price_catalog().prices
    assert [w for w in listed["warnings"] + shipped["warnings"] if w.startswith("instance offer:")] == []
