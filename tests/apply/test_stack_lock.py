"""A stack another ``pulumi`` holds locked is refused before anything runs (audit concurrency-3).

pulumi/pulumi ``pkg/backend/diy/backend.go`` ``Update`` takes the stack's lock first (``b.Lock``), and
``pkg/backend/diy/lock.go`` ``checkForLock`` refuses any update while a lock file
``.pulumi/locks/<org>/<project>/<stack>/<id>.json`` (``lockContent``: ``pid``, ``username``, ``hostname``,
``timestamp``) is there. ``apply --drain-queues`` checked everything but the lock before holding the queue: the
drain evicted the run, then ``up`` met the lock. The Kubernetes API stand-in, the stack directory and the
``pulumi`` stand-in are those of ``tests/apply/test_queue_drain_held.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.apply import engine
from mlops_infra.errors import UserError
from tests.apply import test_queue_drain
from tests.apply.test_queue_drain import stand_in
from tests.apply.test_queue_drain_held import (
    apply,
    assert_not_held,
    evicting,
    quick_drain,  # noqa: F401  (an autouse fixture)
)
from tests.support import pulumi_stand_in

work = test_queue_drain.work
LOCK = {"pid": 4242, "username": "ci", "hostname": "runner-7", "timestamp": "2026-12-06T11:58:00.123Z"}


def _lock(stack_dir: Path, layout: str = "organization/fraud-detection/dev") -> Path:
    path = stack_dir / ".pulumi" / "locks" / layout / "0b9c3c6e-other-apply.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(LOCK), encoding="utf-8")
    return path


def test_a_locked_stack_is_refused_before_the_queue_is_held(work: Path, monkeypatch) -> None:
    """The audit's reproduction. Fails on main 3434a88: the queue was held (HoldAndDrain), the run evicted,
    then `stack select`, `config set-all` and `up` ran on the locked stack."""
    _lock(work / "stacks/dev")
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch)
    with stand_in() as api:
        evicting(api)
        result = apply(work, api, monkeypatch)
        assert result.code == 1, result.output
        assert_not_held(api)
    assert ("error: the stack dev is locked by ci@runner-7 (pid 4242) since 2026-12-06T11:58:00.123Z: another "
            "`pulumi up` is running on it, or one crashed; no ClusterQueue was held and nothing was applied"
            in result.stderr), result.stderr
    assert "once you know no `pulumi` runs on the stack" in result.stderr
    assert "0b9c3c6e-other-apply.json" in result.stderr and "Traceback" not in result.stderr
    assert pulumi.commands() == []


@pytest.mark.parametrize("layout", ["organization/fraud-detection/dev", "dev"])
def test_up_refuses_a_locked_stack_before_any_pulumi_command(work: Path, monkeypatch, layout: str) -> None:
    """Without a drain: no `stack select` or `config set-all` on a stack another update holds (both layouts of
    lock.go ``lockDir``: the project-scoped one and the legacy one)."""
    _lock(work / "stacks/dev", layout)
    pulumi = pulumi_stand_in.install(work / "bin", monkeypatch, up="ok")
    with pytest.raises(UserError) as info:
        engine.up(work / "stacks/dev", "dev", passphrase="", project="fraud-detection")
    assert info.value.summary.startswith("the stack dev is locked by ci@runner-7 (pid 4242)")
    assert info.value.summary.endswith("nothing was applied")
    assert pulumi.commands() == []


def test_an_unreadable_lock_is_named_by_its_file(work: Path) -> None:
    lock = _lock(work / "stacks/dev")
    lock.write_text("{", encoding="utf-8")
    assert engine.lock_holders([lock]) == [f"{lock} (unreadable)"]


def test_pulumis_own_lock_refusal_qualifies_its_cancel_hint() -> None:
    """A backend whose locks are not read here (Pulumi Cloud, S3): `up` meets the lock and Pulumi says to `pulumi
    cancel` unqualified (lock.go checkForLock); the error adds when that is safe."""
    from pulumi.automation._cmd import CommandResult
    from pulumi.automation.errors import create_command_error

    stderr = ("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or "
              "delete the lock file with `pulumi cancel`.\n  s3://b/.pulumi/locks/organization/p/dev/x.json: created "
              "by ci@runner-7 (pid 4242) at 2026-12-06T11:58:00Z")

    def failing():
        raise create_command_error(CommandResult(stdout="", stderr=stderr, code=255))

    with pytest.raises(UserError) as info:
        engine._pulumi(failing)
    assert "Run `pulumi cancel` only once you know no `pulumi` runs on the stack" in info.value.detail
