"""A KServe canary rolled back on its own is announced by the Kubernetes runner (rollout/scheduled.py
"Rollback notices") even when the pass that rolled it back could not announce it: a rollback made from
a terminal (``mlops-infra rollout``: no notifier, and a laptop often cannot reach the in-cluster
Pushgateway), and a rollback whose traffic write lost (409) and that a later pass completes (reconcile
rule 4). The notice is recorded in the rollout status ConfigMap ``rollout-<endpoint>`` (``notice``:
pending, then sent), so no later pass pushes it again.

The runner is the compiled CronJob's command on the files its ConfigMap volume projects (helpers of
tests/rollout/test_scheduled_kubernetes.py), against the Kubernetes API stand-in
(tests/support/kube_api.py) with the compiled Role as its service account's only permissions; the
Pushgateway is a recording HTTP server (tests/support/prometheus.py ``RecordingReceiver``: the push
itself, and the compiled rule firing on it, are tests/monitoring/test_rollback_notice_live.py).
"""

from __future__ import annotations

import dataclasses
import json
import time

import pytest

from mlops_infra.compile.kubernetes import alerting
from mlops_infra.rollout import scheduled
from mlops_infra.rollout.drivers.kserve import KServeDriver
from mlops_infra.rollout.model import RolloutSpec
from mlops_infra.rollout.runner import reconcile_once
from tests.compile.aws.cases import REFERENCE, compiled
from tests.rollout.sim import ScriptedGates
from tests.rollout.test_scheduled_kubernetes import (
    TOKEN,
    isvc,
    run_cronjob,
    runner_of,
    seed,
    service_account,
    stored,
)
from tests.support.kube_api import KubeApiStandIn, load_crds
from tests.support.prometheus import RecordingReceiver

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FIRING = ScriptedGates(decide=lambda percent: "firing")


@pytest.fixture
def world(tmp_path):
    """The reference dev graph's runner, its document's Pushgateway moved to a recording server; the API
    stand-in with the runner's Role (and an unrestricted "admin" token: the user's kubeconfig)."""
    root, command, rules, document = runner_of(compiled(REFERENCE, "dev"), tmp_path / "configmap")
    with RecordingReceiver() as pushgateway:
        text = json.loads((root / "rollouts.json").read_text())
        assert text["notifications"]["pushgatewayUrl"].startswith("http://mlops-pushgateway.")
        text["notifications"]["pushgatewayUrl"] = pushgateway.url("")
        (root / "rollouts.json").write_text(json.dumps(text))
        document = scheduled.load_document(str(root / "rollouts.json"))
        crds = load_crds("serving.kserve.io_inferenceservices.minimal.yaml")
        with KubeApiStandIn(crds=crds, tokens={TOKEN: rules, "admin": None}) as api:
            namespace, (item,) = document["namespace"], document["rollouts"]
            name = item["address"].split(".", 1)[1]
            seed(api, namespace, name, version=13, stable=12)
            yield (root, command, rules, document), api, pushgateway, name, tmp_path


def pushes(pushgateway: RecordingReceiver, document: dict, name: str) -> list:
    group = "".join(f"/{k}/{v}" for k, v in {**document["notifications"]["grouping"], "endpoint": name}.items())
    return pushgateway.received(f"/metrics/job/{alerting.ROLLOUT_PUSH_JOB}{group}")


def first_share(document: dict) -> int:
    return document["rollouts"][0]["plan"]["steps"][0]


