"""``plan --refresh`` of a Kubernetes environment with Kueue queues reads them at the version the compiler
writes (kueue.x-k8s.io/v1beta2) and finds no drift on a cluster left as applied, and does find an edit.

The user's path: the environment's kubeconfig context points at the Kubernetes API stand-in
(tests/support/kube_api.py), which holds what ``pulumi up`` left (tests/support/applied_state.py), with
the Kueue CRDs of the fixtures (v1beta2 served and stored; v1beta1 served too). A read at v1beta1 would
get Kueue's conversion, whose ClusterQueue says ``spec.cohort`` where the applied v1beta2 object says
``spec.cohortName`` (kueue ``apis/kueue/v1beta1/clusterqueue_conversion.go``): the drift would be false.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from mlops_infra.cli.main import main
from tests.compile.kubernetes.test_kueue_cohort import DOC, SHARED
from tests.state.test_kube_live import cluster_crds
from tests.support.applied_state import applied_state, dumps
from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import compile_text

pytestmark = pytest.mark.timeout(180)

SPEC = DOC.replace("    guardrails: {max_gpus: 1}\n", "")


def plan_refresh(capsys, monkeypatch, tmp_path: Path, edit=None) -> tuple[int, str, list[str]]:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    graph = compile_text(SPEC)
    checkpoint = applied_state(graph)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint), encoding="utf-8")
    with KubeApiStandIn(crds=cluster_crds()) as api:
        for r in checkpoint["checkpoint"]["latest"]["resources"]:
            if r["type"].startswith("kubernetes:") and r.get("custom"):
                api.seed(copy.deepcopy({k: v for k, v in r["inputs"].items() if k != "__defaults"}))
        if edit is not None:
            edit(api)
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "dev-cluster",
            "clusters": [{"name": "c", "cluster": {"server": api.url}}], "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "dev-cluster", "context": {"cluster": "c", "user": "u"}}]}))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        with pytest.raises(SystemExit) as exit_info:
            main(["plan", str(spec), "--env", "dev", "--state", str(state), "--refresh"])
        paths = [r.path for r in api.requests_for("GET", "/kueue.x-k8s.io/")]
    out, _ = capsys.readouterr()
    return exit_info.value.code, " ".join(out.split()), paths


def test_an_unchanged_cluster_reads_the_queues_at_v1beta2_and_has_no_drift(capsys, monkeypatch, tmp_path) -> None:
    code, text, paths = plan_refresh(capsys, monkeypatch, tmp_path)
    assert code == 0, text
    assert "Drift: none" in text and "could not be read" not in text
    for name in ("train", "train2", "t4", "solo", "apart", "spot"):
        assert f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/guarded-dev-{name}" in paths
        assert f"/apis/kueue.x-k8s.io/v1beta2/namespaces/guarded-dev/localqueues/{name}" in paths
    assert f"/apis/kueue.x-k8s.io/v1beta2/resourceflavors/{SHARED}" in paths
    assert not [p for p in paths if "/v1beta1/" in p]


def test_a_queue_moved_to_another_cohort_by_hand_is_drift(capsys, monkeypatch, tmp_path) -> None:
    def move(api: KubeApiStandIn) -> None:
        queue = api.get("kueue.x-k8s.io/v1beta2", "ClusterQueue", "guarded-dev-train2")
        queue["spec"]["cohortName"] = "elsewhere"
        api.seed(queue)

    code, text, _ = plan_refresh(capsys, monkeypatch, tmp_path, move)
    assert code == 0, text
    assert "Drift: 1 resource changed outside mlops-infra since the last apply" in text
    assert "~ spec.cohortName: \"team\" (last applied) -> \"elsewhere\" (live)" in text
