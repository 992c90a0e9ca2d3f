"""The steps of the pull-request plan workflow (.github/workflows/plan.yml), as testable Python.

Run as ``python -m mlops_infra.cli.pr_workflow <step> --dir DIR``:

- ``targets --base SHA [--repo-wide GLOB]... [--exclude GLOB]...``: which (system, environment)
  pairs the pull request changes (:func:`find_targets`; a change to a repository-wide input,
  :data:`REPO_WIDE`, plans every system; excluded files are no systems); writes
  ``DIR/targets.json``, what else the comment must say (``DIR/notices.json``: the repository-wide
  inputs changed, system files sharing a ``metadata.name`` and an environment,
  :func:`find_clashes`, whose environments are not planned; systems and environments of the base
  commit the pull request removes, :func:`find_removed`) and ``count=<n>`` to ``$GITHUB_OUTPUT``
  (targets plus notices: with either, the comment is written and ``check`` runs).
- ``plan``: runs ``mlops-infra plan --format markdown --detailed-exitcode --env ENV ... -- FILE`` for
  each target (exit 0 or 2 with a plan printed is a success: 2 is also click's usage error),
  against that system's own state (:func:`state_args`), saving the JSON plan with ``--out`` as
  ``DIR/<n>-<system>-<env>.json``; writes ``DIR/results.json``. A plan cut to its share of the
  comment is rendered again, once, at its share of the job summary (:func:`run_plans`). The plan's
  note "Saved the plan to DIR/..." names a runner's temporary directory, gone with the runner: in the
  comment it says where the JSON plan is, the ``mlops-infra-plans`` artifact and its file name.
- ``comment --run-url URL --sha SHA``: the sticky comment's body (``DIR/comment.md``, at most
  65,536 characters) and the job summary (appended to ``$GITHUB_STEP_SUMMARY``, at most 1 MiB)
  (:func:`comment_body`, :func:`summary_content`). With no target, the body says the pull request no
  longer changes a system, which replaces an earlier comment's plans. Targets ``targets.json`` lists
  without a result (the plan step died: ``plan`` writes ``results.json`` after each target) are
  listed as not planned (:func:`unplanned_section`), and ``check`` fails. The comment says the job
  summary holds a plan (or a fuller copy of a cut one) only when the summary written holds it.
- ``check``: exits 1 when a plan failed, system files share a name or a kept file's ``metadata.name``
  changed (:attr:`Removed.renamed_to`) while a stack directory in the pull request still names the
  old project (:attr:`Removed.stale_stacks`), with one ``::error::`` line each; a rename whose stack
  directories are made again (or not in the repository) is a ``::warning::``, as a move is.

A plan that exits 1 after printing the whole plan (a mandatory guardrail fails: ``plan`` prints the
plan, then refuses) keeps its plan in the comment, under the failure line. A cut plan's section says
where the rest is: the job summary (when it holds a fuller copy) and the ``mlops-infra-plans``
artifact (:data:`ARTIFACT`, the name ``.github/workflows/plan.yml`` uploads the JSON plans under).
Each section fits its equal share of the comment whole: its head, failure line and error, plan and
notes are all counted (:func:`run_plans`).

Contract of :func:`find_targets`: the system files are the tracked files :func:`is_system_file` says
are (a ``*mlsystem.yaml``, or a YAML file of ``kind: MLSystem``); a changed one plans every
environment of that system; a changed file in a stack directory (a directory with ``Pulumi.yaml``
whose ``Pulumi.<stack>.yaml`` names ``mlops:systemFile``) plans the system and environment(s) that
stack names, and no other system; any other changed file plans every environment of the systems
whose directory holds it (the nearest enclosing directory that holds a system, all of its systems;
a system at the repository root only claims its own file and ``stacks/``). File names are data:
never put in a shell command. A system file deleted by the pull request is not planned; it, and an
environment removed from a kept file, is a notice in the comment (:func:`find_removed`): its files
go, its deployed resources stay until destroyed.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import yaml

MARKER = "<!-- mlops-infra-plan: pull-request -->"
COMMENT_LIMIT = 65536
SUMMARY_LIMIT = 1024 * 1024
"""Bytes of one step's job summary. GitHub: "The maximum size of a job summary is 1 MiB per step ...
If a step summary upload exceeds this size, the upload is aborted" ("Adding a job summary",
https://docs.github.com/actions/using-workflows/workflow-commands-for-github-actions#adding-a-job-summary);
the runner says "$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of 1024k" and
shows none of it."""
SUMMARY_RESERVE = 32 * 1024
"""Bytes of the summary kept for its title and each section's head, failure lines and notes."""
ERROR_LIMIT = 3000
"""Characters :func:`error_excerpt` keeps by default (a plan's section passes its own share)."""
FINAL_ERROR_LIMIT = 1000
MIN_ERROR = 500
"""Characters of a failed plan's error kept however many sections share the comment."""
COMMENT_FRAME = 1000
"""Characters of the comment kept for its title, its footer and the note on plans left out; the rest
is shared equally by the sections (:func:`run_plans`)."""
RUN_URL_ROOM = 200
"""Characters counted for each link to the run while the plans are made (the run's URL is known to
the comment step only). A github.com run URL, ``https://github.com/OWNER/REPO/actions/runs/ID``,
fits while ``OWNER/REPO`` and ``ID`` together have at most 167 characters; a longer one (a GitHub
Enterprise Server host) can only make :func:`comment_body` leave a last section out whole."""
MIN_PLAN_CHARS = 1000
"""The smallest ``--max-chars`` ``mlops-infra plan`` takes."""
SYSTEM_FILE = "mlsystem.yaml"
REPO_WIDE = ("requirements.txt", "constraints.txt", "pyproject.toml", ".github/workflows/plan.yml")
"""Paths (``fnmatch`` patterns, ``*`` crossing ``/``) whose change plans every system, unless
``targets --repo-wide`` names others: the root files that pin the mlops-infra (and the Python
packages) the workflow installs and plans with, and the workflow itself."""
ARTIFACT = "mlops-infra-plans"
"""The artifact .github/workflows/plan.yml uploads the JSON plans as (tests pin the two alike)."""
PLAN_MARKER = "<!-- mlops-infra-plan: "
"""How ``plan --format markdown`` output starts (``render.markdown.MARKER_PREFIX``)."""
NOTICES = "notices.json"
"""What ``targets`` found about the repository besides the plans to run (:func:`notice_sections`)."""
CUT_MARK = "to keep this comment under"
"""In every cut Markdown plan's note on what was left out (``render.markdown``)."""


