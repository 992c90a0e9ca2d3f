"""``plan`` in a stack directory whose ``Pulumi.dev.yaml`` sets ``kubernetes:context`` plans the Kubernetes provider as
``pulumi up`` there registers it: the program copies the setting over the compiled ``context``
(``mlops_infra/program/providers.py`` ``provider_inputs``), so the applied state holds the override. Compared with
it (``PlanOptions.provider_settings``, read by ``mlops_infra/kube/effective_context.py`` ``provider_settings``), an
override applied once plans no change (before: ``~ context`` on every plan, exit 2 with ``--detailed-exitcode``),
one changed since plans the change, and a ``secure:`` one stays the encrypted value the plan cannot compare.

The reference system's dev environment (context kind-mlops) offline, against its applied state whose provider holds
the context the last ``pulumi up`` sent; ``pulumi up`` itself is not run (no CLI here).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mlops_infra.compile import compile_system
from tests.scenarios.harness import load_file
from tests.support.applied_state import SECRET_MARKER, applied_state, dumps, edit_resource
from tests.support.cli import run_cli

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
PROVIDER = "pulumi:providers:kubernetes"


def _stack(tmp_path: Path, overrides: dict, applied_context) -> Path:
    """The stack directory (its settings set ``overrides``) and ``prior.json``: dev applied with ``applied_context``
    as the provider's context."""
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "fraud-detection", "runtime": "python"}))
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(
        {"config": {"mlops:systemFile": str(FRAUD), "mlops:environment": "dev", **overrides}}))

    def sent(record: dict) -> None:
        record["inputs"]["context"] = record["outputs"]["context"] = applied_context

    state = edit_resource(applied_state(compile_system(load_file(FRAUD, "dev"), "dev")),
                          lambda r: r["type"] == PROVIDER, sent)
    (tmp_path / "prior.json").write_text(dumps(state))
    return tmp_path


def _plan(monkeypatch, stack: Path, *flags: str):
    monkeypatch.chdir(stack)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return run_cli("plan", str(FRAUD), "--env", "dev", "--state", str(stack / "prior.json"), *flags)


def _provider(result) -> dict:
    (change,) = [c for c in json.loads(result.stdout)["resourceChanges"] if c["type"] == PROVIDER]
    return change


def test_a_context_override_applied_once_plans_no_change(monkeypatch, tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"kubernetes:context": "stack-ctx"}, "stack-ctx")
    result = _plan(monkeypatch, stack, "--detailed-exitcode")
    assert result.code == 0, result.output
    assert "No changes. Your ML system matches the desired state." in result.stdout
    assert _provider(_plan(monkeypatch, stack, "--format", "json"))["action"] == "no-op"


def test_a_context_override_changed_since_the_last_apply_plans_the_change(monkeypatch, tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"kubernetes:context": "other-ctx"}, "stack-ctx")
    assert _plan(monkeypatch, stack, "--detailed-exitcode").code == 2
    change = _provider(_plan(monkeypatch, stack, "--format", "json"))
    assert change["action"] == "update"
    assert [(a["path"], a["before"], a["after"]) for a in change["changes"]] == [("context", "stack-ctx", "other-ctx")]


def test_an_override_removed_plans_the_specs_context(monkeypatch, tmp_path: Path) -> None:
    stack = _stack(tmp_path, {}, "stack-ctx")
    change = _provider(_plan(monkeypatch, stack, "--format", "json"))
    assert [(a["path"], a["before"], a["after"]) for a in change["changes"]] == [("context", "stack-ctx", "kind-mlops")]


def test_a_secret_context_is_not_compared(monkeypatch, tmp_path: Path) -> None:
    """``pulumi config set --secret kubernetes:context``: the state holds its ciphertext (secrets-1), the plan cannot
    read it and assumes it unchanged (counted in the secrets warning), as before; never shown."""
    stored = {"4dabf18193072939515e22adb298388d": SECRET_MARKER, "ciphertext": "v1:c3RhY2stY3R4"}
    stack = _stack(tmp_path, {"kubernetes:context": {"secure": "v1:c3RhY2stY3R4"}}, stored)
    result = _plan(monkeypatch, stack, "--detailed-exitcode")
    assert result.code == 0, result.output
    assert "c3RhY2stY3R4" not in result.output
