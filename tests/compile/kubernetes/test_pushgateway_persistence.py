"""The Pushgateway keeps what was pushed across a restart (compile/kubernetes/monitoring.py
``ensure_pushgateway``): a persistence file on a ReadWriteOnce claim, a ``Recreate`` Deployment, a pod
that can write the volume, and objects the Kubernetes 1.30 schemas accept (kubernetes-validate, strict).
The file surviving a real restart is tests/monitoring/test_pushgateway_restart.py."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from mlops_infra.compile.kubernetes import images, monitoring, names
from tests.support.kube_cases import CASE_IDS, graph_of, objects

KUBERNETES_VERSION = "1.30.0"
IMAGE_USER = 65534
"""prom/pushgateway's ``USER 65534`` (its Dockerfile at v1.11.2)."""


def _pushgateway(case: str) -> dict[str, tuple]:
    """Kind -> (resource, object) of the Pushgateway's objects in the case's graph."""
    return {o["kind"]: (r, o) for r, o in objects(graph_of(case))
            if o.get("metadata", {}).get("name") == names.PUSHGATEWAY}


@pytest.mark.parametrize("case", CASE_IDS)
def test_the_pushgateway_persists_its_groups_on_a_claim_it_alone_mounts(case: str) -> None:
    found = _pushgateway(case)
    claim_resource, claim = found["PersistentVolumeClaim"]
    deployment_resource, deployment = found["Deployment"]
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    assert claim_resource.address == "platform" and claim_resource.role == "pushgateway-volume"
    assert claim_resource.urn in deployment_resource.dependencies  # the claim exists before the pod mounts it

    spec = deployment["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}  # the old pod writes, then the new reads
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == images.PUSHGATEWAY
    [volume] = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert volume["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"]}
    [mount] = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert not mount.get("readOnly")
    flags = dict(a.removeprefix("--").split("=", 1) for a in container["args"])
    assert flags == {"persistence.file": f"{mount['mountPath']}/pushgateway.data", "persistence.interval": "1m"}
    # the file's directory is the volume (persist() writes a temporary file beside it and renames it)
    assert flags["persistence.file"].rsplit("/", 1)[0] == mount["mountPath"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    # the process runs as the image's user, and the volume is made writable by its group
    assert container["securityContext"]["runAsUser"] == IMAGE_USER
    assert pod["securityContext"]["fsGroup"] == IMAGE_USER


def test_the_stated_size_and_flags_are_the_compiled_ones() -> None:
    _, claim = _pushgateway("reference-dev")["PersistentVolumeClaim"]
    _, deployment = _pushgateway("reference-dev")["Deployment"]
    assert claim["spec"]["resources"]["requests"]["storage"] == monitoring.PUSHGATEWAY_STORAGE
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"] == monitoring.pushgateway_args()
    assert "storageClassName" not in claim["spec"]  # the cluster's default StorageClass provisions it


@pytest.mark.parametrize("kind", ["PersistentVolumeClaim", "Deployment"])
def test_the_claim_and_the_deployment_validate_strictly(kind: str) -> None:
    _, obj = _pushgateway("reference-dev")[kind]
    kubernetes_validate.validate(json.loads(json.dumps(obj)), KUBERNETES_VERSION, strict=True)


def test_strict_validation_refuses_a_misspelled_claim_field() -> None:
    _, claim = _pushgateway("reference-dev")["PersistentVolumeClaim"]
    broken = {**claim, "spec": {**claim["spec"], "accessMode": ["ReadWriteOnce"]}}
    with pytest.raises(kubernetes_validate.ValidationError, match="accessMode"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