@dataclass(frozen=True, order=True)
class PlanTarget:
    """One plan to run: a system file (repository-relative, POSIX) and an environment."""

    file: str
    env: str


# -- targets -------------------------------------------------------------------------------------


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


def _stack_dir_of(root: Path, path: PurePosixPath) -> dict[str, str] | None:
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
        stack = _stack_dir_of(root, path)
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


@dataclass(frozen=True)
class NameClash:
    """System files that share a ``metadata.name`` and environments: ``files`` as (file, line of
    ``metadata.name``), ``envs`` the environments two or more of them have."""

    name: str
    envs: tuple[str, ...]
    files: tuple[tuple[str, int], ...]


def find_clashes(facts: dict[str, SystemFacts], involved: set[str]) -> list[NameClash]:
    """Groups of system files with one ``metadata.name`` and an environment in common, each holding
    a file of ``involved`` (the files the pull request plans: a clash is introduced by changing or
    adding one of its files, and a pull request that touches none of them is not held up by it).

    Such files are one Pulumi stack: ``mlops-infra init`` names the project after ``metadata.name``
    and the stack after the environment (:mod:`mlops_infra.stacks`), and a stack is
    ``org/project/stack``, "The stack name must be unique within a project"
    (https://www.pulumi.com/docs/iac/concepts/stacks/); a shared backend holds ONE state for both,
    and ``pulumi up`` of either deletes what the other registered ("generates delete steps for the
    resources that ... were not registered in the new snapshot", pulumi/pulumi
    ``pkg/resource/deploy/step_generator.go`` ``GenerateDeletes``). Their AWS names are
    ``<metadata.name>-<env>-<item>`` (``compile/naming.py``) in both, whatever the backend."""
    by_name: dict[str, list[str]] = {}
    for file, fact in sorted(facts.items()):
        if fact.name is not None:
            by_name.setdefault(fact.name, []).append(file)
    clashes = []
    for name, files in sorted(by_name.items()):
        envs: dict[str, list[str]] = {}
        for file in files:
            for env in facts[file].envs:
                if env != "?":
                    envs.setdefault(env, []).append(file)
        shared = [env for env, holders in envs.items() if len(holders) > 1]
        clashing = sorted({file for env in shared for file in envs[env]})
        if shared and involved & set(clashing):
            clashes.append(NameClash(name, tuple(sorted(shared)),
                                     tuple((file, facts[file].line) for file in clashing)))
    return clashes


def unclashed(targets: list[PlanTarget], clashes: list[NameClash]) -> list[PlanTarget]:
    """``targets`` less the environments of clashing files: their plan would read a state that is
    not theirs alone (:func:`find_clashes`); the comment shows the clash instead."""
    refused = {(file, env) for clash in clashes for file, _ in clash.files for env in clash.envs}
    return [t for t in targets if (t.file, t.env) not in refused]


@dataclass(frozen=True)
class Removed:
    """A system file (``file_deleted``) or some of its environments that the pull request removes:
    its ``metadata.name`` in the base commit (None: unreadable there) and the environments gone."""

    file: str
    name: str | None
    envs: tuple[str, ...]
    file_deleted: bool
    renamed_to: str | None = None
    """The head's ``metadata.name`` of a kept file whose name changed (closing-42a-2): its old stacks
    ``<name>/<env>`` (all of ``envs``) are another Pulumi project than the one it now plans."""
    local_state: tuple[str, ...] = ()
    """The environments of ``envs`` whose stack directory ``<file's dir>/stacks/<env>/`` holds a
    ``.pulumi/`` in the base commit: their state is in the stack directory (:func:`with_local_state`)."""
    stale_stacks: tuple[str, ...] = ()
    """For a renamed system: the environments of ``envs`` whose stack directory in the head
    (``<file's dir>/stacks/<env>/Pulumi.yaml``) still names the old project, where ``apply`` refuses
    (:func:`with_stale_stacks`). Only these make the rename an error (closing-42b-3)."""


def with_local_state(removed: list[Removed], base_files: set[str]) -> list[Removed]:
    """``removed`` with :attr:`Removed.local_state` read from ``base_files`` (every file of the base
    commit): a stack directory holding ``.pulumi/`` keeps its stack there, the file backend
    ``mlops-infra`` uses with no ``pulumi login``, ``PULUMI_BACKEND_URL`` or ``PULUMI_ACCESS_TOKEN``
    (:func:`mlops_infra.state.backends.choose_backend`; ``apply/engine.py`` ``backend_url``)."""
    out = []
    for item in removed:
        directory = PurePosixPath(item.file).parent / "stacks"
        prefixes = {env: f"{(directory / env / '.pulumi').as_posix()}/" for env in item.envs}
        local = tuple(env for env in item.envs if any(f.startswith(prefixes[env]) for f in base_files))
        out.append(replace(item, local_state=local) if local else item)
    return out


def with_stale_stacks(removed: list[Removed], root: Path) -> list[Removed]:
    """``removed`` with :attr:`Removed.stale_stacks` read from the checkout ``root`` (the head): a
    renamed system's environments whose ``stacks/<env>/Pulumi.yaml`` (the stack directory
    ``mlops-infra init`` makes beside the system file) still has ``name:`` the old project.
    ``apply/engine.py`` ``check_stack_dir`` refuses a stack directory of another project; one made
    again by ``mlops-infra init --force`` names the new project, and one the pull request does not
    hold is not refused for its name (``apply`` asks for ``init`` there), so neither is stale. A
    stack's project is ``Pulumi.yaml``'s ``name`` (required: "Name of the project", Pulumi project
    file reference, https://www.pulumi.com/docs/iac/concepts/projects/project-file/)."""
    out = []
    for item in removed:
        stale = tuple(env for env in item.envs if item.renamed_to
                      and _project_name(root / PurePosixPath(item.file).parent / "stacks" / env) == item.name)
        out.append(replace(item, stale_stacks=stale) if stale else item)
    return out


