"""At most one training run at a time across pods (finding B11.2): the launcher's runs are named
after the history it listed, so the API server's unique names let one of two concurrent triggers win.

Runs are started by different processes: the training job's CronJob (``launcher.py launch``) and
the retrain trigger (``launcher.py serve``, two pods during a rolling update). These tests run the
launcher as those processes, against the Kubernetes API stand-in (``tests/support/kube_api.py``,
RBAC'd with the launcher's compiled Role), and force the race deterministically: the stand-in's
:meth:`~tests.support.kube_api.KubeApiStandIn.rendezvous` answers every launcher's LIST only once all
of them have listed, so each saw the same history before any of them could create a run. The old
launcher (a ``threading.Lock`` of one process, ``generateName``) creates one run per process here.

The first tests are the stand-in's own: the API server rules the launcher relies on (409
``AlreadyExists`` for a taken name, also while the object is being deleted; a finalizer keeps a
deleted object listed), each cited in the stand-in's docstring ("Deletion and finalizers").
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile.kubernetes.rbac import LAUNCHER_RULES
from mlops_infra.compile.kubernetes.scripts import launcher
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.kube_cases import by_kind, graph_of
from tests.support.prometheus import free_port

TOKEN = "launcher-token"
ADMIN = "admin-token"
NAMESPACE = "fraud-dev"
RUNS = f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs"
JOB = "retrain"
FOLLOWS = "mlops-infra/follows"
TRIGGER_TOKEN = "tr1gger"


def run_after(follows: str, job: str = JOB, prefix: str = "retrain-") -> str:
    """The name the launcher gives the run of ``job`` following the run with uid ``follows``
    ("none": the first): the template's generateName prefix + 10 hex digits of SHA-256 of ``job/follows``."""
    return prefix + hashlib.sha256(f"{job}/{follows}".encode()).hexdigest()[:10]


def call(api: KubeApiStandIn, method: str, path: str, body: Any = None,
         content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    """A raw request as an administrator (``kubectl``, a TTL controller, a finalizer's owner)."""
    request = urllib.request.Request(api.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": content_type, "Authorization": f"Bearer {ADMIN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def pytorchjob(name: str, *, job: str | None = JOB, follows: str | None = None, finished: bool = False,
               **meta: Any) -> dict[str, Any]:
    labels = {"mlops-infra/training-job": job} if job else {}
    annotations = {FOLLOWS: follows} if follows else {}
    obj = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
           "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels, "annotations": annotations, **meta},
           "spec": {"pytorchReplicaSpecs": {}}}
    if finished:
        obj["status"] = {"conditions": [{"type": "Succeeded", "status": "True"}]}
    return obj


@dataclass
class Cluster:
    api: KubeApiStandIn
    account: Path
    template: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "MLOPS_KUBE_API": self.api.url, "MLOPS_SA_DIR": str(self.account),
                "MLOPS_TRIGGER_TOKEN": TRIGGER_TOKEN}

    def runs(self) -> list[dict[str, Any]]:
        return self.api.objects("pytorchjobs")

    def names(self) -> list[str]:
        return [r["metadata"]["name"] for r in self.runs()]

    def run(self, name: str) -> dict[str, Any]:
        found = self.api.get("kubeflow.org/v1", "PyTorchJob", name, NAMESPACE)
        assert found is not None, name
        return found

    def finish(self, name: str) -> None:
        run = self.run(name)
        run["status"] = {"conditions": [{"type": "Succeeded", "status": "True"}]}
        self.api.seed(run)

    def launch_process(self, reason: str) -> subprocess.Popen:
        """``launcher.py launch`` as the CronJob's pod runs it."""
        return subprocess.Popen([sys.executable, launcher.__file__, "launch", str(self.template), "--reason", reason],
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    config = next(c for c in by_kind(graph_of("reference-dev"), "ConfigMap") if c["metadata"]["name"] == "train-retrain")
    templates = tmp_path / "templates"
    templates.mkdir()
    template = templates / "retrain.json"
    template.write_text(config["data"]["pytorchjob.json"])
    assert json.loads(template.read_text())["metadata"]["generateName"] == "retrain-"
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "namespace").write_text(NAMESPACE)
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={TOKEN: LAUNCHER_RULES, ADMIN: None}) as api:
        monkeypatch.setattr(launcher, "API", api.url)
        monkeypatch.setattr(launcher, "SA_DIR", str(account))
        monkeypatch.delenv("NAMESPACE", raising=False)
        yield Cluster(api, account, template)


