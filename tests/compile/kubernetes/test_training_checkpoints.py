"""A spot training run's checkpoints are not on the container's writable layer (audit k8strain-4).

Kubernetes "Volumes", emptyDir: its data "is safe across container crashes" and deleted when the pod
leaves the node; the per-run S3 URI outlives the pod (``compile/kubernetes/training.py`` ``checkpoint_env``).
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system

ROOT = Path(__file__).resolve().parents[3]


def master(example: str, env: str, config: str) -> tuple[dict, dict]:
    system = load_system(ROOT / "examples" / example / "mlsystem.yaml", env).system
    graph = compile_system(system, env)
    data = next(r.inputs["data"]["pytorchjob.json"] for r in graph.resources
                if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs["metadata"]["name"] == config)
    pod = json.loads(data)["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    return pod, pod["containers"][0]


def test_a_spot_run_checkpoints_to_a_volume_and_to_a_per_run_uri():
    pod, container = master("fraud-detection", "dev", "train-retrain")
    assert pod["nodeSelector"]["karpenter.sh/capacity-type"] == "spot"
    env = container["env"]
    values = {e["name"]: e.get("value") for e in env}
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == values["MLOPS_CHECKPOINT_DIR"]]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume == {"emptyDir": {}, "name": mount["name"]}  # not the writable layer; not memory either
    # the run's name from the operator's pod label, defined before the value that refers to it
    assert env[0] == {"name": "MLOPS_RUN_NAME", "valueFrom": {
        "fieldRef": {"fieldPath": "metadata.labels['training.kubeflow.org/job-name']"}}}
    assert values["MLOPS_CHECKPOINT_URI"] == "s3://fraud-detection-dev-models/_checkpoints/retrain/$(MLOPS_RUN_NAME)/"
    assert [e["name"] for e in env[1:]] == sorted(e["name"] for e in env[1:])


def test_a_job_that_registers_no_model_checkpoints_to_a_volume_only():
    """Without ``registers`` no models bucket is the job's store: the volume only (variety's ``tiny``)."""
    from tests.support.kube_cases import graph_of

    config = next(r for r in graph_of("variety-dev").resources
                  if r.type == "kubernetes:core/v1:ConfigMap" and r.inputs["metadata"]["name"] == "train-tiny")
    pod = json.loads(config.inputs["data"]["pytorchjob.json"])["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["MLOPS_CHECKPOINT_DIR"] == "/var/run/mlops/checkpoints" and "MLOPS_CHECKPOINT_URI" not in env
    assert "MLOPS_RUN_NAME" not in env and {"emptyDir": {}, "name": "checkpoints"} in pod["volumes"]
