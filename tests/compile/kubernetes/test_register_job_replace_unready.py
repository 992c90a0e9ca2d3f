"""The register Job carries ``pulumi.com/replaceUnready: "true"`` (audit finding k8sapply-2).

pulumi-kubernetes ``provider/pkg/provider/provider.go`` ``Diff``: ``if metadata.ReplaceUnready(newInputs)``
and ``newInputs.GetKind() == "Job"``, a Job that is not ready (``jobChecker.Ready``) is replaced; the annotation
counts only as the string ``"true"`` (``metadata/annotations.go`` ``IsAnnotationTrue``). Without it a
registration that ended ``Failed`` fails every later ``pulumi up`` at once (``[BackoffLimitExceeded]``).
"""

from __future__ import annotations

from pathlib import Path

from tests.scenarios.harness import compile_file

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_every_register_job_carries_the_annotation():
    for system in ("fraud-detection", "quickstart"):
        graph = compile_file(EXAMPLES / system / "mlsystem.yaml", "dev")
        jobs = [r for r in graph.resources if r.type == "kubernetes:batch/v1:Job" and r.role == "registration"]
        assert jobs, system
        for job in jobs:
            assert job.inputs["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}


def test_no_other_object_is_replaced_when_unready():
    """The provider only supports it on Jobs ("replaceUnready annotation is not supported for this resource")."""
    graph = compile_file(EXAMPLES / "fraud-detection" / "mlsystem.yaml", "dev")
    marked = [r for r in graph.resources if r.custom and "pulumi.com/replaceUnready"
              in ((r.inputs.get("metadata") or {}).get("annotations") or {})]
    assert marked and {r.type for r in marked} == {"kubernetes:batch/v1:Job"}
