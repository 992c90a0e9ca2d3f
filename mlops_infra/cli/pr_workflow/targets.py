"""Which (system, environment) pairs a pull request changes: the ``targets`` step's plans.

Contract of :func:`find_targets`: the system files are the tracked files :func:`is_system_file` says
are (a ``*mlsystem.yaml``, or a YAML file of ``kind: MLSystem``); a changed one plans every
environment of that system; a changed file in a stack directory (a directory with ``Pulumi.yaml``
whose ``Pulumi.<stack>.yaml`` names ``mlops:systemFile``) plans the system and environment(s) that
stack names, and no other system; any other changed file plans every environment of the systems
whose directory holds it (the nearest enclosing directory that holds a system, all of its systems;
a system at the repository root only claims its own file and ``stacks/``); a change to a
repository-wide input (:data:`REPO_WIDE`) plans every system. File names are data: never put in a
shell command. A system file deleted by the pull request is not planned; it, and an environment
removed from a kept file, is a notice in the comment
(:func:`~mlops_infra.cli.pr_workflow.removals.find_removed`): its files go, its deployed resources
stay until destroyed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

SYSTEM_FILE = "mlsystem.yaml"

REPO_WIDE = ("requirements.txt", "constraints.txt", "pyproject.toml", ".github/workflows/plan.yml")
"""Paths (``fnmatch`` patterns, ``*`` crossing ``/``) whose change plans every system, unless
``targets --repo-wide`` names others: the root files that pin the mlops-infra (and the Python
packages) the workflow installs and plans with, and the workflow itself."""


@dataclass(frozen=True, order=True)
class PlanTarget:
    """One plan to run: a system file (repository-relative, POSIX) and an environment."""

    file: str
    env: str


@dataclass(frozen=True)
class SystemFacts:
    """What the workflow reads of a system file without validating it (one parse by the spec loader,
    :func:`mlops_infra.spec.loader.parse_document`, the project's one YAML path: YAML 1.2, so an
    environment named ``on`` or ``no`` stays a string): ``metadata.name`` (None when the file cannot
    be read or has none), the line it is on, and the environments in file order (``("?",)`` when
    there are none to read: the plan then reports why)."""

    name: str | None
    line: int
    envs: tuple[str, ...]


def read_facts(text: str | None, file: str) -> SystemFacts:
    """:class:`SystemFacts` of a system file's text (None: the file could not be read)."""
    from mlops_infra.spec.loader import parse_document

    doc = parse_document(text, file)[0] if text is not None else None
    data = doc.data if doc is not None else None
    meta = data.get("metadata") if isinstance(data, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    name = name if isinstance(name, str) and name else None
    envs = data.get("environments") if isinstance(data, dict) else None
    return SystemFacts(name, doc.locate(("metadata", "name")).line if doc is not None and name else 0,
                       tuple(str(e) for e in envs) if isinstance(envs, dict) and envs else ("?",))


def file_facts(root: Path, file: str) -> SystemFacts:
    """:func:`read_facts` of a file of the checkout."""
    from mlops_infra.spec.loader import read_source

    return read_facts(read_source(root / file)[0], file)


def environments(root: Path, file: str) -> list[str]:
    """The environments of a system file, in file order (``["?"]`` when it cannot be read: the plan
    then reports why)."""
    return list(file_facts(root, file).envs)


def stack_dir_of(root: Path, path: PurePosixPath) -> dict[str, str] | None:
    """For a file inside a stack directory: {environment: system file} its stack configs name."""
    from mlops_infra.stacks import CONFIG_ENV_KEY, CONFIG_FILE_KEY

    for directory in [path.parent, *path.parent.parents]:
        if str(directory) in ("", "."):
            break
        if not (root / directory / "Pulumi.yaml").is_file():
            continue
        named: dict[str, str] = {}
        for config_file in sorted((root / directory).glob("Pulumi.*.yaml")):
            try:
                config = (yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}).get("config") or {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
                continue
            system = config.get(CONFIG_FILE_KEY) if isinstance(config, dict) else None
            if isinstance(system, str):
                stack = config_file.name[len("Pulumi."):-len(".yaml")]
                env = config.get(CONFIG_ENV_KEY) if isinstance(config.get(CONFIG_ENV_KEY), str) else stack
                resolved = os.path.normpath((root / directory / system).resolve())
                named[env] = Path(os.path.relpath(resolved, root.resolve())).as_posix()
        if named:
            if path.name.startswith("Pulumi.") and path.name != "Pulumi.yaml":
                stack = path.name[len("Pulumi."):-len(".yaml")]
                return {env: f for env, f in named.items() if env == stack} or named
            return named
    return None


def find_targets(changed: list[str], systems: list[str], root: Path,
                 repo_wide: tuple[str, ...] = REPO_WIDE, facts: dict | None = None) -> list[PlanTarget]:
    """The plans a pull request needs (see the module contract). ``systems`` are the repository's
    system files (``git ls-files``); ``changed`` the changed paths; both repository-relative. A
    changed path matching ``repo_wide`` (:func:`repo_wide_changes`) plans every system. ``facts``:
    :func:`file_facts` of the system files when the caller has them (each file is parsed once)."""
    present = {s for s in systems if (root / s).is_file()}
    if repo_wide_changes(changed, repo_wide):
        changed = sorted(present)
    wanted: dict[str, set[str] | None] = {}  # system file -> environments (None = all)

    def add(system: str, envs: set[str] | None) -> None:
        if system not in present:
            return
        if envs is None or wanted.get(system, set()) is None:
            wanted[system] = None
        else:
            wanted.setdefault(system, set()).update(envs)  # type: ignore[union-attr]

    for name in changed:
        path = PurePosixPath(name)
        if name in present:
            add(name, None)
            continue
        stack = stack_dir_of(root, path)
        if stack:
            for env, system in stack.items():
                add(system, {env})
            continue
        for owner in _owning_systems(path, present):
            add(owner, None)
    targets = []
    for system in sorted(wanted):
        chosen = wanted[system]
        if chosen is not None:
            envs = sorted(chosen)
        elif facts and system in facts:
            envs = list(facts[system].envs)
        else:
            envs = environments(root, system)
        targets.extend(PlanTarget(system, env) for env in envs)
    return targets


def repo_wide_changes(changed: list[str], repo_wide: tuple[str, ...]) -> list[str]:
    """The changed paths that every system's plan depends on (``repo_wide``: :data:`REPO_WIDE`).

    The workflow plans with the mlops-infra it installs from the repository's root files, and
    ``pulumi up`` installs each stack's ``requirements.txt`` into the stack's virtualenv
    (pulumi/pulumi ``sdk/python/toolchain/pip.go``: ``pip install -r requirements.txt`` in the
    project directory): a change to either compiler can change every system's resources."""
    return sorted(name for name in changed if any(fnmatch.fnmatchcase(name, glob) for glob in repo_wide))


def _owning_systems(path: PurePosixPath, systems: set[str]) -> list[str]:
    """The systems of the nearest directory enclosing ``path`` that holds any: all of them when it
    holds several (a README beside two system files is about both). A system at the repository root
    only claims ``stacks/``."""
    depth, owners = -1, []
    for system in sorted(systems):
        directory = PurePosixPath(system).parent
        if str(directory) == ".":
            here = 0 if path.parts[:1] == ("stacks",) else -1
        else:
            here = len(directory.parts) if directory in path.parents else -1
        if here >= 0 and here > depth:
            depth, owners = here, [system]
        elif here >= 0 and here == depth:
            owners.append(system)
    return owners


_KIND = re.compile(r"""^kind:[ \t]*["']?MLSystem["']?[ \t]*(?:#[^\r\n]*)?\r?$""", re.MULTILINE)

_API_VERSION = re.compile(r"""^apiVersion:[ \t]*["']?mlops-infra/""", re.MULTILINE)

SNIFF_BYTES = 8192
"""Bytes of a YAML file read to tell whether it is a system file (:func:`is_system_file`)."""


def is_system_file(name: str, head: bytes) -> bool:
    """Whether a tracked file is an ML system: named ``*mlsystem.yaml`` (whatever it holds: a file
    that does not parse is still planned, and its plan says why), or a ``.yaml``/``.yml`` file whose
    first :data:`SNIFF_BYTES` bytes say ``apiVersion: mlops-infra/...`` and ``kind: MLSystem`` at
    the top level (both required by the schema, ``schemas/mlsystem-v1.schema.json``; ``init``,
    ``validate`` and ``plan`` take any file name). As the loader reads it (``spec/loader.py``
    ``decode_source``): a leading UTF-8 byte order mark is dropped and a line may end in CRLF (YAML 1.2
    section 5.2 "Character Encodings" allows a byte order mark, section 5.4 "Line Break Characters"
    CR LF as a line break; git keeps CRLF in the blob unless ``.gitattributes`` or
    ``core.autocrlf`` normalise it)."""
    if name.endswith(SYSTEM_FILE):
        return True
    if not name.endswith((".yaml", ".yml")):
        return False
    text = head[:SNIFF_BYTES].decode("utf-8", "replace").removeprefix("\ufeff")
    return bool(_KIND.search(text) and _API_VERSION.search(text))


def system_files(root: Path, tracked: list[str]) -> list[str]:
    """The system files among the checkout's ``tracked`` files (:func:`is_system_file`)."""
    found = []
    for name in tracked:
        head = b""
        if name.endswith((".yaml", ".yml")) and not name.endswith(SYSTEM_FILE):
            try:
                with open(root / name, "rb") as handle:
                    head = handle.read(SNIFF_BYTES)
            except OSError:
                continue
        if is_system_file(name, head):
            found.append(name)
    return found


def git_lines(*args: str, cwd: Path) -> list[str]:
    """The NUL-separated paths ``git ARGS`` prints (``-z``: as stored, unquoted). Decoded as UTF-8, as Git for
    Windows stores paths and as this process's file names are on POSIX (PEP 529, PEP 540), with
    ``surrogateescape`` so that a path in another encoding still names its file (PEP 383); not in the
    locale's code page (Windows' ANSI one; audit portab45-8)."""
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, encoding="utf-8",
                         errors="surrogateescape").stdout
    return [line for line in out.split("\0") if line]
