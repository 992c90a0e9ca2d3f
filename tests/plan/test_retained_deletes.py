"""A delete of a ``retainOnDelete`` resource is planned as what it is: Pulumi forgets it, nothing is
deleted (finding removal-3).

Rule: pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``: "Deleting a "drop on
delete" is a no-op as the user has explicitly asked us to not delete the resource"; the engine
records the option per resource (``sdk/go/common/apitype/core.go`` ``RetainOnDelete``). A canary
endpoint's model and config carry it (``compile/aws/serving._kept``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.plan.model import Action, Plan, plan_json_schema
from mlops_infra.plan.planner import make_plan
from mlops_infra.render import human
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps
from tests.support.text_edits import edit

REFERENCE = Path(__file__).parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
SECOND_CANARY = """  - name: scorer2
    model: {name: fraud-model, version: 12}
    accelerator: {type: A10G, count: 1}
    replicas: {min: 1, max: 2}
    rollout:
      strategy: canary
      steps: [10, 100]
      bake: 10m

monitors:
"""


@pytest.fixture(scope="module")
def removal(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """The reference system planned against the state of the reference plus a canary endpoint
    ``scorer2`` (what removing ``scorer2`` from the spec plans)."""
    two = tmp_path_factory.mktemp("spec") / "mlsystem.yaml"
    two.write_text(edit(REFERENCE.read_text(), "\nmonitors:\n", "\n" + SECOND_CANARY))
    prior = parse_state(dumps(applied_state(compile_file(two, "prod"))).encode(), "prior.json")
    return make_plan(compile_file(REFERENCE, "prod"), prior)


def _by_name(plan: Plan) -> dict[str, object]:
    return {c.name: c for c in plan.changes if c.address == "endpoints.scorer2"}


def test_a_removed_canary_endpoints_model_and_config_are_kept_not_destroyed(removal: Plan) -> None:
    changes = _by_name(removal)

    for name in ("scorer2-model", "scorer2-endpoint-config"):
        change = changes[name]
        assert change.action is Action.DELETE and change.retained and not change.destroys
        assert change.reason.code == "retained"
        assert "kept in the cloud (retainOnDelete): Pulumi forgets it, nothing is deleted" in change.reason.message
        assert "then `mlops-infra apply` deletes it unless an endpoint still uses it" in change.reason.message
    for name in ("scorer2-endpoint", "scorer2-serving", "scorer2-serving-policy", "scorer2-dashboard"):
        assert changes[name].action is Action.DELETE and changes[name].destroys
        assert changes[name].reason.code == "removed-from-spec"
    assert removal.counts.destroy == 4


def test_the_text_plan_says_so_and_counts_four_to_destroy(removal: Plan) -> None:
    text = human.render_text(removal)

    assert "# endpoints.scorer2  (4 to destroy)" in text
    assert "Plan: 0 to add, 2 to change, 0 to replace, 4 to destroy." in text
    for name in ("scorer2-model", "scorer2-endpoint-config"):
        line = text[text.index(f"- {name} ("):].splitlines()[1]
        assert "will be kept in the cloud (retainOnDelete)" in line and "will be deleted" not in line


def test_the_json_plan_marks_the_kept_deletes_and_reads_back(removal: Plan) -> None:
    import jsonschema

    doc = json.loads(json.dumps(removal.to_json()))
    jsonschema.Draft202012Validator(plan_json_schema()).validate(doc)
    kept = {c["name"] for c in doc["resourceChanges"] if c.get("retainOnDelete")}
    assert kept == {"scorer2-model", "scorer2-endpoint-config"}
    assert doc["summary"]["destroy"] == 4
    assert Plan.from_json(doc).changes == removal.changes