def test_a_rollback_made_from_a_terminal_is_pushed_by_the_next_cronjob_run(world):
    runner, api, pushgateway, name, tmp_path = world
    _, _, _, document = runner
    namespace = document["namespace"]
    sa = service_account(tmp_path, namespace)
    assert run_cronjob(runner, api.url, sa)["log"][0]["action"] == "set_traffic"  # the runner starts it

    # the user's `mlops-infra rollout scorer` (its pass: the KServe driver with their credentials) sees the
    # rollback alert firing first and rolls back; it has no notifier
    user = tmp_path / "user"
    user.mkdir()
    (user / "token").write_text("admin")
    spec = RolloutSpec.from_graph(document["rollouts"][0]["address"], document["rollouts"][0]["plan"])
    driver = KServeDriver(scheduled.ServiceAccountKube(api.url, str(user)), namespace, name)
    terminal = reconcile_once(spec, driver, FIRING, time.time())
    assert terminal.decision.action == "rollback" and terminal.acted
    left = stored(api, namespace, name)
    assert left["phase"] == "rolled_back" and isvc(api, namespace, name)["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert pushes(pushgateway, document, name) == []

    before = time.time()
    tick = run_cronjob(runner, api.url, sa)
    assert tick["status"] == 0
    (line,) = tick["log"]
    assert (line["action"], line["acted"], line.get("notice")) == ("none", False, "sent")
    assert left.get("notice") == "pending"  # what the terminal's pass recorded for the runner
    [push] = pushes(pushgateway, document, name)
    metric = document["notifications"]["metric"]
    # the sample carries the rollback's facts, read from the status the terminal's pass recorded
    facts = f'version="13",serving_version="12",share="{first_share(document)}%",cause="alert_fired",detail="'
    assert push.method == "PUT" and push.body.decode().startswith(f"# TYPE {metric} gauge\n{metric}{{{facts}")
    assert float(push.body.decode().split()[-1]) >= before - 1  # the notice's time: the rule fires 15 min from it
    assert stored(api, namespace, name)["notice"] == "sent"
    assert all(r.status == 200 for r in api.requests if "/configmaps/" in r.path)  # within the compiled Role

    again = run_cronjob(runner, api.url, sa)
    assert "notice" not in again["log"][0] and len(pushes(pushgateway, document, name)) == 1


def test_a_rollback_whose_traffic_write_lost_is_announced_when_a_later_pass_completes_it(world):
    runner, api, pushgateway, name, tmp_path = world
    _, _, _, document = runner
    namespace = document["namespace"]
    kube = scheduled.ServiceAccountKube(api.url, str(service_account(tmp_path, namespace)))
    fleet = [dataclasses.replace(m, gates=FIRING) for m in scheduled.kubernetes_members(document, kube)]
    notify, notifier = scheduled.notice_plan(document)
    assert notify == {name}
    first = document["rollouts"][0]["plan"]["steps"][0]
    scheduled.run_pass([dataclasses.replace(fleet[0], gates=ScriptedGates())], None, notify, notifier)  # start

    # the rollback's status write lands, its traffic write meets a 409 (pulumi up wrote the isvc first)
    api.fail(status=409, method="PATCH", path_contains=f"/inferenceservices/{name}")
    _, [lost] = scheduled.logged_pass(fleet, None, notify, notifier)
    assert (lost["action"], lost["lost"], "notice" in lost) == ("rollback", True, False)
    left = stored(api, namespace, name)
    assert left["phase"] == "rolled_back" and isvc(api, namespace, name)["spec"]["predictor"]["canaryTrafficPercent"] == first

    _, [completed] = scheduled.logged_pass(fleet, None, notify, notifier)
    assert (completed["action"], completed["acted"], completed.get("notice")) == ("rollback", True, "sent")
    assert left.get("notice") == "pending"
    assert completed["message"] == "completing the rollback of version 13"
    assert isvc(api, namespace, name)["spec"]["predictor"]["canaryTrafficPercent"] == 0
    assert stored(api, namespace, name)["notice"] == "sent" and len(pushes(pushgateway, document, name)) == 1

    _, [settled] = scheduled.logged_pass(fleet, None, notify, notifier)
    assert "notice" not in settled and len(pushes(pushgateway, document, name)) == 1


def test_a_resumed_rollout_leaves_no_notice_behind(world):
    """``--resume`` starts the version again: its progressing status deletes the notice key (merge patch
    null), so the ConfigMap never shows a notice beside a rollout in progress."""
    runner, api, _, name, tmp_path = world
    _, _, _, document = runner
    namespace = document["namespace"]
    kube = scheduled.ServiceAccountKube(api.url, str(service_account(tmp_path, namespace)))
    [member] = scheduled.kubernetes_members(document, kube)
    notify, notifier = scheduled.notice_plan(document)
    scheduled.run_pass([dataclasses.replace(member, gates=ScriptedGates())], None, notify, notifier)
    scheduled.run_pass([dataclasses.replace(member, gates=FIRING)], None, notify, notifier)
    assert stored(api, namespace, name)["notice"] == "sent"
    resumed = reconcile_once(member.spec, member.driver, ScriptedGates(), time.time(), "resume")
    assert resumed.decision.action == "set_traffic" and resumed.acted
    assert stored(api, namespace, name)["phase"] == "progressing" and "notice" not in stored(api, namespace, name)


def test_a_notice_the_pushgateway_refuses_fails_the_job_and_the_next_run_sends_it(world):
    """The CronJob's run: the Pushgateway does not answer, so the rollback stands, its notice stays
    pending (the endpoint's line says the notice failed), and the run exits 1 (the Job fails: something
    a rule can see, not a log line each minute); once the Pushgateway answers, the next run pushes it
    and exits 0."""
    runner, api, pushgateway, name, tmp_path = world
    root, _, _, document = runner
    namespace = document["namespace"]
    sa = service_account(tmp_path, namespace)
    assert run_cronjob(runner, api.url, sa)["log"][0]["action"] == "set_traffic"
    spec = RolloutSpec.from_graph(document["rollouts"][0]["address"], document["rollouts"][0]["plan"])
    user = tmp_path / "user"
    user.mkdir()
    (user / "token").write_text("admin")
    driver = KServeDriver(scheduled.ServiceAccountKube(api.url, str(user)), namespace, name)
    assert reconcile_once(spec, driver, FIRING, time.time()).acted  # rolled back from a terminal

    text = json.loads((root / "rollouts.json").read_text())
    text["notifications"]["pushgatewayUrl"] = "http://127.0.0.1:9/"  # nothing listens there
    (root / "rollouts.json").write_text(json.dumps(text))
    down = run_cronjob(runner, api.url, sa)
    assert down["status"] == 1
    (line,) = down["log"]
    assert (line["endpoint"], line["action"]) == (name, "none") and line["notice"].startswith("failed: ")
    assert "error" not in line  # the pass itself did not fail
    assert stored(api, namespace, name)["notice"] == "pending"

    text["notifications"]["pushgatewayUrl"] = pushgateway.url("")
    (root / "rollouts.json").write_text(json.dumps(text))
    up = run_cronjob(runner, api.url, sa)
    assert up["status"] == 0 and [x.get("notice") for x in up["log"]] == ["sent"]
    assert len(pushes(pushgateway, document, name)) == 1 and stored(api, namespace, name)["notice"] == "sent"
