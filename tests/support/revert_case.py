"""The reference system applied at one model version and planned at the version before it (audit rolloutaws-7):
what ``tests/apply/test_adoption.py`` and ``tests/plan/test_adopted_plan.py`` both start from."""

from __future__ import annotations

import zlib
from pathlib import Path

from mlops_infra.plan.model import Plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.pulumi_state import load_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"


def revert_case(tmp_path: Path, test_name: str, prefix: str) -> tuple:
    """(the v13 graph, the v14 graph, the plan of v13 against the state applied at v14). The system is named
    ``prefix`` + a number of the test's own: the compiled names hash the project, and moto's backends outlive a
    server."""
    system = f"{prefix}{zlib.crc32(test_name.encode()) % 10**6}"

    def spec(version: int) -> Path:
        path = tmp_path / f"v{version}.yaml"
        path.write_text(REFERENCE.read_text().replace("  name: fraud-detection\n", f"  name: {system}\n", 1).replace(
            "model: {name: fraud-model, version: 12}", f"model: {{name: fraud-model, version: {version}}}"))
        return path

    v13, v14 = compile_file(spec(13), "prod"), compile_file(spec(14), "prod")
    (tmp_path / "state14.json").write_text(dumps(applied_state(v14)))
    plan: Plan = make_plan(v13, load_state(tmp_path / "state14.json"))
    return v13, v14, plan


def scorer_names(graph) -> dict[str, str]:
    """type -> the SageMaker name of the scorer's model, config and endpoint."""
    return {r.type: r.inputs["name"] for r in graph.resources
            if r.address == "endpoints.scorer" and r.type in (MODEL, CONFIG, ENDPOINT)}
