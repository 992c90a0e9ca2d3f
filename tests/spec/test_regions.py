"""An AWS target region botocore does not know (spec/regions.py; audit envs-6): a warning ``unknown-region`` at
the target with a did-you-mean from botocore's ``data/partitions.json``, never an error (a region newer than the
installed botocore still works). Before, ``eu-westt-1`` validated with only price warnings suggesting ``catalog refresh
--regions eu-westt-1``."""

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

