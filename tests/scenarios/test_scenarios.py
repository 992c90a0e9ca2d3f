"""Golden scenarios: the whole pipeline (load -> compile -> prior -> make_plan -> render), byte for byte.

Each folder is one behaviour, named as a sentence; see :mod:`tests.scenarios.harness` for what a
folder holds. Regenerate with ``pytest --update-golden`` (or
``MLOPS_INFRA_UPDATE_GOLDEN=1``) and review the diff: the files must read well to a platform engineer.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from tests.scenarios.harness import (
    OUTPUTS,
    SECRET_WEBHOOK_URL,
    build_inputs,
    render_scenario,
    scenario_folders,
)

REQUIRED = {
    "first-plan-creates-everything",
    "no-changes-after-apply",
    "replica-change-updates-in-place",
    "endpoint-accelerator-change-replaces-config",
    "removed-monitor-is-destroyed",
    "drift-found-after-out-of-band-change",
    "model-version-bump-with-canary-rollout",
    "secret-references-are-redacted",
    "fresh-environment-endpoint-waits-for-unregistered-model",
    "version-bump-keeps-serving-until-approved",
    "training-job-removed-keeps-the-artifacts-bucket",
    "removed-protected-data-source-is-blocked",
}


def _diff(expected: str, actual: str, name: str) -> str:
    lines = difflib.unified_diff(expected.splitlines(), actual.splitlines(), f"expected/{name}", f"actual/{name}",
                                 lineterm="", n=2)
    return "\n".join(list(lines)[:80])


def test_every_required_scenario_exists() -> None:
    assert not REQUIRED - {f.name for f in scenario_folders()}


@pytest.mark.parametrize("folder", scenario_folders(), ids=lambda p: p.name)
def test_scenario_matches_golden_files(folder: Path, update_golden: bool) -> None:
    if update_golden:
        build_inputs(folder)
    rendered = render_scenario(folder)
    for name in OUTPUTS:
        golden = folder / name
        if update_golden:
            golden.write_text(rendered[name], encoding="utf-8")
            continue
        assert golden.is_file(), f"{golden} is missing: run pytest --update-golden"
        expected = golden.read_text(encoding="utf-8")
        assert rendered[name] == expected, (
            f"{folder.name}/{name} differs from the golden file (pytest --update-golden "
            f"to accept, then review the diff):\n{_diff(expected, rendered[name], name)}")


def _golden(name: str) -> dict[str, str]:
    folder = next(f for f in scenario_folders() if f.name == name)
    return {n: (folder / n).read_text(encoding="utf-8") for n in OUTPUTS}


def test_first_plan_only_creates() -> None:
    plan = json.loads(_golden("first-plan-creates-everything")["plan.json"])
    actions = {c["action"] for c in plan["resourceChanges"]}
    assert actions == {"create"}
    assert plan["summary"]["add"] > 0 and plan["stateSerial"] == "0" * 64


def test_no_changes_after_apply_says_so() -> None:
    golden = _golden("no-changes-after-apply")
    assert golden["plan.txt"].splitlines()[-1] == "No changes. Your ML system matches the desired state."
    assert json.loads(golden["plan.json"])["summary"]["hasChanges"] is False


def test_replica_change_is_an_update_not_a_replace() -> None:
    plan = json.loads(_golden("replica-change-updates-in-place")["plan.json"])
    assert plan["summary"]["change"] >= 1
    assert plan["summary"]["replace"] == 0 and plan["summary"]["destroy"] == 0


def test_accelerator_change_replaces_the_endpoint_config() -> None:
    plan = json.loads(_golden("endpoint-accelerator-change-replaces-config")["plan.json"])
    replaced = [c for c in plan["resourceChanges"]
                if c["type"] == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"]
    assert replaced and all(c["action"] in ("replace", "create") for c in replaced)
    assert "# forces replacement" in _golden("endpoint-accelerator-change-replaces-config")["plan.txt"] or any(
        c["action"] == "create" for c in replaced)


def test_removed_monitor_is_destroyed() -> None:
    plan = json.loads(_golden("removed-monitor-is-destroyed")["plan.json"])
    deleted = [c for c in plan["resourceChanges"] if c["action"] == "delete"]
    assert deleted and all(c["address"] and c["address"].startswith(("monitors.", "alerts.")) for c in deleted)
    assert plan["summary"]["add"] == 0


def test_drift_comes_first() -> None:
    golden = _golden("drift-found-after-out-of-band-change")
    plan = json.loads(golden["plan.json"])
    assert plan["refreshed"] is True and len(plan["drift"]) == 3
    text = golden["plan.txt"]
    assert text.index("Drift: 3 resources changed outside mlops-infra") < text.index("Resource changes")


def test_model_version_bump_tells_the_rollout() -> None:
    golden = _golden("model-version-bump-with-canary-rollout")
    ml = json.loads(golden["plan.json"])["ml"]
    bump = next(m for m in ml if m["kind"] == "model-version" and m["address"] == "endpoints.scorer")
    assert "v12 -> v13" in bump["summary"]
    assert "canary 2% -> 5% -> 10% -> 25% -> 75% -> 100%" in bump["summary"]
    assert "rollout extra" in golden["plan.txt"]


def test_secret_values_appear_in_no_output_and_the_name_may() -> None:
    golden = _golden("secret-references-are-redacted")
    folder = next(f for f in scenario_folders() if f.name == "secret-references-are-redacted")
    prior = (folder / "prior.json").read_text(encoding="utf-8")
    assert SECRET_WEBHOOK_URL in prior  # the secret really is in what the planner read
    for name, text in golden.items():
        assert SECRET_WEBHOOK_URL not in text, name
        assert "hooks.slack.com" not in text, name
        assert "T0FAKE000" not in text and "fAkEsEcReTvAlUe" not in text, name
    assert "slack-oncall-webhook" in golden["plan.txt"]


SERVING_TYPES = {"aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                 "aws:sagemaker/endpoint:Endpoint", "aws:appautoscaling/target:Target", "aws:appautoscaling/policy:Policy"}


def test_fresh_environment_creates_all_but_the_waiting_endpoint_and_says_why() -> None:
    """Finding A1: the first plan of a fresh AWS environment whose model is not registered."""
    from tests.scenarios.harness import compile_file

    folder = next(f for f in scenario_folders() if f.name == "fresh-environment-endpoint-waits-for-unregistered-model")
    golden = _golden(folder.name)
    plan = json.loads(golden["plan.json"])
    created = {c["urn"] for c in plan["resourceChanges"] if c["action"] == "create"}
    assert {c["action"] for c in plan["resourceChanges"]} == {"create"}
    everything = compile_file(folder / "mlsystem.yaml", "prod")  # every pinned version assumed
    waiting = {r.urn for r in everything.resources if r.type in SERVING_TYPES}
    # no canary can run without the endpoint, so the rollout runner is not created either (nor the canary's
    # rollback alarm, which announces the runner's rollbacks)
    runner = {r.urn for r in everything.resources if r.address == "platform" and r.name.startswith("rollout-")}
    notice = {r.urn for r in everything.resources if r.role == "rollback-alarm"}
    # the runner's 10: with its invoke config, Errors alarm and dropped alarm (lambda_failures.py)
    assert len(waiting) == 5 and len(runner) == 10 and len(notice) == 1
    runner |= notice
    assert created == {r.urn for r in everything.resources} - waiting - runner
    check = next(m for m in plan["ml"] if m["kind"] == "version-check")
    assert check["details"]["basis"] == "registry" and check["details"]["state"] == "waiting"
    assert "scorer: waits for fraud-model v12: it is not registered in group fraud-detection-prod-fraud-model" \
        in golden["plan.txt"]
    assert plan["cost"]["after"]["maxUsd"] < 1000  # the waiting endpoint's GPUs are not priced


def test_version_bump_keeps_serving_until_approved() -> None:
    plan = json.loads(_golden("version-bump-keeps-serving-until-approved")["plan.json"])
    custom = [c for c in plan["resourceChanges"] if c["custom"] and c["action"] != "no-op"]
    assert custom == []  # nothing moves to v13, the alarms keep watching v12
    check = next(m for m in plan["ml"] if m["kind"] == "version-check")
    assert (check["details"]["state"], check["details"]["serve"]) == ("holding", 12)
    assert "PendingManualApproval" in check["summary"]


def test_accelerator_change_on_an_autoscaled_endpoint_is_ordered() -> None:
    """Finding A3: the plan shows deregister -> update -> register for the autoscaled scorer."""
    golden = _golden("endpoint-accelerator-change-replaces-config")
    plan = json.loads(golden["plan.json"])
    (sequence,) = plan["sequences"]
    assert [s["action"] for s in sequence["steps"]] == ["deregister", "update", "register"]
    # the scorer is a canary: its config is landed by the rollout controller, which deregisters around it
    assert sequence["runner"] == "rollout"
    assert "the rollout controller runs, in order: 1. deregister scorer-scalable-target" in golden["plan.txt"]
    assert "at its next pass after the apply (same model: at once, no canary)" in golden["plan.md"]


def test_blue_green_instance_change_is_deregister_update_register_run_by_apply() -> None:
    """Finding A3, the Pulumi-run case: a blue/green endpoint's config is switched by `pulumi up`, so
    apply runs the AWS order itself (a first phase deregisters the target and policy)."""
    golden = _golden("blue-green-instance-change-deregisters-autoscaling-first")
    plan = json.loads(golden["plan.json"])
    (sequence,) = plan["sequences"]
    assert sequence["runner"] == "apply"
    assert [s["action"] for s in sequence["steps"]] == ["deregister", "update", "register"]
    assert "applied in order: 1. deregister scorer-scaling-policy, scorer-scalable-target" in golden["plan.txt"]
    assert "autoscaling pauses meanwhile" in golden["plan.txt"] and "autoscaling pauses meanwhile" in golden["plan.md"]


def test_training_job_removed_keeps_the_artifacts_bucket() -> None:
    """Audit removal-2: the platform artifacts bucket holds v12's data; removing the job deletes no bucket,
    and the serving role keeps reading every training prefix of it."""
    plan = json.loads(_golden("training-job-removed-keeps-the-artifacts-bucket")["plan.json"])
    deleted = [c for c in plan["resourceChanges"] if c["action"] == "delete"]
    # the job's resources, and ml-team's TopicPolicy: no job's failed runs are told to it any more, and the
    # TopicPolicy's delete puts SNS's default policy back (compile/aws/training_failures.py)
    assert deleted and all(c["address"] == "training_jobs.retrain" for c in deleted if c["address"] != "channels.ml-team")
    assert [(c["type"], c["name"]) for c in deleted if c["address"] == "channels.ml-team"] == [
        ("aws:sns/topicPolicy:TopicPolicy", "ml-team-topic-policy")]
    serving = next(c for c in plan["resourceChanges"] if c["name"] == "scorer-serving-policy")
    assert not any("training/" in str(a["before"]) and a["after"] is None for a in serving["changes"])


def test_removed_protected_data_source_is_blocked_whole() -> None:
    """Audit removal-1: the bucket and its five configuration resources are blocked; nothing to destroy."""
    golden = _golden("removed-protected-data-source-is-blocked")
    plan = json.loads(golden["plan.json"])
    store = [c for c in plan["resourceChanges"] if c["address"] == "data_sources.feature-snapshots" and c["custom"]]
    assert len(store) == 6 and all(c["action"] == "delete" and c["blocked"] for c in store)
    assert (plan["summary"]["destroy"], plan["summary"]["blocked"]) == (0, 6)
    assert golden["plan.txt"].rstrip().endswith("0 to destroy, 6 blocked.")
