"""Drift never shows a live environment value set the two other ways (audit closing-34g-1/-2;
``mlops_infra.plan.drift`` contract): a key added to or typed over in the ``mlops-object-store``
ConfigMap (training pods take it whole, ``envFrom.configMapRef``: core/v1 ConfigMapEnvSource) and a
variable in a SageMaker pipeline step's ``Environment`` (``UpdatePipeline``; DescribePipeline's
``PipelineDefinition`` read back live). Summary (plan --refresh text/markdown, promote evidence) and
JSON (``drift_to_json``) name the variable, never the value.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.drift import SENSITIVE, find_drift, left_alone
from mlops_infra.plan.model import drift_to_json
from mlops_infra.promote.gates import FAIL, GateInputs, evaluate_gates
from mlops_infra.state import kube_live
from mlops_infra.state.aws_live.registry import TRACKING
from mlops_infra.state.model import LiveState, PriorState, StateResource
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, resources

ROOT = Path(__file__).resolve().parents[2]
KEY = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
HF = "hf_QwErTyUiOpAsDfGhJkLzXcVbNm12345678"


def _drift(graph: Any, res: Any, live_inputs: dict[str, Any], tracking: Any) -> tuple[list[Any], str]:
    live = StateResource(urn=res.urn, type=res.type, id=res.id, inputs=live_inputs, outputs={})
    prior_state = PriorState("dev", 3, "x", "q", "dev", {res.urn: res})
    found = find_drift(prior_state, LiveState({res.urn: live}), tracking=tracking, left=left_alone(graph),
                       desired=graph)
    gate = evaluate_gates(["no_drift"], GateInputs("dev", "prod", None, RegistryView(), (), src_prior=prior_state,
                                                   src_live=LiveState({res.urn: live}), src_drift=found,
                                                   src_alerts=()), {})[0]
    assert gate.status == FAIL
    shown = "\n".join([gate.reason, *gate.evidence, *(it.summary for it in found),
                       *(json.dumps(drift_to_json(it)) for it in found)])
    assert KEY not in shown and HF not in shown
    return found, shown


def test_a_key_added_to_or_typed_over_in_the_object_store_config_map_is_named_never_shown() -> None:
    graph = compile_file(ROOT / "examples" / "quickstart" / "mlsystem.yaml", "dev")
    res = next(r for r in graph.resources if r.urn.endswith("ConfigMap::mlops-object-store"))
    prior = StateResource(urn=res.urn, type=res.type, id=f"churn-dev/{res.name}", inputs=copy.deepcopy(res.inputs),
                          outputs={})
    live = copy.deepcopy(res.inputs)
    live["data"].update(HF_TOKEN=HF, MLOPS_MODELS_BUCKET=KEY)  # kubectl edit configmap
    found, shown = _drift(graph, prior, live, kube_live.TRACKING)
    assert [it.summary for it in found] == [  # the state's side is the compiled graph's value: shown
        "ConfigMap mlops-object-store: data MLOPS_MODELS_BUCKET "
        f"{res.inputs['data']['MLOPS_MODELS_BUCKET']} -> {SENSITIVE} changed, data HF_TOKEN added outside Pulumi"]
    assert "data HF_TOKEN added" in shown  # promote's evidence names it too


def test_a_pipeline_step_environment_variable_changed_live_is_never_shown() -> None:
    graph = compile_file(ROOT / "examples" / "llm-platform" / "mlsystem.yaml", "prod")
    record = next(r for r in resources(applied_state(graph)) if r["urn"].endswith("Pipeline::finetune-chat-pipeline"))
    prior = StateResource(urn=record["urn"], type=record["type"], id=record.get("id"),
                          inputs=copy.deepcopy(record["inputs"]), outputs=copy.deepcopy(record["outputs"]))
    live = copy.deepcopy(record["inputs"])
    definition = json.loads(live["pipelineDefinition"])
    steps = [s for s in definition["Steps"] if isinstance(s.get("Arguments", {}).get("Environment"), dict)]
    assert steps
    steps[0]["Arguments"]["Environment"]["HF_TOKEN"] = HF  # UpdatePipeline
    live["pipelineDefinition"] = json.dumps(definition)
    found, shown = _drift(graph, prior, live, TRACKING)
    assert [it.summary for it in found] == ["pipeline finetune-chat-pipeline: pipeline definition changed outside Pulumi"]
    assert '"HF_TOKEN": "<sensitive>"' in shown
