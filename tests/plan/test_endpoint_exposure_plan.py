"""The plan says in ML terms when an endpoint stops being public or becomes public (audit secpost45-2).

The label ``networking.knative.dev/visibility: cluster-local`` is an in-place update of the InferenceService
(pulumi-kubernetes forces a replace of a custom resource only on its name or namespace) and rolls no new
revision (kserve ``constants.go`` ``RevisionTemplateLabelDisallowedList``), so the revision warning is wrong
for it and the exposure warning is what the apply does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
VISIBILITY = "networking.knative.dev/visibility"


def graph(exposure: str = "cluster"):
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "dev")
    assert loaded.ok, loaded.diagnostics
    system = loaded.system
    system = system.model_copy(update={"endpoints": [e.model_copy(update={"exposure": exposure})
                                                     for e in system.endpoints]})
    return compile_system(system, "dev")


def is_scorer(record: dict) -> bool:
    return record["type"] == ISVC and record["inputs"]["metadata"]["name"] == "scorer"


def without_visibility(record: dict) -> None:
    """The InferenceService as releases before secpost45-2 applied it: public."""
    record["inputs"]["metadata"]["labels"].pop(VISIBILITY)


def plan(g, checkpoint):
    return make_plan(g, parse_state(dumps(checkpoint).encode(), "prior.json"), options=FAST)


def test_the_upgrade_updates_in_place_and_says_the_endpoint_stops_being_public() -> None:
    g = graph()
    result = plan(g, edit_resource(applied_state(g), is_scorer, without_visibility))
    [change] = [c for c in result.changes if c.type == ISVC]
    assert str(change.action) == "update"
    assert [c.path for c in change.changes] == [f'metadata.labels["{VISIBILITY}"]']
    assert not [w for w in result.warnings if "new Knative revision" in w]
    [warning] = [w for w in result.warnings if "public" in w]
    assert warning.startswith("endpoints.scorer: the endpoint scorer stops being public")
    assert "http://scorer.fraud-dev.svc.cluster.local" in warning and "exposure: public" in warning


def test_exposure_public_says_it_is_published_without_authentication() -> None:
    before, after = graph(), graph("public")
    result = plan(after, applied_state(before))
    [change] = [c for c in result.changes if c.type == ISVC]
    assert str(change.action) == "update"
    [warning] = [w for w in result.warnings if "public" in w]
    assert "becomes public" in warning and "no authentication" in warning
    assert not [w for w in plan(after, applied_state(after)).warnings if "public" in w]  # no change: nothing said


def test_the_exposure_warning_is_given_when_the_model_version_changes_too() -> None:
    """The first apply after the upgrade may also roll a new version (audit closing-45c-2: no warning at all before)."""
    g = graph()

    def older_version_and_public(record: dict) -> None:
        without_visibility(record)
        record["inputs"]["metadata"]["annotations"]["mlops-infra/model-version"] = "older"

    result = plan(g, edit_resource(applied_state(g), is_scorer, older_version_and_public))
    [warning] = [w for w in result.warnings if "stops being public" in w]
    assert warning.startswith("endpoints.scorer: the endpoint scorer stops being public")
    # the version rolls a revision: the warning speaks of the label only (audit review45-a-3: "No new revision")
    assert warning.endswith("The label itself rolls no new revision") and "No new revision" not in warning


def test_visibility_with_a_traffic_share_is_the_share_warning_not_a_new_revision() -> None:
    """The label is not in the revision template: with a share change only the share's rollback warning applies
    (audit closing-45c-2: the plan said 'KServe rolls a new Knative revision' and lost the rollback warning)."""
    g = graph()

    def public_at_another_share(record: dict) -> None:
        without_visibility(record)
        predictor = record["inputs"]["spec"]["predictor"]
        predictor["canaryTrafficPercent"] = 50 if predictor.get("canaryTrafficPercent") != 50 else 100

    desired = next(r.inputs for r in g.resources if r.type == ISVC and r.inputs["metadata"]["name"] == "scorer")
    if not isinstance(desired["spec"]["predictor"].get("canaryTrafficPercent"), int):
        pytest.skip("the example's scorer compiles no traffic share")
    result = plan(g, edit_resource(applied_state(g), is_scorer, public_at_another_share))
    assert [w for w in result.warnings if "stops being public" in w]
    assert not [w for w in result.warnings if "new Knative revision" in w]
    assert [w for w in result.warnings if "writes the rollout's first step" in w and "rollback" in w]
