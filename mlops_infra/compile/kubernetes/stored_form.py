"""A built-in Kubernetes object in the form pulumi-kubernetes stores it: no omitempty zero values.

Contract: :func:`stored_form` returns ``obj`` with every container environment variable whose ``value`` is
the empty string written as ``{"name": ...}`` (plus its other keys), nothing else changed; it is applied by
:meth:`~mlops_infra.compile.kubernetes.objects.KubeTarget.add` to the objects of the built-in API groups only.

Why: pulumi-kubernetes' ``Check`` stores a built-in object's inputs after a typed round trip
(provider/pkg/provider/provider.go l. 1231 ``newInputs, err = normalizeInputs(newInputs)`` and l. 1377
``checkedInputs``; ``normalizeInputs`` -> provider/pkg/clients/unstructured.go ``Normalize``:
``FromUnstructured`` then ``ToUnstructured``, for the ``kinds.KnownGroupVersions``; pulumi/pulumi-kubernetes
@ 94977969d6). That round trip drops the zero value of every non-pointer ``omitempty`` field
(kubernetes/apimachinery pkg/runtime/converter.go @ eed236ce l. 833: ``if fieldInfo.omitempty && isEmpty(fv)
{ // omitempty fields should be ignored.``), and ``EnvVar.Value`` is one: ``Value string
`json:"value,omitempty"``` (kubernetes/api core/v1/types.go @ 10b39a39 l. 2663), "Defaults to \"\"". A
compiled ``{name: X, value: ""}`` was therefore stored as ``{name: X}``, and every plan compared the two:
the register Jobs planned as a delete-first replace and the drift CronJobs as updates that ``pulumi up``
never makes (audit k8sstate-3). Written without ``value``, the variable is still set to the empty string
in the container, and the desired object is what the state holds (a state of an earlier mlops-infra
included). Every other zero value the compiler writes into a built-in object is a pointer field, which
the round trip keeps (tests/compile/kubernetes/test_stored_form.py lists them); CRD objects are stored
as given (``shouldNormalize`` is false outside the known group versions), so they are left alone.
"""

from __future__ import annotations

from typing import Any

_POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each workload kind holds its pod spec (core/v1 PodTemplateSpec, batch/v1 JobTemplateSpec)."""

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def stored_form(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with its containers' empty ``env[*].value`` left out (see the module docstring). The object's
    containers get new ``env`` lists where one changes; the env entries themselves are not mutated (the
    compiler shares some, e.g. the namespace variable)."""
    pod: Any = obj
    for key in _POD_SPECS.get(obj.get("kind", ""), ("-",)):
        pod = pod.get(key) if isinstance(pod, dict) else None
    if not isinstance(pod, dict):
        return obj
    for list_key in _CONTAINER_LISTS:
        for container in pod.get(list_key) or ():
            env = container.get("env")
            if env and any(isinstance(e, dict) and e.get("value") == "" for e in env):
                container["env"] = [{k: v for k, v in e.items() if k != "value"}
                                    if isinstance(e, dict) and e.get("value") == "" else e for e in env]
    return obj
