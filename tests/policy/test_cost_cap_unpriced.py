"""The ``max_hourly_cost_usd`` cap fails closed when items have no price (audit cost-1).

An item the price catalog has no price for adds $0 to the cost at full scale, so a cap on it cannot
hold: the rule fails at its level (an error where mandatory, a warning where advisory), naming the
items, the region and ``mlops-infra catalog refresh`` (docs/guardrails.md, "When a price is missing"),
as ``max_gpus`` fails closed for a cluster without a GPU bound. The shipped catalog has no SageMaker
price in us-west-2 (docs/prices.md), llm-platform's prod region: its cap passed at $0.00/h before.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.plan.guardrails import cost_ceiling, evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.cli import run_cli
from tests.support.guardrails import GUARDED, REPO, edit, loaded

LLM = REPO / "examples" / "llm-platform"
NO_CLUSTER = ("clusters:\n  - {name: train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}}\n", "")
"""GUARDED's cluster runs no job; without it the endpoint is the one item to price."""
PROD_REGION = ('    target: {kind: aws, region: us-east-1, account: "222222222222"}\n    promote_from: staging\n',
               '    target: {kind: aws, region: us-west-2, account: "222222222222"}\n    promote_from: staging\n'
               "    guardrails: {max_hourly_cost_usd: 50}\n"
               # a bucket is in one region: prod in us-west-2 reads its own (validate's artifacts-uri-region, envs-4)
               '    overrides: {models.clf.artifacts_uri: "s3://guarded-models-us-west-2/clf/"}\n')


def cap_result(text: str, env: str, *, compiled: bool = True):
    system = loaded(text, env).system
    graph = compile_system(system, env) if compiled else facts_graph(system, env)
    (result,) = [r for r in evaluate(graph, guardrail_settings(system, env)) if r.rule == "max_hourly_cost_usd"]
    return result


def test_an_unpriced_region_fails_the_mandatory_cap_naming_items_region_and_refresh() -> None:
    text = edit(GUARDED, NO_CLUSTER, PROD_REGION)
    for compiled in (True, False):  # plan's compiled graph and validate's graph of components
        result = cap_result(text, "prod", compiled=compiled)
        assert (result.status, result.level) == ("fail", "mandatory")
        (finding,) = result.findings
        assert (finding.address, finding.field) == ("environments.prod", "guardrails.max_hourly_cost_usd")
        assert "1 item(s) of prod have no price in the price catalog in us-west-2 (endpoints.api)" in finding.message
        assert "cannot be checked (the rule fails closed; the priced items cost $0.00/h" in finding.message
        assert "`mlops-infra catalog refresh --regions us-west-2 --out prices.json`" in finding.fix
        assert "MLOPS_INFRA_PRICES" in finding.fix
        assert "environments.prod.guardrails.rules.max_hourly_cost_usd: advisory" in finding.fix


def test_an_advisory_cap_with_unpriced_items_is_a_failure_at_its_level() -> None:
    text = edit(GUARDED, NO_CLUSTER, PROD_REGION, ("    guardrails: {max_hourly_cost_usd: 50}\n",
                                       "    guardrails: {max_hourly_cost_usd: 50, rules: {max_hourly_cost_usd: advisory}}\n"))
    result = cap_result(text, "prod")
    assert (result.status, result.level) == ("fail", "advisory")
    assert not result.blocks


def refreshed(tmp_path: Path, rows: list[list]) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"format": catalog.PRICES_FORMAT, "built": "2026-12-06", "sources": {
        "api": {"url": "https://api.pricing.us-east-1.amazonaws.com (GetProducts)", "as_of": "2026-12-06",
                "title": "AWS Price List Query API"}}, "prices": rows}))
    return path


def test_once_the_price_is_in_the_catalog_the_cap_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the value is the shipped us-east-1 hosting price of ml.g5.xlarge, filed under us-west-2 to drive the path
    usd = catalog.price("ml.g5.xlarge", "inference", "us-east-1").usd_per_hour
    monkeypatch.setenv(catalog.PRICES_ENV, str(refreshed(tmp_path, [
        ["sagemaker", "inference", "us-west-2", "ml.g5.xlarge", usd, "api"]])))
    text = edit(GUARDED, NO_CLUSTER, PROD_REGION)
    system = loaded(text, "prod").system
    ceiling = cost_ceiling(compile_system(system, "prod"))
    assert (ceiling.not_counted, ceiling.missing_regions) == ((), ())
    # api: 4 replicas at full scale, and its canary's finish beside them: the new fleet's 4 + the canary's last
    # 4 (100% of 4), 12 in all (audit pricing45-5: the cap counted the 4 only)
    assert ceiling.usd_per_hour == pytest.approx(12 * usd)
    assert cap_result(text, "prod").status == "pass"  # $16.90/h <= $50
    over = edit(text, ("max_hourly_cost_usd: 50}", "max_hourly_cost_usd: 5}"))
    (finding,) = cap_result(over, "prod").findings
    assert "over its cap of $5.00/h" in finding.message and "no price" not in finding.message


def test_llm_platform_prod_in_us_west_2_fails_its_cap_and_plan_exits_1(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(catalog.PRICES_ENV, raising=False)
    work = tmp_path / "llm-platform"
    shutil.copytree(LLM, work)
    spec = work / "mlsystem.yaml"
    text = spec.read_text()
    assert "region: us-west-2" in text
    spec.write_text(edit(text, ('    target: {kind: aws, region: us-west-2, account: "444444444444"}\n',
                                '    target: {kind: aws, region: us-west-2, account: "444444444444"}\n'
                                "    guardrails: {max_hourly_cost_usd: 50}\n")))
    monkeypatch.chdir(work)
    result = run_cli("plan", "mlsystem.yaml", "--env", "prod", "--format", "json")
    assert result.code == 1, result.stderr[-2000:]
    assert "Guardrail max_hourly_cost_usd (mandatory in prod)" in result.stderr
    assert "no price in the price catalog in us-west-2 (" in result.stderr and "endpoints.chat, " in result.stderr
    assert "--regions us-west-2" in result.stderr and "Traceback" not in result.output
    (failed,) = json.loads(result.stdout)["guardrails"]
    assert failed["rule"] == "max_hourly_cost_usd" and failed["level"] == "mandatory"
