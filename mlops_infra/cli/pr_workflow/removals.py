"""The systems and environments of the base commit a pull request removes or renames (:func:`find_removed`):
their files go, their deployed resources stay; where their state is (:func:`with_local_state`) and which
stack directories still name a renamed system's old project (:func:`with_stale_stacks`)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from mlops_infra.cli.pr_workflow.targets import SystemFacts, git_lines, is_system_file, read_facts


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
                          encoding="utf-8", errors="replace").stdout.strip()
    facts = {}
    files = set(git_lines("ls-tree", "-r", "-z", "--name-only", fork, cwd=root))
    for file in sorted(files):
        if file.endswith((".yaml", ".yml")) and (file not in head or file in changed):
            raw = subprocess.run(["git", "cat-file", "blob", f"{fork}:{file}"], cwd=root, check=True,
                                 capture_output=True).stdout
            if is_system_file(file, raw):
                facts[file] = read_facts(decode_source(raw, file)[0], file)
    return facts, files