def finish_processes(processes: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        results.append((process.returncode, out, err))
    return results


# -- the stand-in: the API server rules the launcher relies on ---------------------------------------------------

def test_stand_in_a_taken_name_is_409_already_exists_and_a_finalizer_keeps_a_deleted_run_listed():
    """``Store.create`` / etcd3 ``store.Create``: 409 AlreadyExists for a name that exists, prefixed
    ``object is being deleted:`` while it is being deleted; ``Store.Delete`` of an object with a
    finalizer sets ``deletionTimestamp`` and keeps it (listed, readable) until the write that removes
    its last finalizer; an update cannot unset ``deletionTimestamp`` (``rest.BeforeUpdate``); the name
    is free once the object is gone."""
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={ADMIN: None}) as api:
        status, first = call(api, "POST", RUNS, pytorchjob("retrain-a", finalizers=["example.com/keep"]))
        assert status == 201
        status, refused = call(api, "POST", RUNS, pytorchjob("retrain-a"))
        assert (status, refused["reason"], refused["message"]) == (
            409, "AlreadyExists", 'pytorchjobs.kubeflow.org "retrain-a" already exists')
        status, deleting = call(api, "DELETE", RUNS + "/retrain-a")
        assert status == 200 and deleting["kind"] == "PyTorchJob"
        assert deleting["metadata"]["deletionTimestamp"] and deleting["metadata"]["deletionGracePeriodSeconds"] == 0
        assert deleting["metadata"]["generation"] == first["metadata"]["generation"] + 1
        status, listed = call(api, "GET", RUNS + "?labelSelector=mlops-infra%2Ftraining-job%3Dretrain")
        assert [r["metadata"]["name"] for r in listed["items"]] == ["retrain-a"]
        assert listed["items"][0]["metadata"]["deletionTimestamp"] == deleting["metadata"]["deletionTimestamp"]
        status, refused = call(api, "POST", RUNS, pytorchjob("retrain-a"))
        assert (status, refused["reason"], refused["message"]) == (
            409, "AlreadyExists", 'object is being deleted: pytorchjobs.kubeflow.org "retrain-a" already exists')
        status, kept = call(api, "PATCH", RUNS + "/retrain-a", {"metadata": {"deletionTimestamp": None, "labels": {"x": "y"}}},
                            content_type="application/merge-patch+json")
        assert status == 200 and kept["metadata"]["deletionTimestamp"] == deleting["metadata"]["deletionTimestamp"]
        status, _ = call(api, "PATCH", RUNS + "/retrain-a", {"metadata": {"finalizers": None}},
                         content_type="application/merge-patch+json")
        assert status == 200
        assert call(api, "GET", RUNS + "/retrain-a")[0] == 404
        status, again = call(api, "POST", RUNS, pytorchjob("retrain-a"))
        assert status == 201 and again["metadata"]["uid"] != first["metadata"]["uid"]
        assert api.managers("kubeflow.org/v1", "PyTorchJob", "retrain-a", NAMESPACE).keys() == {"Python-urllib (Update)"}


def test_stand_in_rendezvous_answers_each_read_as_it_arrived_and_only_once_all_arrived():
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={ADMIN: None}) as api:
        api.rendezvous(2, method="GET", path_contains="/pytorchjobs")
        answers: dict[str, list[str]] = {}

        def first() -> None:
            answers["first"] = [r["metadata"]["name"] for r in call(api, "GET", RUNS)[1]["items"]]

        thread = threading.Thread(target=first)
        thread.start()
        for _ in range(2000):  # until the first LIST has arrived (and is held)
            if api.requests_for("GET", "/pytorchjobs"):
                break
            time.sleep(0.005)
        assert call(api, "POST", RUNS, pytorchjob("retrain-b"))[0] == 201  # not held: only GETs are
        assert "first" not in answers  # held: the second LIST has not come
        answers["second"] = [r["metadata"]["name"] for r in call(api, "GET", RUNS)[1]["items"]]
        thread.join(30)
        assert answers == {"first": [], "second": ["retrain-b"]} and not api.broken_rendezvous
        assert [r["metadata"]["name"] for r in call(api, "GET", RUNS)[1]["items"]] == ["retrain-b"]  # met: not held


