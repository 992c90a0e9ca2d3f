"""What ``mlops-infra apply`` says after a signal stopped ``pulumi up`` (:func:`mlops_infra.apply.engine.interrupted`,
audit closing-34a-1), read from a real stack: a file backend in a temporary directory, and an ``s3://`` backend on
the moto server (:mod:`tests.support.moto_server`). The guard's counts are set as a run would leave them.

- "terminated" only when the stack shows it: two signals passed on while Pulumi left no pending operation and
  no lock is what a finished cancel leaves (Pulumi may have finished before the second came, or had both
  signals coalesced: Go's ``os/signal`` delivers one notification per pending signal number).
- "unlocked" only where the lock was read: ``engine.stack_locks`` reads a file backend's lock files only;
  in pulumi's diy backend the lock is taken before the cancellation scope handles signals
  (``pkg/backend/diy/backend.go`` ``Update``: ``b.Lock`` then ``op.Scopes.NewScope``), so an s3 backend can
  keep it after one signal.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from mlops_infra.apply.engine import StackOptions, interrupted
from mlops_infra.apply.pulumi_process import SignalGuard
from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples/fraud-detection/mlsystem.yaml"
UNLOCKED = "interrupted: `pulumi up` was cancelled; Pulumi finished the operations in flight, saved the state and " \
    "unlocked the stack"


def _guard(*signals: int) -> SignalGuard:
    """A guard as ``up`` leaves it when each of ``signals`` was a request passed on to ``pulumi up``."""
    guard = SignalGuard(lambda line: None)
    guard.signals, guard.started, guard.passed = list(signals), ["up"], {"up": len(signals)}
    return guard


def _state_text(pending: bool = False) -> str:
    state = applied_state(compile_system(load_system(FRAUD, "dev").system, "dev"))
    if pending:
        urn = state["checkpoint"]["latest"]["resources"][-1]["urn"]
        state["checkpoint"]["latest"]["pending_operations"] = [{"resource": {"urn": urn, "type": "aws:s3/bucket:Bucket"},
                                                                "type": "creating"}]
    return dumps(state)


@pytest.fixture
def file_stack(tmp_path: Path) -> tuple[StackOptions, dict[str, str]]:
    stack_dir = tmp_path / "stacks" / "dev"
    stacks = stack_dir / ".pulumi" / "stacks" / "fraud-detection"
    stacks.mkdir(parents=True)
    (stack_dir / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    (stacks / "dev.json").write_text(_state_text(), encoding="utf-8")
    return StackOptions(stack_dir, "dev", project="fraud-detection"), {"PULUMI_HOME": str(tmp_path / "home")}


def test_two_signals_passed_on_but_a_clean_stack_is_a_cancel_not_a_termination(file_stack) -> None:
    options, environ = file_stack
    error = interrupted(options, _guard(signal.SIGINT, signal.SIGINT), environ)
    assert error.summary == UNLOCKED
    assert "pulumi refresh" not in error.detail and "pulumi cancel" not in error.detail


def test_two_signals_and_a_lock_left_are_a_termination(file_stack) -> None:
    options, environ = file_stack
    lock = Path(options.stack_dir) / ".pulumi/locks/organization/fraud-detection/dev/abc.json"
    lock.parent.mkdir(parents=True)
    lock.write_text("{}", encoding="utf-8")
    error = interrupted(options, _guard(signal.SIGINT, signal.SIGINT), environ)
    assert error.summary == "interrupted: `pulumi up` was terminated before it finished"
    assert "pulumi cancel --stack dev" in error.detail


@pytest.mark.moto
@pytest.mark.parametrize(("signals", "pending", "summary"), [
    ((signal.SIGTERM,), False,
     "interrupted: `pulumi up` was cancelled; Pulumi finished the operations in flight, saved the state"),
    ((signal.SIGTERM, signal.SIGTERM), False,
     "interrupted: `pulumi up` was stopped by a second signal; the state records no pending operation"),
    ((signal.SIGTERM, signal.SIGTERM), True, "interrupted: `pulumi up` was terminated before it finished"),
])
def test_an_s3_backend_whose_lock_is_not_read_is_never_called_unlocked(tmp_path, monkeypatch, signals, pending,
                                                                         summary) -> None:
    from tests.support.moto_server import client, reset, running_moto_server

    bucket = f"ctrlcfix-state-{len(signals)}-{int(pending)}"  # moto backends persist across servers
    with running_moto_server() as url:
        reset(url)
        s3 = client("s3", url)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=".pulumi/meta.yaml", Body=b"version: 1\n")
        s3.put_object(Bucket=bucket, Key=".pulumi/stacks/fraud-detection/dev.json",
                      Body=_state_text(pending).encode())
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        environ = {"PULUMI_HOME": str(tmp_path / "home"),
                   "PULUMI_BACKEND_URL": f"s3://{bucket}?region=us-east-1&endpoint={url}"}
        error = interrupted(StackOptions(tmp_path, "dev", project="fraud-detection"), _guard(*signals), environ)
    assert error.summary == summary
    assert "unlocked" not in error.summary
    assert ("The stack's lock is not read in this backend: if Pulumi then says the stack is locked, run "
            "`pulumi cancel --stack dev`") in error.detail
    assert ("pending operation(s)" in error.detail) is pending
