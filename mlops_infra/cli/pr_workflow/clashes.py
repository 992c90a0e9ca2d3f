"""System files that share a ``metadata.name`` and an environment: one Pulumi stack, so their plans are
refused and the comment shows the clash (:func:`find_clashes`, :func:`unclashed`)."""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.cli.pr_workflow.targets import PlanTarget, SystemFacts


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