# -- the launcher --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("history", ["none", "a finished run"])
def test_launchers_in_different_pods_that_saw_the_same_history_start_one_run(cluster, history):
    """A schedule and two manual ``kubectl create job --from=cronjob/...`` at the same moment: three
    launcher processes list the same runs before any creates one. Exactly one run starts, named
    after the history; the other two report it as started by another trigger and exit 0."""
    follows = "none"
    if history != "none":
        follows = cluster.api.seed(pytorchjob("retrain-legacy", finished=True))["metadata"]["uid"]
    cluster.api.rendezvous(3, method="GET", path_contains="/pytorchjobs")
    results = finish_processes([cluster.launch_process(r) for r in ("cronjob/train-retrain", "manual-1", "manual-2")])
    assert not cluster.api.broken_rendezvous
    expected = run_after(follows)
    assert sorted(n for n in cluster.names() if n != "retrain-legacy") == [expected]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    started = [out for _, out, _ in results if f"started run {expected}" in out]
    others = [out for _, out, _ in results if f"run {expected} was started by another trigger" in out]
    assert (len(started), len(others)) == (1, 2), results
    run = cluster.run(expected)
    assert run["metadata"]["annotations"][FOLLOWS] == follows
    assert "generateName" not in run["metadata"]
    assert len(cluster.api.requests_for("POST", "/pytorchjobs")) == 3  # all three tried; the API server let one in


def _start_trigger(cluster: Cluster) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, launcher.__file__, "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--templates", str(cluster.template.parent), "--routes",
                                json.dumps({JOB: ["fraud-drift"]})],
                               env=cluster.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return process, url
        except OSError:
            assert process.poll() is None, "the trigger exited"
            time.sleep(0.05)
    raise AssertionError("the trigger did not start")