def _project_name(stack_dir: Path) -> str | None:
    """The ``name:`` of ``stack_dir/Pulumi.yaml`` as ``apply``'s stack check reads it
    (:func:`mlops_infra.stacks.read_pulumi_yaml`; None: no such file, or unreadable)."""
    from mlops_infra.errors import UserError
    from mlops_infra.stacks import read_pulumi_yaml

    try:
        name = read_pulumi_yaml(stack_dir / "Pulumi.yaml").get("name")
    except UserError:
        return None
    return name if isinstance(name, str) else None


def find_removed(base: dict[str, SystemFacts], head: dict[str, SystemFacts],
                 base_files: set[str]) -> list[Removed]:
    """The systems and environments of the base commit (``base``: its system files the pull request
    deletes or changes; ``base_files``: every file of that commit) that the head (``head``: all its system files)
    no longer has.

    A deleted file whose ``metadata.name`` a new file of the head has is moved there (each new file
    is the move of one deleted file; a move keeps its stacks ``<name>/<env>``), and its environments
    the new file lacks are removed. A kept file loses the environments neither it nor a new file
    of that name (not the move of another) has. A deleted file whose name only an older file has
    (a copy sharing its name) is removed. A head file that cannot be read is not taken to remove
    anything (its plan reports why). A kept file whose ``metadata.name`` changed is renamed
    (:attr:`Removed.renamed_to`, every environment of the base): a stack is ``<project>/<env>`` and
    the project is ``metadata.name`` (``mlops-infra init``; ``program/entry.py`` refuses a project
    of another name), so its old stacks are not the ones it now plans; until ``mlops-infra init
    --force`` makes them again, the stack directories' ``Pulumi.yaml`` still name the old project
    (``apply/engine.py`` ``check_stack_dir`` refuses; :func:`with_stale_stacks`).

    Removing the files destroys nothing: resources are deleted by ``pulumi destroy`` ("Deletes all
    the resources in the selected stack", https://www.pulumi.com/docs/iac/cli/commands/pulumi_destroy/)
    or by an ``up`` whose program no longer registers them, and after the merge no file names that
    stack any more."""
    new = {file: fact for file, fact in head.items() if file not in base_files}
    moved_to: dict[str, str] = {}
    for file, fact in sorted(base.items()):
        if file not in head and fact.name is not None:
            target = next((n for n, f in sorted(new.items()) if f.name == fact.name and n not in moved_to.values()),
                          None)
            if target is not None:
                moved_to[file] = target
    spare = [f for n, f in new.items() if n not in moved_to.values()]
    removed = []
    for file, fact in sorted(base.items()):
        now = head.get(moved_to.get(file, file))
        if now is not None and (now.name is None or now.envs == ("?",)):
            continue
        if fact.name is None:
            if file not in head:
                removed.append(Removed(file, None, (), True))
            continue
        if now is not None and now.name != fact.name and file in head:  # closing-42a-2: renamed in place
            envs = tuple(env for env in fact.envs if env != "?")
            removed.append(Removed(file, fact.name, envs, False, renamed_to=now.name))
            continue
        covered = {env for f in [*([now] if now else []), *spare] if f.name == fact.name for env in f.envs}
        envs = tuple(env for env in fact.envs if env != "?" and env not in covered)
        if envs or (now is None and fact.envs == ("?",)):
            removed.append(Removed(file, fact.name, envs, file not in head))
    return removed


