"""The stack program: read config, load and compile the system, register its graph.

Contract of :func:`run` (called by ``stacks/<env>/__main__.py`` under ``pulumi up``/``preview``):

1. system file: the ``system_file`` argument, else stack config ``mlops:systemFile`` (relative paths
   are relative to the working directory, which Pulumi sets to the project directory), else the
   bundled example (:func:`default_system_file`);
2. environment: the ``env`` argument, else ``mlops:environment``, else the stack name;
3. ``load_system(file, env)``; any error diagnostic stops the program with a ``pulumi.RunError``
   listing every diagnostic as ``file:line:col: error: summary`` plus its detail (warnings are
   logged and do not stop it);
4. ``compile_system(system, env, project=pulumi.get_project(), stack=pulumi.get_stack(), registry=...)``
   with the model registry view (finding A1, :func:`registry_view`): the file named by
   ``$MLOPS_INFRA_REGISTRY_VIEW`` (what ``mlops-infra apply`` decided with, so ``pulumi up`` registers
   the graph the plan showed); else, for an AWS environment run by the engine, the registry and the
   live endpoints read with boto3; else (Kubernetes, or under test mocks) none: every pinned
   version is assumed;
5. with ``$MLOPS_INFRA_EXPECTED_GRAPH`` (set by ``mlops-infra apply``: the digest of the graph its plan
   showed), a compiled graph with another digest stops the program with a ``pulumi.RunError`` before
   anything is registered (:mod:`mlops_infra.program.expected_graph`, audit concurrency-7: FILE was edited
   after the plan was shown); likewise with ``$MLOPS_INFRA_EXPECTED_STACK_CONFIG`` (the digest of the
   provider settings in stack config apply read), other settings than those stop it (audit closing-37b-3: the
   stack configuration file was edited, e.g. a ``kubernetes:context`` pointing at another cluster);
6. ``$MLOPS_INFRA_PHASE_OMIT`` (comma-separated URNs) leaves those resources out: the first phase of
   an apply whose plan has ordered changes (``plan/sequences.py``);
7. the empty build contexts of the graph's images (:mod:`mlops_infra.program.build_contexts`), then
   :func:`mlops_infra.program.register.register_graph`; the stack exports ``mlopsEnvironment`` and
   ``mlopsGraphDigest`` (the desired graph's digest, so a later plan can tell what was applied).

Returns the :class:`~mlops_infra.program.register.Registration` (used by tests).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pulumi

from mlops_infra.compile import compile_system
from mlops_infra.diagnostics import Diagnostic
from mlops_infra.model_versions import REGISTRY_VIEW_ENV, RegistryView
from mlops_infra.plan.sequences import PHASE_OMIT_ENV
from mlops_infra.program.build_contexts import prepare_build_contexts
from mlops_infra.program.expected_graph import refuse_another_graph, refuse_another_stack_config
from mlops_infra.program.register import Registration, register_graph
from mlops_infra.spec import load_system

CONFIG_NAMESPACE = "mlops"
BUNDLED_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
"""The bundled example in a source checkout (the default system file)."""


def default_system_file() -> Path:
    """The bundled example, or the embedded quickstart when the package is installed without it."""
    if BUNDLED_EXAMPLE.is_file():
        return BUNDLED_EXAMPLE
    import mlops_infra.spec as spec

    embedded = getattr(spec, "embedded_quickstart_path", None)
    path = embedded() if callable(embedded) else embedded
    if path is not None and Path(path).is_file():
        return Path(path)
    raise pulumi.RunError("No system file: set one with `pulumi config set mlops:systemFile <path>`.")


def format_diagnostics(diagnostics: list[Diagnostic]) -> str:
    """Diagnostics as compiler-style lines (location, severity, summary, indented detail)."""
    lines = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        where = f"{d.location}: " if d.location else ""
        lines.append(f"{where}{d.severity}: {d.summary}")
        lines.extend(f"  {line}" for line in d.detail.splitlines())
    return "\n".join(lines)


def registry_view(system, env: str) -> RegistryView | None:
    """The model registry view the graph is compiled with (see the module contract, step 4).

    A live read that fails never guesses that versions are missing (that would delete serving
    endpoints): it logs a warning and assumes the pinned versions, as a program without a view does.
    """
    path = os.environ.get(REGISTRY_VIEW_ENV)
    if path:
        try:
            return RegistryView.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise pulumi.RunError(f"${REGISTRY_VIEW_ENV}={path}: not a readable registry view ({exc})") from exc
    if system.environments[env].target.kind != "aws" or _under_mocks():
        return None
    from mlops_infra.state.aws_live.model_registry import read_registry
    from mlops_infra.state.model import PriorState

    view = read_registry(system, env, PriorState.empty(), serving="live")
    if view.warnings:
        for warning in view.warnings:
            pulumi.log.warn(f"model registry: {warning}; the pinned versions are assumed")
        return None
    return view


def _under_mocks() -> bool:
    """Whether the program runs under ``pulumi.runtime.set_mocks`` (unit tests): no cloud reads then."""
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_monitor

    return isinstance(get_monitor(), MockMonitor)


def run(system_file: str | None = None, env: str | None = None) -> Registration:
    """Register the desired graph of one environment of a system (see the module contract)."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    path = Path(system_file or config.get("systemFile") or default_system_file())
    env = env or config.get("environment") or pulumi.get_stack()
    loaded = load_system(path, env)
    errors = [d for d in loaded.diagnostics if d.is_error]
    if errors or loaded.system is None:
        raise pulumi.RunError(f"{path}: the system is not valid for environment {env!r}:\n"
                              + format_diagnostics(loaded.diagnostics))
    for warning in loaded.diagnostics:
        pulumi.log.warn(format_diagnostics([warning]))
    project, stack = pulumi.get_project(), pulumi.get_stack()
    if project != loaded.system.metadata.name:
        pulumi.log.warn(f"Pulumi project {project!r} differs from the system name "
                        f"{loaded.system.metadata.name!r}: `mlops-infra plan` computes URNs with the system name.")
    graph = compile_system(loaded.system, env, project=project, stack=stack, registry=registry_view(loaded.system, env))
    refuse_another_graph(graph, str(path))  # concurrency-7: before the per-run overlays, before registering
    refuse_another_stack_config(graph)  # closing-37b-3: the provider settings copied from stack config, too
    omitted = [u for u in os.environ.get(PHASE_OMIT_ENV, "").split(",") if u]
    if omitted:  # the first phase of an ordered apply (plan/sequences.py): deregister these first
        graph = graph.without(omitted)
    prepare_build_contexts(graph)
    registration = register_graph(graph)
    pulumi.export("mlopsEnvironment", env)
    pulumi.export("mlopsGraphDigest", graph.digest())
    return registration