def _alert(url: str, answers: list[tuple[int, dict]]) -> None:
    firing = {"alerts": [{"status": "firing", "labels": {"alertname": "fraud-drift"}}]}
    request = urllib.request.Request(url + f"/v1/alerts/{JOB}", data=json.dumps(firing).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            answers.append((response.status, json.load(response)))
    except urllib.error.HTTPError as err:
        answers.append((err.code, json.load(err)))


def test_an_alert_to_each_trigger_pod_and_a_schedule_at_the_same_moment_start_one_run(cluster):
    """The serve mode: an alert reaches the old and the new trigger pod of a rolling update while the
    CronJob fires; all three list before any creates. One run; each alert is answered 200 with the run
    and whether it started it or another trigger did."""
    triggers = [_start_trigger(cluster), _start_trigger(cluster)]
    try:
        cluster.api.rendezvous(3, method="GET", path_contains="/pytorchjobs")
        answers: list[tuple[int, dict]] = []
        threads = [threading.Thread(target=_alert, args=(url, answers)) for _, url in triggers]
        for thread in threads:
            thread.start()
        (code, out, err), = finish_processes([cluster.launch_process("cronjob/train-retrain")])
        for thread in threads:
            thread.join(60)
    finally:
        for process, _ in triggers:
            process.terminate()
            process.wait(timeout=10)
    assert not cluster.api.broken_rendezvous
    expected = run_after("none")
    assert cluster.names() == [expected]
    assert code == 0, err
    outcomes = sorted([a["outcome"] for _, a in answers] + ["started" if "started run" in out else "concurrent"])
    assert outcomes == ["concurrent", "concurrent", "started"], (answers, out)
    for status, answer in answers:
        assert status == 200 and answer["run"] == expected
        assert answer["launched"] == (expected if answer["outcome"] == "started" else None)


def test_two_launchers_expiring_the_same_never_admitted_run_leave_one_new_run(cluster):
    """Finding B7 meets the race: both launchers see a run Kueue never admitted (its admission timeout
    is over) and no other. One new run starts (named after the expired one), then both delete the
    expired run; the second delete's 404 is fine. The old launcher started two and crashed on the 404."""
    stale = pytorchjob("retrain-stale", follows="none")
    stale["metadata"]["annotations"]["mlops-infra/admission-timeout-seconds"] = "-1"  # its wait is over now
    stale["spec"]["runPolicy"] = {"suspend": True}  # Kueue never admitted it
    uid = cluster.api.seed(stale)["metadata"]["uid"]
    cluster.api.rendezvous(2, method="GET", path_contains="/pytorchjobs")
    results = finish_processes([cluster.launch_process("cronjob/train-retrain"), cluster.launch_process("manual")])
    assert not cluster.api.broken_rendezvous
    assert [code for code, _, _ in results] == [0, 0], results
    assert cluster.names() == [run_after(uid)]
    posts = cluster.api.requests_for("POST", "/pytorchjobs")
    deletes = cluster.api.requests_for("DELETE", "/pytorchjobs/retrain-stale")
    assert sorted(r.status for r in deletes) == [200, 404]
    assert min(cluster.api.requests.index(d) for d in deletes) > min(cluster.api.requests.index(p) for p in posts)


def test_a_newest_run_being_deleted_still_names_the_next_and_an_unfinished_one_still_blocks(cluster):
    """A run held by a finalizer after its delete (``deletionTimestamp`` set) is still listed. It is
    still the newest run, so the next run follows it (a name of its own: not the deleting run's,
    which would be 409 ``object is being deleted``); once it is gone, its successor is the newest. A
    run being deleted that has not finished still counts as active: its pods may still run."""
    first = launcher.launch(str(cluster.template), "schedule")
    assert first == run_after("none")
    held = cluster.run(first)
    held["metadata"]["finalizers"] = ["example.com/keep"]
    cluster.api.seed(held)
    cluster.finish(first)
    assert call(cluster.api, "DELETE", f"{RUNS}/{first}")[0] == 200
    assert cluster.run(first)["metadata"]["deletionTimestamp"]

    cluster.api.rendezvous(2, method="GET", path_contains="/pytorchjobs")
    results = finish_processes([cluster.launch_process("cronjob/train-retrain"), cluster.launch_process("manual")])
    assert [code for code, _, _ in results] == [0, 0], results
    second = run_after(held["metadata"]["uid"])
    assert sorted(cluster.names()) == sorted([first, second])

    assert call(cluster.api, "PATCH", f"{RUNS}/{first}", {"metadata": {"finalizers": None}},
                "application/merge-patch+json")[0] == 200
    assert cluster.names() == [second]
    cluster.finish(second)
    third = launcher.launch(str(cluster.template), "schedule")
    assert third == run_after(cluster.run(second)["metadata"]["uid"])

    unfinished = cluster.run(third)
    unfinished["metadata"]["finalizers"] = ["example.com/keep"]
    cluster.api.seed(unfinished)
    assert call(cluster.api, "DELETE", f"{RUNS}/{third}")[0] == 200
    assert launcher.launch(str(cluster.template), "schedule") is None
    assert launcher.start(str(cluster.template), "schedule") == launcher.Outcome(JOB, third, "active")


def test_runs_with_the_same_creation_second_follow_their_chain_not_their_names(cluster):
    """``creationTimestamp`` has one-second resolution: a run and its successor can share it. The
    newest run is the end of the ``follows`` chain, whatever the names' order: here the older run's
    name sorts last, and a launcher taking the largest (time, name) would start a run after it."""
    second_of_all = "2026-12-05T05:00:00Z"

    def same_second(event: str, obj: dict) -> None:
        if event == "create" and obj.get("kind") == "PyTorchJob":
            obj["metadata"]["creationTimestamp"] = second_of_all

    cluster.api.on_write(same_second)
    assert call(cluster.api, "POST", RUNS, pytorchjob("retrain-zzz", follows="none"))[0] == 201
    older = cluster.run("retrain-zzz")["metadata"]["uid"]
    assert call(cluster.api, "POST", RUNS, pytorchjob("retrain-aaa", follows=older))[0] == 201
    cluster.finish("retrain-zzz")
    cluster.finish("retrain-aaa")
    newer = cluster.run("retrain-aaa")["metadata"]["uid"]
    assert {r["metadata"]["creationTimestamp"] for r in cluster.runs()} == {second_of_all}
    assert launcher.launch(str(cluster.template), "schedule") == run_after(newer)
    runs = [cluster.run("retrain-zzz"), cluster.run("retrain-aaa")]
    assert launcher.newest_run(runs)["metadata"]["uid"] == newer
    assert launcher.newest_run(list(reversed(runs)))["metadata"]["uid"] == newer
    assert launcher.newest_run([]) is None


def test_a_name_is_taken_again_only_once_its_run_is_gone(cluster):
    """Runs deleted (a TTL, a cleanup) free their names: with every run gone the history is empty
    again, and the next run takes the first run's name, a new object (new uid)."""
    first = launcher.launch(str(cluster.template), "schedule")
    uid = cluster.run(first)["metadata"]["uid"]
    cluster.finish(first)
    assert call(cluster.api, "DELETE", f"{RUNS}/{first}")[0] == 200
    again = launcher.launch(str(cluster.template), "schedule")
    assert again == first == run_after("none") and cluster.run(again)["metadata"]["uid"] != uid


@pytest.mark.parametrize("squatter", [pytorchjob(run_after("none"), job="other-job", follows="none"),
                                      pytorchjob(run_after("none"), job=None)], ids=["another-job", "unlabelled"])
def test_a_409_for_an_object_that_is_not_a_run_of_this_job_is_an_error(cluster, squatter):
    """The name the launcher derived is taken by an object it did not list: not a run of this job
    (another job's, or unlabelled). Nothing started, and it says so: ``launch`` exits 1 naming it,
    with no traceback; the webhook answers 502 (Alertmanager retries)."""
    cluster.api.seed(squatter)
    name = run_after("none")
    (code, _, err), = finish_processes([cluster.launch_process("cronjob/train-retrain")])
    assert code == 1 and "Traceback" not in err, err
    assert f"cannot start run {name}" in err and f"kubectl delete pytorchjob {name}" in err
    handler = launcher.make_handler(str(cluster.template.parent), {JOB: ["fraud-drift"]}, token=TRIGGER_TOKEN)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        answers: list[tuple[int, dict]] = []
        _alert(f"http://127.0.0.1:{server.server_address[1]}", answers)
    finally:
        server.shutdown()
        server.server_close()
    assert answers[0][0] == 502 and f"cannot start run {name}" in answers[0][1]["error"]
    assert cluster.names() == [name]


@pytest.mark.parametrize("appears", [
    pytorchjob(run_after("none"), follows="another-history"),
    pytorchjob(run_after("none"), follows="none", finalizers=["example.com/keep"]),
], ids=["a-run-after-another-history", "the-concurrent-run-already-being-deleted"])
def test_a_409_for_a_run_of_this_job_that_is_not_the_concurrent_one_is_an_error(cluster, monkeypatch, appears):
    """Between the launcher's LIST and its create, a run of this job takes the name: one following
    another history (a hash clash), or the concurrent trigger's run, already deleted again (held by a
    finalizer: ``object is being deleted``). Neither is a run this trigger may report as started."""
    real = launcher.api

    def api(method: str, path: str, body: dict | None = None) -> dict:
        if method == "POST":  # the other party's create (and delete), after this launcher's LIST
            assert call(cluster.api, "POST", RUNS, appears)[0] == 201
            if "finalizers" in appears["metadata"]:
                assert call(cluster.api, "DELETE", f"{RUNS}/{appears['metadata']['name']}")[0] == 200
        return real(method, path, body)

    monkeypatch.setattr(launcher, "api", api)
    with pytest.raises(launcher.LaunchError, match=f"cannot start run {run_after('none')}: that name "
                       + ("is being deleted" if "finalizers" in appears["metadata"] else "is PyTorchJob")):
        launcher.start(str(cluster.template), "schedule")
    posts = cluster.api.requests_for("POST", "/pytorchjobs")
    assert [r.status for r in posts] == [201, 409]
