"""``mlops-infra rollout`` on Kubernetes drives the cluster ``pulumi up`` changes: the stack directory's
``kubernetes:context``/``kubernetes:kubeconfig`` over the spec's ``target.context`` (``mlops_infra/rollout/connect.py``
through ``mlops_infra/kube/effective_context.py`` ``graph_options``, as plan and apply read; ctxread). Before, it
read and patched the spec's context's cluster while the model version was applied to the stack's.

The reference system's dev environment (context kind-mlops, namespace fraud-dev, endpoint scorer) from a stack
directory whose ``Pulumi.dev.yaml`` overrides the context with stack-ctx. Each context reaches its own Kubernetes API
stand-in (tests/support/kube_api.py) holding the InferenceService, so the requests each received tell which cluster
the pass drove. A ``secure:`` kubeconfig, which only the Pulumi CLI decrypts, is refused: no cluster is touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/fraud-dev/inferenceservices/scorer"
STATUS = "/api/v1/namespaces/fraud-dev/configmaps/rollout-scorer"


def _cluster() -> KubeApiStandIn:
    api = KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml"))
    api.seed({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": "scorer", "namespace": "fraud-dev"},
              "spec": {"predictor": {"model": {"modelFormat": {"name": "pytorch"}, "storageUri": "s3://b/m/14/"}}}})
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rollout-scorer", "namespace": "fraud-dev"}})
    return api


def _rollout(monkeypatch, tmp_path: Path, spec: str, stack: str, overrides: dict):
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "fraud-detection", "runtime": "python"}))
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(
        {"config": {"mlops:systemFile": str(FRAUD), "mlops:environment": "dev", **overrides}}))
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
        "clusters": [{"name": "spec", "cluster": {"server": spec}}, {"name": "stack", "cluster": {"server": stack}}],
        "users": [{"name": "dev", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-mlops", "context": {"cluster": "spec", "user": "dev"}},
                     {"name": "stack-ctx", "context": {"cluster": "stack", "user": "dev"}}]}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    return run_cli("rollout", "scorer", str(FRAUD), "--env", "dev", "--prometheus-url", "http://127.0.0.1:9")


@pytest.mark.timeout(120)
def test_rollout_drives_the_stack_configs_cluster(monkeypatch, tmp_path: Path) -> None:
    with _cluster() as spec, _cluster() as stack:
        result = _rollout(monkeypatch, tmp_path, spec.url, stack.url, {"kubernetes:context": "stack-ctx"})
        spec_requests, stack_requests = spec.requests_for(), stack.requests_for()
        recorded = stack.get("v1", "ConfigMap", "rollout-scorer", "fraud-dev").get("data")
    assert result.code == 0, result.output
    assert "finished" in result.stdout
    assert [(r.method, r.path) for r in stack_requests] == [
        ("GET", ISVC), ("GET", STATUS), ("PATCH", STATUS)]  # observed the stack's InferenceService, kept its status
    assert recorded  # the status of the pass is on the stack's cluster
    assert spec_requests == []  # the spec's context's cluster was never read nor patched


@pytest.mark.timeout(120)
def test_rollout_refuses_a_secret_stack_kubeconfig(monkeypatch, tmp_path: Path) -> None:
    with _cluster() as spec:
        result = _rollout(monkeypatch, tmp_path, spec.url, spec.url,
                          {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext=="}})
        touched = spec.requests_for()
    assert result.code == 1 and "Traceback" not in result.output
    err = " ".join(result.stderr.split())
    assert ("cannot roll out endpoint 'scorer': the stack's kubernetes:kubeconfig in "
            f"{tmp_path / 'Pulumi.dev.yaml'} is a secret") in err, result.output
    assert "ciphertext" not in result.output
    assert touched == []
