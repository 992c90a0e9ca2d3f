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

from tests.plan.test_environment_prior_hidden import HF, KEY, _changes, _clean, _plans  # noqa: F401 (_clean: autouse)
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, resources

ROOT = Path(__file__).resolve().parents[2]
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"


def test_a_refreshed_object_store_config_map_is_planned_without_its_values(capsys, tmp_path: Path) -> None:
    checkpoint = applied_state(compile_file(QUICKSTART, "dev"))
    record = next(r for r in resources(checkpoint) if r["urn"].endswith("ConfigMap::mlops-object-store"))
    compiled = record["inputs"]["data"]["MLOPS_CREDENTIALS_SECRET"]
    for side in ("inputs", "outputs"):  # typed over a key the compiled map has; one added (kubectl edit)
        record[side]["data"].update(MLOPS_CREDENTIALS_SECRET=KEY, HF_TOKEN=HF)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint))
    plans = _plans(capsys, QUICKSTART, "dev", state, (KEY, HF))
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
    plans = _plans(capsys, LLM, "prod", state, (KEY, HF))
    changes = _changes(plans["json"], "Pipeline::finetune-chat-pipeline")
    where = f"pipelineDefinition.Steps[{index}].Arguments.Environment"
    assert changes[f"{where}.HF_TOKEN"]["before"] == "(sensitive)"
    assert changes[f"{where}.{name}"]["before"] == "(sensitive)"
    assert changes[f"{where}.{name}"]["after"] == compiled
    assert f"{where}.HF_TOKEN" in plans["text"] and f"{where}.HF_TOKEN" in plans["markdown"]
