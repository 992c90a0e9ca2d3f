"""The Kubernetes API stand-in speaks the protocol: raw HTTP against it, as any client would."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.support.kube_api import KubeApiStandIn, label_matcher, load_crds, merge_patch

ISVC = "/apis/serving.kserve.io/v1beta1/namespaces/dev/inferenceservices"
CM = "/api/v1/namespaces/dev/configmaps"


def call(api: KubeApiStandIn, method: str, path: str, body: Any = None, *, content_type: str = "application/json",
         token: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def isvc(name: str = "scorer", percent: int = 2) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": name, "labels": {"app": name, "tier": "serving"}},
            "spec": {"predictor": {"canaryTrafficPercent": percent, "model": {"storageUri": "s3://m/1/"}}}}


@pytest.fixture(scope="module")
def crds() -> list[dict[str, Any]]:
    return load_crds("serving.kserve.io_inferenceservices.minimal.yaml", "kubeflow.org_pytorchjobs.yaml")


@pytest.fixture
def api(crds):
    with KubeApiStandIn(crds=crds) as server:
        yield server


def test_binds_loopback_only_and_stops(crds):
    server = KubeApiStandIn(crds=crds).start()
    assert server.url.startswith("http://127.0.0.1:")
    url = server.url
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/version", timeout=2)


def test_create_get_list_with_server_metadata(api):
    code, created = call(api, "POST", ISVC, isvc())
    assert code == 201
    meta = created["metadata"]
    assert meta["namespace"] == "dev" and meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"]
    code, got = call(api, "GET", f"{ISVC}/scorer")
    assert code == 200 and got == created
    code, listed = call(api, "GET", ISVC)
    assert listed["kind"] == "InferenceServiceList" and [i["metadata"]["name"] for i in listed["items"]] == ["scorer"]
    code, everywhere = call(api, "GET", "/apis/serving.kserve.io/v1beta1/inferenceservices")
    assert code == 200 and len(everywhere["items"]) == 1


def test_not_found_and_already_exist_are_status_objects(api):
    code, status = call(api, "GET", f"{ISVC}/missing")
    assert code == 404
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": 'inferenceservices.serving.kserve.io "missing" not found', "reason": "NotFound",
                      "details": {"name": "missing", "group": "serving.kserve.io", "kind": "inferenceservices"},
                      "code": 404}
    call(api, "POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    code, status = call(api, "POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert code == 409 and status["reason"] == "AlreadyExists" and status["message"] == 'configmaps "c" already exists'


def test_a_resource_without_its_crd_is_not_served(api):
    code, status = call(api, "GET", "/apis/monitoring.coreos.com/v1/namespaces/dev/prometheusrules")
    assert code == 404 and status["message"] == "the server could not find the requested resource"
    crd = load_crds("monitoring.coreos.com_prometheusrules.yaml")[0]
    assert call(api, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)[0] == 201
    assert call(api, "GET", "/apis/monitoring.coreos.com/v1/namespaces/dev/prometheusrules")[0] == 200
    code, crds = call(api, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    assert {c["metadata"]["name"] for c in crds["items"]} >= {"prometheusrules.monitoring.coreos.com",
                                                              "inferenceservices.serving.kserve.io"}


def test_stale_resource_version_conflicts_on_put_patch_and_delete(api):
    _, created = call(api, "POST", ISVC, isvc())
    stale = created["metadata"]["resourceVersion"]
    code, patched = call(api, "PATCH", f"{ISVC}/scorer", {"spec": {"predictor": {"canaryTrafficPercent": 5}}},
                         content_type="application/merge-patch+json")
    assert code == 200 and int(patched["metadata"]["resourceVersion"]) > int(stale)
    assert patched["metadata"]["generation"] == 2
    conflict_message = ('Operation cannot be fulfilled on inferenceservices.serving.kserve.io "scorer": the object has '
                        "been modified; please apply your changes to the latest version and try again")
    for method, body, content_type in [
        ("PATCH", {"metadata": {"resourceVersion": stale}, "spec": {"predictor": {"canaryTrafficPercent": 9}}},
         "application/merge-patch+json"),
        ("PATCH", [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale}],
         "application/json-patch+json"),
        ("PUT", {**created, "spec": {"predictor": {"canaryTrafficPercent": 9}}}, "application/json"),
        ("DELETE", {"preconditions": {"resourceVersion": stale}}, "application/json"),
    ]:
        code, status = call(api, method, f"{ISVC}/scorer", body, content_type=content_type)
        assert (code, status["reason"], status["message"]) == (409, "Conflict", conflict_message), method
    assert api.get("serving.kserve.io/v1beta1", "InferenceService", "scorer", "dev")["spec"]["predictor"][
        "canaryTrafficPercent"] == 5


def test_put_of_a_custom_resource_needs_a_resource_version(api):
    _, created = call(api, "POST", ISVC, isvc())
    body = {**created, "metadata": {"name": "scorer"}}
    code, status = call(api, "PUT", f"{ISVC}/scorer", body)
    assert code == 422 and status["reason"] == "Invalid"
    code, _ = call(api, "PUT", f"{ISVC}/scorer", created)
    assert code == 200


def test_json_patch_ops_and_a_failed_test_op(api):
    call(api, "POST", ISVC, isvc())
    ops = [{"op": "test", "path": "/spec/predictor/canaryTrafficPercent", "value": 2},
           {"op": "replace", "path": "/spec/predictor/canaryTrafficPercent", "value": 10},
           {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}]
    code, patched = call(api, "PATCH", f"{ISVC}/scorer", ops, content_type="application/json-patch+json")
    assert code == 200 and patched["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert patched["metadata"]["annotations"] == {"a": "b"}
    code, status = call(api, "PATCH", f"{ISVC}/scorer", ops[:1], content_type="application/json-patch+json")
    assert code == 422 and status["reason"] == "Invalid"


def test_strategic_merge_is_refused_on_custom_resources_only(api):
    call(api, "POST", ISVC, isvc())
    code, status = call(api, "PATCH", f"{ISVC}/scorer", {"spec": {}},
                        content_type="application/strategic-merge-patch+json")
    assert code == 415 and status["reason"] == "UnsupportedMediaType"
    call(api, "POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
    code, patched = call(api, "PATCH", f"{CM}/c", {"data": {"b": "2"}},
                         content_type="application/strategic-merge-patch+json")
    assert code == 200 and patched["data"] == {"a": "1", "b": "2"}


def test_status_subresource_and_main_resource_do_not_overwrite_each_other(api):
    call(api, "POST", ISVC, isvc())
    code, written = call(api, "PATCH", f"{ISVC}/scorer/status", {"status": {"url": "http://x"}, "spec": {"bad": 1}},
                         content_type="application/merge-patch+json")
    assert code == 200 and written["status"] == {"url": "http://x"} and "bad" not in written["spec"]
    assert written["metadata"]["generation"] == 1  # status writes do not bump the generation
    _, again = call(api, "PATCH", f"{ISVC}/scorer", {"status": {"url": "overwritten?"}},
                    content_type="application/merge-patch+json")
    assert again["status"] == {"url": "http://x"}


def test_label_and_field_selectors(api):
    for name, tier in (("a", "serving"), ("b", "batch"), ("c", None)):
        labels = {"app": name, **({"tier": tier} if tier else {})}
        call(api, "POST", CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}})

    def names(query: str) -> list[str]:
        return [i["metadata"]["name"] for i in call(api, "GET", f"{CM}?{query}")[1]["items"]]

    assert names("labelSelector=tier%3Dserving") == ["a"]
    assert names("labelSelector=tier%21%3Dserving") == ["b", "c"]
    assert names("labelSelector=tier") == ["a", "b"]
    assert names("labelSelector=%21tier") == ["c"]
    assert names("labelSelector=app+in+%28a%2Cc%29") == ["a", "c"]
    assert names("labelSelector=app+notin+%28a%29%2Ctier") == ["b"]
    assert names("fieldSelector=metadata.name%3Db") == ["b"]
    assert label_matcher("x==1,y")({"x": "1", "y": ""}) and not label_matcher("x==1,y")({"x": "1"})


def test_generate_name(api):
    job = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"generateName": "retrain-"}}
    code, created = call(api, "POST", "/apis/kubeflow.org/v1/namespaces/dev/pytorchjobs", job)
    assert code == 201 and created["metadata"]["name"].startswith("retrain-") and len(created["metadata"]["name"]) == 13


def test_bearer_tokens_and_rbac_rules(crds):
    rules = [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["get", "patch"],
              "resourceNames": ["scorer"]}]
    with KubeApiStandIn(crds=crds, tokens={"admin": None, "rollout": rules}) as api:
        assert call(api, "POST", ISVC, isvc(), token="admin")[0] == 201
        code, status = call(api, "GET", f"{ISVC}/scorer")
        assert (code, status["reason"], status["message"]) == (401, "Unauthorized", "Unauthorized")
        assert call(api, "GET", f"{ISVC}/scorer", token="wrong")[0] == 401
        assert call(api, "GET", f"{ISVC}/scorer", token="rollout")[0] == 200
        assert call(api, "PATCH", f"{ISVC}/scorer", {"metadata": {"annotations": {"a": "b"}}}, token="rollout",
                    content_type="application/merge-patch+json")[0] == 200
        for method, path, body in (("GET", ISVC, None), ("DELETE", f"{ISVC}/scorer", None),
                                   ("POST", ISVC, isvc("other")), ("GET", f"{CM}/x", None)):
            code, status = call(api, method, path, body, token="rollout")
            assert code == 403 and status["reason"] == "Forbidden", (method, path)
        assert 'cannot list resource "inferenceservices" in API group "serving.kserve.io" in the namespace "dev"' in \
            call(api, "GET", ISVC, token="rollout")[1]["message"]


def test_injected_faults_request_log_and_write_hooks(api):
    api.fail(status=503, times=2, method="GET")
    assert call(api, "GET", "/version")[0] == 503
    assert call(api, "GET", "/version")[0] == 503
    assert call(api, "GET", "/version")[0] == 200

    def controller(verb: str, obj: dict[str, Any]) -> None:
        percent = obj["spec"]["predictor"].get("canaryTrafficPercent")
        obj["status"] = {"components": {"predictor": {"traffic": [{"percent": percent, "latestRevision": True}]}}}

    api.on_write(controller)
    _, created = call(api, "POST", ISVC, isvc(percent=25))
    assert created["status"]["components"]["predictor"]["traffic"][0]["percent"] == 25
    posts = api.requests_for("POST", "/inferenceservices")
    assert [(r.verb, r.status, r.body["metadata"]["name"]) for r in posts] == [("create", 201, "scorer")]


def test_discovery_lists_builtin_and_installed_groups(api):
    assert call(api, "GET", "/version")[1]["major"] == "1"
    groups = {g["name"] for g in call(api, "GET", "/apis")[1]["groups"]}
    assert {"apps", "serving.kserve.io", "kubeflow.org", "apiextensions.k8s.io"} <= groups
    resources = call(api, "GET", "/apis/serving.kserve.io/v1beta1")[1]["resources"]
    assert [(r["name"], r["kind"], r["namespaced"]) for r in resources] == [
        ("inferenceservices", "InferenceService", True)]
    assert call(api, "GET", "/api/v1/namespaces")[0] == 200


def test_discovery_of_one_group_is_an_api_group_and_404_when_not_served(api):
    status, group = call(api, "GET", "/apis/serving.kserve.io")
    assert status == 200 and group["kind"] == "APIGroup" and group["name"] == "serving.kserve.io"
    assert group["versions"] == [{"groupVersion": "serving.kserve.io/v1beta1", "version": "v1beta1"}]
    assert group["preferredVersion"] == {"groupVersion": "serving.kserve.io/v1beta1", "version": "v1beta1"}
    assert call(api, "GET", "/apis/karpenter.sh")[0] == 404
    assert call(api, "GET", "/apis/serving.kserve.io/v1")[0] == 404


def test_merge_patch_follows_rfc_7386():
    # the examples of RFC 7386, appendix A
    cases = [({"a": "b"}, {"a": "c"}, {"a": "c"}), ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
             ({"a": "b"}, {"a": None}, {}), ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
             ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
             ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}), ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
             ({"e": None}, {"a": 1}, {"e": None, "a": 1}), ([1, 2], {"a": "b", "c": None}, {"a": "b"})]
    for target, patch, result in cases:
        assert merge_patch(target, patch) == result


# -- field management (server-side apply) ----------------------------------------------------------------------

APPLY = "application/apply-patch+yaml"


def apply(api: KubeApiStandIn, obj: dict[str, Any], manager: str | None, *, force: bool = False,
          yaml_text: str | None = None) -> tuple[int, dict[str, Any]]:
    query = "&".join(([f"fieldManager={manager}"] if manager else []) + (["force=true"] if force else []))
    request = urllib.request.Request(f"{api.url}{ISVC}/{obj['metadata']['name']}" + (f"?{query}" if query else ""),
                                     data=(yaml_text or json.dumps(obj)).encode(), method="PATCH",
                                     headers={"Content-Type": APPLY})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def owners(api: KubeApiStandIn, name: str = "scorer") -> dict[str, set[str]]:
    return api.managers("serving.kserve.io/v1beta1", "InferenceService", name, "dev")


def test_apply_creates_then_an_update_takes_the_fields_it_changes(api):
    code, created = apply(api, isvc(), "pulumi")
    assert code == 201 and created["spec"]["predictor"]["canaryTrafficPercent"] == 2
    assert owners(api) == {"pulumi (Apply)": {".metadata.labels.app", ".metadata.labels.tier",
                                              ".spec.predictor.canaryTrafficPercent",
                                              ".spec.predictor.model.storageUri"}}
    request = urllib.request.Request(f"{api.url}{ISVC}/scorer", method="PATCH",
                                     data=json.dumps({"spec": {"predictor": {"canaryTrafficPercent": 25}},
                                                      "metadata": {"annotations": {"note": "x"}}}).encode(),
                                     headers={"Content-Type": "application/merge-patch+json",
                                              "User-Agent": "Python-urllib/3.11"})
    with urllib.request.urlopen(request, timeout=5):
        pass
    found = owners(api)
    assert found["Python-urllib (Update)"] == {".spec.predictor.canaryTrafficPercent", ".metadata.annotations.note"}
    assert ".spec.predictor.canaryTrafficPercent" not in found["pulumi (Apply)"]


def test_an_apply_that_changes_another_managers_field_conflicts_unless_forced(api):
    apply(api, isvc(), "pulumi")
    code, _ = call(api, "PATCH", f"{ISVC}/scorer?fieldManager=rollout", {"spec": {"predictor": {"canaryTrafficPercent": 100}}},
                   content_type="application/merge-patch+json")
    assert code == 200
    version = api.get("serving.kserve.io/v1beta1", "InferenceService", "scorer", "dev")["metadata"]["resourceVersion"]
    code, status = apply(api, isvc(percent=2), "pulumi")
    assert code == 409 and status["reason"] == "Conflict"
    assert status["message"] == ('Apply failed with 1 conflict: conflict with "rollout" using serving.kserve.io/v1beta1: '
                                 ".spec.predictor.canaryTrafficPercent")
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict", "field": ".spec.predictor.canaryTrafficPercent",
                                            "message": 'conflict with "rollout" using serving.kserve.io/v1beta1'}]
    stored = api.get("serving.kserve.io/v1beta1", "InferenceService", "scorer", "dev")
    assert stored["metadata"]["resourceVersion"] == version  # a refused apply writes nothing
    code, _ = apply(api, isvc(percent=100), "pulumi")  # the same value: shared, no conflict
    assert code == 200 and ".spec.predictor.canaryTrafficPercent" in owners(api)["rollout (Update)"]
    code, forced = apply(api, isvc(percent=2), "pulumi", force=True)
    assert code == 200 and forced["spec"]["predictor"]["canaryTrafficPercent"] == 2
    assert "rollout (Update)" not in owners(api)  # it owned nothing else, so its entry goes


def test_apply_leaves_other_managers_fields_and_removes_its_own_dropped_ones(api):
    apply(api, isvc(), "pulumi")
    call(api, "PATCH", f"{ISVC}/scorer?fieldManager=rollout", {"metadata": {"annotations": {"rollout/step": "3"}}},
         content_type="application/merge-patch+json")
    smaller = isvc()
    del smaller["metadata"]["labels"]["tier"]
    code, applied = apply(api, smaller, "pulumi", yaml_text=None)
    assert code == 200
    assert applied["metadata"]["labels"] == {"app": "scorer"}  # its own field it left out: removed
    assert applied["metadata"]["annotations"] == {"rollout/step": "3"}  # another manager's: kept


def test_apply_is_yaml_needs_a_field_manager_and_honours_a_resource_version(api):
    text = ("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: scorer\n"
            "spec:\n  predictor:\n    canaryTrafficPercent: 5\n")
    code, created = apply(api, {"metadata": {"name": "scorer"}}, "kubectl", yaml_text=text)
    assert code == 201 and created["spec"]["predictor"] == {"canaryTrafficPercent": 5}
    code, status = apply(api, isvc(), None)
    assert code == 422 and "fieldManager: Required value" in status["message"]
    elsewhere = isvc("other")
    elsewhere["metadata"]["namespace"] = "prod"
    code, status = apply(api, elsewhere, "kubectl")  # a create by apply checks what a POST checks
    assert code == 400 and "does not match the namespace sent on the request" in status["message"]
    stale = isvc()
    stale["metadata"]["resourceVersion"] = "1"
    code, status = apply(api, stale, "kubectl")
    assert code == 409 and "the object has been modified" in status["message"]


def test_seed_and_delete_leave_no_owner(api):
    apply(api, isvc(), "pulumi")
    api.seed({**isvc(), "metadata": {"name": "scorer", "namespace": "dev"}})
    assert owners(api) == {}
    apply(api, isvc(), "pulumi")
    call(api, "DELETE", f"{ISVC}/scorer")
    assert owners(api) == {}


# -- validation: a ConfigMap's data is at most 1 MiB ------------------------------------------------------------

MIB = 1024 * 1024


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def too_long(name: str) -> dict[str, Any]:
    """The answer ValidateConfigMap's field.TooLong gets (Kubernetes 1.31 wording)."""
    detail = "Too long: must have at most 1048576 bytes"
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Invalid", "code": 422,
            "message": f'ConfigMap "{name}" is invalid: []: {detail}',
            "details": {"name": name, "kind": "ConfigMap",
                        "causes": [{"reason": "FieldValueTooLong", "message": detail, "field": "[]"}]}}


