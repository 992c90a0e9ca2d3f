"""``plan`` reads, and names, the cluster ``pulumi up`` changes: the stack config's ``kubernetes:context`` /
``kubernetes:kubeconfig`` over the spec's ``target.context`` (digestcfg's finding; mlops_infra/kube/effective_context.py).

The reference system's dev environment (context kind-mlops, namespace fraud-dev) planned from a stack directory
whose ``Pulumi.dev.yaml`` overrides the context. The kubeconfig's kind-mlops reaches no server; stack-ctx reaches
the Kubernetes API stand-in (tests/support/kube_api.py): the refresh reads happen there and the Target line says
which context and which file. A ``secure:`` kubeconfig (only the Pulumi CLI decrypts it) is named as what the
apply uses, beside the context plan read instead; never its value.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads


def _stack_dir(tmp_path: Path, overrides: dict) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "fraud-detection", "runtime": "python"}))
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(
        {"config": {"mlops:systemFile": str(FRAUD), "mlops:environment": "dev", **overrides}}))
    return tmp_path


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
        "clusters": [{"name": "nowhere", "cluster": {"server": "http://127.0.0.1:1"}},
                     {"name": "stand-in", "cluster": {"server": server}}],
        "users": [{"name": "dev", "user": {"token": "t"}}],
        "contexts": [{"name": "kind-mlops", "context": {"cluster": "nowhere", "user": "dev"}},
                     {"name": "stack-ctx", "context": {"cluster": "stand-in", "user": "dev"}}]}))
    return path


def _env(monkeypatch, tmp_path: Path, server: str, overrides: dict) -> None:
    monkeypatch.chdir(_stack_dir(tmp_path, overrides))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kubeconfig", server)))


@pytest.mark.timeout(180)
def test_plan_refresh_reads_the_stack_configs_context_and_names_it(monkeypatch, tmp_path: Path) -> None:
    with KubeApiStandIn() as api:
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fraud-dev"}})
        _env(monkeypatch, tmp_path, api.url, {"kubernetes:context": "stack-ctx"})
        result = run_cli("plan", str(FRAUD), "--env", "dev", "--refresh", "--format", "json")
        read = api.requests_for("GET", "/api/v1/namespaces/fraud-dev")
        text = run_cli("plan", str(FRAUD), "--env", "dev")
    assert result.code == 0, result.output
    assert read  # the preflight read the cluster of stack-ctx, not kind-mlops (which answers nothing)
    target = json.loads(result.stdout)["target"]
    assert target["context"] == "stack-ctx" and target["contextSource"] == str(tmp_path / "Pulumi.dev.yaml")
    assert text.code == 0, text.output
    assert (f"Target:  kubernetes context stack-ctx ({tmp_path / 'Pulumi.dev.yaml'}), namespace fraud-dev"
            in text.stdout)


@pytest.mark.timeout(120)
def test_plan_with_a_secret_stack_kubeconfig_says_what_it_read_instead(monkeypatch, tmp_path: Path) -> None:
    _env(monkeypatch, tmp_path, "http://127.0.0.1:1", {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext=="}})
    result = run_cli("plan", str(FRAUD), "--env", "dev")
    assert result.code == 0, result.output
    shown = " ".join(result.stdout.split())  # a long Target line may wrap
    assert ("Target: kubernetes context kind-mlops (read by plan; the apply uses the secret kubeconfig of "
            f"{tmp_path / 'Pulumi.dev.yaml'}, which only the Pulumi CLI decrypts), namespace fraud-dev") in shown
    assert "ciphertext" not in result.output
