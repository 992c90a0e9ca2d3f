"""The first apply of a Kubernetes environment succeeds in one pass (audit firstapply-1).

(a) Nothing the apply waits for needs a Secret the graph does not create. pulumi-kubernetes waits
for a Deployment to become Available, for a StatefulSet's replicas and for a Job to complete, and
fails the apply after its timeout (provider/pkg/await/deployment.go ``DefaultDeploymentTimeoutMins``
= 10, statefulset.go, job.go); a pod with a *required* ``secretKeyRef``, ``envFrom`` ``secretRef`` or
secret volume whose Secret is missing never starts (core/v1 ``SecretKeySelector.optional``,
``SecretEnvSource.optional``, ``SecretVolumeSource.optional``; the kubelet's
``makeEnvironmentVariables`` answers CreateContainerConfigError). The Secrets the platform team creates
live in the namespace the first apply creates, so none can be required by an awaited workload.

The retrain trigger takes its token from an optional secret volume instead, read per request: here
``launcher.py serve --token-file`` runs as a process against the Kubernetes API stand-in, answers 503
while the file is absent (the Secret not created yet), and starts a run once the file appears, written
as the kubelet writes a secret volume (a new file renamed into place), without a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile.kubernetes.rbac import LAUNCHER_RULES
from mlops_infra.compile.kubernetes.scripts import launcher
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import CASE_IDS, by_kind, graph_of
from tests.support.prometheus import free_port

TOKEN_MOUNT, TOKEN_FILE = "/etc/mlops-infra/trigger-token", "token"
"""Where the compiled trigger pod reads its token (``compile/kubernetes/training.py``)."""
AWAITED = {"Deployment": ("spec", "template", "spec"), "StatefulSet": ("spec", "template", "spec"),
           "DaemonSet": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"), "Pod": ("spec",)}
"""Workload kinds pulumi-kubernetes waits for (provider/pkg/await/awaiters.go), and where their pod spec is."""


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        obj = obj.get(step) if isinstance(obj, dict) else None
    return obj


def required_secrets(pod: dict[str, Any]) -> set[str]:
    """Names of the Secrets a pod spec cannot start without (every non-optional reference)."""
    found: set[str] = set()
    for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
        for env in container.get("env") or []:
            ref = _dig(env, ("valueFrom", "secretKeyRef"))
            if isinstance(ref, dict) and not ref.get("optional"):
                found.add(ref["name"])
        for source in container.get("envFrom") or []:
            ref = source.get("secretRef")
            if isinstance(ref, dict) and not ref.get("optional"):
                found.add(ref["name"])
    for volume in pod.get("volumes") or []:
        secret = volume.get("secret")
        if isinstance(secret, dict) and not secret.get("optional"):
            found.add(secret["secretName"])
        for source in _dig(volume, ("projected", "sources")) or []:
            ref = source.get("secret")
            if isinstance(ref, dict) and not ref.get("optional"):
                found.add(ref["name"])
    return found


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_awaited_workload_requires_a_secret_the_graph_does_not_create(case_id):
    graph = graph_of(case_id)
    objects = [r.inputs for r in graph.resources if r.custom and isinstance(r.inputs.get("kind"), str)]
    created = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    blocked = {f"{o['kind']} {o['metadata']['name']}": sorted(required_secrets(_dig(o, AWAITED[o["kind"]]) or {}) - created)
               for o in objects if o["kind"] in AWAITED}
    assert {who: names for who, names in blocked.items() if names} == {}
    assert any(k.startswith("Deployment ") for k in blocked)  # the check saw workloads


def test_the_trigger_mounts_its_token_as_an_optional_volume_and_reads_that_file():
    (trigger,) = [d for d in by_kind(graph_of("reference-dev"), "Deployment")
                  if d["metadata"]["name"] == "mlops-retrain-trigger"]
    pod = trigger["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    assert volume["secret"] == {"items": [{"key": "value", "path": TOKEN_FILE}], "optional": True,
                                "secretName": "mlops-retrain-trigger-token"}
    (container,) = pod["containers"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    assert mount == {"mountPath": TOKEN_MOUNT, "name": volume["name"], "readOnly": True}
    assert "subPath" not in mount  # a subPath mount never receives Secret updates
    command = container["command"]
    assert command[command.index("--token-file") + 1] == f"{TOKEN_MOUNT}/{TOKEN_FILE}"
    assert not any("secretKeyRef" in json.dumps(e) for e in container.get("env") or [])


# -- the trigger as a process: 503 until the token file appears, then accepted ---------------------------------------

API_TOKEN = "launcher-token"
NAMESPACE = "fraud-dev"
JOB = "retrain"


@pytest.fixture()
def api(tmp_path: Path) -> Iterator[tuple[KubeApiStandIn, Path]]:
    config = next(c for c in by_kind(graph_of("reference-dev"), "ConfigMap") if c["metadata"]["name"] == "train-retrain")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / f"{JOB}.json").write_text(config["data"]["pytorchjob.json"])
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(API_TOKEN)
    (account / "namespace").write_text(NAMESPACE)
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={API_TOKEN: LAUNCHER_RULES}) as stand_in:
        yield stand_in, tmp_path


def _post(url: str, token: str) -> tuple[int, dict[str, Any]]:
    firing = {"alerts": [{"status": "firing", "labels": {"alertname": "fraud-drift"}}]}
    request = urllib.request.Request(url + f"/v1/alerts/{JOB}", data=json.dumps(firing).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _write_like_the_kubelet(path: Path, text: str) -> None:
    """pkg/volume/util/atomic_writer.go: the payload goes to a new directory, then a rename puts it in place."""
    staged = path.with_name(f".{path.name}.new")
    staged.write_text(text)
    os.replace(staged, path)


def test_the_trigger_refuses_until_its_token_file_appears_then_accepts_without_a_restart(api):
    stand_in, root = api
    token_dir = root / "trigger-token"
    token_dir.mkdir()  # what an optional secret volume of a missing Secret mounts: an empty directory
    token_file = token_dir / TOKEN_FILE
    port = free_port()
    env = {**os.environ, "MLOPS_KUBE_API": stand_in.url, "MLOPS_SA_DIR": str(root / "serviceaccount")}
    env.pop("MLOPS_TRIGGER_TOKEN", None)
    env.pop("NAMESPACE", None)
    process = subprocess.Popen([sys.executable, launcher.__file__, "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--templates", str(root / "templates"), "--routes", json.dumps({JOB: ["fraud-drift"]}),
                                "--token-file", str(token_file)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                    assert response.status == 200  # ready without the token: the Deployment becomes Available
                    break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the trigger did not start"
                time.sleep(0.05)
        status, body = _post(url, "tr1gger")
        assert status == 503 and "no trigger token" in body["error"]
        token_file.write_text("")  # an empty key: still no token
        assert _post(url, "tr1gger")[0] == 503
        assert stand_in.objects("pytorchjobs") == []
        _write_like_the_kubelet(token_file, "tr1gger")
        assert _post(url, "wrong")[0] == 401
        status, body = _post(url, "tr1gger")
        assert status == 200 and body["launched"]
        assert [o["metadata"]["name"] for o in stand_in.objects("pytorchjobs")] == [body["launched"]]
        _write_like_the_kubelet(token_file, "r0tated")  # a new value of the Secret: the old one stops working
        assert _post(url, "tr1gger")[0] == 401
        assert process.poll() is None  # the same process throughout
    finally:
        process.terminate()
        process.wait(timeout=10)
