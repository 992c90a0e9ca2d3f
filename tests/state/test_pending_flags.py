"""A state's own flags on a resource plan as Pulumi's engine acts on them (audit stateformats).

- ``pendingReplacement`` (pulumi/pulumi ``sdk/go/common/apitype/core.go``: "delete-before-replace resources that
  have been deleted but not yet recreated"): the engine replaces it whatever the diff and deletes nothing
  (``pkg/resource/deploy/step_generator.go``: ``if diff.Replace() || triggerReplace || old.PendingReplacement``;
  "If the resource is already pending replacement we don't need to emit any step"); no longer desired, it is only
  removed from the state (``GenerateDeletes``: ``NewRemovePendingReplaceStep``). Before stateformats-1 the flag was
  dropped and the plan said "No changes" for an endpoint that was gone.
- ``taint`` (``pulumi state taint``; ``core.go``: "force it to be replaced upon the next update"): the engine replaces
  it before any diff (``step_generator.go`` ``isTargetedReplace``), asking no provider. Before stateformats-2 the flag
  was dropped and the plan said "No changes" (or, with other changes, hid the endpoint's replacement).
- ``delete: true`` (``core.go``: "Delete is true when the resource should be deleted during the next update"): an old
  copy a create-before-replace could not delete, beside the live one; never the URN's resource
  (``pkg/resource/deploy/deployment.go``: "Ignore resources that are pending deletion"), deleted by the next ``up``
  whatever the program says (``step_generator.go`` ``GenerateDeletes``: ``NewDeleteReplacementStep``). Before
  stateformats-3 the copy was dropped and the plan said "No changes".
- version-4 ``features``: Pulumi refuses a state using a feature it does not implement
  (``pkg/resource/stack/checkpoint.go`` ``validateSupportedFeatures``); so does mlops-infra, for those it does not
  read (stateformats-5).
- ``external`` (``core.go``: "the lifecycle of this resource is not managed by Pulumi"; read with ``Resource.get``):
  its delete is a discard (``step.go`` ``DeleteStep.Op``: ``OpReadDiscard``), so one no longer desired is dropped
  from the state, not destroyed (stateformats-7); registered as a managed resource, the engine creates one in its
  place (``step_generator.go``, "Case 2: wasExternal").

The states are the fraud-detection reference's as ``pulumi up`` leaves them (``tests/support/applied_state.py``),
with one field of one resource edited, read by the state reader both ways (streamed and whole).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.plan.model import Action, Plan, ResourceChange
from mlops_infra.plan.planner import make_plan
from mlops_infra.render import human
from mlops_infra.state.pulumi_state import StateError, parse_state
from tests.cli.test_apply_stack_identity import FRAUD, fraud_dev_state, pulumi, repo, write_backend_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource, resources
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo"]  # fixtures

REFERENCE = Path(__file__).parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"


@pytest.fixture(scope="module")
def graph():
    return compile_file(REFERENCE, "prod")


@pytest.fixture(scope="module")
def applied(graph) -> dict[str, Any]:
    return applied_state(graph)


def _retrain_trigger(record: dict[str, Any]) -> bool:
    """The fraud-detection dev stack's retraining trigger Deployment (a Kubernetes resource apply's tests edit)."""
    return record["type"] == "kubernetes:apps/v1:Deployment" and record["urn"].endswith("::mlops-retrain-trigger")


def _apply_ran_up(repo: Path, pulumi, state: dict[str, Any]):
    """``apply --yes`` of fraud-detection dev against ``state`` in the stack's backend; asserts that ``pulumi up``
    ran once (the stand-in fails every up, so apply exits 1 saying so) and returns the CLI result."""
    write_backend_state(repo / "stacks/dev", state)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert len(pulumi.ran("up")) == 1, result.output
    assert result.code == 1 and "the pulumi stand-in fails every up" in result.stderr
    return result


def _endpoint(record: dict[str, Any]) -> bool:
    return record["type"] == ENDPOINT and record["urn"].endswith("::scorer-endpoint")


def _flagged(checkpoint: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return edit_resource(checkpoint, _endpoint, lambda record: record.update(fields))


def _plans(graph, checkpoint: dict[str, Any]) -> list[Plan]:
    """The plan of ``checkpoint`` read streamed (bytes) and whole (text), which must agree."""
    text = dumps(checkpoint)
    return [make_plan(graph, parse_state(data, "state.json")) for data in (text.encode(), text)]


def _change(plan: Plan, urn: str, action: Action | None = None) -> ResourceChange:
    [change] = [c for c in plan.changes if c.urn == urn and (action is None or c.action is action)]
    return change


def _endpoint_urn(checkpoint: dict[str, Any]) -> str:
    return next(r["urn"] for r in resources(checkpoint) if _endpoint(r))


def test_the_reference_state_plans_no_changes(graph, applied) -> None:
    """The baseline every test below edits one field of."""
    for plan in _plans(graph, applied):
        assert not plan.has_changes


# -- stateformats-1: pendingReplacement ---------------------------------------------------------------------------


def test_a_pending_replacement_is_read(applied) -> None:
    state = _flagged(applied, pendingReplacement=True)
    urn = _endpoint_urn(applied)
    for data in (dumps(state).encode(), dumps(state)):
        prior = parse_state(data, "state.json")
        assert prior.resources[urn].pending_replacement
        assert not any(r.pending_replacement for u, r in prior.resources.items() if u != urn)


def test_a_pending_replacement_endpoint_is_created_again_not_no_changes(graph, applied) -> None:
    urn = _endpoint_urn(applied)
    for plan in _plans(graph, _flagged(applied, pendingReplacement=True)):
        change = _change(plan, urn)
        assert change.action is Action.REPLACE and change.reason.code == "pending-replacement"
        assert not change.delete_before_replace and not change.blocked  # nothing left to delete first
        assert "pendingReplacement" in change.reason.message and "nothing is deleted" in change.reason.message
        # its scalable target and policy (deletedWith the endpoint) are replaced with it, as the engine does
        # (step_generator.go ``diff``: "its DeletedWith resource is being replaced"); nothing else changes
        others = {c.name: c.reason.code for c in plan.changes if c.action.is_change and c.urn != urn}
        assert others == {"scorer-scalable-target": "deleted-with-replaced", "scorer-scaling-policy": "deleted-with-replaced"}
        assert plan.has_changes and plan.counts.replace == 3 and plan.counts.destroy == 0
        doc = json.loads(json.dumps(plan.to_json()))
        [entry] = [c for c in doc["resourceChanges"] if c["urn"] == urn]
        assert entry["action"] == "replace" and entry["reason"]["code"] == "pending-replacement"
        assert entry["deleteBeforeReplace"] is False
        assert doc["summary"]["replace"] == 3 and doc["summary"]["hasChanges"] is True
        text = human.render_text(plan)
        assert "No changes" not in text and "Plan: 0 to add, 0 to change, 3 to replace, 0 to destroy." in text
        assert "unavailable until the new one is ready (an outage)" not in text


def test_a_pending_replacement_no_longer_desired_is_only_removed_from_the_state(graph, applied) -> None:
    """An extra endpoint, deleted by a delete-before-replace and since removed from the spec: Pulumi's
    ``remove-pending-replace`` deletes nothing, whatever ``protect`` says."""
    orphan = json.loads(json.dumps(next(r for r in resources(applied) if _endpoint(r))))
    orphan.update(urn=orphan["urn"].replace("::scorer-endpoint", "::old-endpoint"), id="old-endpoint",
                  pendingReplacement=True, protect=True)
    state = json.loads(json.dumps(applied))
    resources(state).append(orphan)
    for plan in _plans(graph, state):
        change = _change(plan, orphan["urn"])
        assert change.action is Action.DELETE and change.retained and not change.destroys and not change.blocked
        assert change.reason.code == "pending-replacement"
        assert "nothing is deleted" in change.reason.message
        assert plan.counts.destroy == 0 and plan.counts.blocked == 0
        text = human.render_text(plan)
        line = text[text.index("- old-endpoint ("):].splitlines()[1]
        assert "it will be removed from the state, nothing is deleted" in line and "destroyed" not in line
        assert "to destroy" not in text.split("Plan:")[0]


def test_apply_runs_up_for_a_pending_replacement(repo: Path, pulumi) -> None:
    """``apply`` of the same finding on dev (Kubernetes): the Deployment a delete-before-replace deleted is not
    "Nothing to apply"; ``pulumi up`` runs (the stand-in fails every up: it ran)."""
    state = edit_resource(fraud_dev_state(), _retrain_trigger, lambda record: record.update(pendingReplacement=True))
    result = _apply_ran_up(repo, pulumi, state)
    assert "Nothing to apply" not in result.stdout and "No changes" not in result.stdout, result.output
    assert "0 to add, 0 to change, 1 to replace, 0 to destroy." in result.stdout, result.output
    assert "(pendingReplacement): Pulumi creates it, nothing is deleted" in result.stdout


def test_apply_deletes_no_pending_replacement_model_after_up(graph, applied) -> None:
    """A retained delete of a SageMaker model is one apply deletes after ``up`` (``apply/forgotten.py``) only when
    Pulumi forgot it (``retainOnDelete``); a model already deleted (``pendingReplacement``) is not looked for."""
    from mlops_infra.apply.forgotten import forgotten_objects

    model = next(r for r in resources(applied) if r["type"] == "aws:sagemaker/model:Model")
    assert model.get("retainOnDelete") is True  # the canary's model: kept by the rollout (compile/aws/serving._kept)
    for pending, listed in ((False, 1), (True, 0)):
        orphan = {**json.loads(json.dumps(model)), "urn": model["urn"].rsplit("::", 1)[0] + "::old-model",
                  "id": "old-model", "outputs": {**model["outputs"], "name": "old-model"}}
        if pending:
            orphan["pendingReplacement"] = True
        state = json.loads(json.dumps(applied))
        resources(state).append(orphan)
        prior = parse_state(dumps(state), "state.json")
        plan = make_plan(graph, prior)
        assert _change(plan, orphan["urn"]).retained
        assert [o.name for o in forgotten_objects(plan, prior)] == ["old-model"] * listed


# -- stateformats-2: taint -----------------------------------------------------------------------------------------


def test_a_tainted_endpoint_is_replaced_not_no_changes(graph, applied) -> None:
    urn = _endpoint_urn(applied)
    for data in (dumps(_flagged(applied, taint=True)).encode(), dumps(_flagged(applied, taint=True))):
        prior = parse_state(data, "state.json")
        assert prior.resources[urn].taint and sum(r.taint for r in prior.resources.values()) == 1
    for plan in _plans(graph, _flagged(applied, taint=True)):
        change = _change(plan, urn)
        assert change.action is Action.REPLACE and change.reason.code == "tainted"
        assert "tainted in the state (`pulumi state taint`)" in change.reason.message
        assert plan.counts.replace == 3 and plan.to_json()["summary"]["replace"] == 3  # with its autoscaling
        # a taint asks no provider: create-first (the endpoint's option is unset), and its fixed name collides
        assert not change.delete_before_replace
        [warning] = plan.warnings
        assert "is replaced create-first (a tainted resource's replace asks no provider" in warning
        assert f"untaint it (`pulumi state untaint '{urn}'`)" in warning and "bug in mlops-infra" not in warning
        assert "No changes" not in human.render_text(plan)


def test_a_taint_is_replaced_before_the_diff_of_a_change_in_place(graph, applied) -> None:
    """Whatever the inputs say (here an in-place change of the endpoint's tags), a tainted resource is replaced."""
    urn = _endpoint_urn(applied)
    state = edit_resource(applied, _endpoint, lambda r: (r.update(taint=True), r["inputs"].update(tags={"x": "y"})))
    for plan in _plans(graph, state):
        change = _change(plan, urn)
        assert change.action is Action.REPLACE and change.reason.code == "tainted"
        assert "; also tags" in change.reason.message and "can be updated in place" in change.reason.message


# -- stateformats-3: copies pending deletion -----------------------------------------------------------------------


def _doomed(checkpoint: dict[str, Any], predicate=_endpoint, **fields: Any) -> dict[str, Any]:
    """``checkpoint`` with an old copy of the resource ``predicate`` finds, marked ``delete: true`` (id
    ``old-physical``), just before it, as the engine leaves one."""
    state = json.loads(json.dumps(checkpoint))
    records = resources(state)
    index = next(i for i, r in enumerate(records) if predicate(r))
    records.insert(index, {**json.loads(json.dumps(records[index])), "delete": True, "id": "old-physical", **fields})
    return state


def test_a_copy_pending_deletion_is_kept_apart_from_the_live_resource(applied) -> None:
    urn = _endpoint_urn(applied)
    for data in (dumps(_doomed(applied)).encode(), dumps(_doomed(applied))):
        prior = parse_state(data, "state.json")
        assert prior.resources[urn].id == next(r["id"] for r in resources(applied) if r["urn"] == urn)
        assert [(r.urn, r.id) for r in prior.pending_deletes] == [(urn, "old-physical")]


def test_a_copy_pending_deletion_is_planned_as_a_destroy_beside_no_changes(graph, applied) -> None:
    urn = _endpoint_urn(applied)
    for plan in _plans(graph, _doomed(applied)):
        doomed = _change(plan, urn, Action.DELETE)
        assert doomed.reason.code == "pending-delete" and doomed.destroys and not doomed.blocked
        assert "(id old-physical)" in doomed.reason.message and "pending deletion (delete: true)" in doomed.reason.message
        assert doomed.address == "endpoints.scorer"
        assert _change(plan, urn, Action.NOOP)  # the live endpoint itself is unchanged
        ours = [c.action for c in plan.changes if c.urn == urn]
        assert ours == [Action.DELETE, Action.NOOP]  # the copy first, then its URN's own change
        assert plan.has_changes and plan.counts.destroy == 1 and plan.counts.total == 1
        doc = json.loads(json.dumps(plan.to_json()))
        assert doc["summary"]["destroy"] == 1 and doc["summary"]["hasChanges"] is True
        assert [c["action"] for c in doc["resourceChanges"] if c["urn"] == urn] == ["delete", "no-op"]
        assert Plan.from_json(doc).changes == plan.changes
        text = human.render_text(plan)
        assert "No changes" not in text and "Plan: 0 to add, 0 to change, 0 to replace, 1 to destroy." in text
        assert "will be deleted by the next update" in text


def test_a_protected_copy_pending_deletion_is_deleted_and_a_retained_one_left_out(graph, applied) -> None:
    """closing-42a-4: the engine deletes a ``delete: true`` copy with a replacing DeleteStep, which never checks
    ``protect`` (pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``: ``if !s.replacing &&
    s.old.Protect``; ``NewDeleteReplacementStep`` sets ``replacing: true``). The plan says so: a destroy, not blocked,
    and a warning; before, it was "blocked" and asked for a `pulumi state unprotect` of a URN two records share."""
    urn = _endpoint_urn(applied)
    for plan in _plans(graph, _doomed(applied, protect=True)):
        doomed = _change(plan, urn, Action.DELETE)
        assert doomed.reason.code == "pending-delete" and doomed.destroys and doomed.blocked is None
        assert "whatever its protect" in doomed.reason.message
        assert plan.counts.blocked == 0 and plan.counts.destroy == 1
        [warning] = [w for w in plan.warnings if "old-physical" in w]
        assert "protected scorer-endpoint" in warning and "deletes it" in warning
    for plan in _plans(graph, _doomed(applied, retainOnDelete=True)):  # the engine only drops it from the state
        assert [c.action for c in plan.changes if c.urn == urn] == [Action.NOOP]
    for plan in _plans(graph, _doomed(applied, retainOnDelete=True, protect=True)):  # retained first, protect or not
        assert [c.action for c in plan.changes if c.urn == urn] == [Action.NOOP]


def test_apply_is_not_refused_for_a_protected_copy_pending_deletion(repo: Path, pulumi) -> None:
    result = _apply_ran_up(repo, pulumi, _doomed(fraud_dev_state(), _retrain_trigger, protect=True))  # not refused
    assert "0 to add, 0 to change, 0 to replace, 1 to destroy." in result.stdout, result.output
    assert "blocked" not in result.output.lower() and "pulumi state unprotect" not in result.output


def test_apply_runs_up_for_a_copy_pending_deletion(repo: Path, pulumi) -> None:
    result = _apply_ran_up(repo, pulumi, _doomed(fraud_dev_state(), _retrain_trigger))
    assert "Nothing to apply" not in result.stdout and "No changes" not in result.stdout, result.output
    assert "0 to add, 0 to change, 0 to replace, 1 to destroy." in result.stdout, result.output
    assert "pending deletion (delete: true), will be deleted by the next update" in result.stdout


def test_a_copy_pending_deletion_alone_is_not_the_resource(graph, applied) -> None:
    """Only the old copy left (the create of its replacement never recorded): the engine does not take it as the
    resource of its URN, so the endpoint is created and the copy deleted."""
    urn = _endpoint_urn(applied)
    state = _doomed(applied)
    resources(state).remove(next(r for r in resources(state) if r["urn"] == urn and not r.get("delete")))
    for plan in _plans(graph, state):
        assert [(c.action, c.reason.code) for c in plan.changes if c.urn == urn] == [
            (Action.DELETE, "pending-delete"), (Action.CREATE, "new")]


# -- stateformats-5: version-4 features ----------------------------------------------------------------------------


def _v4(checkpoint: dict[str, Any], features: list[str]) -> dict[str, Any]:
    return {**json.loads(json.dumps(checkpoint)), "version": 4, "features": features}


@pytest.mark.parametrize(("features", "named"), [
    (["views"], "Features views."),
    (["taint", "replaceWith", "byteString"], "Features byteString, replaceWith."),
    (["a-feature-from-pulumi-3.400", "snippets-prototype"], "Features a-feature-from-pulumi-3.400, snippets-prototype."),
    (["taint", "x" * 200, "views"], "Features views and 1 more not shown."),
])
def test_a_v4_state_with_features_not_read_is_refused_naming_them(applied, features, named) -> None:
    for data in (dumps(_v4(applied, features)).encode(), dumps(_v4(applied, features))):
        with pytest.raises(StateError) as info:
            parse_state(data, "prod.json")
        assert info.value.summary == "the state uses Pulumi features mlops-infra does not read"
        assert info.value.detail.startswith(named) and "Upgrade mlops-infra" in info.value.detail
        assert "x" * 65 not in str(info.value)


def test_a_v4_state_with_features_read_is_planned(graph, applied) -> None:
    state = _v4(_flagged(applied, taint=True), ["taint", "refreshBeforeUpdate", "hooks", "extensionParameterization"])
    for plan in _plans(graph, state):
        assert _change(plan, _endpoint_urn(applied)).reason.code == "tainted"
    # a version-3 document's features are not Pulumi's to check (checkpoint.go checks version 4 only)
    assert parse_state(dumps({**applied, "features": ["views"]}), "v3.json").version == 3


def test_plan_refuses_it_cleanly(tmp_path: Path) -> None:
    state = tmp_path / "prod.json"
    state.write_text(json.dumps({"version": 4, "features": ["views"], "deployment": {"resources": []}}))
    result = run_cli("plan", str(REFERENCE), "--env", "prod", "--state", str(state))
    assert result.code == 1 and "Traceback" not in result.output
    assert "the state uses Pulumi features mlops-infra does not read" in result.output and "views" in result.output


# -- stateformats-7: resources read with Resource.get --------------------------------------------------------------


def _with_read_role(checkpoint: dict[str, Any], **fields: Any) -> tuple[dict[str, Any], str]:
    """``checkpoint`` plus an IAM role read with ``Resource.get`` by an earlier program (no longer desired)."""
    state = json.loads(json.dumps(checkpoint))
    stack = next(r for r in resources(state) if r["type"] == "pulumi:pulumi:Stack")
    urn = stack["urn"].split("::pulumi:pulumi:Stack::")[0] + "::aws:iam/role:Role::shared-role"
    resources(state).append({"urn": urn, "type": "aws:iam/role:Role", "custom": True, "id": "shared-role",
                             "external": True, "parent": stack["urn"], "inputs": {}, "outputs": {"name": "shared-role"},
                             **fields})
    return state, urn


def test_a_read_resource_no_longer_desired_is_dropped_not_destroyed(graph, applied) -> None:
    state, urn = _with_read_role(applied)
    for plan in _plans(graph, state):
        change = _change(plan, urn)
        assert change.action is Action.DELETE and change.retained and not change.destroys and not change.blocked
        assert change.reason.code == "read-resource" and "nothing is deleted" in change.reason.message
        assert plan.counts.destroy == 0 and plan.to_json()["summary"]["destroy"] == 0
        text = human.render_text(plan)
        line = text[text.index("- shared-role ("):].splitlines()[1]
        assert "it will be dropped from the state, nothing is deleted" in line and "destroyed" not in line
        assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy." in text
    protected, urn = _with_read_role(applied, protect=True)  # DeleteStep.Apply refuses a protected one first
    for plan in _plans(graph, protected):
        assert _change(plan, urn).blocked and plan.counts.blocked == 1


def test_a_desired_resource_held_as_read_is_replaced_deleting_nothing(graph, applied) -> None:
    urn = _endpoint_urn(applied)
    for plan in _plans(graph, _flagged(applied, external=True)):
        change = _change(plan, urn)
        assert change.action is Action.REPLACE and change.reason.code == "read-resource"
        assert not change.delete_before_replace and "nothing is deleted" in change.reason.message


def test_apply_deletes_no_read_model_after_up(graph, applied) -> None:
    """A SageMaker model read with Resource.get and no longer desired is no model apply deletes after ``up``."""
    from mlops_infra.apply.forgotten import forgotten_objects

    model = next(r for r in resources(applied) if r["type"] == "aws:sagemaker/model:Model")
    orphan = {**json.loads(json.dumps(model)), "urn": model["urn"].rsplit("::", 1)[0] + "::read-model",
              "id": "read-model", "external": True, "outputs": {**model["outputs"], "name": "read-model"}}
    state = json.loads(json.dumps(applied))
    resources(state).append(orphan)
    prior = parse_state(dumps(state), "state.json")
    plan = make_plan(graph, prior)
    assert _change(plan, orphan["urn"]).retained
    assert forgotten_objects(plan, prior) == ()


def test_apply_drains_no_queue_pulumi_only_drops_from_the_state() -> None:
    """``apply`` holds and drains (Kueue evicts their workloads) the ClusterQueues the plan deletes
    (``apply/queue_drain.condemned_queues``): not one whose delete Pulumi only drops from the state."""
    from mlops_infra.apply.queue_drain import condemned_queues
    from mlops_infra.plan.model import Reason

    kind = "kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue"

    def delete(name: str, retained: bool) -> ResourceChange:
        return ResourceChange(urn=f"urn:pulumi:dev::p::{kind}::{name}", type=kind, name=name, action=Action.DELETE,
                              reason=Reason("read-resource" if retained else "removed-from-spec", ""), retained=retained)

    assert condemned_queues([delete("shared", True), delete("gone", False)]) == ["gone"]
