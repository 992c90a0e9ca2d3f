"""A plain ``plan`` never prints the state's value of an environment the compiled graph does not hold,
for the two other ways a job's environment is set (audit closing-34g-1/-2; ``mlops_infra.plan.diff``
contract): the ``mlops-object-store`` ConfigMap, which training pods take whole with
``envFrom.configMapRef`` (core/v1 ConfigMapEnvSource), and a SageMaker pipeline step's
``Arguments.Environment`` (botocore ``CreateTrainingJobRequest.Environment``). The state holds a typed
value after ``pulumi refresh``. Real CLI, offline (``plan --state``), text, markdown and JSON.
"""

from __future__ import annotations

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


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("MLOPS_INFRA_DEBUG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")


def _plans(capsys, spec: Path, env: str, state: Path) -> dict[str, str]:
    out = {}
    for fmt in ("text", "markdown", "json"):
        code, text, err = run(capsys, "plan", str(spec), "--env", env, "--state", str(state), "--format", fmt)
        assert code == 0, err
        for secret in (KEY, HF):
            assert secret not in text + err, (fmt, secret)
        out[fmt] = text
    return out


def _changes(plan_json: str, suffix: str) -> dict[str, dict[str, Any]]:
    change = next(c for c in json.loads(plan_json)["resourceChanges"] if c["urn"].endswith(suffix))
    return {a["path"]: a for a in change["changes"]}


def test_a_refreshed_object_store_config_map_is_planned_without_its_values(capsys, tmp_path: Path) -> None:
    checkpoint = applied_state(compile_file(QUICKSTART, "dev"))
    record = next(r for r in resources(checkpoint) if r["urn"].endswith("ConfigMap::mlops-object-store"))
    compiled = record["inputs"]["data"]["MLOPS_CREDENTIALS_SECRET"]
    for side in ("inputs", "outputs"):  # typed over a key the compiled map has; one added (kubectl edit)
        record[side]["data"].update(MLOPS_CREDENTIALS_SECRET=KEY, HF_TOKEN=HF)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint))
    plans = _plans(capsys, QUICKSTART, "dev", state)
    changes = _changes(plans["json"], "ConfigMap::mlops-object-store")
    assert changes["data.MLOPS_CREDENTIALS_SECRET"]["before"] == "(sensitive)"
    assert changes["data.MLOPS_CREDENTIALS_SECRET"]["after"] == compiled  # the compiled side stays visible
    assert changes["data.HF_TOKEN"]["before"] == "(sensitive)"
    assert "data.HF_TOKEN" in plans["text"] and "data.HF_TOKEN" in plans["markdown"]


def test_a_refreshed_pipeline_step_environment_is_planned_without_its_values(capsys, tmp_path: Path) -> None:
    checkpoint = applied_state(compile_file(LLM, "prod"))
    record = next(r for r in resources(checkpoint) if r["urn"].endswith("Pipeline::finetune-chat-pipeline"))
    definition = json.loads(record["inputs"]["pipelineDefinition"])
    index, step = next((i, s) for i, s in enumerate(definition["Steps"])
                       if isinstance(s.get("Arguments", {}).get("Environment"), dict))
    name = sorted(step["Arguments"]["Environment"])[0]
    compiled = step["Arguments"]["Environment"][name]
    step["Arguments"]["Environment"].update({name: KEY, "HF_TOKEN": HF})  # UpdatePipeline, then a refresh
    for side in ("inputs", "outputs"):
        record[side]["pipelineDefinition"] = json.dumps(definition)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint))
    plans = _plans(capsys, LLM, "prod", state)
    changes = _changes(plans["json"], "Pipeline::finetune-chat-pipeline")
    where = f"pipelineDefinition.Steps[{index}].Arguments.Environment"
    assert changes[f"{where}.HF_TOKEN"]["before"] == "(sensitive)"
    assert changes[f"{where}.{name}"]["before"] == "(sensitive)"
    assert changes[f"{where}.{name}"]["after"] == compiled
    assert f"{where}.HF_TOKEN" in plans["text"] and f"{where}.HF_TOKEN" in plans["markdown"]
