"""A cluster named ``default`` in a Kubernetes environment is refused (audit k8sapply-1; spec/names.py).

Its LocalQueue is named after it (compile/kubernetes/queues.py ``local_queue_name``), and Kueue v0.19.0 labels
every batch Job of the namespace without a ``kueue.x-k8s.io/queue-name`` label with ``default`` when a LocalQueue
of that name exists (``pkg/controller/jobs/job/job_webhook.go`` ``JobWebhook.Default`` ->
``pkg/controller/jobframework/defaults.go`` ``ApplyDefaultLocalQueue``; ``LocalQueueDefaulting`` GA, locked on
since v0.17). The compiled helper Jobs carry no queue label (pinned here), so nothing but the name can keep them
out of the training cluster's queue. Before the fix ``validate`` of this document said "0 errors".
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile.kubernetes import queues
from mlops_infra.spec import parse_system
from tests.support.cli import run_cli
from tests.support.kube_cases import compile_text, objects

REFERENCE = (Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
DEFAULT = REFERENCE.replace("gpu-train", "default")
"""The reference with its only cluster named ``default`` (line 38: ``  - name: default``); environments dev
(Kubernetes), staging and prod (AWS)."""


def test_validate_refuses_a_cluster_named_default_at_its_name_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(DEFAULT)

    result = run_cli("validate", str(path))

    assert result.code == 1
    assert f'{path}:38:11: error: Cluster name "default" would make Kueue queue every Job of namespace fraud-dev' \
        in result.output
    assert "makes a LocalQueue named default the queue of every batch Job in its namespace without a " \
           "kueue.x-k8s.io/queue-name label" in result.output
    assert 'Rename the cluster (for example "gpu-train")' in result.output
    assert "Traceback" not in result.output


def test_only_environments_with_a_kubernetes_target_refuse_it() -> None:
    found = [d for d in parse_system(DEFAULT, "mlsystem.yaml").diagnostics if d.code == "kueue-default-queue"]
    assert [(d.is_error, d.path, d.address) for d in found] == [(True, ("clusters", 0, "name"), "clusters.default")]
    assert "In environment dev (Kubernetes)" in found[0].detail

    aws_only = DEFAULT.replace("target: {kind: kubernetes, context: kind-mlops, namespace: fraud-dev}",
                               'target: {kind: aws, region: us-west-2, account: "333333333333"}')
    assert aws_only != DEFAULT
    assert not [d for d in parse_system(aws_only, "mlsystem.yaml").diagnostics if d.code == "kueue-default-queue"]


def test_the_helper_jobs_carry_no_queue_label_and_the_local_queue_is_the_cluster_name() -> None:
    """The premise of the check: with a LocalQueue ``default`` Kueue would label every one of these Jobs."""
    graph = compile_text(REFERENCE)
    kinds: dict[str, list[dict]] = {}
    for _, obj in objects(graph):
        kinds.setdefault(obj["kind"], []).append(obj)
    assert [o["metadata"]["name"] for o in kinds["LocalQueue"]] == ["gpu-train"]
    system = parse_system(REFERENCE, "mlsystem.yaml", env="dev").system
    assert queues.local_queue_name(system.clusters[0]) == "gpu-train"
    jobs = [o["metadata"] for o in kinds["Job"]] + [o["spec"]["jobTemplate"]["metadata"] for o in kinds["CronJob"]]
    assert len(jobs) >= 4  # the register Job, the rollout runner, the drift monitor, the launcher
    assert all(queues.QUEUE_LABEL not in (meta.get("labels") or {}) for meta in jobs)
