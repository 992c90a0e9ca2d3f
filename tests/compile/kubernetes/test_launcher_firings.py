"""One run per firing on Kubernetes, as on AWS (audit triggers#2; docs/semantics.md ``training_jobs.triggers``).

Alertmanager repeats a still-firing group to the retrain trigger every ``repeatInterval`` (24h) with the
same alerts, each with its ``fingerprint`` and ``startsAt`` (prometheus/alertmanager ``template.Alert``,
the webhook payload). The old trigger started a run on every notification once the previous run had
finished, so a persistent alert retrained daily; AWS matches only the alarm's change into ALARM. The
trigger now starts nothing for a firing a listed run served already (launcher.py, "One run per
firing"). The tests drive the trigger (``launcher.py serve``, a process) over HTTP against the
Kubernetes API stand-in; the last one has a real Alertmanager send the notification and its repeat.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.compile.kubernetes.test_launcher_once import (  # noqa: F401  (cluster: a fixture)
    JOB,
    TRIGGER_TOKEN,
    Cluster,
    _start_trigger,
    cluster,
    pytorchjob,
    run_after,
)
from tests.support.prometheus import PrometheusStack, http, require, wait_until

FIRINGS = "mlops-infra/alert-firings"


def stamp(moment: datetime) -> str:
    """A time as Alertmanager writes ``startsAt`` (Go ``time.RFC3339Nano``)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def notification(starts: str, fingerprint: str = "a1b2c3d4e5f60718", alertname: str = "fraud-drift") -> dict:
    return {"version": "4", "status": "firing", "receiver": "retrain-retrain", "groupKey": "{}:{alertname=\"x\"}",
            "alerts": [{"status": "firing", "labels": {"alertname": alertname, "severity": "warning"},
                        "annotations": {}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://prometheus/graph", "fingerprint": fingerprint}]}


def post(url: str, payload: dict) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url + f"/v1/alerts/{JOB}", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {TRIGGER_TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.fixture()
def trigger(cluster: Cluster):  # noqa: F811
    process, url = _start_trigger(cluster)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_a_repeat_of_a_firing_whose_run_finished_starts_no_second_run_and_a_new_firing_does(cluster, trigger):  # noqa: F811
    """The first notification starts a run and records the firing on it; the run finishes; the 24h
    repeat (same fingerprint and startsAt) starts nothing (the old trigger started a second run). The
    alert resolves and fires again (a new startsAt): that firing starts the next run."""
    began = datetime.now(UTC) - timedelta(minutes=5)
    first = notification(stamp(began))
    status, answer = post(trigger, first)
    assert (status, answer["outcome"]) == (200, "started")
    run = cluster.run(answer["run"])
    assert run["metadata"]["annotations"][FIRINGS] == f"a1b2c3d4e5f60718@{stamp(began)}"
    cluster.finish(answer["run"])
    assert post(trigger, first) == (200, {"launched": None, "run": answer["run"], "outcome": "repeat"})
    assert cluster.names() == [answer["run"]]
    again = notification(stamp(datetime.now(UTC) + timedelta(seconds=2)))
    status, second = post(trigger, again)
    assert (status, second["outcome"]) == (200, "started") and second["run"] == run_after(run["metadata"]["uid"])
    assert sorted(cluster.names()) == sorted([answer["run"], second["run"]])


def test_a_firing_that_a_later_run_served_starts_none_and_one_no_run_served_starts_one(cluster, trigger):  # noqa: F811
    """A firing that began before a run the schedule started (created after ``startsAt``) was served by
    it; a firing that began after every listed run, and a payload without ``startsAt``, start a run."""
    began = datetime.now(UTC) - timedelta(hours=2)
    scheduled = cluster.api.seed(pytorchjob("retrain-scheduled", follows="none", finished=True))
    assert scheduled["metadata"]["creationTimestamp"] >= stamp(began)[:19]
    assert post(trigger, notification(stamp(began))) == (200, {"launched": None, "run": "retrain-scheduled",
                                                               "outcome": "repeat"})
    assert cluster.names() == ["retrain-scheduled"]
    unstamped = {"alerts": [{"status": "firing", "labels": {"alertname": "fraud-drift"}}]}
    status, answer = post(trigger, unstamped)
    assert (status, answer["outcome"]) == (200, "started") and FIRINGS not in cluster.run(answer["run"])["metadata"][
        "annotations"]


def test_a_repeat_whose_run_kueue_never_admitted_expires_it_and_starts_one(cluster, trigger):  # noqa: F811
    """A run the firing started but Kueue never admitted within its admission timeout is expired and
    replaced (finding B7); its firing is not served by it, so the repeat starts a run that trains
    (4cf6505 took the stuck run as serving, and an alert-only job never trained; s29-k8s audit)."""
    began = datetime.now(UTC) - timedelta(minutes=5)
    first = notification(stamp(began))
    status, answer = post(trigger, first)
    assert (status, answer["outcome"]) == (200, "started")
    stuck = cluster.run(answer["run"])
    stuck["metadata"]["annotations"]["mlops-infra/admission-timeout-seconds"] = "-1"  # its wait is over now
    stuck["spec"]["runPolicy"] = {"suspend": True}  # Kueue never admitted it
    cluster.api.seed(stuck)
    status, second = post(trigger, first)  # Alertmanager's repeat of the same firing
    assert (status, second["outcome"]) == (200, "started")
    assert second["run"] == run_after(stuck["metadata"]["uid"])
    assert cluster.names() == [second["run"]]  # the stuck run is expired once its successor exists
    assert cluster.run(second["run"])["metadata"]["annotations"][FIRINGS] == f"a1b2c3d4e5f60718@{stamp(began)}"


def test_two_alerts_of_a_group_one_served_and_one_new_start_a_run_that_records_only_the_new_one(cluster, trigger):  # noqa: F811
    began = datetime.now(UTC) - timedelta(minutes=5)
    status, answer = post(trigger, notification(stamp(began), "1111111111111111"))
    assert answer["outcome"] == "started"
    cluster.finish(answer["run"])
    both = notification(stamp(began), "1111111111111111")
    later = stamp(datetime.now(UTC) + timedelta(seconds=2))
    both["alerts"].append(notification(later, "2222222222222222")["alerts"][0])
    status, second = post(trigger, both)
    assert (status, second["outcome"]) == (200, "started")
    assert cluster.run(second["run"])["metadata"]["annotations"][FIRINGS] == f"2222222222222222@{later}"


def test_alertmanagers_repeat_notification_of_a_still_firing_alert_starts_no_second_run(cluster, trigger,  # noqa: F811
                                                                                        tmp_path: Path):
    """A real Alertmanager (repeat_interval 2s instead of 24h) notifies the trigger of an alert posted to
    its API, then repeats it while it keeps firing. The run of the first notification finishes before
    the repeats come: the old trigger started a run per repeat; now one run, every repeat answered."""
    require("alertmanager", "prometheus", "pushgateway")
    route = {"receiver": "retrain", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s",
             "repeat_interval": "2s"}
    config = {"route": route, "receivers": [{"name": "retrain", "webhook_configs": [{
        "url": f"{trigger}/v1/alerts/{JOB}", "send_resolved": False,
        "http_config": {"authorization": {"credentials": TRIGGER_TOKEN}}}]}]}
    with PrometheusStack(tmp_path / "stack", alertmanager_config=config) as stack:
        began = datetime.now(UTC) - timedelta(seconds=30)
        alert = [{"labels": {"alertname": "fraud-drift", "severity": "warning"}, "startsAt": stamp(began),
                  "endsAt": stamp(datetime.now(UTC) + timedelta(hours=1))}]
        assert http("POST", stack.alertmanager_url + "/api/v2/alerts", json.dumps(alert))[0] == 200
        runs = wait_until(cluster.runs, timeout=30, what="the first run", logs=stack.logs)
        assert len(runs) == 1
        first = runs[0]["metadata"]["name"]
        cluster.finish(first)
        posts = len(cluster.api.requests_for("GET", "/pytorchjobs"))
        wait_until(lambda: len(cluster.api.requests_for("GET", "/pytorchjobs")) >= posts + 2, timeout=30,
                   what="two repeat notifications", logs=stack.logs)
        time.sleep(0.5)  # the last repeat's create, if the trigger were to make one
        assert cluster.names() == [first]
        assert FIRINGS in cluster.run(first)["metadata"]["annotations"]