def base_facts(root: Path, base: str, changed: list[str],
               head: set[str]) -> tuple[dict[str, SystemFacts], set[str]]:
    """:class:`SystemFacts` of the system files (:func:`is_system_file`) of the commit the pull
    request forks from (``git merge-base``, as ``git diff base...HEAD`` compares) that it deletes,
    moves or changes (``head``: the files the checkout tracks), and every file of that commit."""
    from mlops_infra.spec.loader import decode_source

    fork = subprocess.run(["git", "merge-base", base, "HEAD"], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()
    facts = {}
    files = set(git_lines("ls-tree", "-r", "-z", "--name-only", fork, cwd=root))
    for file in sorted(files):
        if file.endswith((".yaml", ".yml")) and (file not in head or file in changed):
            raw = subprocess.run(["git", "cat-file", "blob", f"{fork}:{file}"], cwd=root, check=True,
                                 capture_output=True).stdout
            if is_system_file(file, raw):
                facts[file] = read_facts(decode_source(raw, file)[0], file)
    return facts, files


def git_lines(*args: str, cwd: Path) -> list[str]:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout
    return [line for line in out.split("\0") if line]


# -- plan ------------------------------------------------------------------------------------------


def state_args(root: Path, target: PlanTarget) -> list[str]:
    """``--state`` for a committed state export of this system's stack, if there is one.

    Looked for in the system's own stack directory (``<system dir>/stacks/<env>/state.json[.gz]``),
    then in a repository-level ``stacks/<env>/`` only when its stack configuration names this system.
    Without one, ``mlops-infra plan`` finds the state where ``pulumi`` keeps it for that stack.
    """
    system_dir = PurePosixPath(target.file).parent
    candidates = [system_dir / "stacks" / target.env]
    legacy = PurePosixPath("stacks") / target.env
    if legacy not in candidates and (_stack_dir_of(root, legacy / "Pulumi.yaml") or {}).get(target.env) == target.file:
        candidates.append(legacy)
    for directory in candidates:
        for name in ("state.json", "state.json.gz"):
            if (root / directory / name).is_file():
                return ["--state", str(directory / name)]
    return []


SLUG_CHARS = 80
"""Characters of a target's directory and environment kept in its file names (:func:`slug`)."""


def slug(target: PlanTarget) -> str:
    """The part of a target's file names (``<n>-<slug>.json``, ``.md``, ``.summary.md``) that says
    which it is: its system's directory and its environment. Over :data:`SLUG_CHARS`, it is cut and
    ends with 8 hex digits of a SHA-256 of the file and environment, so the longest file name stays
    far under NAME_MAX (255 bytes on ext4, the runner's file system; a longer name is ENAMETOOLONG,
    open(2)) and two long names cut alike stay apart."""
    text = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{PurePosixPath(target.file).parent}-{target.env}").strip("_.")
    if len(text) <= SLUG_CHARS:
        return text
    digest = hashlib.sha256(f"{target.file}\0{target.env}".encode()).hexdigest()[:8]
    return f"{text[:SLUG_CHARS].rstrip('_.-')}-{digest}"


def run_plans(root: Path, targets: list[PlanTarget], out_dir: Path, mlops_infra: str = "mlops-infra",
              done: Callable[[list[dict]], None] | None = None) -> list[dict]:
    """Plan every target (see the module docstring); the results as JSON-able dicts.

    Each target's section gets an equal share of the comment (what :data:`COMMENT_FRAME` leaves):
    its head, its failure line and error, its plan and the note on a cut plan all count, each link to
    the run as :data:`RUN_URL_ROOM` characters, so a failed plan's error cannot push a later section
    out. A plan is rendered at its share less the rest of its section (``markdown``); a failed plan
    whose error then overflows the share is rendered once more, shorter by the overflow (the same
    inputs: the same plan); a failed plan without a plan keeps as much of its error as the share
    holds (at least :data:`MIN_ERROR` characters). Its stdout is kept whenever it is a plan (it
    starts with :data:`PLAN_MARKER`), also on exit 1: a failed mandatory guardrail exits 1 after
    printing the whole plan. The workflow log gets stderr and, for a failed plan, stdout too (the
    failure line in the comment points there). A plan cut to its comment share is rendered again,
    without ``--out``, at its share of the job summary (``summary_markdown``; kept only when it is a
    plan within that share in UTF-8 bytes, so the summary never passes 1 MiB). ``done`` is called
    with the results so far after each target (the ``plan`` step writes ``results.json`` each time:
    when the step dies, the comment shows the plans made and lists the others)."""
    count = max(1, len(targets))
    share = (COMMENT_LIMIT - COMMENT_FRAME) // count
    summary_share = (SUMMARY_LIMIT - SUMMARY_RESERVE) // count
    results: list[dict] = []
    for index, target in enumerate(targets):
        results.append(_plan_target(root, target, out_dir / f"{index:03d}-{slug(target)}", mlops_infra, share,
                                    summary_share))
        if done is not None:
            done(results)
    return results


_ROOM_URL = "https://" + "x" * (RUN_URL_ROOM - len("https://"))


def _plan_target(root: Path, target: PlanTarget, stem: Path, mlops_infra: str, share: int,
                 summary_share: int) -> dict:
    """One target of :func:`run_plans`: files ``<stem>.json``, ``<stem>.md``, ``<stem>.summary.md``."""
    plan_json, markdown = Path(f"{stem}.json"), Path(f"{stem}.md")
    common = [mlops_infra, "plan", "--format", "markdown", "--detailed-exitcode"]
    if target.env != "?":
        common += ["--env", target.env, *state_args(root, target)]
    file_args = ["--", target.file]  # after `--`, a file named like an option (`-ml/...`) is a file
    saved, artifact = _saved_notes(plan_json)
    growth = max(0, len(artifact) - len(saved))
    # the largest section without its plan: no error yet, a cut plan's note naming the summary and the JSON plan
    result = {**asdict(target), "exit": 0, "markdown": str(markdown), "json": plan_json.name, "errors": "",
              "summary_markdown": "-"}
    max_chars = share - len(_section_text(result, CUT_MARK, _ROOM_URL, summary_has_fuller=True)) + len(CUT_MARK)
    used = max(MIN_PLAN_CHARS, max_chars - growth)
    plan_text, over = _plan_once(root, common, file_args, plan_json, used, result, share)
    if plan_text and over > 0 and max(MIN_PLAN_CHARS, len(plan_text) - over - growth) < used:
        # its error took part of the share: the same plan again (the same inputs), shorter by as much
        max_chars = len(plan_text) - over
        plan_text, _ = _plan_once(root, common, file_args, plan_json, max(MIN_PLAN_CHARS, max_chars - growth),
                                  result, share)
    del result["summary_markdown"]
    markdown.write_text(plan_text, encoding="utf-8")
    if plan_text and CUT_MARK in plan_text and summary_share > max_chars:
        fuller = _run_logged(root, [*common, "--max-chars", str(summary_share), *file_args], log_stdout=False)
        if fuller.stdout.startswith(PLAN_MARKER) and len(fuller.stdout.encode("utf-8")) <= summary_share:
            path = Path(f"{stem}.summary.md")
            path.write_text(fuller.stdout, encoding="utf-8")
            result["summary_markdown"] = str(path)
    return result


def _plan_once(root: Path, common: list[str], file_args: list[str], plan_json: Path, max_chars: int,
               result: dict, share: int) -> tuple[str, int]:
    """Run one plan at ``max_chars``, saving its JSON plan; ``result`` updated (exit, failed, JSON
    plan, error). Returns the plan's Markdown (its ``--out`` note swapped, :func:`_saved_notes`; ""
    when it printed none) and by how many characters its section passes ``share``.

    Exit 2 is "changes present (with --detailed-exitcode), or a usage error" (``mlops-infra plan
    --help``; click's ``UsageError.exit_code`` is 2): an exit 0 or 2 that printed no plan failed."""
    proc = _run_logged(root, [*common, "--max-chars", str(max_chars), "--out", str(plan_json), *file_args])
    plan_text = proc.stdout.replace(*_saved_notes(plan_json), 1) if proc.stdout.startswith(PLAN_MARKER) else ""
    failed = proc.returncode not in (0, 2) or not plan_text
    result.update({"exit": proc.returncode, "failed": failed,
                   "json": str(plan_json) if plan_json.is_file() else None, "errors": ""})
    if failed:
        result["errors"] = (final_error(proc.stderr) if plan_text
                            else error_excerpt(proc.stderr, _error_room(result, share)))
    return plan_text, len(_section_text(result, plan_text.strip(), _ROOM_URL, summary_has_fuller=True)) - share


def plan_failed(result: dict) -> bool:
    """Whether a result is a failed plan: ``failed`` (:func:`_plan_once`), else (a ``results.json`` of
    an earlier mlops-infra) an exit other than 0 and 2."""
    return bool(result.get("failed", result["exit"] not in (0, 2)))


def _saved_notes(plan_json: Path) -> tuple[str, str]:
    """``plan --out``'s note as the Markdown plan writes it ("Saved the plan to <path>.",
    ``cli/commands/plan.py``), and the note the comment shows instead: the path is in the runner's
    temporary directory, gone with the runner; the file is in the run's :data:`ARTIFACT` artifact
    (``.github/workflows/plan.yml`` uploads ``DIR/*.json`` under that name)."""
    from mlops_infra.render.markdown import note_line

    return (note_line(f"Saved the plan to {plan_json}."),
            note_line(f"Saved the plan as `{plan_json.name}` in the run's `{ARTIFACT}` artifact."))


def _error_room(result: dict, share: int) -> int:
    """How many characters of a failed plan's error (no plan printed) its section's share holds: all
    of what the share leaves (it holds no plan), at least :data:`MIN_ERROR`."""
    rest = len(_section_text({**result, "errors": ""}, "", _ROOM_URL)) - len(_NO_MESSAGE)
    return max(MIN_ERROR, share - rest)


def _run_logged(root: Path, args: list[str], *, log_stdout: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one plan; its stderr (and, when it failed, its stdout) go to the workflow log, grouped."""
    print("::group::" + " ".join(args), flush=True)
    proc = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False)
    if log_stdout and proc.returncode not in (0, 2) and proc.stdout:
        print(proc.stdout, flush=True)
    print(proc.stderr, flush=True)
    print("::endgroup::", flush=True)
    return proc


_CUT_ERROR = "\n... (cut; see the log)"
_SNIPPET = re.compile(r"^\s*\d+ \| |^\s*\^\s*$")
_COUNTS = re.compile(r"^\d+ errors?, \d+ warnings?$")
_ERROR_HEAD = re.compile(r"^(?:\S[^\n]*: )?(?:internal )?error: ")


def error_excerpt(stderr: str, limit: int = ERROR_LIMIT) -> str:
    """What a failed plan said, for the comment: its diagnostics and errors without the quoted source
    lines (which could hold a value the author did not mean to publish) and without notes.

    ``mlops-infra`` prints the diagnostics sorted by position, warnings and errors together (each a
    line and its indented fix), then ``N errors, M warnings``, then a top-level error (a stack file it
    cannot read): when the whole does not fit in ``limit``, the messages kept are, whole and in their
    order, the count line and what follows it, then every error, then warnings while room remains;
    ``... (cut; see the log)`` says some were left out. Only an error too long for ``limit`` is cut."""
    lines = [line for line in stderr.splitlines()
             if not _SNIPPET.match(line) and not line.startswith(("Prior state:", "Spec:", "::"))]
    text = "\n".join(lines).strip()
    if len(text) <= limit:
        return text
    blocks = _message_blocks(lines)
    counts = next((i for i, block in enumerate(blocks) if _COUNTS.match(block)), len(blocks))
    rank = [0 if i >= counts else 1 if _ERROR_HEAD.match(block) else 2 for i, block in enumerate(blocks)]
    room, kept, size = limit - len(_CUT_ERROR), set(), -1
    for i in sorted(range(len(blocks)), key=lambda i: (rank[i], i)):
        if size + 1 + len(blocks[i]) <= room:
            kept.add(i)
            size += 1 + len(blocks[i])
    needed = [i for i in range(len(blocks)) if rank[i] < 2]
    if needed and not kept & set(needed):  # one error longer than the room: cut it
        text = "\n".join(blocks[i] for i in needed)
        return text[: limit - len(_CUT_ERROR)].rstrip() + _CUT_ERROR
    return "\n".join(blocks[i] for i in sorted(kept)) + _CUT_ERROR


def _message_blocks(lines: list[str]) -> list[str]:
    """The messages of a plan's stderr: each unindented line with the indented lines after it."""
    blocks: list[list[str]] = []
    for line in lines:
        if not line.strip():
            continue
        if blocks and line[:1].isspace():
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return ["\n".join(block) for block in blocks]


_TOP_ERROR = re.compile(r"^\S[^\n]*: error: ", re.MULTILINE)


def final_error(stderr: str, limit: int = FINAL_ERROR_LIMIT) -> str:
    """For a failed plan that printed the plan: the last error (why it exits 1), from its line to
    the end; the findings before it are in the plan (its Guardrails section)."""
    starts = [m.start() for m in _TOP_ERROR.finditer(stderr)]
    return error_excerpt(stderr[starts[-1]:] if starts else stderr, limit)


# -- comment and summary ------------------------------------------------------------------------------


def section(result: dict, run_url: str, *, fuller: bool = False, summary_has_fuller: bool = False) -> str:
    """One target's part of the comment (or, ``fuller``, of the job summary): which system and
    environment, then its plan, its error, or both (a plan that exits 1 after printing the plan).

    The system file is data from the pull request: in the hidden marker it is percent-encoded
    (``>``, ``!`` and line breaks included, so ``-->`` cannot end the HTML comment early:
    CommonMark 0.31.2 section 4.6, HTML block type 2 ends at the first line holding ``-->``), and it
    is shown as a code span that survives backticks and line breaks. A cut plan says where the
    rest is: the job summary, only when ``summary_has_fuller`` (the summary written holds this
    plan's fuller copy: :attr:`SummaryContent.fuller`), and the :data:`ARTIFACT` artifact."""
    path = result.get("summary_markdown") if fuller else None
    plan = Path(path or result["markdown"]).read_text(encoding="utf-8").strip() if result.get("markdown") else ""
    return _section_text(result, plan, run_url, fuller=fuller, summary_has_fuller=summary_has_fuller)


_NO_MESSAGE = "(no message)"


def _section_text(result: dict, plan: str, run_url: str, *, fuller: bool = False,
                  summary_has_fuller: bool = False) -> str:
    """:func:`section` with its plan's text given (what :func:`run_plans` measures)."""
    from mlops_infra.render.markdown import code_span

    file, env = result["file"], result["env"]
    head = f"<!-- mlops-infra-plan-target: {quote(file, safe='/ ')} {quote(env, safe='')} -->\n" \
           f"**System** {code_span(file)} · **environment** {code_span(env)}\n\n"
    text = head
    if plan_failed(result):
        errors = result.get("errors") or _NO_MESSAGE
        fence = "~" * max(4, 1 + max((len(run) for run in re.findall(r"~{3,}", errors)), default=0))
        exit_text = f"exit {result['exit']}" + (", no plan printed" if result["exit"] in (0, 2) else "")
        text += (f"**The plan failed** ({exit_text}):\n\n{fence}text\n{errors}\n{fence}\n\n"
                 f"The whole output is in the [workflow log]({run_url})"
                 + (": the plan it printed follows.\n\n" if plan else ".\n\n"))
    if plan:
        text += plan + "\n\n"
        if CUT_MARK in plan:
            kept = summary_has_fuller and not fuller and result.get("summary_markdown")
            where = [f"the [job summary]({run_url}) holds a fuller copy"] if kept else []
            if result.get("json"):
                where.append(f"the run's `{ARTIFACT}` artifact holds the JSON plan "
                             f"`{PurePosixPath(result['json']).name}`")
            if where:
                text += f"> This plan was shortened: {'; '.join(where)}.\n\n"
    return text + "---\n\n"


def notice_sections(notices: dict) -> list[str]:
    """The comment's sections on what ``targets`` found besides plans (``DIR/notices.json``): each
    name clash (:func:`find_clashes`) as an error, each system or environment removed
    (:func:`removed_section`). Only file names, system and environment names."""
    from mlops_infra.render.markdown import code_span

    texts = []
    if notices.get("repo_wide"):
        paths = ", ".join(code_span(path) for path in notices["repo_wide"])
        texts.append(f"**Every system is planned:** this pull request changes {paths}, which every system's "
                     f"plan depends on (the mlops-infra and packages the plans and `pulumi up` use).\n\n---\n\n")
    for clash in notices.get("clashes", []):
        files = ", ".join(code_span(f"{file}:{line}" if line else file) for file, line in clash["files"])
        envs = ", ".join(code_span(env) for env in clash["envs"])
        name = clash["name"]
        texts.append(
            f"**Error: system files share `metadata.name`** {code_span(name)}: {files} (environment(s) {envs}).\n\n"
            f"They would be ONE Pulumi stack {code_span(f'{name}/<env>')} (the project is `metadata.name`, the "
            f"stack the environment; a stack name is unique within its project) and use the same AWS names "
            f"{code_span(f'{name}-<env>-...')}: applying one replaces or takes over the other's resources. "
            f"Their plans are not shown. Fix: give the new system a `metadata.name` of its own (renaming a "
            f"deployed system replaces its resources, so rename the one not yet applied).\n\n---\n\n")
    texts.extend(removed_section(removed) for removed in notices.get("removed", []))
    return texts


UNPLANNED_SHOWN = 50
"""Targets the note on a plan step that did not finish lists by name (the rest are counted)."""


def unplanned_section(unplanned: list[PlanTarget], run_url: str) -> str:
    """What the comment says when the plan step did not finish (``targets.json`` lists targets that
    ``results.json`` has no result for: the step was killed, or failed before writing them): which
    plans were not made, never that the pull request changes no system."""
    from mlops_infra.render.markdown import code_span

    if not unplanned:
        return ""
    lines = [f"- {code_span(t.file)} · {code_span(t.env)}\n" for t in unplanned[:UNPLANNED_SHOWN]]
    more = len(unplanned) - UNPLANNED_SHOWN
    return (f"**The plan step did not finish:** {len(unplanned)} plan(s) were not made; "
            f"the [workflow log]({run_url}) says why. Not planned:\n\n" + "".join(lines)
            + (f"- and {more} more\n" if more > 0 else "") + "\n---\n\n")


def notices_text(notices: dict, run_url: str, room: int) -> str:
    """The notice sections (:func:`notice_sections`) that fit in ``room`` characters, whole and in
    order, and a note on the rest (the ``targets`` step printed them all to the log)."""
    texts = notice_sections(notices)

    def note(n: int) -> str:
        return f"**{n} more notice(s) did not fit in one comment:** see the log of the [run]({run_url}).\n\n"

    omitted = 0
    while texts and sum(map(len, texts)) + (len(note(omitted)) if omitted else 0) > room:
        texts.pop()
        omitted += 1
    return "".join(texts) + (note(omitted) if omitted else "")


def removed_section(removed: dict) -> str:
    """The comment's section on a system file or environments the pull request removes, or a system
    it renames (:func:`find_removed`): the files go, the resources stay; how to destroy them first.

    The ``pulumi destroy`` named runs on the stack's backend: a bare ``pulumi`` in the stack
    directory uses ``PULUMI_BACKEND_URL``, the project's ``backend.url`` or the current login, and
    with none asks to log in to Pulumi Cloud (pulumi/pulumi ``pkg/cmd/pulumi/backend/backend.go``
    ``CurrentBackend``; non-interactive: "PULUMI_ACCESS_TOKEN must be set for login during
    non-interactive CLI sessions", ``pkg/backend/backenderr/backenderr.go``), while ``mlops-infra``
    then keeps the stack in the stack directory (``file://<stack dir>``, needing the passphrase).
    So a stack whose base commit holds ``.pulumi/`` (:attr:`Removed.local_state`) gets
    ``PULUMI_BACKEND_URL=file://$PWD``; any other, both forms, each with the case it is for."""
    from mlops_infra.render.markdown import code_span

    file, name, envs = removed["file"], removed["name"], removed["envs"]
    local = set(removed.get("local_state", ()))
    system = f"{code_span(file)} ({code_span(name)})" if name else f"{code_span(file)} (its name unreadable)"
    listed = ", ".join(code_span(env) for env in envs) or "its environments"
    directory = PurePosixPath(file).parent

    def destroy(env: str, backend: str) -> str:
        return code_span(f"cd {directory / 'stacks' / env} && {backend}pulumi destroy --stack {env}")

    passphrase = "with the `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`) apply used"
    in_dir = [destroy(env, "PULUMI_BACKEND_URL=file://$PWD ") for env in envs if env in local]
    other = [env for env in envs if env not in local]
    parts = []
    if in_dir:
        parts.append(f"{'; '.join(in_dir)} (their state is in the stack directory's `.pulumi/`: {passphrase})")
    if other:
        parts.append(f"{'; '.join(destroy(env, 'PULUMI_BACKEND_URL=file://$PWD ') for env in other)} if apply ran "
                     f"with no `pulumi login` (mlops-infra's default: the state is in the stack directory; "
                     f"{passphrase}), else {'; '.join(destroy(env, '') for env in other)}, which runs against "
                     f"the current `pulumi login` (or the stack's `backend.url`)")
    how = ("; ".join(parts) + " (the stack directories `mlops-infra init` made)" if envs
           else "`pulumi destroy` in each of its stack directories, on the backend apply used")
    renamed = removed.get("renamed_to")
    if renamed:
        stale = removed.get("stale_stacks", ())
        kind = "Error" if stale else "Warning"
        lead = (f"**{kind}: system renamed** {code_span(name)} -> {code_span(renamed)} in {code_span(file)}. "
                f"Not an environment removed: its stacks {code_span(f'{name}/<env>')} (environment(s) {listed}) are "
                f"Pulumi project {code_span(name)}, another project than {code_span(renamed)}, and every AWS and "
                f"Kubernetes name holds `metadata.name`, so nothing is kept by a rename: the plans below are a first "
                f"apply of new resources, and the old ones stay. ")
        if stale:
            dirs = ", ".join(code_span(f"{directory / 'stacks' / env}/Pulumi.yaml") for env in stale)
            lead += (f"The stack directories' {dirs} still name {code_span(name)}, so `mlops-infra apply` refuses "
                     f"there until they are made again (`mlops-infra init --force` next to the system file, in this "
                     f"pull request: it overwrites the stack files, so add back any config you set). ")
        return (f"{lead}Unless the old stacks are destroyed already, destroy them first, from the base branch: "
                f"{how}. Or keep the old name.\n\n---\n\n")
    if removed["file_deleted"]:
        head = f"**System removed:** {system}, environment(s) {listed}. This pull request deletes its file"
    else:
        head = f"**Environment removed:** {listed} of {system}. This pull request removes the environment"
    return (f"{head}, not its resources: removing a Pulumi program or stack directory destroys nothing, "
            f"and after the merge nothing here plans or applies those stacks. Unless they are destroyed "
            f"already, destroy them first, from the base branch: {how}. They are not planned here."
            f"\n\n---\n\n")


def comment_body(results: list[dict], run_url: str, sha: str, limit: int = COMMENT_LIMIT, *,
                 shown: SummaryContent | None = None, notices: dict | None = None,
                 unplanned: list[PlanTarget] | None = None) -> str:
    """The sticky comment: every section that fits, whole ones only, with a note for those left out.

    ``shown``: the job summary written beside it (None: none). The comment sends the reader to the
    summary only for what it holds: a cut plan's fuller copy, the plans left out of the comment
    (else to the run's :data:`ARTIFACT` artifact and log). ``notices``: what ``targets`` found
    besides plans (:func:`notice_sections`), shown first, before the plans. ``unplanned``: targets
    ``targets`` listed that have no result (the plan step died: :func:`unplanned_section`); the
    comment then never says the pull request changes no system."""
    head = (f"{MARKER}\n# mlops-infra plans\n\n" + unplanned_section(unplanned or [], run_url)
            + notices_text(notices or {}, run_url, limit // 2))
    foot = f"<sub>Updated for {sha[:7]} by the [plan workflow]({run_url}).</sub>\n"
    if not results and (unplanned or notice_sections(notices or {})):
        return head + foot
    if not results:
        return (f"{MARKER}\n# mlops-infra plans\n\nThis pull request no longer changes any ML system "
                f"(as of {sha[:7]}); earlier plans were removed.\n\n" + foot)
    held = shown.sections if shown is not None else 0
    sections = [section(r, run_url, summary_has_fuller=bool(shown and shown.fuller and i < held))
                for i, r in enumerate(results)]
    omitted = 0
    where = (f"see the job summary of the [run]({run_url})" if held == len(results)
             else f"see the `{ARTIFACT}` artifact and the log of the [run]({run_url})")

    def note(n: int) -> str:
        return f"**{n} more plan(s) did not fit in one comment:** {where}.\n\n"

    while sections and len(head) + len(foot) + sum(map(len, sections)) + (len(note(omitted)) if omitted else 0) > limit:
        sections.pop()
        omitted += 1
    return head + "".join(sections) + (note(omitted) if omitted else "") + foot


@dataclass(frozen=True)
class SummaryContent:
    """The job summary: its ``text``; it holds the first ``sections`` sections, in order; ``fuller``:
    those are the fuller copies of the plans cut for the comment (else the comment's copies)."""

    text: str
    sections: int
    fuller: bool


def summary(results: list[dict], run_url: str, limit: int = SUMMARY_LIMIT) -> str:
    """The job summary's text (:func:`summary_content`)."""
    return summary_content(results, run_url, limit).text


def summary_content(results: list[dict], run_url: str, limit: int = SUMMARY_LIMIT, *,
                    lead: str = "") -> SummaryContent:
    """The job summary: every section, with the fuller copy of a plan cut for the comment
    (:func:`run_plans`); never over ``limit`` UTF-8 bytes (:data:`SUMMARY_LIMIT`: over it GitHub
    shows no summary at all): the comment's copies instead, then whole sections left out with a note.
    ``lead``: the comment's sections before the plans (plans not made, notices), shown first too."""
    title = "# mlops-infra plans\n\n" + lead
    if not results and lead:
        return SummaryContent(title, 0, False)
    if not results:
        return SummaryContent(title + "No ML system is changed by this pull request.\n", 0, False)

    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    sections = [section(r, run_url, fuller=True) for r in results]
    fuller = size(title) + sum(map(size, sections)) <= limit
    if not fuller:
        sections = [section(r, run_url) for r in results]
    omitted = 0

    def note(n: int) -> str:
        return f"**{n} more plan(s) did not fit in the job summary:** see the `{ARTIFACT}` artifact of the run.\n"

    while sections and size(title) + sum(map(size, sections)) + (size(note(omitted)) if omitted else 0) > limit:
        sections.pop()
        omitted += 1
    return SummaryContent(title + "".join(sections) + (note(omitted) if omitted else ""), len(sections), fuller)


# -- command line -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlops_infra.cli.pr_workflow")
    parser.add_argument("step", choices=["targets", "plan", "comment", "check"])
    parser.add_argument("--dir", required=True, type=Path, help="where the step's files go")
    parser.add_argument("--base", help="targets: the pull request's base commit")
    parser.add_argument("--run-url", default="")
    parser.add_argument("--sha", default="")
    parser.add_argument("--repo-wide", action="append", metavar="GLOB",
                        help=f"targets: a path whose change plans every system (default: {', '.join(REPO_WIDE)})")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="targets: files that are not systems (test fixtures, copies of examples)")
    args = parser.parse_args(argv)
    root = Path.cwd()
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.step == "targets":
        return _targets_step(root, args)
    if args.step == "plan":
        targets = [PlanTarget(**t) for t in _targets(args.dir)]

        def done(results: list[dict]) -> None:
            (args.dir / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")

        done(run_plans(root, targets, args.dir, done=done))
        return 0
    results = _results(args.dir)
    unplanned = [PlanTarget(**t) for t in _targets(args.dir)[len(results):]]
    notices = _notices(args.dir)
    if args.step == "comment":
        lead = unplanned_section(unplanned, args.run_url) + "".join(notice_sections(notices))
        shown = summary_content(results, args.run_url, lead=lead) if os.environ.get("GITHUB_STEP_SUMMARY") else None
        (args.dir / "comment.md").write_text(comment_body(results, args.run_url, args.sha, shown=shown,
                                                          notices=notices, unplanned=unplanned),
                                             encoding="utf-8")
        if shown is not None:
            with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as out:
                out.write(shown.text)
        return 0
    failed = [r for r in results if plan_failed(r)]
    for r in failed:
        print(f"::error::mlops-infra plan {r['file']} --env {r['env']} failed (exit {r['exit']})")
    for t in unplanned:
        print(f"::error::mlops-infra plan {t.file} --env {t.env} was not run: the plan step did not finish")
    clashes = notices.get("clashes", [])
    for clash in clashes:
        print(f"::error::{' and '.join(f for f, _ in clash['files'])} share metadata.name {clash['name']} "
              f"and environment(s) {', '.join(clash['envs'])}: one Pulumi stack, the same AWS names")
    renamed = [r for r in notices.get("removed", []) if r.get("renamed_to") and r.get("stale_stacks")]
    for r in renamed:  # closing-42a-2, closing-42b-3: apply refuses until the stack directories are made again
        print(f"::error::{r['file']}: metadata.name {r['name']} renamed to {r['renamed_to']}: its stacks "
              f"{r['name']}/<env> are another Pulumi project; apply refuses until the stack directories "
              f"({', '.join(r['stale_stacks'])}) are made again (mlops-infra init --force), and the old stacks' "
              f"resources are not destroyed")
    for removed in notices.get("removed", []):
        if removed.get("renamed_to"):
            if not removed.get("stale_stacks"):
                print(f"::warning::{removed['file']}: metadata.name {removed['name']} renamed to "
                      f"{removed['renamed_to']} ({', '.join(removed['envs']) or 'environments unknown'}): its old "
                      f"stacks are not destroyed")
            continue
        print(f"::warning::{removed['file']}: {'deleted' if removed['file_deleted'] else 'environment(s) removed'}"
              f" ({', '.join(removed['envs']) or 'environments unknown'}): its deployed stacks are not destroyed")
    return 1 if failed or clashes or unplanned or renamed else 0


def _targets_step(root: Path, args: argparse.Namespace) -> int:
    """``targets``: ``DIR/targets.json``, ``DIR/notices.json`` and ``count`` (the module docstring)."""
    changed = git_lines("diff", "--name-only", "-z", f"{args.base}...HEAD", cwd=root)
    tracked = git_lines("ls-files", "-z", cwd=root)
    kept = [name for name in tracked if not any(fnmatch.fnmatchcase(name, glob) for glob in args.exclude)]
    systems = system_files(root, kept)
    facts = {system: file_facts(root, system) for system in systems if (root / system).is_file()}
    repo_wide = tuple(args.repo_wide or REPO_WIDE)
    targets = find_targets(changed, systems, root, repo_wide, facts)
    clashes = find_clashes(facts, {t.file for t in targets})
    targets = unclashed(targets, clashes)
    base, base_files = base_facts(root, args.base, changed, set(tracked))
    removed = find_removed({f: fact for f, fact in base.items()
                            if not any(fnmatch.fnmatchcase(f, glob) for glob in args.exclude)}, facts, base_files)
    removed = with_stale_stacks(with_local_state(removed, base_files), root)
    notices = {"repo_wide": repo_wide_changes(changed, repo_wide), "clashes": [asdict(c) for c in clashes],
               "removed": [asdict(r) for r in removed]}
    (args.dir / "targets.json").write_text(json.dumps([asdict(t) for t in targets], indent=2), encoding="utf-8")
    (args.dir / NOTICES).write_text(json.dumps(notices, indent=2), encoding="utf-8")
    print(json.dumps([asdict(t) for t in targets], indent=2))
    sections = notice_sections(notices)
    for text in sections:
        print(text, file=sys.stderr)
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as out:
            out.write(f"count={len(targets) + len(sections)}\n")
    return 0


def _results(directory: Path) -> list[dict]:
    path = directory / "results.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _targets(directory: Path) -> list[dict]:
    path = directory / "targets.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []


def _notices(directory: Path) -> dict:
    path = directory / NOTICES
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


PROG = "python -m mlops_infra.cli.pr_workflow"


def run(argv: list[str] | None = None) -> int:
    """:func:`main` as the workflow runs it: a program it needs that fails or is missing (``git`` with a
    ``--base`` this checkout does not have: a shallow clone, a wrong SHA; ``mlops-infra`` not installed) is one
    line naming the command, its error and the fix, exit 1, no traceback (``MLOPS_INFRA_DEBUG=1`` shows it)."""
    from mlops_infra.cli.main import debug_enabled

    try:
        return main(argv)
    except subprocess.CalledProcessError as err:
        if debug_enabled():
            raise
        command = " ".join(str(part) for part in err.cmd)
        said = (err.stderr or "").strip().splitlines() if isinstance(err.stderr, str) else []
        fix = (" Check that --base names a commit this checkout has (actions/checkout with fetch-depth: 0)."
               if err.cmd and err.cmd[0] == "git" else "")
        print(f"{PROG}: `{command}` failed (exit {err.returncode})" + (f": {said[-1]}" if said else "") + "." + fix,
              file=sys.stderr)
    except FileNotFoundError as err:
        if debug_enabled():
            raise
        if err.filename and os.sep not in str(err.filename):  # a program run by name
            print(f"{PROG}: `{err.filename}` is not installed or not on PATH: install it first (the workflow's "
                  f"install step: mlops-infra and git).", file=sys.stderr)
        else:
            print(f"{PROG}: {err.filename}: no such file or directory.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(run())
