"""An InferenceService update whose only change is ``canaryTrafficPercent`` makes no revision, and the plan says
what KServe does with it: after a finished rollout, its rollback (audit k8sroll-1).

``canaryTrafficPercent`` is not in the Knative revision template (kserve v0.15.0 ``ksvc_reconciler.go``
``createKnativeService`` puts it in the traffic block), and a first step written over the finished version's 100
moves KServe's ``latestRolledoutRevision`` back to the previous one (``inference_service_status.go``
``PropagateStatus`` l.459-470), which gets the rest. Before, the plan warned "KServe rolls a new Knative revision
... the new revision serves 2%": no revision was made, and the previous version served 98 %. ``plan`` itself
compiles with the registry view of the prior state, which leaves the share to the controller
(``compile/kubernetes/serving.py`` ``keeps_controller_traffic``): no change at all.
"""

from __future__ import annotations

from mlops_infra.compile import compile_system
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.model_registry import offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.plan.test_revision_restart import FAST, ISVC, REPO, graph, is_scorer
from tests.support.applied_state import applied_state, dumps, edit_resource


def first_step_was_5(record: dict) -> None:
    """The applied object had steps [5, ...]; the spec now says [2, ...]."""
    record["inputs"]["spec"]["predictor"]["canaryTrafficPercent"] = 5


def test_a_change_of_the_first_step_alone_warns_of_kserves_rollback_not_of_a_new_revision() -> None:
    g = graph()  # no registry view: the first step is compiled, as under a bare `pulumi up`
    prior = parse_state(dumps(edit_resource(applied_state(g), is_scorer, first_step_was_5)).encode(), "prior.json")
    plan = make_plan(g, prior, options=FAST)
    (change,) = [c for c in plan.changes if c.type == ISVC]
    assert [(a.path, a.before, a.after) for a in change.changes] == [("spec.predictor.canaryTrafficPercent", 5, 2)]
    warnings = [w for w in plan.warnings if w.startswith("endpoints.scorer:")]
    assert warnings == ["endpoints.scorer: this apply writes the rollout's first step (2%) into the InferenceService "
                        "scorer without a new model version: no new revision (the share is not in the revision "
                        "template), but after a finished rollout KServe reads it as its rollback: the previous "
                        "rolled-out version gets 98% of the traffic until the rollout controller's next pass sets "
                        "the share back"]


def test_the_plans_own_compile_leaves_the_share_to_the_controller() -> None:
    from mlops_infra.spec import load_system

    old = edit_resource(applied_state(graph()), is_scorer, first_step_was_5)
    prior = parse_state(dumps(old).encode(), "prior.json")
    loaded = load_system(REPO / "examples/fraud-detection/mlsystem.yaml", "dev")
    view = offline_registry_view(loaded.system, "dev", prior)  # what `plan` compiles with, offline
    assert view.serving == {"scorer": 14}
    plan = make_plan(compile_system(loaded.system, "dev", registry=view), prior, options=FAST)
    assert [c.action for c in plan.changes if c.type == ISVC] == [Action.NOOP]
    assert not [w for w in plan.warnings if w.startswith("endpoints.scorer:")]
