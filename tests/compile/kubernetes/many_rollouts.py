"""A Kubernetes system whose rollout runner is too big for one ConfigMap (test support).

:data:`ENDPOINTS` canary endpoints with 100 steps each (``1..100``: the longest plan the spec allows
without alerts), about 1.8 KB of ``rollouts.json`` each: together with the runner's code, over the
1 MiB a ConfigMap may hold, so the compiled runner has its code's ConfigMap plus two parts. Compiled
once per session (:func:`graph`, about a second).
"""

from __future__ import annotations

from functools import cache

from mlops_infra.graph import DesiredGraph
from tests.support.kube_cases import compile_text

ENDPOINTS = 600
NAMESPACE = "runs-dev"
STEPS = ", ".join(str(step) for step in range(1, 101))


def names(count: int = ENDPOINTS) -> list[str]:
    return [f"api-{i:04d}" for i in range(count)]


def text(endpoints: list[str] | None = None, rollout: str = f"{{strategy: canary, bake: 10m, steps: [{STEPS}]}}") -> str:
    """The document: one endpoint per name (default :func:`names`), each rolling out as ``rollout``
    says (a flow mapping; default a 10-minute canary of 100 steps)."""
    items = "\n".join(f"  - {{name: {name}, model: {{name: m, version: 3}}, replicas: {{min: 1, max: 2}},\n"
                      f"     rollout: {rollout}}}"
                      for name in (names() if endpoints is None else endpoints))
    return f"""
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {{name: runs}}
models: [{{name: m, framework: sklearn, approval: automatic}}]
endpoints:
{items}
environments:
  dev: {{target: {{kind: kubernetes, context: kind-dev, namespace: {NAMESPACE}}}}}
"""


@cache
def graph() -> DesiredGraph:
    return compile_text(text())
