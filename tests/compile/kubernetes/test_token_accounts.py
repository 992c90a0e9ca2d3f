"""Which compiled ServiceAccounts mount a token is what the docs and rbac.py say (audit k8srbac-5).

docs/compile-kubernetes.md section 2 said "Only the training launcher mounts a service-account token"
and rbac.py that the runner may only ``get``/``patch`` InferenceServices, while the rollout runner's
account and pods mount one and its Role also patches the status ConfigMaps and reads Knative Revisions:
a reader auditing token exposure from either missed it. The compiled graph is the truth; both texts
must name exactly its token-mounting accounts and the runner's three rules."""

from __future__ import annotations

import re
from pathlib import Path

from mlops_infra.compile.kubernetes import rbac, rollout_runner
from tests.support.kube_cases import graph_of

DOC = (Path(__file__).resolve().parents[3] / "docs" / "compile-kubernetes.md").read_text()


def _pod(obj: dict) -> dict | None:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if obj.get("kind") in ("Deployment", "Job", "StatefulSet"):
        return spec["template"]["spec"]
    return None


def _token_accounts() -> set[str]:
    """Accounts with automount true, and those of pods that do not turn it off (the pod's field wins)."""
    objects = [r.inputs for r in graph_of("variety-dev").resources if isinstance(r.inputs, dict)]
    accounts = {o["metadata"]["name"] for o in objects
                if o.get("kind") == "ServiceAccount" and o.get("automountServiceAccountToken") is not False}
    pods = {p.get("serviceAccountName", "default") for p in map(_pod, objects)
            if p is not None and p.get("automountServiceAccountToken") is not False}
    return accounts | pods


def _security_bullet() -> str:
    start = DOC.index("- **Security**")
    return DOC[start:DOC.index("\n- ", start + 1)]


def test_the_docs_name_exactly_the_accounts_that_mount_a_token():
    mounted = _token_accounts()
    assert mounted == {"mlops-training-launcher", rollout_runner.NAME}
    named = set(re.findall(r"`(mlops-[a-z-]+)`", _security_bullet()))
    assert named == mounted
    assert "Only the training launcher mounts" not in DOC


def test_rbac_docstring_names_the_runners_three_rules():
    doc = " ".join((rbac.__doc__ or "").split())
    assert rollout_runner.NAME in doc
    graph = graph_of("variety-dev")
    (role,) = [r.inputs for r in graph.resources if r.inputs.get("kind") == "Role"
               and r.name == rollout_runner.NAME]
    granted = {(rule["apiGroups"][0], rule["resources"][0], tuple(rule["verbs"])) for rule in role["rules"]}
    assert granted == {("serving.kserve.io", "inferenceservices", ("get", "patch")),
                       ("", "configmaps", ("get", "patch")), ("serving.knative.dev", "revisions", ("get",))}
    for words in ("InferenceServices", "``rollout-<endpoint>`` status ConfigMaps", "``get`` of ``revisions.serving.knative.dev``"):
        assert words in doc
