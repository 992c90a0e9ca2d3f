"""Prices of the China regions cannot be had from mlops-infra, and it says so (audit xregion-2).

Rule encoded (sources in mlops_infra/catalog/__init__.py ``unpriceable``): the aws-cn partition's Price List Query
API is another endpoint (cn-northwest-1 only, botocore ``data/endpoints.json``) reached only with aws-cn
credentials, and its rates are in CNY; ``catalog refresh`` asks the aws partition's endpoint and keeps USD. So a
refresh of cn-north-1 is refused before any call, and the cost notes do not advise one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.catalog.refresh_prices import refresh_prices
from mlops_infra.errors import UserError
from tests.plan.test_cost import estimate
from tests.plan.test_ml import endpoint
from tests.support.cli import assert_clear_error, run_cli

SAID = ("prices for aws-cn regions (cn-north-1) are not available from mlops-infra: the China Regions' AWS Price "
        "List is another endpoint (cn-northwest-1), reached only with aws-cn credentials, and priced in CNY")


class _Recording:
    """A pricing client that records every call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def get_products(self, **request: object) -> dict:
        self.calls.append(request)
        return {"PriceList": []}


def test_a_china_region_is_refused_before_any_price_list_call(tmp_path: Path) -> None:
    client = _Recording()
    with pytest.raises(UserError) as refused:
        refresh_prices(["eu-west-1", "cn-north-1"], tmp_path / "p.json", client=client)
    assert refused.value.summary == f"cannot refresh cn-north-1: {SAID}, which the price catalog (USD) does not " \
                                    "hold, so `mlops-infra catalog refresh` cannot add them"
    assert "Nothing was asked or written" in refused.value.detail
    assert client.calls == [] and not (tmp_path / "p.json").exists()


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "eu-west-1"])
def test_other_partitions_are_priced_by_the_aws_price_list(region: str) -> None:
    assert catalog.unpriceable(region) == ""


def test_catalog_refresh_of_cn_north_1_exits_1_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_PRICING", "http://127.0.0.1:9")  # nothing listens: no call may be made
    result = run_cli("catalog", "refresh", "--regions", "cn-north-1", "--out", "p.json")
    assert_clear_error(result, SAID)
    assert not (tmp_path / "p.json").exists()


def test_the_cost_notes_of_a_china_region_say_prices_are_not_available_not_to_refresh() -> None:
    result = estimate([], [endpoint()], metadata={"cloud": "aws", "region": "cn-north-1"})
    assert result.not_counted == ("endpoints.scorer",)
    assert result.notes[-1] == f"missing prices: {SAID}, which the price catalog (USD) does not hold, so " \
                               "`mlops-infra catalog refresh` cannot add them"
    assert not any("--regions cn-north-1" in note for note in result.notes)


def test_validates_budget_warning_for_a_china_prod_says_prices_are_not_available() -> None:
    from mlops_infra.spec import parse_system
    from tests.support.shared_files import REFERENCE

    text = REFERENCE.read_text(encoding="utf-8").replace("region: eu-west-1", "region: cn-north-1")
    (budget,) = [d for d in parse_system(text, "ref.yaml").diagnostics
                 if d.code == "budget-unchecked" and "environment prod" in d.summary]
    assert budget.detail.startswith("Prices for aws-cn regions (cn-north-1) are not available from mlops-infra")
    assert "catalog refresh" not in budget.detail.replace("`mlops-infra catalog refresh` cannot add them", "")


def test_the_cost_caps_fix_for_a_china_prod_says_prices_are_not_available_not_to_refresh() -> None:
    from tests.policy.test_cost_cap_unpriced import NO_CLUSTER, PROD_REGION, cap_result
    from tests.support.guardrails import GUARDED, edit

    china = (PROD_REGION[0], PROD_REGION[1].replace("us-west-2", "cn-north-1"))
    result = cap_result(edit(GUARDED, NO_CLUSTER, china), "prod")
    (finding,) = result.findings
    assert "have no price in the price catalog in cn-north-1 (endpoints.api)" in finding.message
    assert finding.fix.startswith("Prices for aws-cn regions (cn-north-1) are not available from mlops-infra")
    assert "--regions cn-north-1" not in finding.fix
    assert "environments.prod.guardrails.rules.max_hourly_cost_usd: advisory" in finding.fix
