"""``apply --drain-queues`` never holds a queue for a plan ``pulumi up`` refuses as stale, and a failure after the
drain says which ClusterQueue is left held and how to release it (audit closing-33b-2).

``spec.stopPolicy: HoldAndDrain`` evicts a ClusterQueue's admitted workloads and admits none until the field is
set back (kueue ``apis/kueue/v1beta2/clusterqueue_types.go`` ``ClusterQueueSpec.StopPolicy``). ``engine.up``
refuses a state that is not the one the plan was made against (``check_unmoved``), so a ``--state`` file that is
not the stack's current state was refused only after the drain, with "Nothing was applied" and no word of the
held queue. The Kubernetes API stand-in and the stack directory come from ``tests/apply/test_queue_drain.py``
(the test plays Kueue's eviction); ``engine.up`` is the real one unless a test says otherwise, and it refuses
before Pulumi runs: nothing here runs Pulumi.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from mlops_infra.errors import UserError
from mlops_infra.kube.client import KubeClient
from tests.apply import test_queue_drain
from tests.apply.test_queue_drain import KUEUE, QUEUE, stand_in, workload
from tests.cli.test_apply_stack_identity import without_last_resource, write_backend_state
from tests.support.cli import run_cli
from tests.support.kube_api import KubeApiStandIn, load_crds, write_kubeconfig

work = test_queue_drain.work
"""The fixture: the system without its cluster and job; stacks/dev's file backend holds the state of prior.json."""
STACK_FILE = Path("stacks/dev/.pulumi/stacks/fraud-detection/dev.json")


@pytest.fixture(autouse=True)
def quick_drain(monkeypatch) -> None:
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")  # the stack's file backend: engine.preflight passes it


def evicting(api: KubeApiStandIn, also=None) -> None:
    """Kueue's part: a HoldAndDrain queue's workload is evicted (its admission unset); ``also()`` runs then too."""
    def kueue(verb: str, obj: dict) -> None:
        if obj["kind"] == "ClusterQueue" and obj["spec"].get("stopPolicy") == "HoldAndDrain":
            threading.Timer(0.3, api.seed, [workload("retrain-abc-1", None)]).start()
            if also is not None:
                also()
    api.on_write(kueue)


def apply(work: Path, api: KubeApiStandIn, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(work / "kubeconfig", api.url)))
    return run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state", str(work / "prior.json"),
                   "--yes", "--drain-queues")


def release_line(queue: str) -> str:
    return f"""kubectl patch clusterqueue {queue} --type merge -p '{{"spec":{{"stopPolicy":"None"}}}}'"""


def assert_not_held(api: KubeApiStandIn) -> None:
    assert api.requests_for("PATCH") == []  # the queue was never held
    assert "stopPolicy" not in api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]
    assert api.get(KUEUE, "Workload", "retrain-abc-1", "fraud-dev")["status"]["admission"]  # still admitted


@pytest.mark.parametrize("stack_state", ["moved", "none"])
def test_a_state_file_that_is_not_the_stacks_state_is_refused_before_the_queue_is_held(
        work: Path, monkeypatch, stack_state: str) -> None:
    """The finding's evidence: ``--state prior.json`` while the stack's state moved on (another apply), or while
    the stack has none. Fails on 19ce56c: the queue was patched, the run evicted, then ``up`` refused."""
    stack_file = work / STACK_FILE
    if stack_state == "moved":
        write_backend_state(work / "stacks/dev", without_last_resource(json.loads(stack_file.read_text())))
    else:
        stack_file.unlink()
    with stand_in() as api:
        evicting(api)
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert "stale plan: the state moved since the plan was made" in result.stderr
        assert "Draining" not in result.stdout
        assert_not_held(api)


def test_a_state_that_moves_during_the_drain_names_the_held_queue_and_its_release(work: Path, monkeypatch) -> None:
    """Another apply lands while the queue drains: ``engine.up`` refuses the plan as stale after the drain, and the
    error says the queue is held and how to release it. Fails on 19ce56c (no word of the queue)."""
    with stand_in() as api:
        moved = without_last_resource(json.loads((work / STACK_FILE).read_text()))
        evicting(api, also=lambda: write_backend_state(work / "stacks/dev", moved))
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert f"Draining Kueue ClusterQueue {QUEUE}" in result.stdout and "Drained" in result.stdout
        assert "stale plan: the state moved since the plan was made" in result.stderr
        assert f"ClusterQueue {QUEUE} is held (spec.stopPolicy: HoldAndDrain)" in result.stderr
        assert release_line(QUEUE) in result.stderr
        assert api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]["stopPolicy"] == "HoldAndDrain"


