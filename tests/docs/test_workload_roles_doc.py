"""docs/compile-kubernetes.md section 4 names every compiled Role that can, in effect, read the namespace's
Secrets: the training launcher (create pytorchjobs) and the rollout runner (patch inferenceservices, whose
predictor embeds a pod spec; KServe ``pkg/apis/serving/v1beta1/predictor.go``). Kubernetes "RBAC Good
Practices", "Workload creation". Stop 38's secrets audit, finding secrets-6."""

from __future__ import annotations

from pathlib import Path

from tests.support.kube_cases import graph_of

DOC = (Path(__file__).resolve().parents[2] / "docs" / "compile-kubernetes.md").read_text()
WORKLOADS = {("kubeflow.org", "pytorchjobs"), ("serving.kserve.io", "inferenceservices")}
WRITE = {"create", "patch", "update"}


def _workload_writers() -> set[str]:
    roles = set()
    for r in graph_of("variety-dev").resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        if obj.get("kind") != "Role":
            continue
        for rule in obj.get("rules") or []:
            if WRITE & set(rule.get("verbs") or []) and any(
                    (group, resource) in WORKLOADS for group in rule.get("apiGroups") or []
                    for resource in rule.get("resources") or []):
                roles.add(obj["metadata"]["name"])
    return roles


def test_every_role_that_can_create_or_patch_workloads_is_named_where_the_docs_say_what_reaches_secrets():
    writers = _workload_writers()
    assert writers == {"mlops-training-launcher", "mlops-rollout-runner"}
    start = DOC.index("What the training launcher's Role really allows")
    paragraph = DOC[start:min(DOC.index("\n\n", start), DOC.index("\n- ", start))]  # up to the next bullet
    assert "Workload creation" in paragraph
    for role in writers - {"mlops-training-launcher"}:
        assert f"`{role}`" in paragraph
    runner_row = next(line for line in DOC.splitlines() if "ServiceAccount + Role + RoleBinding mlops-rollout-runner" in line)
    assert not runner_row.rstrip().endswith(", only") and "Secrets" in runner_row
