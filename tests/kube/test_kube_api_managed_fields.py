"""The Kubernetes API stand-in's ``metadata.managedFields`` (tests/support/kube_api.py, "Field management"), with
``managed_fields=True``: the owners it records, in the API server's serialization (k8s.io/apimachinery
``ManagedFieldsEntry``: manager, operation, apiVersion, ``fieldsType: FieldsV1``, ``fieldsV1`` as nested ``f:<key>``)."""

from __future__ import annotations

from tests.kube.test_kube_api_standin import call
from tests.support.kube_api import KubeApiStandIn, load_crds

QUEUE = "/apis/kueue.x-k8s.io/v1beta2/clusterqueues/team"
MERGE = "application/merge-patch+json"


def stand_in(**flags) -> KubeApiStandIn:
    api = KubeApiStandIn(crds=load_crds("kueue.x-k8s.io_clusterqueues.yaml"), **flags)
    api.seed({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "team"},
              "spec": {"cohortName": "pool"}})
    return api


def test_a_patch_by_a_field_manager_shows_in_get_list_and_the_write() -> None:
    with stand_in(managed_fields=True) as api:
        status, written = call(api, "PATCH", f"{QUEUE}?fieldManager=mlops-infra-drain",
                               {"spec": {"stopPolicy": "HoldAndDrain"}}, content_type=MERGE)
        entry = {"manager": "mlops-infra-drain", "operation": "Update", "apiVersion": "kueue.x-k8s.io/v1beta2",
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:stopPolicy": {}}}}
        assert status == 200 and written["metadata"]["managedFields"] == [entry]
        assert call(api, "GET", QUEUE)[1]["metadata"]["managedFields"] == [entry]
        (item,) = call(api, "GET", "/apis/kueue.x-k8s.io/v1beta2/clusterqueues")[1]["items"]
        assert item["metadata"]["managedFields"] == [entry]

        # another manager changing the value takes the field: the first one owns nothing and is not listed
        call(api, "PATCH", f"{QUEUE}?fieldManager=kubectl-patch", {"spec": {"stopPolicy": "Hold"}}, content_type=MERGE)
        owners = call(api, "GET", QUEUE)[1]["metadata"]["managedFields"]
        assert [(e["manager"], e["fieldsV1"]) for e in owners] == [("kubectl-patch", {"f:spec": {"f:stopPolicy": {}}})]


def test_off_by_default_objects_are_as_written() -> None:
    with stand_in() as api:
        call(api, "PATCH", f"{QUEUE}?fieldManager=mlops-infra-drain", {"spec": {"stopPolicy": "HoldAndDrain"}},
             content_type=MERGE)
        assert "managedFields" not in call(api, "GET", QUEUE)[1]["metadata"]
        assert api.managers("kueue.x-k8s.io/v1beta2", "ClusterQueue", "team") == {
            "mlops-infra-drain (Update)": {".spec.stopPolicy"}}