def test_a_configmap_over_1_mib_of_data_is_refused_on_create_as_the_api_server_does(api):
    key = "k" * 200  # keys are not counted: values alone may reach 1 MiB
    code, _ = call(api, "POST", CM, configmap("full", **{key: "a" * (MIB - 10), "b": "é" * 5}))  # 2 bytes each
    assert code == 201
    code, status = call(api, "POST", CM, configmap("over", a="a" * (MIB - 10), b="é" * 6))
    assert (code, status) == (422, too_long("over"))
    binary = {**configmap("binary", a="a" * (MIB // 2)), "binaryData": {"b": base64.b64encode(b"\0" * (MIB // 2 + 1)).decode()}}
    code, status = call(api, "POST", CM, binary)  # binaryData counts decoded
    assert (code, status) == (422, too_long("binary"))
    assert [o["metadata"]["name"] for o in api.objects("configmaps")] == ["full"]


def test_a_configmap_update_patch_or_apply_over_1_mib_is_refused_and_writes_nothing(api):
    code, created = call(api, "POST", CM, configmap("code", a="a" * (MIB - 1)))
    assert code == 201
    version = created["metadata"]["resourceVersion"]
    code, status = call(api, "PUT", f"{CM}/code", configmap("code", a="a" * (MIB - 1), b="bb"))
    assert (code, status) == (422, too_long("code"))
    code, status = call(api, "PATCH", f"{CM}/code", {"data": {"b": "bb"}}, content_type="application/merge-patch+json")
    assert (code, status) == (422, too_long("code"))
    owners_before = api.managers("v1", "ConfigMap", "code", "dev")
    request = urllib.request.Request(f"{api.url}{CM}/code?fieldManager=pulumi&force=true", method="PATCH",
                                     data=json.dumps(configmap("code", a="a" * (MIB - 1), b="bb")).encode(),
                                     headers={"Content-Type": APPLY})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert (refused.value.code, json.load(refused.value)) == (422, too_long("code"))
    stored = api.get("v1", "ConfigMap", "code", "dev")
    assert stored["metadata"]["resourceVersion"] == version and set(stored["data"]) == {"a"}
    assert api.managers("v1", "ConfigMap", "code", "dev") == owners_before  # the refused apply took no field
    code, _ = call(api, "PUT", f"{CM}/code", configmap("code", a="a" * (MIB - 2), b="bb"))  # back under: fine
    assert code == 200


def test_stopping_the_stand_in_closes_its_kept_alive_connections():
    """A client's pooled connection does not outlive the stand-in: stopping it closes the connection, so
    a request waiting on a delayed fault ends at once with a closed connection instead of being
    answered by a handler thread that outlived ``shutdown()`` (which kept the refresh's bounded reads
    of a stopped stand-in running for minutes: tests/support/fixtures.no_stray_reads)."""
    import http.client
    import threading
    import time

    api = KubeApiStandIn().start()
    host, port = api.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("GET", "/version")
    assert connection.getresponse().read()  # the connection stays open (HTTP/1.1)
    api.fail(status=503, delay=5.0, times=10)
    outcome: dict[str, Any] = {}

    def ask() -> None:
        started = time.monotonic()
        try:
            connection.request("GET", "/version")
            outcome["answer"] = connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            outcome["error"] = type(exc).__name__
        outcome["seconds"] = time.monotonic() - started

    waiting = threading.Thread(target=ask)
    waiting.start()
    time.sleep(0.3)
    api.stop()
    waiting.join(10)
    assert "answer" not in outcome and "error" in outcome, outcome
    assert outcome["seconds"] < 2, outcome
