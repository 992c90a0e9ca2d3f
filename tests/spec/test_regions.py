"""An AWS target region botocore does not know (spec/regions.py; audit envs-6): a warning ``unknown-region`` at
the target with a did-you-mean from botocore's ``data/partitions.json``, never an error (a region newer than the
installed botocore still works); and no price warning tells the user to ``catalog refresh`` such a region. Before,
``eu-westt-1`` validated with only price warnings suggesting ``catalog refresh --regions eu-westt-1``."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_infra.spec import parse_system
from mlops_infra.spec.regions import known_regions, unknown_region
from tests.support.cli import run_cli

REFERENCE = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
PROD = 'region: eu-west-1, account: "222222222222"'


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_botocore_knows_the_real_regions_of_each_partition() -> None:
    assert {"eu-west-1", "us-east-1", "ap-southeast-7"} <= known_regions("aws")
    assert known_regions("aws-cn") >= {"cn-north-1"} and known_regions("aws-us-gov") >= {"us-gov-west-1"}
    assert "aws-global" not in known_regions("aws")  # an endpoint alias, not a region
    assert unknown_region("eu-westt-1") and unknown_region("eu-west-4") and not unknown_region("us-gov-east-1")


def test_a_misspelt_region_is_warned_of_at_the_target_with_did_you_mean(tmp_path) -> None:
    text = REFERENCE.replace(PROD, 'region: eu-westt-1, account: "222222222222"')
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec), "--env", "prod")
    assert result.code == 0, result.output  # a warning: a region newer than botocore must still work
    line = _line(text, "eu-westt-1")
    assert f'mlsystem.yaml:{line}:33: warning: Environment "prod": eu-westt-1 is not an AWS region botocore ' in result.output
    assert 'knows. Did you mean "eu-west-1"?' in result.output and "pip install -U botocore" in result.output
    assert "catalog refresh --regions eu-westt-1" not in result.output
    assert "Fix environments.prod.target.region" in result.output


def test_a_region_that_matches_the_pattern_but_does_not_exist_is_warned_of() -> None:
    document = yaml.safe_load(REFERENCE)
    document["environments"]["prod"]["target"]["region"] = "eu-west-4"
    found = [d for d in parse_system(yaml.safe_dump(document, sort_keys=False), "m.yaml").diagnostics
             if d.code == "unknown-region"]
    assert len(found) == 1 and not found[0].is_error
    assert found[0].path == ("environments", "prod", "target", "region")


def test_the_reference_and_real_regions_give_no_warning() -> None:
    assert not [d for d in parse_system(REFERENCE, "m.yaml").diagnostics if d.code == "unknown-region"]


def test_the_cost_caps_missing_price_fix_names_the_region_not_a_refresh_of_it() -> None:
    """policy/rules.py ``_unpriced`` (max_hourly_cost_usd fails closed without prices): for a region botocore does
    not know, the fix is the target region; ``catalog refresh --regions`` is offered only for real ones."""
    from mlops_infra.policy.model import CostCeiling
    from mlops_infra.policy.rules import _unpriced

    def fix(*regions: str) -> str:
        ceiling = CostCeiling(0.0, not_counted=("endpoints.api",), missing_regions=regions)
        (finding,) = _unpriced("prod", 50.0, ceiling, "environments.prod", "guardrails.max_hourly_cost_usd")
        return finding.fix

    unreal = fix("eu-westt-1")
    assert "catalog refresh" not in unreal
    assert unreal.startswith("eu-westt-1 is not an AWS region botocore knows") and \
        "fix environments.prod.target.region" in unreal and "max_hourly_cost_usd: advisory" in unreal
    both = fix("eu-westt-1", "us-west-2")
    assert "`mlops-infra catalog refresh --regions us-west-2 --out prices.json`" in both and "eu-westt-1 is not" in both
    assert "`mlops-infra catalog refresh --regions us-west-2 --out prices.json`" in fix("us-west-2")
