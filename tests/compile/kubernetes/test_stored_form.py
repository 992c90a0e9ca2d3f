"""Compiled built-in Kubernetes objects hold no zero value pulumi-kubernetes' Check would drop (audit k8sstate-3).

Check stores a built-in object after a typed round trip that drops the zero value of every non-pointer
``omitempty`` field (mlops_infra/compile/kubernetes/stored_form.py cites the provider and apimachinery). A
compiled one is then compared, on every plan, with a state that lacks it: main compiled ``env: [{name:
MODEL_DESCRIPTION, value: ""}]`` in every register Job and ``BASELINE_URI: ""`` in llm-platform's drift
CronJobs. This walks every compiled built-in object of every Kubernetes case and allows a zero value
("", 0, false, [] or {}) only where the Go field is a pointer or a list element, which the round trip keeps.
"""

from __future__ import annotations

from typing import Any

import pytest

from mlops_infra.compile.kubernetes.objects import is_builtin
from mlops_infra.compile.kubernetes.stored_form import stored_form
from tests.support.kube_cases import CASE_IDS, graph_of

KEPT = {
    # batch/v1 types.go (kubernetes/api @ 10b39a39) l. 356: BackoffLimit *int32
    "CronJob.spec.jobTemplate.spec.backoffLimit": "*int32",
    # batch/v1 l. 825: CronJobSpec.Suspend *bool
    "CronJob.spec.suspend": "*bool",
    # core/v1 types.go l. 4450: PodSpec.AutomountServiceAccountToken *bool; l. 6667 ServiceAccount's
    "CronJob.spec.jobTemplate.spec.template.spec.automountServiceAccountToken": "*bool",
    "Deployment.spec.template.spec.automountServiceAccountToken": "*bool",
    "Job.spec.template.spec.automountServiceAccountToken": "*bool",
    "ServiceAccount.automountServiceAccountToken": "*bool",
    # core/v1 l. 8675: SecurityContext.AllowPrivilegeEscalation *bool
    "CronJob.spec.jobTemplate.spec.template.spec.containers[*].securityContext.allowPrivilegeEscalation": "*bool",
    "Deployment.spec.template.spec.containers[*].securityContext.allowPrivilegeEscalation": "*bool",
    "Job.spec.template.spec.containers[*].securityContext.allowPrivilegeEscalation": "*bool",
    # core/v1 l. 63: VolumeSource.EmptyDir *EmptyDirVolumeSource
    "CronJob.spec.jobTemplate.spec.template.spec.volumes[*].emptyDir": "*EmptyDirVolumeSource",
    "Deployment.spec.template.spec.volumes[*].emptyDir": "*EmptyDirVolumeSource",
    "Job.spec.template.spec.volumes[*].emptyDir": "*EmptyDirVolumeSource",
    # networking/v1 types.go l. 216: NetworkPolicyPeer.NamespaceSelector *metav1.LabelSelector
    "NetworkPolicy.spec.ingress[*].from[*].namespaceSelector": "*metav1.LabelSelector",
    # rbac/v1 types.go l. 60: APIGroups []string: "" is an element (the core group), not an omitted field
    "Role.rules[*].apiGroups[*]": "list element",
}
"""Paths (``<Kind>.<path>``, ``[*]`` for list items) where a compiled zero value survives the round trip."""


def _zeros(value: Any, path: str):
    if isinstance(value, dict):
        if not value:
            yield path
        for key, item in value.items():
            yield from _zeros(item, f"{path}.{key}")
    elif isinstance(value, list):
        if not value:
            yield path
        for item in value:
            yield from _zeros(item, f"{path}[*]")
    elif value is False or value == "" or (type(value) is int and value == 0):
        yield path


@pytest.mark.parametrize("case", CASE_IDS)
def test_no_compiled_zero_value_is_one_the_provider_drops(case):
    dropped = sorted({(resource.name, path) for resource in graph_of(case).resources
                      if resource.custom and resource.type.startswith("kubernetes:")
                      and is_builtin(resource.inputs["apiVersion"])
                      for path in _zeros(resource.inputs, resource.inputs["kind"]) if path not in KEPT})
    assert dropped == []


def test_every_kept_path_is_still_compiled():
    """The allowance is exact: each listed pointer path occurs in some case (none is dead weight)."""
    seen = {path for case in CASE_IDS for resource in graph_of(case).resources
            if resource.custom and resource.type.startswith("kubernetes:") and is_builtin(resource.inputs["apiVersion"])
            for path in _zeros(resource.inputs, resource.inputs["kind"])}
    assert set(KEPT) <= seen


def _register_env(case: str) -> list[dict]:
    jobs = [r.inputs for r in graph_of(case).resources if r.type == "kubernetes:batch/v1:Job"
            and r.name.startswith("register-")]
    assert jobs
    return jobs[0]["spec"]["template"]["spec"]["containers"][0]["env"]


def test_an_empty_env_value_is_compiled_as_a_variable_without_value():
    """core/v1 EnvVar.value "Defaults to \"\"": the container still gets MODEL_DESCRIPTION, empty."""
    env = _register_env("fraud-detection-dev")
    assert {"name": "MODEL_DESCRIPTION"} in env
    assert all(e.get("value") != "" for e in env)
    assert {"name": "HOME", "value": "/tmp"} in env  # non-empty values stay


def test_stored_form_leaves_shared_entries_and_other_kinds_alone():
    shared = {"name": "EMPTY", "value": ""}
    job = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "initContainers": [{"name": "i", "env": [shared]}],
        "containers": [{"name": "c", "env": [shared, {"name": "X", "value": "1"},
                                               {"name": "R", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}]}}}}}}
    out = stored_form(job)
    pod = out["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["initContainers"][0]["env"] == [{"name": "EMPTY"}]
    assert pod["containers"][0]["env"] == [{"name": "EMPTY"}, {"name": "X", "value": "1"},
                                           {"name": "R", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]
    assert shared == {"name": "EMPTY", "value": ""}
    config = {"kind": "ConfigMap", "data": {"env": ""}}
    assert stored_form(config) == {"kind": "ConfigMap", "data": {"env": ""}}
