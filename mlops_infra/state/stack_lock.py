"""Who holds a stack: the lock files of a file backend (audit concurrency-3, concurrency-4).

The diy backend takes a stack's lock before an update, an import or a refresh and drops it at the end
(pulumi/pulumi ``pkg/backend/diy/backend.go``: ``b.Lock`` then ``defer b.Unlock``); the lock is a file
``.pulumi/locks/<fully qualified stack name>/<lock id>.json`` (``pkg/backend/diy/lock.go`` ``lockPath``;
``FullyQualifiedName``: ``organization/<project>/<stack>``, or ``<stack>`` in the legacy layout) holding
``lockContent`` (JSON ``pid``, ``username``, ``hostname``, ``timestamp``). While it is there an update is running, or
one crashed and left it; the state beside it is whatever that update saved so far (``saveCheckpoint`` at every
step). One reader for both users: ``apply`` refuses a locked stack (:func:`mlops_infra.apply.engine.check_unlocked`)
and ``plan`` warns that its prior state may be an update's intermediate one (:func:`lock_warning`).

Contract: :func:`lock_files` lists them under the file backend's root (:func:`mlops_infra.state.pulumi_state.backend_root`),
sorted; :func:`holders` names each ``<user>@<host> (pid N) since <timestamp>`` (``<file> (unreadable)`` for one that
is not JSON of that shape); :func:`lock_warning` is the plan's warning for the stack's backend as ``plan`` chooses it
(:func:`mlops_infra.state.backends.choose_backend`), None when unlocked or when the backend is not a file backend
(its locks are not read here). :func:`cancel_command` is the ``pulumi cancel`` a message tells the user to run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path


def lock_files(project: str, stack: str, stack_dir: Path, backend_url: str | None) -> list[Path]:
    """The lock files of ``project``/``stack`` in the file backend ``backend_url`` (None: the stack directory)."""
    from mlops_infra.state.pulumi_state import backend_root

    locks = backend_root(Path(stack_dir), backend_url) / ".pulumi" / "locks"
    return sorted([*(locks / "organization" / project / stack).glob("*.json"), *(locks / stack).glob("*.json")])


def holders(locks: Sequence[Path]) -> list[str]:
    """``<user>@<host> (pid N) since <time>`` of each lock file (see the module contract)."""
    out = []
    for lock in locks:
        try:
            content = json.loads(lock.read_text(encoding="utf-8"))
            out.append(f"{content['username']}@{content['hostname']} (pid {int(content['pid'])}) since "
                       f"{content['timestamp']}")
        except (OSError, ValueError, KeyError, TypeError):
            out.append(f"{lock} (unreadable)")
    return out


def lock_warning(project: str, stack: str, stack_dir: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The plan's warning when the stack is locked (see the module contract), else None."""
    from mlops_infra.state.backends import choose_backend

    backend = choose_backend(Path(stack_dir), os.environ if environ is None else environ)
    if backend.kind != "file":
        return None
    locks = lock_files(project, stack, stack_dir, backend.url or None)
    if not locks:
        return None
    return (f"the stack {stack} is locked by {', '.join(holders(locks))}: an update is running on it (or crashed and "
            "left its lock); this plan is against the state it has saved so far, which it may still change. Plan "
            "again when it ends")


def cancel_command(stack: str, backend_url: str | None) -> str:
    """``pulumi cancel --stack <stack>`` as it must be typed in the stack directory to remove the lock where apply's
    ``pulumi up`` took it (audit closing-37b-6). ``backend_url``: the backend apply gives Pulumi when a plain
    ``pulumi`` there would not choose it (mlops-infra's stack-directory fallback, ``file://<stack dir>``, or an
    explicit ``backend_url=``), else None. With no login, no ``PULUMI_BACKEND_URL``, no ``backend.url`` and no
    token, plain ``pulumi`` finds no backend (pulumi/pulumi ``pkg/workspace/creds.go``
    ``GetCurrentCloudURLWithSource`` returns "") and logs in to Pulumi Cloud (``pkg/cmd/pulumi/backend/
    login_manager.go``: "" is not a DIY URL), never reading ``<stack dir>/.pulumi/locks``; only the diy backend's
    ``CancelCurrentUpdate`` (``pkg/backend/diy/backend.go``) deletes those lock files. So the URL goes in front;
    credentials in it are redacted."""
    from mlops_infra.state.pulumi_state import _redact_url

    prefix = f"PULUMI_BACKEND_URL={_redact_url(backend_url)} " if backend_url else ""
    return f"{prefix}pulumi cancel --stack {stack}"
