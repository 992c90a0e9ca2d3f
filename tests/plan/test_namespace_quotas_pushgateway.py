"""What the Pushgateway's volume adds to a namespace (plan/namespace_quotas.py): one claim and its
1Gi storage request, counted against ``persistentvolumeclaims`` and ``requests.storage``, and no
update surge (a ``Recreate`` Deployment starts its new pod only after the old one is gone)."""

from __future__ import annotations

from mlops_infra.plan.namespace_quotas import (
    namespace_needs,
    namespace_objects,
    namespace_quota_warnings,
    workloads,
)
from tests.support.kube_cases import REFERENCE, compiled


def _reference():
    return compiled(REFERENCE, "dev")


def _quota(hard: dict[str, str]) -> dict:
    return {"metadata": {"name": "team"}, "spec": {"hard": hard}, "status": {"used": {}}}


def test_the_pushgateway_claim_is_counted_with_its_storage() -> None:
    needs = namespace_needs(_reference())
    claims = {p.what: p.start for p in needs["persistentvolumeclaims"].parts}
    storage = {p.what: p.start for p in needs["requests.storage"].parts}
    assert claims == {"PersistentVolumeClaim mlops-mlflow": 1, "PersistentVolumeClaim mlops-pushgateway": 1}
    assert storage["PersistentVolumeClaim mlops-pushgateway"] == 2**30


def test_a_quota_of_one_claim_refuses_the_second_and_names_both() -> None:
    (warning,) = namespace_quota_warnings(_reference(), [_quota({"persistentvolumeclaims": "1"})])
    assert warning.startswith("namespace quota: ResourceQuota team in namespace fraud-dev sets persistentvolumeclaims "
                              "to 1; this environment's apply needs 2 (other use of the namespace counts too) "
                              "(platform (PersistentVolumeClaim mlops-mlflow) 1, platform (PersistentVolumeClaim "
                              "mlops-pushgateway) 1): the creates of pulumi up past it are refused")
    assert namespace_quota_warnings(_reference(), [_quota({"persistentvolumeclaims": "2"})]) == []


def test_a_storage_quota_of_the_registry_alone_is_passed_by_the_pushgateway_volume() -> None:
    (warning,) = namespace_quota_warnings(_reference(), [_quota({"requests.storage": "10Gi"})])
    assert "sets requests.storage to 10Gi; this environment's apply needs 11Gi" in warning
    assert "platform (PersistentVolumeClaim mlops-pushgateway) 1Gi" in warning
    assert namespace_quota_warnings(_reference(), [_quota({"requests.storage": "11Gi"})]) == []


def test_the_recreated_pushgateway_adds_no_pod_during_an_update() -> None:
    [pushgateway] = [w for w in workloads(namespace_objects(_reference())) if w.what == "Deployment mlops-pushgateway"]
    assert (pushgateway.start, pushgateway.most, pushgateway.update) == (1, 1, 0)
