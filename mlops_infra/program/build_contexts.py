"""Build contexts the program makes before it registers images (the compiled graph is pure data).

Contract: :func:`prepare_build_contexts` makes, under ``root`` (the working directory Pulumi runs
the program in: the stack directory), the directory of every ``docker-build:index:Image`` of the
graph whose ``context.location`` is :data:`~mlops_infra.compile.aws.drift_image.BUILD_CONTEXT`,
holding only a ``.dockerignore`` of ``*`` (:data:`~mlops_infra.compile.aws.drift_image.IGNORE_ALL`,
written atomically and only when it differs), so the provider's context hash is the same on every
run and machine (why: ``compile/aws/drift_image.py``). The provider refuses a context location that
is not a directory (pulumi-docker-build ``provider/internal/context.go`` ``BuildContext.validate``:
"not a valid directory or URL"), at preview too, so this runs before registration on every
preview and update. Idempotent; returns the directories made or kept.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile.aws.drift_image import BUILD_CONTEXT, IGNORE_ALL, IMAGE
from mlops_infra.fileio import write_text_atomic
from mlops_infra.graph import DesiredGraph


def prepare_build_contexts(graph: DesiredGraph, root: str | Path = ".") -> list[Path]:
    """Make the graph's empty build contexts under ``root`` (see the module contract)."""
    wanted = {r.inputs.get("context", {}).get("location") for r in graph.resources if r.type == IMAGE}
    made = []
    if BUILD_CONTEXT in wanted:
        directory = Path(root) / BUILD_CONTEXT
        directory.mkdir(parents=True, exist_ok=True)
        ignore = directory / ".dockerignore"
        try:
            current = ignore.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current != IGNORE_ALL:
            write_text_atomic(ignore, IGNORE_ALL)
        made.append(directory)
    return made
