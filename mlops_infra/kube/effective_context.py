"""The cluster an apply touches: the environment's ``target.context`` unless the stack configuration overrides it.

Why: the program copies ``kubernetes:context`` and ``kubernetes:kubeconfig`` from stack config into the explicit
Kubernetes provider (:mod:`mlops_infra.program.providers`, ``OVERRIDE_KEYS``), so ``pulumi up`` changes the cluster
those name, not the spec's context. Every cluster read that stands for the apply (plan's ``--refresh`` preflights
and live reads) goes through :func:`effective_target`, so it reads the cluster the apply will change.

Contract of :func:`effective_target` (``context`` = the spec's ``target.context``, ``stack_dir`` = the stack
directory, ``stack`` = the stack name):
- The settings are read from the stack settings file ``Pulumi.<stack>.yaml`` (beside ``Pulumi.yaml``, or in its
  ``stackConfigDir``), over the project's ``config:`` in ``Pulumi.yaml`` (a plain value, ``{value:}`` or
  ``{default:}``): the files ``pulumi up`` reads there. No file, or neither key: the spec's context, no source.
- A plain ``kubernetes:context``: that context (of the kubeconfig the reads would use anyway).
- A plain ``kubernetes:kubeconfig``: the provider takes a path or the kubeconfig's content (pulumi/pulumi-kubernetes
  ``provider/pkg/provider/util.go`` ``parseKubeconfigString``: "a string that contains either a path to a kubeconfig
  file or the contents of a kubeconfig (YAML or JSON)"; an existing path, ``~`` expanded, is read, anything else is
  parsed as content; used by ``provider.go`` for ``kubernetes:config:kubeconfig``). A path (relative ones against
  the stack directory) becomes ``ConnectOptions.kubeconfig``; content becomes ``ConnectOptions.kubeconfig_text``
  (loaded from the parsed mapping, never written to disk). The context is ``kubernetes:context`` if set, else the
  spec's (the provider's ``overrides`` take the graph's context).
- A ``secure:`` value (``pulumi config set --secret``): only the Pulumi CLI can decrypt it, so the reads cannot use
  the apply's credentials. :attr:`EffectiveTarget.secret` is set; plan reads through the spec's context and its
  Target line says so (:meth:`EffectiveTarget.describe`); a read that must be the apply's cluster calls
  :meth:`EffectiveTarget.strict_options`, which refuses (a :class:`UserError` naming the file and the fix).
- Never a value of the kubeconfig in :meth:`EffectiveTarget.describe`: only the context's name and the file.

Apply's own reads (the flavor-user refusal, the queue drain, the held-queue check, the leftover runs): ``apply``
records the stack it runs ``pulumi up`` in for the graph it shows (:func:`apply_through`, keyed by that graph
object, held weakly), and those reads connect with :func:`graph_options`: the effective target's
:meth:`~EffectiveTarget.strict_options`, so a ``secure:`` kubeconfig refuses them rather than reading the spec's
cluster while ``pulumi up`` changes another. The namespace-owner check every apply makes reads through
:func:`recorded` too; with a secret kubeconfig it is skipped with a warning (it already warns and goes on when the
namespace cannot be read) rather than failing every apply. A graph no apply recorded keeps the spec's context, unless
the caller knows the stack directory (``mlops-infra rollout``: :func:`graph_options` with ``stack_dir``): then its
effective target, as strictly. Messages about such a read name it with :func:`graph_cluster`.

The registry read of plan and apply (:mod:`mlops_infra.state.mlflow_registry`) connects with :func:`stack_options`:
plan's reads as plan's other reads (a ``secure:`` kubeconfig: the spec's context), apply's strictly.

What ``pulumi up`` registers as the provider's ``context`` (:func:`registered_context`): a plain
``kubernetes:context`` setting as the program registers it (:mod:`mlops_infra.program.providers` ``parse_value`` of
the text the engine hands it: a string as is, anything else as JSON, ``program/expected_graph.py`` ``_text``), so
plan compares the provider's stored ``context`` with it (``plan/planner.py`` ``PlanOptions.provider_settings``); a
``secure:`` one or none: None (the graph's context stands).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlops_infra.errors import UserError
from mlops_infra.kube.config import ConnectOptions
from mlops_infra.stack_settings import configured, is_secure, stack_config_file

CONTEXT_KEY, KUBECONFIG_KEY = "kubernetes:context", "kubernetes:kubeconfig"


@dataclass(frozen=True)
class EffectiveTarget:
    """How to reach the cluster the apply changes (see the module contract)."""

    options: ConnectOptions
    source: str | None = None
    """The settings file that overrides the spec's context (as given: relative when the stack dir was)."""
    secret: bool = False
    """The stack's kubeconfig is a ``secure:`` value: :attr:`options` is the spec's context instead."""

    @property
    def context(self) -> str | None:
        return self.options.context

    def describe(self) -> str:
        """``prod (stacks/prod/Pulumi.prod.yaml)``: the context and where it comes from, for the Target line."""
        where = self.where()
        return f"{self.context or '(current)'}" + (f" ({where})" if where else "")

    def where(self) -> str | None:
        """Where the context comes from when the stack config overrides the spec's, else None."""
        if self.secret:
            return (f"read by plan; the apply uses the secret kubeconfig of {self.source}, "
                    "which only the Pulumi CLI decrypts")
        if self.source is None:
            return None
        return self.source + (", kubeconfig" if self.options.kubeconfig or self.options.kubeconfig_text else "")

    def strict_options(self, purpose: str) -> ConnectOptions:
        """:attr:`options`, or a UserError when the apply's credentials are a secret this process cannot read."""
        if self.secret:
            raise UserError(
                f"cannot {purpose}: the stack's kubernetes:kubeconfig in {self.source} is a secret",
                "Only the Pulumi CLI decrypts it, so this read would reach another cluster than `pulumi up`. Set a "
                "plain kubernetes:kubeconfig path (the file may stay secret) or kubernetes:context instead.",
                source=self.source)
        return self.options


