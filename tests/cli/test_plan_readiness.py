"""``plan --refresh`` says which resources are not ready (mlops_infra/plan/readiness.py), in text, JSON
and the PR comment: the user's path, the quickstart's dev environment on the Kubernetes API stand-in
(tests/support/kube_api.py, ``workload_status``) and the KServe stand-in (tests/support/kserve.py,
``ready_conditions``), as ``pulumi up`` left it, then a Deployment whose rollout passed its progress
deadline and an InferenceService whose new revision failed, outside Pulumi. Before, the plan said
"No changes. Your ML system matches the desired state."; a healthy cluster's plan still does, byte for
byte, and a not-ready resource is no change (``--detailed-exitcode`` exits 0: apply would change nothing)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mlops_infra.cli.main import main
from tests.scenarios.harness import compile_file
from tests.state.test_kube_live import cluster_crds
from tests.support.applied_state import applied_state, dumps
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
pytestmark = pytest.mark.timeout(180)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture()
def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[KubeApiStandIn, KServeRevisions, dict]]:
    """The applied state in ``state.json``, the cluster as ``pulumi up`` left it with its controllers
    done, and the environment's kubeconfig context pointing at it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    graph = compile_file(QUICKSTART, "dev")
    checkpoint = applied_state(graph)
    (tmp_path / "state.json").write_text(dumps(checkpoint), encoding="utf-8")
    objects = {r["inputs"]["kind"]: {k: v for k, v in r["inputs"].items() if k != "__defaults"}
               for r in checkpoint["checkpoint"]["latest"]["resources"]
               if r["type"].startswith("kubernetes:") and r.get("custom")}
    with KubeApiStandIn(crds=cluster_crds(), server_fields=True, workload_status=True) as api:
        kserve = KServeRevisions(api, ready_conditions=True)
        for record in checkpoint["checkpoint"]["latest"]["resources"]:
            if record["type"].startswith("kubernetes:") and record.get("custom"):
                api.seed(copy.deepcopy({k: v for k, v in record["inputs"].items() if k != "__defaults"}))
        kserve.sync()
        context = graph.metadata["context"]
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "c", "cluster": {"server": api.url}}], "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": context, "context": {"cluster": "c", "user": "u"}}]}))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        yield api, kserve, objects


def plan(capsys, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "plan", str(QUICKSTART), "--env", "dev", "--state", "state.json", "--refresh", *extra)


def fail_rollouts(api: KubeApiStandIn, kserve: KServeRevisions, objects: dict) -> tuple[str, str, str]:
    """A Deployment past its progress deadline (the deployment controller's condition, as pulumi-kubernetes'
    await tests show it) and the InferenceService's newest revision failed by Knative."""
    deployment, isvc = objects["Deployment"], objects["InferenceService"]
    name, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
    stored = api.get("apps/v1", "Deployment", name, namespace)
    stored["status"]["conditions"] = [
        stored["status"]["conditions"][0],
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": f'ReplicaSet "{name}-7d9f8b6c5" has timed out progressing.'}]
    api.seed(stored)
    revision = kserve.settle(isvc["metadata"]["name"], "failed", "Back-off pulling image \"ghcr.io/acme/churn:9\"",
                             isvc["metadata"]["namespace"])
    return name, isvc["metadata"]["name"], revision


def test_a_healthy_cluster_still_plans_no_changes(capsys, cluster) -> None:
    code, out, err = plan(capsys, "--detailed-exitcode")
    assert code == 0, err
    assert "Not ready" not in out
    assert out.rstrip().splitlines()[-1] == "No changes. Your ML system matches the desired state."
    code, out, err = plan(capsys, "--format", "json")
    data = json.loads(out)
    assert "notReady" not in data["summary"]
    assert all(c["reason"]["code"] != "not-ready" for c in data["resourceChanges"])


def test_a_failed_rollout_and_a_failed_revision_are_shown_in_every_format(capsys, cluster) -> None:
    api, kserve, objects = cluster
    deployment, isvc, revision = fail_rollouts(api, kserve, objects)
    code, out, err = plan(capsys, "--detailed-exitcode")
    assert code == 0, err  # nothing to apply: a not-ready resource is no change
    text = " ".join(out.split())
    assert "Not ready: 2 resources read live are not ready; what to do is under each" in text
    assert (f"{deployment}: its rollout failed: the new ReplicaSet did not become available within "
            f'progressDeadlineSeconds (live: ProgressDeadlineExceeded: ReplicaSet "{deployment}-7d9f8b6c5" has '
            "timed out progressing.)") in text
    assert (f'{isvc}: not ready: its Ready condition is False (live: RevisionFailed: Revision "{revision}" '
            'failed with message: Back-off pulling image "ghcr.io/acme/churn:9".)') in text
    assert f"`kubectl -n churn-dev describe deployment {deployment}`" in text
    assert out.rstrip().splitlines()[-1] == "No changes to apply, but 2 resources are not ready (see Not ready above)."

    code, out, err = plan(capsys, "--format", "json")
    data = json.loads(out)
    assert data["summary"]["notReady"] == 2 and data["summary"]["hasChanges"] is False
    marked = {c["name"]: c for c in data["resourceChanges"] if c["reason"]["code"] == "not-ready"}
    assert set(marked) == {deployment, isvc} and {c["action"] for c in marked.values()} == {"no-op"}

    code, out, err = plan(capsys, "--format", "markdown")
    assert "**No changes to apply, but 2 resources are not ready (see Not ready above).**" in out
    assert "| **Not ready** | **2 resources** read live (see Not ready) |" in out
    assert "### Not ready\n" in out and f"**{deployment}** (`kubernetes:apps/v1:Deployment`)" in out


def test_a_failed_register_job_is_replaced_and_counted(capsys, cluster) -> None:
    """Its provider replaces a ``replaceUnready`` Job that is not complete when ``pulumi up`` runs: a
    change, so the plan counts it and ``--detailed-exitcode`` exits 2."""
    api, _, objects = cluster
    job = objects["Job"]
    api.seed({**job, "status": {"failed": 5, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
         "message": "Job has reached the specified backoff limit"}]}})
    code, out, err = plan(capsys, "--detailed-exitcode")
    assert code == 2, err
    text = " ".join(out.split())
    assert f"! models.churn-model: {job['metadata']['name']} (kubernetes:batch/v1:Job) [-/+ planned below]" in text
    assert "Plan: 0 to add, 0 to change, 1 to replace, 0 to destroy." in text
    assert "its provider replaces a pulumi.com/replaceUnready Job that is not complete" in text


def test_apply_of_a_saved_plan_with_only_not_ready_resources_applies_nothing(capsys, cluster, monkeypatch) -> None:
    """A not-ready resource is no change: ``apply --plan`` of such a plan stops before ``pulumi up``."""
    from mlops_infra.apply import engine

    api, kserve, objects = cluster
    fail_rollouts(api, kserve, objects)
    code, out, err = plan(capsys, "--out", "saved.json")
    assert code == 0, err
    monkeypatch.setattr(engine, "up", lambda *a, **k: pytest.fail("pulumi up ran for a plan with no changes"))
    code, out, err = run(capsys, "apply", str(QUICKSTART), "--env", "dev", "--state", "state.json",
                         "--plan", "saved.json", "--yes")
    assert code in (0, None), err
    assert "Not ready: 2 resources read live are not ready" in " ".join(out.split())
    assert "Nothing to apply" in out + err
    said = " ".join((out + err).split())
    assert "the stack already matches the system" not in said  # it does not: two resources are not ready
    assert "Pulumi would change nothing, but 2 resource(s) are not ready (see Not ready above" in said
