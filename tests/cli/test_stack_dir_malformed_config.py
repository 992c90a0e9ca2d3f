"""A stack directory whose settings are malformed -- a ``config:`` that is not a mapping, an
``mlops:systemFile`` that is a number, a list or a ``{secure: ...}`` -- is an error naming the file,
not "no stack directory": ``plan`` there planned the embedded quickstart, exit 0 (audit robust, "also
seen"). A project ``config`` entry that only declares the key (``{type: string}``) is not a value and
is not refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import assert_clear_error, run_cli

PROJECT = "name: fraud-detection\nruntime: python\n"


@pytest.mark.parametrize(("stack_settings", "said"), [
    ("config:\n  mlops:systemFile: 5\n", "mlops:systemFile in Pulumi.prod.yaml is a number, not a path"),
    ("config:\n  mlops:systemFile: [a, b]\n", "mlops:systemFile in Pulumi.prod.yaml is a list, not a path"),
    ("config:\n  mlops:systemFile:\n    secure: AAABAHk=\n", "mlops:systemFile in Pulumi.prod.yaml is a secret"),
    ("config: [1]\n", "config in Pulumi.prod.yaml is a list, not a mapping of keys to values"),
])
def test_malformed_stack_settings_are_refused(tmp_path: Path, monkeypatch, stack_settings: str, said: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT)
    (tmp_path / "Pulumi.prod.yaml").write_text(stack_settings)
    monkeypatch.chdir(tmp_path)
    result = run_cli("plan", "--env", "prod")
    assert_clear_error(result, said, str(tmp_path / "Pulumi.prod.yaml"))
    assert "quickstart" not in result.output


@pytest.mark.parametrize(("project_config", "said"), [
    ("config:\n  mlops:systemFile: {value: [a]}\n", "mlops:systemFile in Pulumi.yaml is a list, not a path"),
    ("config: 7\n", "config in Pulumi.yaml is a number, not a mapping"),
])
def test_malformed_project_settings_are_refused(tmp_path: Path, monkeypatch, project_config: str, said: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT + project_config)
    monkeypatch.chdir(tmp_path)
    assert_clear_error(run_cli("plan"), said, str(tmp_path / "Pulumi.yaml"))


def test_a_declared_key_without_a_value_is_not_refused(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "Pulumi.yaml").write_text(PROJECT + "config:\n  mlops:systemFile: {type: string}\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli("plan")
    assert result.code == 0, result.output  # no system file named: the embedded quickstart, as before