def effective_target(context: str | None, stack_dir: Path | None, stack: str) -> EffectiveTarget:
    """The connection of the cluster ``pulumi up`` of ``stack`` in ``stack_dir`` changes (see the module contract)."""
    spec = EffectiveTarget(ConnectOptions(context=context))
    if stack_dir is None:
        return spec
    settings, source = _settings(Path(stack_dir), stack)
    wanted, kubeconfig = settings.get(CONTEXT_KEY), settings.get(KUBECONFIG_KEY)
    if wanted is None and kubeconfig is None:
        return spec
    if is_secure(wanted) or is_secure(kubeconfig):
        return replace(spec, source=source, secret=True)
    options = ConnectOptions(context=str(wanted) if wanted is not None else context)
    if kubeconfig is not None:
        options = replace(options, **_kubeconfig(str(kubeconfig), Path(stack_dir)))
    return EffectiveTarget(options, source)


def _kubeconfig(value: str, stack_dir: Path) -> dict[str, Any]:
    """A path (existing, ``~`` expanded, relative to the stack directory) or the content (parseKubeconfigString)."""
    path = Path(value).expanduser() if "\n" not in value else None
    if path is not None and not path.is_absolute():
        path = stack_dir / path
    if path is not None and path.is_file():
        return {"kubeconfig": str(path)}
    return {"kubeconfig_text": value}


def _settings(stack_dir: Path, stack: str) -> tuple[dict[str, Any], str]:
    """The two keys as set in the stack settings file over the project's config, and the file that set them
    (the first found; the stack file when neither is set): :func:`mlops_infra.stack_settings.configured`, the
    reader apply's pin of the provider settings uses too."""
    found: dict[str, Any] = {}
    sources = []
    for key in (CONTEXT_KEY, KUBECONFIG_KEY):
        setting = configured(stack_dir, stack, key)
        if setting is not None:
            found[key], source = setting
            sources.append(source)
    return found, str(sources[0]) if sources else str(stack_config_file(stack_dir, stack))


@dataclass(frozen=True)
class ReadTarget:
    """The spec's environment target whose cluster reads go through ``effective`` (its ``context`` is the
    effective one, for the reads and the messages that name it); every other attribute is the spec's."""

    spec: Any
    effective: EffectiveTarget

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("spec", "effective"):  # copy/pickle probe before __init__
            raise AttributeError(name)
        return getattr(self.spec, name)

    @property
    def context(self) -> str | None:
        return self.effective.context


def connect_options(target: Any) -> ConnectOptions:
    """The connection of an environment target: a :class:`ReadTarget`'s effective one, else its ``context``."""
    if isinstance(target, ReadTarget):
        return target.effective.options
    return ConnectOptions(context=getattr(target, "context", None))


