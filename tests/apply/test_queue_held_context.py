"""The warning of apply's held-queue check names the cluster it read: the stack config's context and file when
``Pulumi.<env>.yaml`` overrides the spec's (``mlops_infra/apply/queue_drain.py`` ``earlier_holds`` through
``mlops_infra/kube/effective_context.py`` ``graph_options``/``graph_cluster``; ctxread). Before, the read went to the
stack's cluster (ctxmatch) but the warning named the spec's context, another cluster than the one not read.

The reference system's dev graph (its gpu-train ClusterQueue) recorded as applied through a stack directory; each
context's server answers nothing (port 1), so the check warns.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.apply.queue_drain import earlier_holds
from mlops_infra.compile import compile_system
from mlops_infra.kube.effective_context import apply_through
from tests.scenarios.harness import load_file

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"


def _held_warning(monkeypatch, tmp_path: Path, overrides: dict) -> list[str]:
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "fraud-detection", "runtime": "python"}))
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": overrides}))
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
        "clusters": [{"name": "nowhere", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "dev", "user": {"token": "t"}}],
        "contexts": [{"name": name, "context": {"cluster": "nowhere", "user": "dev"}}
                     for name in ("kind-mlops", "stack-ctx")]}))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    graph = compile_system(load_file(FRAUD, "dev"), "dev")
    assert any(r.type.endswith(":ClusterQueue") for r in graph.resources)
    apply_through(graph, tmp_path)
    said: list[str] = []
    kube, held = earlier_holds(graph, None, said.append)
    assert (kube, held) == (None, [])
    return said


@pytest.mark.timeout(60)
def test_the_warning_names_the_stack_configs_context_and_file(monkeypatch, tmp_path: Path) -> None:
    (said,) = _held_warning(monkeypatch, tmp_path, {"kubernetes:context": "stack-ctx"})
    assert said.startswith("warning: could not read the Kueue ClusterQueues through context stack-ctx "
                           f"({tmp_path / 'Pulumi.dev.yaml'}) ("), said
    assert said.endswith("whether an earlier apply left one of this stack's held was not checked")
    assert "kind-mlops" not in said


@pytest.mark.timeout(60)
def test_a_secret_stack_kubeconfig_is_named_not_the_specs_context(monkeypatch, tmp_path: Path) -> None:
    (said,) = _held_warning(monkeypatch, tmp_path, {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext=="}})
    assert said.startswith("warning: could not read the Kueue ClusterQueues through the secret kubeconfig of "
                           f"{tmp_path / 'Pulumi.dev.yaml'} (cannot check the ClusterQueues an earlier apply held: "
                           "the stack's kubernetes:kubeconfig"), said
    assert "kind-mlops" not in said and "ciphertext" not in said


@pytest.mark.timeout(60)
def test_without_an_override_the_specs_context_is_named(monkeypatch, tmp_path: Path) -> None:
    (said,) = _held_warning(monkeypatch, tmp_path, {"mlops:environment": "dev"})
    assert said.startswith("warning: could not read the Kueue ClusterQueues through context kind-mlops ("), said
