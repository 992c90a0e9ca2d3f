"""A small system every guardrail passes in, and the edits that make one rule fail.

``GUARDED`` has a staging and a prod environment on AWS (prod ends the promotion chain, so it is
production and its rules are mandatory) and a dev environment on Kubernetes. ``edit(text, *pairs)``
replaces each ``(old, new)`` exactly once, so a test fails loudly when the document changes.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph
from mlops_infra.spec import LoadedSystem, parse_system

REPO = Path(__file__).resolve().parents[2]
FRAUD_DETECTION = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

GUARDED = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: guarded}
data_sources:
  - {name: events, kind: object_store}
clusters:
  - {name: train, accelerator: {type: A10G, count: 4}, nodes: {min: 0, max: 2}}
models:
  - {name: clf, framework: pytorch, approval: manual, artifacts_uri: "s3://guarded-models/clf/"}
endpoints:
  - name: api
    model: {name: clf, version: 3}
    accelerator: {type: A10G, count: 1}
    replicas: {min: 1, max: 4}
    autoscaling: {metric: invocations_per_replica, target: 50}
    rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}
    capture: {sample_percent: 10}
monitors:
  - {name: api-errors, endpoint: api, metric: error_rate, threshold: 1%}
alerts:
  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}
channels:
  - {name: oncall, kind: email, address: oncall@example.com}
environments:
  dev:
    target: {kind: kubernetes, context: kind-dev, namespace: guarded-dev}
  staging:
    target: {kind: aws, region: us-east-1, account: "111111111111"}
    promote_from: dev
  prod:
    target: {kind: aws, region: us-east-1, account: "222222222222"}
    promote_from: staging
"""


def edit(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with each ``old`` replaced by ``new``; each ``old`` must occur exactly once."""
    for old, new in pairs:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    return text


def loaded(text: str, env: str) -> LoadedSystem:
    """``text`` validated for ``env`` (asserting it is valid)."""
    result = parse_system(text, "mlsystem.yaml", env)
    assert result.ok, [f"{d.summary}: {d.detail}" for d in result.diagnostics if d.is_error]
    return result


def compiled(text: str, env: str) -> tuple[object, DesiredGraph]:
    """(effective system, compiled graph) of ``env``."""
    system = loaded(text, env).system
    return system, compile_system(system, env)
