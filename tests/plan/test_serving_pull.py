"""The plan warns when a serving role loses an ECR pull its served version may need (audit removal-2,
the image side; mlops_infra/plan/serving_pull.py).

The reference's model names no serving image: its versions are served by the training job's image.
Remove the job and an offline plan cannot know which image v12 was registered with; the compiler drops
the pull (tests/compile/aws/test_served_image_pull.py), and the plan says so. With a registry read the
compiler keeps the pull and nothing is dropped.
"""

from __future__ import annotations

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import policies
from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import make_plan
from mlops_infra.plan.serving_pull import PULL_SID, pull_warnings, pulls, serving_policy_updates
from mlops_infra.spec import parse_system
from mlops_infra.state.model_registry import offline_registry_view
from tests.support.removals import REFERENCE_TEXT, applied, graph_of, removal_plan, without_training_job
from tests.support.text_edits import edit

REPOSITORY = "arn:aws:ecr:us-east-1:123456789012:repository/fraud-train"
"""The repository of the reference job's image, which serves v12 (the model names no serving image)."""
SERVE_IMAGE = "222222222222.dkr.ecr.eu-west-1.amazonaws.com/fraud-serve:2.0.0"


def _warnings(desired_text: str, registry: RegistryView | None = None) -> list[str]:
    prior = applied(REFERENCE_TEXT, "prod")
    loaded = parse_system(desired_text, "mlsystem.yaml", "prod")
    assert loaded.system is not None
    view = registry if registry is not None else offline_registry_view(loaded.system, "prod", prior)
    graph = compile_system(loaded.system, "prod", registry=view)
    plan = make_plan(graph, prior)
    return pull_warnings(plan.changes, prior, graph.by_urn(), graph.model_versions)


def test_the_pull_statement_sid_is_the_compilers():
    [statement, _token] = policies.ecr_pull("ModelImages", [REPOSITORY])
    assert statement["Sid"] == PULL_SID


def test_removing_the_job_offline_warns_that_the_serving_role_loses_the_served_images_pull():
    [warning] = _warnings(without_training_job())
    assert warning.startswith(f"endpoints.scorer: its serving role (scorer-serving-policy) loses the ECR pull of "
                              f"{REPOSITORY}")
    assert "v12 of fraud-model" in warning
    assert "`mlops-infra plan --refresh`" in warning and "models.fraud-model.serving_image" in warning


def test_the_warning_is_in_the_plan():
    plan = removal_plan(without_training_job())
    assert [w for w in plan.warnings if w.startswith("endpoints.scorer: its serving role")], plan.warnings


def test_with_a_registry_read_the_pull_is_kept_and_nothing_is_said():
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
    group = ModelRegistry("fraud-model", "group fraud-detection-prod-fraud-model (222222222222/eu-west-1)",
                          "registry", True, {12: VersionRecord(12, "Approved", "Completed", image=image)})
    prior = applied(REFERENCE_TEXT, "prod")
    desired = without_training_job()
    loaded = parse_system(desired, "mlsystem.yaml", "prod")
    graph = compile_system(loaded.system, "prod", registry=RegistryView({"fraud-model": group}))
    plan = make_plan(graph, prior)
    [policy] = [c for c in plan.changes if c.name == "scorer-serving-policy"]
    assert pulls(prior.resources[policy.urn].inputs["policy"]) == {REPOSITORY}
    assert pulls(graph.by_urn()[policy.urn].inputs["policy"]) == {REPOSITORY}
    assert pull_warnings(plan.changes, prior, graph.by_urn(), graph.model_versions) == []


def test_a_registry_decision_that_drops_the_pull_is_not_warned_of():
    """The registry says v12 runs another image: the compiler grants that one, the old pull goes rightly."""
    group = ModelRegistry("fraud-model", "group fraud-detection-prod-fraud-model (222222222222/eu-west-1)",
                          "registry", True, {12: VersionRecord(12, "Approved", "Completed", image=SERVE_IMAGE)})
    assert _warnings(without_training_job(), RegistryView({"fraud-model": group})) == []


def test_nothing_is_said_when_no_pull_is_lost():
    assert _warnings(REFERENCE_TEXT) == []
    # a serving image named instead of the job: its repository is pulled, the job's is lost (v12 may run it)
    text = edit(without_training_job(), "    framework: pytorch\n",
                f"    framework: pytorch\n    serving_image: {SERVE_IMAGE}\n")
    [warning] = _warnings(text)
    assert f"loses the ECR pull of {REPOSITORY}," in warning


def test_only_updates_of_endpoint_role_policies_are_read():
    plan = removal_plan(without_training_job())
    updates = serving_policy_updates(plan.changes)
    assert [(c.address, c.name) for c in updates] == [("endpoints.scorer", "scorer-serving-policy")]
    assert all(c.action is Action.UPDATE for c in updates)
    # the removed job's own role policy is deleted, not read
    assert any(c.name == "retrain-training-policy" and c.action is Action.DELETE for c in plan.changes)


def test_policies_are_read_as_state_text_or_graph_json():
    graph = graph_of(REFERENCE_TEXT, "prod")
    [policy] = [r for r in graph.resources if r.name == "scorer-serving-policy"]
    assert pulls(policy.inputs["policy"]) == {REPOSITORY}
    assert pulls("not json") == frozenset() and pulls(None) == frozenset()
    assert pulls('{"Statement": [{"Sid": "ModelImagesPull", "Resource": "arn:aws:ecr:r:1:repository/x"}]}') == {
        "arn:aws:ecr:r:1:repository/x"}


def test_a_hundred_repositories_lost_are_six_names_and_how_many_more():
    """The warning named every repository whose pull the role loses: the first six, then how many more
    (:mod:`mlops_infra.name_lists`)."""
    from types import SimpleNamespace

    from mlops_infra.plan.serving_pull import _warning

    change = SimpleNamespace(address="endpoints.api", name="api-serve-policy")
    text = _warning(change, [f"repo-{i:03}" for i in range(100)], {"model": "scorer", "modelVersion": 3})
    assert ("endpoints.api: its serving role (api-serve-policy) loses the ECR pull of repo-000, repo-001, repo-002, "
            "repo-003, repo-004, repo-005 and 94 more, which the last apply granted") in text and "repo-006" not in text
