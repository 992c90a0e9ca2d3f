"""The Kubernetes rollout runner as compiled: its CronJob's command, run on the files its ConfigMap
volume projects (or, for a namespace too big for one ConfigMap, the files its ``projected`` volume
gives from all of its ConfigMaps), against the Kubernetes API stand-in (tests/support/kube_api.py, a protocol-level
stand-in: no API server runs here) with the compiled Role's rules as the only permissions of its
service account token.

The process may load no ``mlops_infra`` module from outside the projected files and never imports the
``kubernetes`` package (the CronJob runs the stock Python image).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import rollout_runner
from mlops_infra.kube import KubeForbidden
from mlops_infra.kube.resources import CONFIG_MAP, INFERENCE_SERVICE
from mlops_infra.rollout.drivers.kserve import REVISION
from mlops_infra.rollout.scheduled import ServiceAccountKube, load_document
from tests.compile.aws.cases import REFERENCE, compiled
from tests.compile.kubernetes import many_rollouts
from tests.support.kserve import REVISION_CRD
from tests.support.kube_api import KubeApiStandIn, load_crds

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "runner-token"
CRONJOB_RUNTIME = """
import json, runpy, sys
code, command = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, code)
assert command[:2] == ["python", "-m"], command
sys.argv = [command[2], *command[3:]]
try:
    runpy.run_module(command[2], run_name="__main__", alter_sys=True)
    status = 0
except SystemExit as exc:
    status = exc.code
outside = {n: m.__file__ for n, m in sys.modules.items() if n.startswith("mlops_infra")
           and not (m.__file__ or "").startswith(code)}
print("RESULT " + json.dumps({"status": status, "outside": outside, "kubernetes": "kubernetes" in sys.modules}))
"""


def _of(graph, kind: str, name: str = rollout_runner.NAME) -> dict:
    (found,) = [r.inputs for r in graph.resources if r.inputs.get("kind") == kind
                and r.inputs["metadata"]["name"] == name]
    return found


def project(graph, volume: dict, root: Path) -> None:
    """Write the files a ``configMap`` or ``projected`` volume of the graph's ConfigMaps gives a pod."""
    sources = [volume["configMap"]] if "configMap" in volume else [s["configMap"] for s in volume["projected"]["sources"]]
    for source in sources:
        data = _of(graph, "ConfigMap", source["name"])["data"]
        for item in source["items"]:
            (root / item["path"]).parent.mkdir(parents=True, exist_ok=True)
            (root / item["path"]).write_text(data[item["key"]], encoding="utf-8")


def runner_of(graph, root: Path) -> tuple[Path, list[str], list[dict], dict]:
    """A graph's runner: files as its volume projects them, the command, the Role, the document as
    the runner reads it."""
    cronjob, role = _of(graph, "CronJob"), _of(graph, "Role")
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "code"]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "code"]
    project(graph, volume, root)
    command = [part.replace(mount["mountPath"], str(root)) for part in container["command"]]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["PYTHONPATH"] == mount["mountPath"]
    return root, command, role["rules"], load_document(str(root / "rollouts.json"))


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """The reference dev graph's runner (one ConfigMap)."""
    return runner_of(compiled(REFERENCE, "dev"), tmp_path_factory.mktemp("configmap"))


@pytest.fixture
def api(runner):
    _, _, rules, _ = runner
    crds = load_crds("serving.kserve.io_inferenceservices.minimal.yaml")
    with KubeApiStandIn(crds=crds, tokens={TOKEN: rules, "admin": None}) as server:
        yield server


def seed(api: KubeApiStandIn, namespace: str, name: str, version: int, stable: int) -> None:
    """What `pulumi up` leaves: the new version deployed dark, the last finished version recorded (by
    the runner, in the status ConfigMap the compiler creates)."""
    api.seed({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
              "metadata": {"name": name, "namespace": namespace, "annotations": {
                  "mlops-infra/model-version": str(version)}},
              "spec": {"predictor": {"canaryTrafficPercent": 0, "model": {"storageUri": f"s3://m/{version}/"}}}})
    api.seed({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"rollout-{name}", "namespace": namespace},
              "data": {"stable-version": str(stable)}})


def stored(api: KubeApiStandIn, namespace: str, name: str) -> dict:
    """The rollout status the runner keeps (its ConfigMap's data)."""
    return api.get("v1", "ConfigMap", f"rollout-{name}", namespace).get("data") or {}


