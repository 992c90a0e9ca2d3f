"""What pulumi-kubernetes 4.34 sends for the namespace, against the Kubernetes API stand-in (audit firstapply-1 b).

The platform team creates the namespace first (its Secrets, its ResourceQuotas). The requests are the
provider's own, from provider/pkg/await/await.go (pulumi-kubernetes 94977969):

- ``Creation`` of a plain ``Namespace`` (not a Patch resource, ``upsertExistingObjects`` false, the
  default since 4.29.0): ``client.Create`` with ``fieldManager=pulumi-kubernetes``, a POST; on an
  existing namespace the API server answers 409 AlreadyExists, which the provider reports as "The
  resource already exists in the cluster". That was the old graph's first apply.
- ``Creation`` of a ``NamespacePatch``: a server-side apply PATCH (``application/apply-patch+yaml``,
  the resource's field manager, ``force`` from the ``pulumi.com/patchForce`` annotation), which adopts
  an existing namespace (its other labels and objects untouched) and creates a missing one.
- ``Deletion`` of a Patch resource: ``ssa.Relinquish`` (provider/pkg/ssa/actions.go), an apply of the
  bare identity under the same field manager: the fields it applied go, the namespace and everything in
  it stay.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from tests.support.kube_api import KubeApiStandIn
from tests.support.kube_cases import graph_of

NAMESPACES = "/api/v1/namespaces"
MANAGER = "pulumi-kubernetes-7f3c2a1e"
"""A Patch resource's field manager: ``pulumi-kubernetes-`` + a random suffix (provider.go ``fieldManagerName``)."""


def compiled_namespace() -> dict[str, Any]:
    (resource,) = [r for r in graph_of("quickstart-dev").resources if r.role == "namespace"]
    return resource.inputs


def call(api: KubeApiStandIn, method: str, path: str, body: Any = None,
         content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api.url + path, data=data, method=method, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def apply(api: KubeApiStandIn, obj: dict[str, Any], *, force: bool) -> tuple[int, dict[str, Any]]:
    """A server-side apply PATCH as ``await.Creation`` / ``Update`` sends it for a Patch resource."""
    query = f"?fieldManager={MANAGER}&fieldValidation=Warn" + ("&force=true" if force else "")
    return call(api, "PATCH", f"{NAMESPACES}/{obj['metadata']['name']}{query}", obj,
                content_type="application/apply-patch+yaml")


def relinquish(api: KubeApiStandIn, name: str) -> tuple[int, dict[str, Any]]:
    """``ssa.Relinquish``: apply the bare identity, so the manager keeps no field."""
    bare = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    return call(api, "PATCH", f"{NAMESPACES}/{name}?fieldManager={MANAGER}", bare,
                content_type="application/apply-patch+yaml")


def platform_team_namespace(api: KubeApiStandIn, name: str, **labels: str) -> None:
    assert call(api, "POST", f"{NAMESPACES}?fieldManager=kubectl-create",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})[0] == 201
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mlops-retrain-trigger-token", "namespace": name},
              "data": {"value": base64.b64encode(b"t0ken").decode()}}
    assert call(api, "POST", f"{NAMESPACES}/{name}/secrets", secret)[0] == 201


def test_a_plain_namespace_create_of_an_existing_namespace_is_409_already_exists():
    namespace = compiled_namespace()
    with KubeApiStandIn() as api:
        platform_team_namespace(api, namespace["metadata"]["name"], quota="team-a")
        status, body = call(api, "POST", f"{NAMESPACES}?fieldManager=pulumi-kubernetes", namespace)
        assert (status, body["reason"], body["message"]) == (
            409, "AlreadyExists", f'namespaces "{namespace["metadata"]["name"]}" already exists')


def test_the_namespace_patch_adopts_an_existing_namespace_and_its_delete_leaves_it():
    namespace = compiled_namespace()
    name = namespace["metadata"]["name"]
    (resource,) = [r for r in graph_of("quickstart-dev").resources if r.role == "namespace"]
    assert resource.type == "kubernetes:core/v1:NamespacePatch"
    assert namespace["metadata"]["annotations"] == {"pulumi.com/patchForce": "true"}
    with KubeApiStandIn() as api:
        # the platform team's namespace, with a label mlops-infra also sets, to another value
        platform_team_namespace(api, name, quota="team-a", **{"app.kubernetes.io/part-of": "shared"})
        assert apply(api, namespace, force=False)[0] == 409  # without patchForce: a conflict fails the apply
        status, adopted = apply(api, namespace, force=True)
        assert status == 200
        assert adopted["metadata"]["labels"] == {**namespace["metadata"]["labels"], "quota": "team-a"}
        assert api.managers("v1", "Namespace", name)[f"{MANAGER} (Apply)"] >= {
            f".metadata.labels.{k}" for k in namespace["metadata"]["labels"]}
        assert api.get("v1", "Secret", "mlops-retrain-trigger-token", name) is not None
        assert relinquish(api, name)[0] == 200
        kept = api.get("v1", "Namespace", name)
        assert kept is not None and "deletionTimestamp" not in kept["metadata"]
        assert kept["metadata"]["labels"] == {"quota": "team-a"}  # only what mlops-infra applied went
        assert api.get("v1", "Secret", "mlops-retrain-trigger-token", name) is not None
        assert not api.requests_for("DELETE")


def test_the_namespace_patch_creates_a_missing_namespace():
    namespace = compiled_namespace()
    with KubeApiStandIn() as api:
        status, created = apply(api, namespace, force=True)
        assert status in (200, 201)
        assert created["metadata"]["labels"] == namespace["metadata"]["labels"]
        assert api.get("v1", "Namespace", namespace["metadata"]["name"]) is not None
