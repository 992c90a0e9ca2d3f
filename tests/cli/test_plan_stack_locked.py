"""``plan`` while another apply's ``pulumi up`` holds the stack says so (audit concurrency-4).

The diy backend saves a checkpoint at every step while it holds the stack's lock (pulumi/pulumi
``pkg/backend/diy/backend.go`` ``Update`` -> ``Lock``; ``pkg/backend/snapshot.go`` ``BeginMutation`` records the pending
operation before each step), so a plan made then is against an intermediate state whose pending operations are the
steps running now. The plan called them "an interrupted apply" and said nothing of the lock
(``.pulumi/locks/organization/<project>/<stack>/<id>.json``, ``pkg/backend/diy/lock.go`` ``lockContent``). The stack
directory is the one of ``tests/apply/test_queue_drain.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.apply import test_queue_drain
from tests.cli.test_apply_stack_identity import write_backend_state
from tests.support.cli import run_cli

work = test_queue_drain.work


def _mid_update(work: Path) -> None:
    stack = work / "stacks/dev"
    checkpoint = json.loads((work / "prior.json").read_text())
    latest = checkpoint["checkpoint"]["latest"]
    latest["pending_operations"] = [{"resource": latest["resources"][-1], "type": "updating"}]
    write_backend_state(stack, checkpoint)


def test_a_plan_during_another_update_names_the_lock(work: Path, monkeypatch) -> None:
    """The audit's reproduction. Fails on main: no word of the lock, and "from an interrupted apply"."""
    _mid_update(work)
    lock_dir = work / "stacks/dev/.pulumi/locks/organization/fraud-detection/dev"
    lock_dir.mkdir(parents=True)
    (lock_dir / "5e1d-ci.json").write_text(json.dumps(
        {"pid": 4242, "username": "ci", "hostname": "runner-7", "timestamp": "2026-12-06T12:10:00Z"}))
    monkeypatch.chdir(work)
    result = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "dev")
    assert result.code == 0, result.output
    assert ("the stack dev is locked by ci@runner-7 (pid 4242) since 2026-12-06T12:10:00Z: an update is running on "
            "it (or crashed and left its lock); this plan is against the state it has saved so far") in result.stdout
    assert "1 pending operation(s) from an update that is running or was interrupted" in result.stdout
    assert "interrupted apply" not in result.output


def test_an_unlocked_stack_gets_no_lock_warning(work: Path, monkeypatch) -> None:
    _mid_update(work)
    monkeypatch.chdir(work)
    result = run_cli("plan", str(work / "mlsystem.yaml"), "--env", "dev")
    assert result.code == 0, result.output
    assert "is locked by" not in result.output
    assert "1 pending operation(s) from an update that is running or was interrupted" in result.stdout
