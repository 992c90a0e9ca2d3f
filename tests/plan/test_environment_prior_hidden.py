"""A plain ``plan`` (no --refresh) never prints an environment value the state holds and the compiled
graph does not (audit closing-34d-2; ``mlops_infra.plan.diff`` contract).

After ``pulumi refresh`` the state holds what was typed in the console (pulumi ``RefreshStep.Apply``
picks up the provider's new inputs); the plan diff then removes or changes those variables. Their
names and the compiled (desired) values are shown, the state's values are not, in text, markdown and
JSON. Real CLI, offline (``plan --state``), on the examples' compiled graphs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_plan_cmd import run
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, resources

ROOT = Path(__file__).resolve().parents[2]
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"

KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HF = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm12345678"
TYPED_OVER = "payments-override"
SECRETS = (KEY, HF, TYPED_OVER)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("MLOPS_INFRA_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")


def _record(checkpoint: dict[str, Any], suffix: str) -> dict[str, Any]:
    return next(r for r in resources(checkpoint) if r["urn"].endswith(suffix))


def _plans(capsys, spec: Path, env: str, state: Path, secrets: tuple[str, ...] = SECRETS) -> dict[str, str]:
    """The offline plan of ``state`` in text, markdown and JSON, none of which holds any of ``secrets``."""
    out = {}
    for fmt in ("text", "markdown", "json"):
        code, text, err = run(capsys, "plan", str(spec), "--env", env, "--state", str(state), "--format", fmt)
        assert code == 0, err
        for secret in secrets:
            assert secret not in text + err, (fmt, secret)
        out[fmt] = text
    return out


def _changes(plan_json: str, suffix: str) -> dict[str, dict[str, Any]]:
    data = json.loads(plan_json)
    change = next(c for c in data["resourceChanges"] if c["urn"].endswith(suffix))
    return {a["path"]: a for a in change["changes"]}


def test_a_refreshed_lambda_environment_is_planned_without_its_values(capsys, tmp_path: Path) -> None:
    graph = compile_file(LLM, "prod")
    checkpoint = applied_state(graph)
    forwarder = _record(checkpoint, "Function::llm-oncall-forwarder")
    compiled = dict(forwarder["inputs"]["environment"]["variables"])
    assert compiled["CHANNEL_KIND"] == "slack"
    for side in ("inputs", "outputs"):  # as a refresh leaves them
        variables = forwarder[side]["environment"]["variables"]
        variables.update(ENCRYPTION_KEY=KEY, HF_HUB=HF, CHANNEL_KIND=TYPED_OVER)
    state = tmp_path / "refreshed-state.json"
    state.write_text(dumps(checkpoint))

    plans = _plans(capsys, LLM, "prod", state)
    assert '- environment.variables.ENCRYPTION_KEY: (sensitive)' in plans["text"]
    assert '- environment.variables.HF_HUB: (sensitive)' in plans["text"]
    assert '~ environment.variables.CHANNEL_KIND: (sensitive) -> "slack"' in plans["text"]
    assert "environment.variables.HF_HUB" in plans["markdown"]
    changes = _changes(plans["json"], "Function::llm-oncall-forwarder")
    assert changes["environment.variables.CHANNEL_KIND"]["before"] == "(sensitive)"
    assert changes["environment.variables.CHANNEL_KIND"]["after"] == "slack"  # the compiled value: shown
    assert changes["environment.variables.ENCRYPTION_KEY"]["after"] is None
    assert set(changes) == {f"environment.variables.{n}" for n in ("CHANNEL_KIND", "ENCRYPTION_KEY", "HF_HUB")}


def test_a_refreshed_container_environment_is_planned_without_its_values(capsys, tmp_path: Path) -> None:
    graph = compile_file(QUICKSTART, "dev")
    checkpoint = applied_state(graph)
    capture = _record(checkpoint, "Deployment::mlops-capture")
    env = capture["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]
    typed = next(i for i, e in enumerate(env) if e.get("name") == "CAPTURE_BUCKET")
    compiled = env[typed]["value"]
    env[typed] = {**env[typed], "value": KEY}  # kubectl set env CAPTURE_BUCKET=<a key>
    env.append({"name": "HF_HUB", "value": HF})  # kubectl set env HF_HUB=...
    capture["outputs"]["spec"] = copy.deepcopy(capture["inputs"]["spec"])  # as a refresh leaves them
    state = tmp_path / "refreshed-state.json"
    state.write_text(dumps(checkpoint))

    plans = _plans(capsys, QUICKSTART, "dev", state)
    changes = _changes(plans["json"], "Deployment::mlops-capture")
    base = "spec.template.spec.containers[0].env"
    assert changes[f"{base}[{typed}].value"]["before"] == "(sensitive)"
    assert changes[f"{base}[{typed}].value"]["after"] == compiled  # ours: shown
    removed = changes[f"{base}[{len(env) - 1}]"]
    assert removed["before"] == {"name": "HF_HUB", "value": "(sensitive)"} and removed["after"] is None
    assert "HF_HUB" in plans["text"] and compiled in plans["text"]
