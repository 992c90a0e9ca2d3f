"""An InferenceService update without a new model version rolls a new revision, and the plan says so (closing-a-1).

KServe copies the predictor and the InferenceService's annotations into the Knative revision template
(``components/predictor.go``, ``ksvc_reconciler.go``); Knative makes a Revision for each change of it ("Revisions":
"point-in-time snapshots ... for each change made to a Knative Service"). 34ea98b added an annotation to every
InferenceService scaling on rps or concurrency: the upgrade's apply restarted the model, and the plan only said
"can be updated in place".
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.serving import UTILIZATION_ANNOTATION
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def graph(version: int | None = None):
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "dev")
    assert loaded.ok, loaded.diagnostics
    system = loaded.system
    if version is not None:
        endpoint = system.endpoints[0]
        system = system.model_copy(update={"endpoints": [endpoint.model_copy(update={
            "model": endpoint.model.model_copy(update={"version": version})})]})
    return compile_system(system, "dev")


def is_scorer(record: dict) -> bool:
    return record["type"] == ISVC and record["inputs"]["metadata"]["name"] == "scorer"


def without_utilization(record: dict) -> None:
    """The InferenceService as releases before 34ea98b applied it."""
    record["inputs"]["metadata"]["annotations"].pop(UTILIZATION_ANNOTATION)


def revision_warnings(g, checkpoint) -> list[str]:
    prior = parse_state(dumps(checkpoint).encode(), "prior.json")
    return [w for w in make_plan(g, prior, options=FAST).warnings if "new Knative revision" in w]


def test_the_upgrade_that_adds_an_annotation_warns_of_the_new_revision_and_the_first_step() -> None:
    g = graph()
    old = edit_resource(applied_state(g), is_scorer, without_utilization)
    [warning] = revision_warnings(g, old)
    assert warning.startswith("endpoints.scorer: this apply changes the InferenceService scorer without a new model "
                              "version, so KServe rolls a new Knative revision")
    assert "load the model again" in warning
    assert "serves 2% of the traffic until the rollout controller's next pass" in warning  # canary: steps 2, 5, ...


def test_no_change_or_a_new_version_says_nothing_here() -> None:
    g = graph()
    assert revision_warnings(g, applied_state(g)) == []
    bumped = graph(version=15)  # a rollout: the ML section tells it
    old = applied_state(g)
    prior = parse_state(dumps(old).encode(), "prior.json")
    assert [str(c.action) for c in make_plan(bumped, prior, options=FAST).changes if c.type == ISVC] == ["update"]
    assert revision_warnings(bumped, old) == []
