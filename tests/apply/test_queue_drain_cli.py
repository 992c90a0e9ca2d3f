"""``apply --drain-queues`` runs the Pulumi CLI the way ``pulumi up`` will before it holds a ClusterQueue, so a
CLI that ``up`` could not use never costs the evicted runs (brief drainpre; audit applypath-4 left "the CLI's
version, the login and the backend's reachability" to ``up``).

A held queue (``spec.stopPolicy: HoldAndDrain``) evicts its admitted workloads and admits none until the field
is set back (kueue ``apis/kueue/v1beta2/clusterqueue_types.go`` ``ClusterQueueSpec.StopPolicy``). The
Kubernetes API stand-in, the stack directory (its file backend holds the planned state) and the test's Kueue
part come from ``tests/apply/test_queue_drain.py`` and ``test_queue_drain_held.py``; ``pulumi`` is the
recording stand-in (``tests/support/pulumi_stand_in.py``), driven by the real Automation API in ``engine.up``.
Its ``version=`` and ``backend=`` modes play the CLI: a version below the Automation API's minimum, a CLI not
logged in, a backend it cannot open (here mlops-infra's own reader can read the file backend: the CLI's own
login and credentials are what ``up`` uses) and one that does not answer.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from tests.apply import test_queue_drain
from tests.apply.test_queue_drain import KUEUE, QUEUE
from tests.apply.test_queue_drain import stand_in as kube_stand_in
from tests.apply.test_queue_drain_finished import finished
from tests.apply.test_queue_drain_finished import stand_in as finished_stand_in
from tests.apply.test_queue_drain_held import apply, assert_not_held, evicting, release_line
from tests.support import pulumi_stand_in

work = test_queue_drain.work
NOTHING = "no ClusterQueue was held and nothing was applied"


@pytest.fixture(autouse=True)
def quick_drain(monkeypatch) -> None:
    from mlops_infra.apply import queue_drain

    monkeypatch.setattr(queue_drain, "POLL_SECONDS", 0.05)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")  # the stack's file backend: engine.preflight passes it
    monkeypatch.delenv("PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK", raising=False)


def refused(work: Path, monkeypatch, **modes: str):
    """Run the drain apply with the stand-in in ``modes``; the result, the stand-in and the Kubernetes API."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch, **modes)
    with kube_stand_in() as api:
        evicting(api)
        result = apply(work, api, monkeypatch)
        assert result.code == 1 and "Traceback" not in result.output, result.output
        assert "this is a bug" not in result.output
        assert NOTHING in result.stderr
        assert "Draining" not in result.stdout
        assert_not_held(api)
    assert not pulumi.ran("up") and not pulumi.ran("stack", "select") and not pulumi.ran("config")
    return result, pulumi


@pytest.mark.parametrize(("version", "said"), [
    ("v3.0.0", "The minimum CLI version requirement is 3.260.0, your current CLI version is 3.0.0"),
    # closing-40a-1: an engine before pulumi/pulumi #23818 leaves deletedWith resources of a replaced endpoint
    ("v3.259.0", "The minimum CLI version requirement is 3.260.0, your current CLI version is 3.259.0"),
    ("v4.1.0", "Major version mismatch. You are using Pulumi CLI version 4.1.0 with Automation SDK v3"),
    ("not-a-version", "Could not parse the Pulumi CLI version"),
])
def test_a_cli_version_the_automation_api_refuses_is_refused_before_the_queue_is_held(
        work: Path, monkeypatch, version: str, said: str) -> None:
    """The Automation API's rule (``pulumi/automation/_cmd.py`` ``_parse_and_validate_pulumi_version`` with
    ``_MINIMUM_VERSION``). Fails on main 367c1f1: the queue was held, the run evicted, then ``up`` raised
    ``InvalidVersionError``, reported as a bug in mlops-infra."""
    result, pulumi = refused(work, monkeypatch, version=version)
    assert "the Pulumi CLI on PATH cannot run `pulumi up` through the Automation API" in result.stderr
    assert said in result.stderr and "https://www.pulumi.com/docs/install/" in result.stderr
    assert pulumi.commands() == [["version"]]


@pytest.mark.parametrize(("backend", "summary", "fix"), [
    ("logged-out", "the Pulumi CLI is not logged in to the local backend file://",
     "PULUMI_ACCESS_TOKEN must be set for login during non-interactive CLI sessions"),
    ("unreachable", "the Pulumi CLI cannot open the local backend file://",
     'read ".pulumi/meta.yaml"'),
])
def test_a_cli_that_cannot_log_in_or_open_the_backend_is_refused_before_the_queue_is_held(
        work: Path, monkeypatch, backend: str, summary: str, fix: str) -> None:
    """``pulumi whoami`` logs in to the backend as ``up`` does (``pkg/cmd/pulumi/whoami/whoami.go`` ->
    ``CurrentBackend``). Fails on main 367c1f1: the queue was held, then ``stack select`` failed."""
    result, pulumi = refused(work, monkeypatch, backend=backend)
    assert summary in result.stderr and fix in result.stderr
    [whoami] = pulumi.ran("whoami")
    stack_dir = (work / "stacks" / "dev").resolve()
    assert Path(whoami["cwd"]).resolve() == stack_dir  # up's work directory, up's backend and passphrase
    assert whoami["env"]["PULUMI_BACKEND_URL"] == f"file://{stack_dir}"
    assert whoami["env"]["PULUMI_CONFIG_PASSPHRASE"] == ""
    assert pulumi.commands() == [["version"], ["whoami"]]
    if backend == "logged-out":
        assert "`pulumi login file://" in result.stderr


