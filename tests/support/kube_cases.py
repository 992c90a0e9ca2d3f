"""Kubernetes compile cases for tests: every Kubernetes environment of the reference document
and of ``examples/*/mlsystem.yaml``, compiled once per session (test support).

- :data:`CASES`: ``(id, path, env)`` for each Kubernetes environment.
- :func:`compiled`: the DesiredGraph of a case (cached).
- :func:`compile_text`: compile an in-memory document's environment (for focused tests).
- :func:`objects`: every Kubernetes object a graph declares, including the PyTorchJob run templates
  stored in ConfigMaps, as ``(resource, object)`` pairs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.spec import load_system, parse_system

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "spec" / "reference-mlsystem.yaml"
DOCUMENTS = [REFERENCE, *sorted(REPO.glob("examples/*/mlsystem.yaml"))]


def _kubernetes_envs(path: Path) -> list[str]:
    loaded = load_system(path)
    if loaded.system is None:
        return []
    return sorted(n for n, e in loaded.system.environments.items() if e.target.kind == "kubernetes")


def _case_id(path: Path, env: str) -> str:
    return f"{'reference' if path == REFERENCE else path.parent.name}-{env}"


CASES = [(_case_id(p, env), p, env) for p in DOCUMENTS if p.exists() for env in _kubernetes_envs(p)]


@cache
def compiled(path: Path, env: str) -> DesiredGraph:
    loaded = load_system(path, env)
    assert loaded.ok, [d.summary for d in loaded.diagnostics if d.is_error]
    return compile_system(loaded.system, env)


def compile_text(text: str, env: str = "dev") -> DesiredGraph:
    loaded = parse_system(text, env=env)
    assert loaded.ok, [(d.summary, d.detail) for d in loaded.diagnostics if d.is_error]
    return compile_system(loaded.system, env)


def is_kube_object(resource: DesiredResource) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:")


def objects(graph: DesiredGraph) -> Iterator[tuple[DesiredResource, dict[str, Any]]]:
    """Every Kubernetes object of the graph, plus run templates stored in ConfigMaps."""
    for resource in graph.resources:
        if not is_kube_object(resource):
            continue
        yield resource, resource.inputs
        if resource.inputs["kind"] == "ConfigMap":
            for key, text in resource.inputs.get("data", {}).items():
                if key.endswith(".json") and '"apiVersion"' in text:
                    yield resource, json.loads(text)


def by_kind(graph: DesiredGraph, kind: str) -> list[dict[str, Any]]:
    return [obj for _, obj in objects(graph) if obj["kind"] == kind]