def service_account(tmp_path: Path, namespace: str) -> Path:
    sa = tmp_path / "serviceaccount"
    sa.mkdir(exist_ok=True)
    (sa / "token").write_text(TOKEN)
    (sa / "namespace").write_text(namespace)
    return sa


def run_cronjob(runner, api_url: str, sa: Path) -> dict:
    root, command, _, _ = runner
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "KUBE"))}
    env.update(MLOPS_KUBE_API=api_url, MLOPS_SA_DIR=str(sa), MLOPS_PROMETHEUS_URL="http://127.0.0.1:9/")
    done = subprocess.run([sys.executable, "-I", "-c", CRONJOB_RUNTIME, str(root), json.dumps(command)], env=env,
                          capture_output=True, text=True, timeout=120)
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    answer = json.loads(line[len("RESULT "):])
    assert answer["outside"] == {} and answer["kubernetes"] is False
    answer["log"] = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    return answer


def isvc(api: KubeApiStandIn, namespace: str, name: str) -> dict:
    return api.get("serving.kserve.io/v1beta1", "InferenceService", name, namespace)


def test_the_cronjob_starts_the_canary_then_holds_while_its_alerts_cannot_be_read(runner, api, tmp_path):
    _, _, _, document = runner
    namespace, (item,) = document["namespace"], document["rollouts"]
    name, first = item["address"].split(".", 1)[1], item["plan"]["steps"][0]
    assert item["plan"]["rollbackAlerts"]  # gated: the second pass must read Prometheus
    seed(api, namespace, name, version=13, stable=12)
    sa = service_account(tmp_path, namespace)

    started = run_cronjob(runner, api.url, sa)
    assert started["status"] == 0
    assert [(x["endpoint"], x["action"], x["acted"]) for x in started["log"]] == [(name, "set_traffic", True)]
    obj = isvc(api, namespace, name)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == first
    assert stored(api, namespace, name)["phase"] == "progressing"

    held = run_cronjob(runner, api.url, sa)  # no Prometheus answers: hold, never advance blind
    (line,) = held["log"]
    assert line["action"] == "hold" and "cannot read" in line["message"] and "Prometheus" in line["message"]
    obj = isvc(api, namespace, name)
    assert obj["spec"]["predictor"]["canaryTrafficPercent"] == first
    assert "blind-since" in stored(api, namespace, name)
    requests = [(r.method, r.path, r.status) for r in api.requests if r.path.endswith(f"/inferenceservices/{name}")]
    assert {(m, s) for m, _, s in requests} == {("GET", 200), ("PATCH", 200)}  # allowed by the compiled Role
    status_requests = [(r.method, r.status) for r in api.requests if r.path.endswith(f"/configmaps/rollout-{name}")]
    assert set(status_requests) == {("GET", 200), ("PATCH", 200)}
    assert {r.query.get("fieldManager") for r in api.requests_for("PATCH")} == {"mlops-infra-rollout"}
    assert "mlops-infra-rollout (Update)" in api.managers("serving.kserve.io/v1beta1", "InferenceService", name, namespace)


def test_a_failed_pass_exits_1_and_says_which_endpoint(runner, api, tmp_path):
    _, _, _, document = runner
    sa = service_account(tmp_path, document["namespace"])  # nothing seeded: the InferenceService is missing
    answer = run_cronjob(runner, api.url, sa)
    (line,) = answer["log"]
    assert answer["status"] == 1 and line["endpoint"] == "scorer" and line["error"].startswith("KubeNotFound: ")


