"""Readiness on Kubernetes live state (mlops_infra/state/kube_live.py keeps the status,
mlops_infra/plan/readiness.py judges it) against the Kubernetes API stand-in (tests/support/kube_api.py,
with ``workload_status``: the status the workload controllers write once done) and the KServe stand-in
(tests/support/kserve.py, with ``ready_conditions``: KServe 0.15's ``Ready``). The quickstart's dev
environment as ``pulumi up`` left it, then a rollout that failed outside Pulumi: the readings carry the
status from the scan's own GET (no request of its own), and the plan says which resource is not ready."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.kube import KubeClient, RetryPolicy
from mlops_infra.plan.planner import make_plan
from mlops_infra.plan.readiness import DEPLOYMENT, INFERENCE_SERVICE, JOB, not_ready
from mlops_infra.state import kube_live
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file
from tests.state.test_kube_live import cluster_crds
from tests.support.applied_state import applied_state
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn

pytestmark = pytest.mark.timeout(120)
QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart" / "mlsystem.yaml"
TIMED_OUT = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": 'ReplicaSet "{name}-7d9f8b6c5" has timed out progressing.'}


@pytest.fixture(scope="module")
def graph():
    return compile_file(QUICKSTART, "dev")


@pytest.fixture(scope="module")
def prior(graph):
    return parse_state(json.dumps(applied_state(graph)), "prior.json")


def applied(prior) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.inputs.items() if k != "__defaults"}
            for r in prior.resources.values() if kube_live.readable(r)]


def cluster(prior) -> tuple[KubeApiStandIn, KServeRevisions]:
    """The cluster as ``pulumi up`` leaves it, once its controllers are done."""
    api = KubeApiStandIn(crds=cluster_crds(), server_fields=True, workload_status=True).start()
    kserve = KServeRevisions(api, ready_conditions=True)
    for obj in applied(prior):
        api.seed(copy.deepcopy(obj))
    kserve.sync()
    return api, kserve


def scan(api: KubeApiStandIn, prior) -> Any:
    kube = KubeClient.from_url(api.url, token="t", retry=RetryPolicy(attempts=2, base_delay=0.01))
    return kube_live.scan_kubernetes(prior.resources.values(), kube)


def one(prior, kind: str) -> dict[str, Any]:
    return next(o for o in applied(prior) if o["kind"] == kind)


def test_a_healthy_cluster_is_ready_and_its_status_costs_no_request_of_its_own(graph, prior) -> None:
    api, _ = cluster(prior)
    try:
        live = scan(api, prior)
        gets = api.requests_for("GET")
    finally:
        api.stop()
    readable = [r for r in prior.resources.values() if kube_live.readable(r)]
    assert len(gets) == len(readable)  # one GET per object, as before: the status comes with it
    assert live.errors == {} and not_ready(live) == {}
    kept = {r.type for r in live.resources.values() if r.outputs}
    assert kept == {DEPLOYMENT, INFERENCE_SERVICE, JOB} == set(kube_live.STATUS_KINDS)
    isvc = next(r for r in live.resources.values() if r.type == INFERENCE_SERVICE)
    assert {"type": "Ready", "status": "True"}.items() <= next(
        c for c in isvc.outputs["status"]["conditions"] if c["type"] == "Ready").items()
    assert all(c.reason.code != "not-ready" for c in make_plan(graph, prior, live=live).changes)


def test_a_failed_rollout_and_a_failed_revision_are_not_ready_in_the_plan(graph, prior) -> None:
    deployment = one(prior, "Deployment")
    isvc = one(prior, "InferenceService")
    api, kserve = cluster(prior)
    try:
        stored = api.get("apps/v1", "Deployment", deployment["metadata"]["name"], deployment["metadata"]["namespace"])
        timed_out = {**TIMED_OUT, "message": TIMED_OUT["message"].format(name=deployment["metadata"]["name"])}
        stored["status"]["conditions"] = [stored["status"]["conditions"][0], timed_out]
        api.seed(stored)
        revision = kserve.settle(isvc["metadata"]["name"], "failed",
                                 "Back-off pulling image \"ghcr.io/acme/scorer:4\"", isvc["metadata"]["namespace"])
        live = scan(api, prior)
    finally:
        api.stop()
    found = not_ready(live)
    by_kind = {f.type: f for f in found.values()}
    assert set(by_kind) == {DEPLOYMENT, INFERENCE_SERVICE}
    assert by_kind[DEPLOYMENT].why == f"ProgressDeadlineExceeded: {timed_out['message']}"
    assert by_kind[INFERENCE_SERVICE].why == (f'RevisionFailed: Revision "{revision}" failed with message: '
                                              'Back-off pulling image "ghcr.io/acme/scorer:4".')
    plan = make_plan(graph, prior, live=live)
    marked = [c for c in plan.changes if c.reason.code == "not-ready"]
    assert {c.urn for c in marked} == set(found) and all(c.action.value == "no-op" for c in marked)
    assert not plan.has_changes


def test_a_revision_still_deploying_is_not_reported(graph, prior) -> None:
    isvc = one(prior, "InferenceService")
    api, kserve = cluster(prior)
    try:
        kserve.settle(isvc["metadata"]["name"], "deploying", namespace=isvc["metadata"]["namespace"])
        live = scan(api, prior)
    finally:
        api.stop()
    assert not_ready(live) == {}


def test_a_failed_register_job_is_replaced_as_its_provider_does(graph, prior) -> None:
    job = one(prior, "Job")
    assert job["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    api, _ = cluster(prior)
    try:
        api.seed({**job, "status": {"failed": 5, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit"}]}})
        live = scan(api, prior)
    finally:
        api.stop()
    plan = make_plan(graph, prior, live=live)
    (change,) = [c for c in plan.changes if c.reason.code == "not-ready"]
    assert (change.type, change.action.value, change.delete_before_replace) == (JOB, "replace", True)
    assert plan.counts.replace == 1 and plan.has_changes
    assert "BackoffLimitExceeded: Job has reached the specified backoff limit" in change.reason.message
