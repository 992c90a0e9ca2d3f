"""``plan --refresh`` on AWS checks the account's Lambda concurrency against what the plan reserves
(cli/commands/plan.account_preflight, plan/quotas.reservation_warning, state/aws_live/account.py).

New AWS accounts have reduced concurrency, and Lambda keeps 100 of an account's concurrency
unreserved, so the retrain gates' reserved execution can fail the first ``pulumi up``. Against the
moto server (patch 11 answers ``GetAccountSettings``; ``MOTO_LAMBDA_CONCURRENCY_QUOTA`` plays the
account's concurrency, as moto's own ``PutFunctionConcurrency`` does): an account of 50 gets the
warning and refuses the reservation itself, an account of 1,000 gets none, a reservation the prior
state already holds adds nothing, and an unreadable account says the check was not made.
"""

from __future__ import annotations

import json
from pathlib import Path

import botocore.exceptions
import pytest

from mlops_infra.cli.main import main
from mlops_infra.compile import compile_system
from mlops_infra.plan.quotas import UNRESERVED_MINIMUM, reservation_warning
from mlops_infra.spec import load_system
from mlops_infra.state.model import PriorState, StateResource
from tests.support.moto_server import client, handler_zip, reset, running_moto_server

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
GATE = "aws:lambda/function:Function"

pytestmark = pytest.mark.moto


def _graph():
    return compile_system(load_system(FRAUD, "prod").system, "prod")


def test_the_warning_counts_only_what_the_plan_adds() -> None:
    graph = _graph()
    reserved = [r for r in graph.resources if r.type == GATE and r.inputs.get("reservedConcurrentExecutions")]
    assert len(reserved) == 1  # the retrain gate of the reference's triggered job
    empty = PriorState.empty(graph.project, graph.stack)
    assert reservation_warning(graph, empty, 1000, 1000) is None
    assert reservation_warning(graph, empty, 1000, UNRESERVED_MINIMUM + 1) is None
    warning = reservation_warning(graph, empty, 1000, UNRESERVED_MINIMUM)
    assert warning is not None and "reserves 1 more concurrent Lambda execution(s)" in warning
    assert "has 100 of its 1,000 unreserved" in warning and "Service Quotas" in warning
    gate = reserved[0]
    held = PriorState.empty(graph.project, graph.stack)
    held.resources[gate.urn] = StateResource(urn=gate.urn, type=GATE, id="x", inputs=dict(gate.inputs))
    assert reservation_warning(graph, held, 50, 50) is None  # already reserved: nothing more to reserve




def test_the_moto_server_answers_get_account_settings_and_refuses_what_lambda_refuses(monkeypatch) -> None:
    with running_moto_server() as url:
        reset(url)
        lam = client("lambda", url, "eu-west-1")
        limit = lam.get_account_settings()["AccountLimit"]
        assert (limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]) == (1000, 1000)
        role = client("iam", url).create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam.create_function(FunctionName="f", Runtime="python3.12", Role=role, Handler="h.handler",
                            Code={"ZipFile": handler_zip()})
        lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=3)
        assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == 997
        monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "50")  # a new account's reduced concurrency
        assert lam.get_account_settings()["AccountLimit"]["ConcurrentExecutions"] == 50
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=1)
        assert "below its minimum value" in refused.value.response["Error"]["Message"]
        reset(url)


def _plan(capsys, monkeypatch, url: str, tmp_path: Path) -> tuple[int, dict, str]:
    monkeypatch.chdir(tmp_path)
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(FRAUD), "--env", "prod", "--refresh", "--format", "json"])
    out, err = capsys.readouterr()
    return exit_info.value.code, json.loads(out), err


def _preflight(data: dict) -> list[str]:
    return [w for w in data["warnings"] if "Lambda" in w and ("reserves" in w or "account settings" in w)]


def test_plan_refresh_warns_in_an_account_with_reduced_concurrency(capsys, monkeypatch, tmp_path: Path) -> None:
    with running_moto_server() as url:
        reset(url)
        code, data, err = _plan(capsys, monkeypatch, url, tmp_path)
        assert code == 0, err
        assert data["refreshed"] is True and _preflight(data) == []  # 1,000: room to reserve
        monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "50")
        code, data, err = _plan(capsys, monkeypatch, url, tmp_path)
        reset(url)
    assert code == 0, err
    (warning,) = _preflight(data)
    assert warning.startswith("AWS quota: this plan reserves 1 more concurrent Lambda execution(s) (retrain gates), "
                              "and account 222222222222 in eu-west-1 has 50 of its 50 unreserved")


def test_an_unreadable_account_says_the_check_was_not_made(capsys, monkeypatch, tmp_path: Path) -> None:
    code, data, err = _plan(capsys, monkeypatch, "http://127.0.0.1:9", tmp_path)  # nothing listens
    assert code == 0, err
    (warning,) = _preflight(data)
    assert warning.startswith("account preflight: could not read the Lambda account settings in eu-west-1")
