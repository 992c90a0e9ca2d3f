"""The oldest Pulumi CLI apply runs: apply/cli_version.MINIMUM_CLI (audit closing-40a-1: the plan's replace of
an endpoint's deletedWith scalable target and policy needs the engine of pulumi/pulumi #23818, released after
3.259.0). Both places a CLI is judged refuse an older one before any command but ``pulumi version`` ran: the
preflight (engine._check_version) and the ``PulumiCommand`` every command of ``up`` runs with
(SignalGuard.command, the Automation API's own ``version`` argument)."""

from __future__ import annotations

import os

import pytest
from pulumi.automation.errors import InvalidVersionError

from mlops_infra.apply import engine
from mlops_infra.apply.cli_version import MINIMUM_CLI
from mlops_infra.apply.pulumi_process import SignalGuard
from mlops_infra.errors import UserError
from tests.support import pulumi_stand_in


def test_the_minimum_is_above_the_automation_apis_own() -> None:
    from pulumi.automation._minimum_version import _MINIMUM_VERSION

    assert str(MINIMUM_CLI) == "3.260.0" and MINIMUM_CLI.compare(_MINIMUM_VERSION) > 0


@pytest.mark.parametrize("version", ["v3.259.0", "v3.174.0", "v3.1.0"])
def test_an_older_cli_is_refused_by_the_command_up_runs_with(tmp_path, monkeypatch, version: str) -> None:
    pulumi = pulumi_stand_in.install(tmp_path / "bin", monkeypatch, version=version)
    with pytest.raises(InvalidVersionError, match=r"minimum CLI version requirement is 3\.260\.0"):
        SignalGuard().command()
    assert pulumi.commands() == [["version"]]


def test_the_preflight_refuses_it_with_the_fix(tmp_path, monkeypatch) -> None:
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, version="v3.259.0")
    with pytest.raises(UserError) as err:
        engine._check_version(dict(os.environ))
    assert "3.260.0" in err.value.summary and "https://www.pulumi.com/docs/install/" in err.value.detail


@pytest.mark.parametrize("version", ["v3.260.0", "v3.272.0"])
def test_a_cli_at_or_above_it_is_taken(tmp_path, monkeypatch, version: str) -> None:
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, version=version)
    assert str(SignalGuard().command().version) == version[1:]