def test_a_backend_that_does_not_answer_is_refused_in_bounded_time(work: Path, monkeypatch) -> None:
    """Fails on main 367c1f1 (the queue is held first; then ``stack select`` waits for the backend)."""
    monkeypatch.setattr(engine, "CLI_CHECK_SECONDS", 1.0, raising=False)  # old code: absent
    started = time.monotonic()
    result, pulumi = refused(work, monkeypatch, backend="hang")
    assert time.monotonic() - started < pulumi_stand_in.HANG_SECONDS / 2
    assert "`pulumi whoami` did not answer within 1 s (the local backend file://" in result.stderr
    assert pulumi.commands() == [["version"], ["whoami"]]


def test_a_usable_cli_is_checked_before_the_drain_and_the_apply_goes_on(work: Path, monkeypatch) -> None:
    """The checks ran before the queue was held (what the stand-in had recorded at the HoldAndDrain patch), the
    drain and ``up`` then ran (the stand-in fails every ``up``: the held queue is named, as before)."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch)
    at_patch: list[list[list[str]]] = []
    with kube_stand_in() as api:
        api.on_write(lambda verb, obj: at_patch.append(pulumi.commands()) if obj["kind"] == "ClusterQueue" else None)
        evicting(api)
        result = apply(work, api, monkeypatch)

        assert result.code == 1 and "Traceback" not in result.output
        assert f"Draining Kueue ClusterQueue {QUEUE}" in result.stdout
        assert "the pulumi stand-in fails every up" in result.stderr  # up ran, and failed
        assert f"ClusterQueue {QUEUE} is held" in result.stderr and release_line(QUEUE) in result.stderr
        assert api.get(KUEUE, "ClusterQueue", QUEUE)["spec"]["stopPolicy"] == "HoldAndDrain"
    assert at_patch[0] == [["version"], ["whoami"]]
    assert pulumi.ran("up")
    [whoami], up = pulumi.ran("whoami"), pulumi.ran("up")[0]
    pulumi_env = {k: v for k, v in up["env"].items() if k.startswith("PULUMI_")}  # not the program's view
    assert (whoami["cwd"], whoami["env"]) == (up["cwd"], pulumi_env)  # the same directory, backend, passphrase


def test_an_apply_that_drains_nothing_runs_no_check(work: Path, monkeypatch) -> None:
    """No queue to drain: ``up`` meets the same failure before anything changes, so no ``whoami`` is added."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch, backend="logged-out")
    with finished_stand_in(finished("retrain-abc-1")) as api:
        monkeypatch.setenv("KUBECONFIG", str(test_queue_drain.write_kubeconfig(work / "kubeconfig", api.url)))
        result = test_queue_drain.run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state",
                                          str(work / "prior.json"), "--yes")
        assert result.code == 1 and "Pulumi failed" in result.stderr
        assert "PULUMI_ACCESS_TOKEN must be set" in result.stderr
    assert not pulumi.ran("whoami") and not pulumi.ran("up")


def test_without_a_drain_an_old_cli_is_one_error_not_a_bug(work: Path, monkeypatch) -> None:
    """``PulumiCommand.__init__`` raises ``InvalidVersionError`` before any command runs; ``engine._pulumi`` now
    turns it into one error. Fails on main 367c1f1 ("this is a bug in mlops-infra")."""
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch, version="v3.0.0")
    with finished_stand_in(finished("retrain-abc-1")) as api:
        monkeypatch.setenv("KUBECONFIG", str(test_queue_drain.write_kubeconfig(work / "kubeconfig", api.url)))
        result = test_queue_drain.run_cli("apply", str(work / "mlsystem.yaml"), "--env", "dev", "--state",
                                          str(work / "prior.json"), "--yes")
    assert result.code == 1 and "Traceback" not in result.output and "this is a bug" not in result.output
    assert "cannot run `pulumi up` through the Automation API" in result.stderr
    assert "your current CLI version is 3.0.0" in result.stderr and "nothing was applied" in result.stderr
    assert pulumi.commands() == [["version"]]


def test_what_pulumi_says_is_shown_without_credentials() -> None:
    said = engine._pulumi_says(
        "warning: slow\nerror: unable to open bucket s3://state?region=eu-west-1&access_key_id=AKIAIOSFODNN7EXAMPLE"
        "&secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY: denied\nmore")
    assert said.startswith("unable to open bucket s3://state?region=eu-west-1")
    assert "AKIAIOSFODNN7EXAMPLE" not in said and "wJalrXUtnFEMI" not in said and "more" not in said