_APPLYING: dict[int, tuple[weakref.ref, EffectiveTarget]] = {}
"""id(graph) -> (the graph, weakly; the effective target of its apply's stack): see the module contract."""


def apply_through(graph: Any, stack_dir: Path) -> EffectiveTarget | None:
    """Record that ``graph`` (a Kubernetes one) is applied by ``pulumi up`` in ``stack_dir``: its reads then go
    through :func:`graph_options`. Returns the effective target (None for another cloud)."""
    if graph.metadata.get("cloud") != "kubernetes":
        return None
    effective = effective_target(graph.metadata.get("context"), Path(stack_dir), graph.stack)
    for key in [key for key, (ref, _) in _APPLYING.items() if ref() is None]:
        del _APPLYING[key]
    _APPLYING[id(graph)] = (weakref.ref(graph), effective)
    return effective


def recorded(graph: Any) -> EffectiveTarget | None:
    """The effective target :func:`apply_through` recorded for ``graph``, None when no apply did."""
    entry = _APPLYING.get(id(graph))
    return entry[1] if entry is not None and entry[0]() is graph else None


def graph_options(graph: Any, purpose: str, stack_dir: Path | None = None) -> ConnectOptions:
    """The connection of ``graph``'s cluster: as :func:`apply_through` recorded it, else, with ``stack_dir``, the
    effective target of ``pulumi up`` there (strict either way: a secret kubeconfig raises a UserError saying it
    cannot ``purpose``), else the graph's (the spec's) context."""
    effective = _graph_target(graph, stack_dir)
    if effective is not None:
        return effective.strict_options(purpose)
    return ConnectOptions(context=graph.metadata.get("context"))


def graph_cluster(graph: Any, stack_dir: Path | None = None) -> str:
    """The cluster :func:`graph_options` reads, as messages name it: ``context B (<settings file>)`` when the stack
    config overrides the spec's, ``the secret kubeconfig of <settings file>``, else ``context <spec's>``."""
    effective = _graph_target(graph, stack_dir)
    if effective is not None and effective.secret:
        return f"the secret kubeconfig of {effective.source}"
    return f"context {effective.describe() if effective is not None else graph.metadata.get('context')}"


def _graph_target(graph: Any, stack_dir: Path | None) -> EffectiveTarget | None:
    """What :func:`apply_through` recorded for ``graph``, else the effective target of ``stack_dir``, else None."""
    effective = recorded(graph)
    if effective is None and stack_dir is not None:
        effective = effective_target(graph.metadata.get("context"), Path(stack_dir), graph.stack)
    return effective


def stack_options(context: str | None, stack_dir: Path | None, stack: str, purpose: str | None = None) -> ConnectOptions:
    """The connection of the cluster ``pulumi up`` of ``stack`` in ``stack_dir`` changes (``context``: the spec's;
    no ``stack_dir``: that context): :attr:`EffectiveTarget.options` as plan reads, or with ``purpose`` strictly
    (:meth:`EffectiveTarget.strict_options`: a secret kubeconfig raises a UserError saying it cannot ``purpose``)."""
    effective = effective_target(context, stack_dir, stack)
    return effective.strict_options(purpose) if purpose is not None else effective.options


def provider_settings(graph: Any, stack_dir: Path | None) -> dict[str, dict[str, Any]]:
    """``{"kubernetes": {"context": ...}}`` for a Kubernetes ``graph`` whose stack in ``stack_dir`` sets a plain
    ``kubernetes:context`` (:func:`registered_context`), else empty: ``plan/planner.py``
    ``PlanOptions.provider_settings``, the provider's ``context`` as ``pulumi up`` registers it."""
    if graph.metadata.get("cloud") != "kubernetes":
        return {}
    context = registered_context(stack_dir, graph.stack)
    return {"kubernetes": {"context": context}} if context is not None else {}


def registered_context(stack_dir: Path | None, stack: str) -> Any:
    """The ``context`` ``pulumi up`` of ``stack`` in ``stack_dir`` registers in the Kubernetes provider from a plain
    ``kubernetes:context`` setting (see the module contract); None when unset or ``secure:``."""
    if stack_dir is None:
        return None
    found = configured(Path(stack_dir), stack, CONTEXT_KEY)
    if found is None or is_secure(found[0]):
        return None
    text = found[0] if isinstance(found[0], str) else json.dumps(found[0])
    try:
        return json.loads(text)
    except ValueError:
        return text