def test_a_failed_up_after_the_drain_names_the_held_queue(work: Path, monkeypatch) -> None:
    """Pulumi fails before it reaches the queue (``engine.up`` raises, as ``_pulumi`` does with Pulumi's message).
    Fails on 19ce56c."""
    def failing_up(*args, **kwargs):
        raise UserError("Pulumi failed", "error: the kubernetes provider could not connect")
    monkeypatch.setattr(engine, "up", failing_up)
    with stand_in() as api:
        evicting(api)
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert "Pulumi failed" in result.stderr and "could not connect" in result.stderr
        assert f"ClusterQueue {QUEUE} is held" in result.stderr and release_line(QUEUE) in result.stderr


def test_a_crash_after_the_drain_still_names_the_held_queue(work: Path, monkeypatch) -> None:
    def crashing_up(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(engine, "up", crashing_up)
    with stand_in() as api:
        evicting(api)
        result = apply(work, api, monkeypatch)

        assert result.code != 0
        assert f"ClusterQueue {QUEUE} is held" in result.stderr and release_line(QUEUE) in result.stderr


def test_a_queue_the_failed_apply_already_replaced_is_not_called_held(work: Path, monkeypatch) -> None:
    """``up`` replaced the queue (its new spec has no stopPolicy), then failed further on: nothing is held."""
    with stand_in() as api:
        def replacing_up(*args, **kwargs):
            api.seed({"apiVersion": KUEUE, "kind": "ClusterQueue", "metadata": {"name": QUEUE}, "spec": {}})
            raise UserError("Pulumi failed", "error: another resource failed")
        monkeypatch.setattr(engine, "up", replacing_up)
        evicting(api)
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "Pulumi failed" in result.stderr
        assert "is held" not in result.stderr and "kubectl patch clusterqueue" not in result.stderr


def test_a_queue_that_does_not_drain_in_time_names_its_release(work: Path, monkeypatch) -> None:
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "DRAIN_TIMEOUT", 0.3)
    ups: list = []
    monkeypatch.setattr(engine, "up", lambda *a, **k: ups.append(1))
    with stand_in() as api:  # no eviction: Kueue's controller does not act
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "did not drain within 0 seconds; nothing was applied" in result.stderr
        assert f"ClusterQueue {QUEUE} is held" in result.stderr and release_line(QUEUE) in result.stderr
        assert ups == []


def test_a_queue_that_cannot_be_read_is_named_as_possibly_held() -> None:
    from mlops_infra.apply.queue_drain import held_note

    class Unreachable:
        def get_or_none(self, *args, **kwargs):
            raise UserError("cannot reach the Kubernetes API server at https://10.0.0.1")

    note = held_note(Unreachable(), [QUEUE])
    assert f"ClusterQueue {QUEUE} may still be held" in note and "cannot reach" in note
    assert release_line(QUEUE) in note


def test_the_release_patch_is_a_stop_policy_the_crd_accepts_and_lets_the_queue_admit() -> None:
    """``None`` is in the ClusterQueue CRD's ``stopPolicy`` enum (kueue config/components/crd/bases, v1beta2) and
    is the value under which "Workloads are admitted" (``ClusterQueueSpec.StopPolicy``); the patch the command
    sends leaves the queue with it."""
    from mlops_infra.apply.queue_drain import CLUSTER_QUEUE, RELEASE, STOP

    [crd] = load_crds("kueue.x-k8s.io_clusterqueues.yaml")
    [v1beta2] = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta2"]
    stop_policy = v1beta2["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["stopPolicy"]
    assert RELEASE["spec"]["stopPolicy"] in stop_policy["enum"] and stop_policy.get("default") == "None"
    with stand_in() as api:
        kube = KubeClient.from_url(api.url)
        kube.patch(CLUSTER_QUEUE, QUEUE, None, STOP)
        command = release_line(QUEUE)
        kube.patch(CLUSTER_QUEUE, QUEUE, None, json.loads(command.split(" -p ", 1)[1].strip("'")))
        assert api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]["stopPolicy"] == "None"
