"""The home directory the Pulumi CLI uses, which is not always ``$HOME`` (audit stateformats-6).

Contract:
- :func:`user_home` is Go's ``user.Current().HomeDir``: the home of the process's uid in the passwd database
  (Python's ``pwd.getpwuid``, as cgo's ``getpwuid_r`` or the pure-Go ``/etc/passwd`` reader), and ``$HOME``
  only when the uid has no entry (Go ``src/os/user/lookup_stubs.go`` ``current()``: ``lookupUserId(uid)``
  first, ``os.UserHomeDir()`` only on error: "$USER and /etc/passwd may disagree; prefer the latter") or where
  there is no passwd database (Windows: :meth:`pathlib.Path.home`, the user's profile directory).
- Pulumi uses it for its home, ``PULUMI_HOME`` else ``<user home>/.pulumi`` (pulumi/pulumi
  ``sdk/go/common/util/pulumihome/pulumihome.go`` ``Dir``), where ``credentials.json`` is
  (``sdk/go/common/workspace/creds.go`` ``getCredsFilePath``), and for ``file://~`` backends
  (``pkg/backend/diy/backend.go`` ``massageBlobPath``, :func:`expand_home`). Python's ``Path.home()`` and
  ``expanduser()`` read ``$HOME`` first: they differ in a container job run as root with ``HOME=/github/home``
  (passwd home ``/root``) or under ``sudo -E``, and mlops-infra then read another login and another state than
  ``pulumi``. So backend URLs are never expanded with ``expanduser``.
- A passwd entry with an empty home is taken as ``$HOME`` too (Pulumi itself stops there: "could not find user
  home directory, set PULUMI_HOME").
"""

from __future__ import annotations

import os
from pathlib import Path


def user_home() -> Path:
    """The home directory ``pulumi`` uses (module contract)."""
    try:
        import pwd
    except ModuleNotFoundError:  # Windows
        return Path.home()
    try:
        home = pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:  # the uid has no passwd entry (a container run with --user 12345)
        return Path.home()
    return Path(home) if home else Path.home()


def expand_home(path: str) -> Path:
    """``path`` of a ``file://`` backend URL with a leading ``~`` replaced as ``massageBlobPath`` does:
    ``~`` is :func:`user_home`, else ``filepath.Join(usr.HomeDir, path[2:])`` (so ``~/x`` is ``<home>/x``; a
    ``~user`` form is not another user's home)."""
    if not path.startswith("~"):
        return Path(path)
    return user_home() if path == "~" else user_home() / path[2:]
