"""Every object the Kubernetes target declares validates offline, strictly.

- Built-in kinds: kubernetes-validate in strict mode for Kubernetes 1.30 (unknown fields fail).
- CRD kinds: the ``openAPIV3Schema`` of the matching served version of the CRD in
  ``shared/fixtures/crds`` (tests/support/crds.py; unknown fields fail there too), including the
  PyTorchJob run templates stored in ConfigMaps.
- Kueue ``ResourceFlavor`` has no CRD in the fixtures; it is checked by shape against the Kueue
  API (nodeLabels at most 8 string labels, tolerations with known fields).
"""

from __future__ import annotations

import json
from functools import cache

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from mlops_infra.compile.kubernetes.objects import CLUSTER_SCOPED, is_builtin
from tests.support import crds
from tests.support.kube_cases import CASE_IDS, graph_of, objects

KUBERNETES_VERSION = "1.30.0"
NO_CRD_FIXTURE = {("kueue.x-k8s.io", "ResourceFlavor")}


@pytest.fixture(scope="module", autouse=True)
def _cached_kubernetes_schemas():
    """kubernetes-validate parses its (large) schema files on every call; parse each once here."""
    original = kubernetes_validate.utils.schema_contents
    kubernetes_validate.utils.schema_contents = cache(original)
    yield
    kubernetes_validate.utils.schema_contents = original


@cache
def _builtin_error(text: str) -> str | None:
    try:
        kubernetes_validate.validate(json.loads(text), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return f"{'.'.join(str(p) for p in exc.absolute_path)}: {exc.message}"
    return None


def builtin_error(obj: dict) -> str | None:
    return _builtin_error(json.dumps(obj, sort_keys=True))


@pytest.mark.parametrize("case", CASE_IDS)
def test_builtin_kinds_validate_strictly(case):
    checked = 0
    for resource, obj in objects(graph_of(case)):
        if is_builtin(obj["apiVersion"]):
            assert builtin_error(obj) is None, (resource.urn, builtin_error(obj))
            checked += 1
    assert checked


@pytest.mark.parametrize("case", CASE_IDS)
def test_crd_kinds_validate_against_the_fixture_crds(case):
    checked = set()
    for resource, obj in objects(graph_of(case)):
        if is_builtin(obj["apiVersion"]):
            continue
        group, _, version = obj["apiVersion"].rpartition("/")
        if (group, obj["kind"]) in NO_CRD_FIXTURE:
            continue
        assert version in crds.served_versions(group, obj["kind"]), (resource.urn, version)
        assert crds.errors(obj) == [], resource.urn
        namespaced = crds.scope(group, obj["kind"]) == "Namespaced"
        assert namespaced == (obj["kind"] not in CLUSTER_SCOPED), obj["kind"]
        checked.add(obj["kind"])
    assert checked


@pytest.mark.parametrize("case", CASE_IDS)
def test_kueue_objects_use_the_storage_version(case):
    for _, obj in objects(graph_of(case)):
        if obj["apiVersion"].startswith("kueue.x-k8s.io/"):
            version = obj["apiVersion"].rpartition("/")[2]
            reference_kind = "ClusterQueue" if obj["kind"] == "ResourceFlavor" else obj["kind"]
            assert crds.served_versions("kueue.x-k8s.io", reference_kind)[version] is True


@pytest.mark.parametrize("case", CASE_IDS)
def test_resource_flavors_have_the_kueue_shape(case):
    for resource, obj in objects(graph_of(case)):
        if obj["kind"] != "ResourceFlavor":
            continue
        assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
        spec = obj["spec"]
        assert set(spec) <= {"nodeLabels", "nodeTaints", "tolerations", "topologyName"}, resource.urn
        assert len(spec["nodeLabels"]) <= 8 and all(isinstance(v, str) for v in spec["nodeLabels"].values())
        for toleration in spec.get("tolerations", []):
            assert set(toleration) <= {"key", "operator", "value", "effect", "tolerationSeconds"}
            assert toleration["operator"] in ("Exists", "Equal")


def test_strict_builtin_validation_catches_a_misspelled_field():
    graph = graph_of("reference-dev")
    cronjob = next(o for _, o in objects(graph) if o["kind"] == "CronJob")
    misspelled = {**cronjob, "spec": {**cronjob["spec"], "concurrencyPolicyy": "Forbid"}}
    assert "concurrencyPolicyy" in (builtin_error(misspelled) or "")


def test_strict_crd_validation_catches_a_misspelled_field_in_a_run_template():
    graph = graph_of("reference-dev")
    template = next(o for _, o in objects(graph) if o["kind"] == "PyTorchJob")
    misspelled = json.loads(json.dumps(template))
    misspelled["spec"]["runPolicy"]["activeDeadlineSecond"] = 1
    assert any("activeDeadlineSecond" in e for e in crds.errors(misspelled))
