"""A relative ``MLOPS_INFRA_PRICES`` is refused up front by ``plan`` and by the policy pack alike
(audit closing-34e-2).

Pulumi runs a Python policy pack with the pack's folder as its working directory (pulumi/pulumi
``pulumi-language-python/main.go`` ``RunPlugin``: ``cmd.Dir = req.Info.ProgramDirectory`` for an
analyzer). ``MLOPS_INFRA_PRICES=prices.json``, as the fail-closed fix text suggested, made ``plan``
(run in the user's folder) pass while every policy of the pack failed with "cannot read the price
catalog prices.json". Now the relative value is refused with a message naming the variable and its
absolute form, whatever the working directory, and an absolute value gives the same answer from both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra import catalog
from mlops_infra.compile import compile_system
from mlops_infra.errors import UserError
from mlops_infra.program.policy_pack import evaluate_rule
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.cli import run_cli
from tests.support.guardrails import GUARDED, edit, loaded

NO_CLUSTER = ("clusters:\n  - {name: train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}}\n", "")
PROD = ('    target: {kind: aws, region: us-east-1, account: "222222222222"}\n    promote_from: staging\n',
        '    target: {kind: aws, region: us-west-2, account: "222222222222"}\n    promote_from: staging\n'
        "    guardrails: {max_hourly_cost_usd: 50}\n"
        # a bucket is in one region: prod in us-west-2 reads its own (validate's artifacts-uri-region, envs-4)
        '    overrides: {models.clf.artifacts_uri: "s3://guarded-models-us-west-2/clf/"}\n')
TEXT = edit(GUARDED, PROD, NO_CLUSTER)


@pytest.fixture
def user_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's folder with the spec, a prices.json with us-west-2 rows (the shipped us-east-1 Hosting
    values, illustrative) and a policy-pack folder, as `mlops-infra policy-pack` lays it out."""
    monkeypatch.delenv(catalog.PRICES_ENV, raising=False)
    shipped = json.loads(catalog.prices_path().read_text())
    shipped["prices"] += [["sagemaker", "inference", "us-west-2", *row[3:]] for row in list(shipped["prices"])
                          if row[:3] == ["sagemaker", "inference", "us-east-1"]]
    repo = tmp_path / "userrepo"
    (repo / "policy-pack").mkdir(parents=True)
    (repo / "prices.json").write_text(json.dumps(shipped))
    (repo / "mlsystem.yaml").write_text(TEXT)
    return repo


def cap_findings() -> tuple:
    system = loaded(TEXT, "prod").system
    return evaluate_rule(compile_system(system, "prod"), guardrail_settings(system, "prod"), "max_hourly_cost_usd")


def test_plan_refuses_a_relative_prices_path(user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(user_repo)
    monkeypatch.setenv(catalog.PRICES_ENV, "prices.json")
    result = run_cli("plan", "mlsystem.yaml", "--env", "prod")
    assert result.code == 1, result.output[-2000:]
    assert "MLOPS_INFRA_PRICES=prices.json is a relative path" in result.stderr
    assert 'export MLOPS_INFRA_PRICES="$PWD/prices.json"' in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("cwd", [".", "policy-pack"])
def test_the_pack_refuses_it_from_any_folder(cwd: str, user_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(user_repo / cwd)  # the pack's own folder is where Pulumi runs it
    monkeypatch.setenv(catalog.PRICES_ENV, "prices.json")
    with pytest.raises(UserError, match=r"MLOPS_INFRA_PRICES=prices\.json is a relative path"):
        cap_findings()


def test_an_absolute_path_gives_the_pack_plans_answer_from_its_folder(user_repo: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(catalog.PRICES_ENV, str(user_repo / "prices.json"))
    monkeypatch.chdir(user_repo)
    as_plan = cap_findings()
    monkeypatch.chdir(user_repo / "policy-pack")
    assert cap_findings() == as_plan == ()  # priced in us-west-2 and within the $50 cap, from both folders


def test_the_fail_closed_fix_names_an_absolute_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(catalog.PRICES_ENV, raising=False)  # the shipped catalog: no us-west-2 prices
    (finding,) = cap_findings()
    assert 'then `export MLOPS_INFRA_PRICES="$PWD/prices.json"` (an absolute path' in finding.fix