def test_the_role_allows_get_and_patch_of_the_rolled_out_endpoints_and_get_of_revisions_only(runner, api, tmp_path):
    _, _, rules, document = runner
    namespace, (item,) = document["namespace"], document["rollouts"]
    name = item["address"].split(".", 1)[1]
    assert rules == [{"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"],
                      "resourceNames": [name], "verbs": ["get", "patch"]},
                     {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [f"rollout-{name}"],
                      "verbs": ["get", "patch"]},
                     {"apiGroups": ["serving.knative.dev"], "resources": ["revisions"], "verbs": ["get"]}]
    seed(api, namespace, name, version=13, stable=12)
    seed(api, namespace, "someone-elses", version=2, stable=1)
    kube = ServiceAccountKube(api.url, str(service_account(tmp_path, namespace)))
    assert kube.get(INFERENCE_SERVICE, name, namespace)["metadata"]["name"] == name
    with pytest.raises(KubeForbidden):
        kube.get(INFERENCE_SERVICE, "someone-elses", namespace)
    with pytest.raises(KubeForbidden):
        kube.patch(INFERENCE_SERVICE, "someone-elses", namespace, {"spec": {"predictor": {"canaryTrafficPercent": 50}}})
    assert kube.get(CONFIG_MAP, f"rollout-{name}", namespace)["data"]["stable-version"] == "12"
    with pytest.raises(KubeForbidden):  # only its own endpoints' status ConfigMaps
        kube.get(CONFIG_MAP, "rollout-someone-elses", namespace)
    with pytest.raises(KubeForbidden):
        kube.patch(CONFIG_MAP, "rollout-someone-elses", namespace, {"data": {"phase": "finished"}})
    api.seed(REVISION_CRD)
    api.seed({"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
              "metadata": {"name": f"{name}-predictor-00002", "namespace": namespace}})
    assert kube.get(REVISION, f"{name}-predictor-00002", namespace)["metadata"]["namespace"] == namespace
    with pytest.raises(KubeForbidden):  # Knative Revisions: read one, nothing else
        kube.patch(REVISION, f"{name}-predictor-00002", namespace, {"metadata": {"labels": {"x": "y"}}})
    with pytest.raises(KubeForbidden):
        kube._request("GET", REVISION.path(namespace))
    with pytest.raises(KubeForbidden):  # no list, no delete
        kube._request("GET", INFERENCE_SERVICE.path(namespace))
    with pytest.raises(KubeForbidden):
        kube._request("DELETE", INFERENCE_SERVICE.path(namespace, name))


def test_the_cronjob_of_a_namespace_in_several_configmaps_reads_every_part_and_starts_every_canary(tmp_path):
    graph = many_rollouts.graph()
    root, command, rules, document = runner_of(graph, tmp_path / "projected")
    assert sorted(p.name for p in root.glob("rollouts*.json")) == ["rollouts-2.json", "rollouts-3.json", "rollouts.json"]
    assert json.loads((root / "rollouts.json").read_text())["rollouts"] == []  # every rollout is in a part
    names = many_rollouts.names()
    assert [item["address"] for item in document["rollouts"]] == [f"endpoints.{n}" for n in names]
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml"),
                        tokens={TOKEN: rules}) as api:
        for name in names:
            seed(api, many_rollouts.NAMESPACE, name, version=3, stable=2)
        answer = run_cronjob((root, command, rules, document), api.url, service_account(tmp_path, many_rollouts.NAMESPACE))
        assert answer["status"] == 0
        assert sorted((x["endpoint"], x["action"], x["acted"]) for x in answer["log"]) == [
            (n, "set_traffic", True) for n in names]
        assert {isvc(api, many_rollouts.NAMESPACE, n)["spec"]["predictor"]["canaryTrafficPercent"] for n in names} == {1}


def write_document(root: Path, parts: dict[str, object], head_rollouts: list[dict]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    head = {"target": "kubernetes", "namespace": "ns", "rollouts": head_rollouts, "parts": sorted(parts)}
    (root / "rollouts.json").write_text(json.dumps(head))
    for name, part in parts.items():
        if part is not None:
            (root / name).write_text(part if isinstance(part, str) else json.dumps(part))
    return root / "rollouts.json"


def test_load_document_merges_the_parts_in_order_one_entry_per_address(tmp_path):
    entry = lambda name, step=5: {"address": f"endpoints.{name}", "plan": {"steps": [step, 100]}}  # noqa: E731
    where = write_document(tmp_path, {"rollouts-2.json": {"rollouts": [entry("b"), entry("c")]},
                                      "rollouts-3.json": {"rollouts": [entry("c", 50), entry("d")]}}, [entry("a")])
    document = load_document(str(where))
    assert document == {"target": "kubernetes", "namespace": "ns",
                        "rollouts": [entry("a"), entry("b"), entry("c"), entry("d")]}  # "c" as first seen


@pytest.mark.parametrize(("part", "says"), [(None, "cannot be read"), ("{not json", "is not JSON"),
                                            ('{"items": []}', 'must be {"rollouts": [...]}')])
def test_a_missing_or_broken_part_fails_the_pass_naming_the_file(tmp_path, part, says, capsys):
    from mlops_infra.rollout import scheduled

    where = write_document(tmp_path, {"rollouts-2.json": part}, [])
    with pytest.raises(scheduled.DocumentError, match=re.escape(says)) as raised:
        load_document(str(where))
    assert str(raised.value).startswith(f"{tmp_path / 'rollouts-2.json'}: ")
    assert scheduled.main([str(where)]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {"error": str(raised.value)}
