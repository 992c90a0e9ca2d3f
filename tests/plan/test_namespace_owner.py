"""plan/namespace_owner.py: the namespace's owner labels against those the compiled NamespacePatch
writes (finding collisions-2). The CLI tests (tests/cli/test_plan_namespace_owner.py) read the labels
from the Kubernetes stand-in; these pin the comparison and the advice."""

from __future__ import annotations

from pathlib import Path

from mlops_infra.plan.namespace_owner import ENVIRONMENT, SYSTEM, foreign_owner, owner_labels, refusal
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import load_state
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"


def _live(**labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fraud-dev", "labels": labels}}


def test_the_labels_compared_are_those_the_namespace_patch_writes() -> None:
    graph = compile_file(FRAUD, "dev")
    (patch,) = [r for r in graph.resources if r.type == "kubernetes:core/v1:NamespacePatch"]
    assert owner_labels(graph) == {SYSTEM: "fraud-detection", ENVIRONMENT: "dev"}
    assert {k: patch.inputs["metadata"]["labels"][k] for k in (SYSTEM, ENVIRONMENT)} == owner_labels(graph)
    assert foreign_owner(graph, None) is None  # not created yet
    assert foreign_owner(graph, _live(team="risk")) is None
    assert foreign_owner(graph, _live(**{SYSTEM: "fraud-detection"})) is None  # no environment label: ours
    assert foreign_owner(graph, _live(**{SYSTEM: "fraud-detection", ENVIRONMENT: "dev", "team": "x"})) is None
    found = foreign_owner(graph, _live(**{ENVIRONMENT: "prod"}))  # an environment label alone names another
    assert found is not None and found.theirs == {ENVIRONMENT: "prod"} and not found.applied_here


def test_a_stack_that_applied_there_first_is_told_how_to_take_its_labels_back(tmp_path: Path) -> None:
    graph = compile_file(FRAUD, "dev")
    (tmp_path / "state.json").write_text(dumps(applied_state(graph)), encoding="utf-8")
    prior = load_state(tmp_path / "state.json")
    live = _live(**{SYSTEM: "churn-quickstart", ENVIRONMENT: "dev"})
    found = foreign_owner(graph, live, prior.resources.values())
    assert found is not None and found.applied_here
    error = refusal(found, what="Nothing was applied")
    assert error.summary == ("namespace fraud-dev (context kind-mlops) belongs to system churn-quickstart, "
                             "environment dev, not to system fraud-detection, environment dev")
    assert "Nothing was applied." in error.detail and error.diagnostics == []
    assert "This stack's state already holds the namespace" in error.detail
    assert ("kubectl --context kind-mlops label namespace fraud-dev --overwrite "
            "mlops-infra/system=fraud-detection mlops-infra/environment=dev") in error.detail
    fresh = foreign_owner(graph, live)
    assert fresh is not None and "label namespace fraud-dev mlops-infra/system- mlops-infra/environment-" in (
        refusal(fresh).detail)


def test_the_refusal_points_at_the_environments_namespace_in_the_spec() -> None:
    loaded = load_system(FRAUD, "dev")
    graph = compile_file(FRAUD, "dev")
    found = foreign_owner(graph, _live(**{SYSTEM: "churn-quickstart"}))
    assert found is not None
    (diagnostic,) = refusal(found, loaded.document).diagnostics
    line = next(i for i, text in enumerate(FRAUD.read_text().splitlines(), 1) if "namespace: fraud-dev" in text)
    assert diagnostic.code == "namespace-owned-elsewhere" and diagnostic.location is not None
    assert (diagnostic.location.line, diagnostic.address) == (line, "environments.dev")
    assert FRAUD.read_text().splitlines()[line - 1][diagnostic.location.column - 1:].startswith("fraud-dev")
