"""tests/support/crds.py: the offline CRD validator is strict where it claims to be."""

from __future__ import annotations

from tests.support import crds

ISVC = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "scorer"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/1/"}}}}


def test_a_valid_object_has_no_errors():
    assert crds.errors(ISVC) == []


def test_unknown_fields_are_rejected():
    bad = {**ISVC, "spec": {"predictor": {**ISVC["spec"]["predictor"], "canaryTraficPercent": 5}}}
    assert any("canaryTraficPercent" in e for e in crds.errors(bad))


def test_metadata_is_a_strict_object_meta():
    bad = {**ISVC, "metadata": {"name": "scorer", "labelz": {}}}
    assert any("labelz" in e for e in crds.errors(bad))


def test_wrong_types_are_rejected():
    bad = {**ISVC, "spec": {"predictor": {**ISVC["spec"]["predictor"], "minReplicas": "2"}}}
    assert any("minReplicas" in e for e in crds.errors(bad))


def test_preserve_unknown_fields_stays_open():
    # AlertmanagerConfig child routes are x-kubernetes-preserve-unknown-fields.
    config = {"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig", "metadata": {"name": "c"},
              "spec": {"receivers": [{"name": "r"}],
                       "route": {"receiver": "r", "routes": [{"anything": True, "receiver": "r"}]}}}
    assert crds.errors(config) == []


def test_the_pyyaml_value_tag_reads_as_the_equals_string():
    crd = crds.load_crd("monitoring.coreos.com", "AlertmanagerConfig")
    matcher = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["route"][
        "properties"]["matchers"]["items"]["properties"]["matchType"]
    assert "=" in matcher["enum"]


def test_int_or_string_without_a_type_admits_both():
    schema = crds.strict_schema({"x-kubernetes-int-or-string": True})
    assert schema["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    queue = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "q"},
             "spec": {"resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                 {"name": "f", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 8}]}]}]}}
    assert crds.errors(queue) == []
    queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = "8"
    assert crds.errors(queue) == []


def test_unserved_versions_are_refused():
    import pytest

    with pytest.raises(ValueError, match="no served version"):
        crds.validator("kueue.x-k8s.io/v1alpha1", "ClusterQueue")
