"""The guardrails as a Pulumi CrossGuard policy pack: ``pulumi up --policy-pack <dir>`` gives the
answers ``mlops-infra plan`` gives (docs/guardrails.md).

Contract:
- One :class:`GuardrailPolicy` (a ``pulumi_policy.StackValidationPolicy``) per rule of
  :data:`mlops_infra.spec.guardrails.RULES`, named like the rule. Its validate function turns the
  stack Pulumi is deploying into a :class:`~mlops_infra.graph.DesiredGraph` (:func:`graph_of_stack`:
  type, URN, name, properties, parent and dependencies of every resource; components carry their ML
  facts as outputs, ``program/components.py``) and evaluates it with
  :func:`mlops_infra.plan.guardrails.evaluate`, the entry point ``plan`` uses: no rule is copied here.
  Each finding is reported on its resource's URN (the bucket, the Service), else on the URN of the
  component of its ML item, else on the stack.
- Levels and caps come from the spec, as for ``plan``: :class:`SpecSource` loads the system file the
  pack was made for and resolves the environment (its ``env``, else stack config
  ``mlops:environment``, else the stack name ``PULUMI_STACK``). A policy's enforcement level is the
  rule's level there (mandatory or advisory), read when the engine asks; a rule that does not apply
  there (a production rule outside production, a cap that is not set) reports itself not applicable.
  Pulumi's own ``--policy-pack-config`` still overrides a level, as for any pack.
- A system file that cannot be loaded, or is invalid for the environment, fails closed: every policy
  reports it, at the mandatory level.
- Values unknown during a preview (Pulumi's unknown sentinels) read as absent.
- :func:`serve` starts the pack (``PolicyPack`` blocks, serving the analyzer over gRPC); the pack
  directory's ``__main__.py`` calls it (``mlops-infra policy-pack`` writes that directory:
  :func:`mlops_infra.stacks.policy_pack_files`). Needs the ``policy`` extra (``pulumi-policy``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
    proxy,
)

from mlops_infra.compile.context import COMPONENT_TYPES, PLATFORM_TYPE
from mlops_infra.graph import ROOT_STACK_TYPE, DesiredGraph, DesiredResource
from mlops_infra.spec.guardrails import RULES, GuardrailSettings, guardrail_settings

PACK_NAME = "mlops-infra-guardrails"
CONFIG_ENV_KEY = "mlops:environment"
SECTION_OF_TYPE = {type_: section for section, type_ in COMPONENT_TYPES.items()}
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}
UNKNOWNS = frozenset({proxy.UNKNOWN_BOOLEAN_VALUE, proxy.UNKNOWN_NUMBER_VALUE, proxy.UNKNOWN_STRING_VALUE,
                      proxy.UNKNOWN_ARRAY_VALUE, proxy.UNKNOWN_ASSET_VALUE, proxy.UNKNOWN_ARCHIVE_VALUE,
                      proxy.UNKNOWN_OBJECT_VALUE})
"""Pulumi's sentinels for values unknown during a preview (``pulumi_policy.proxy``)."""


class SpecUnusable(Exception):
    """The system file cannot give the environment's guardrails (the message says why)."""


@dataclass
class SpecSource:
    """Where a pack's levels and caps come from: ``system_file`` and the environment (see the contract)."""

    system_file: Path
    env: str | None = None
    _cache: dict[str, GuardrailSettings] = field(default_factory=dict)

    def environment(self) -> str:
        if self.env:
            return self.env
        import pulumi.runtime

        configured = pulumi.runtime.get_config_env().get(CONFIG_ENV_KEY)
        stack = configured or os.environ.get("PULUMI_STACK")
        if not stack:
            raise SpecUnusable(f"no environment: set stack config {CONFIG_ENV_KEY} (mlops-infra init does), or run "
                               "the pack through `pulumi up`/`pulumi preview`, which names the stack")
        return stack

    def settings(self) -> GuardrailSettings:
        env = self.environment()
        if env not in self._cache:
            from mlops_infra.spec import load_system

            loaded = load_system(self.system_file, env)
            errors = [d for d in loaded.diagnostics if d.is_error]
            if errors or loaded.system is None:
                first = errors[0] if errors else None
                where = f" ({first.location}: {first.summary})" if first else ""
                raise SpecUnusable(f"{self.system_file} is not valid for environment {env}{where}: run "
                                   f"`mlops-infra validate {self.system_file} --env {env}`")
            self._cache[env] = guardrail_settings(loaded.system, env)
        return self._cache[env]


class GuardrailPolicy(StackValidationPolicy):
    """One guardrail rule as a CrossGuard stack policy (see the module contract)."""

    def __init__(self, rule: str, source: SpecSource) -> None:
        self.rule = rule
        self.source = source
        super().__init__(rule, RULES[rule], self._validate, display_name=f"mlops-infra guardrail {rule}",
                         url="docs/guardrails.md")

    @property  # type: ignore[override]
    def enforcement_level(self) -> EnforcementLevel:
        """The rule's level in the stack's environment; mandatory when the spec cannot say (fail closed)."""
        try:
            level = self.source.settings().level(self.rule)
        except SpecUnusable:
            return EnforcementLevel.MANDATORY
        return LEVELS[level] if level else EnforcementLevel.ADVISORY

    @enforcement_level.setter
    def enforcement_level(self, _value: Any) -> None:
        """Levels come from the spec, never from code: the base class's assignment is ignored."""

    def _validate(self, args: StackValidationArgs, report_violation: ReportViolation) -> None:
        try:
            settings = self.source.settings()
        except SpecUnusable as exc:
            report_violation(f"cannot evaluate the guardrails: {exc}", None)
            return
        level = settings.level(self.rule)
        if level is None:
            args.not_applicable(f"{self.rule} does not apply in {settings.env} (docs/guardrails.md)")
        graph = graph_of_stack(args.resources)
        for finding in evaluate_rule(graph, settings, self.rule):
            report_violation(f"{finding.message}. Fix: {finding.fix}", finding.urn or _component_urn(graph, finding.address))


def evaluate_rule(graph: DesiredGraph, settings: GuardrailSettings, rule: str) -> tuple[Any, ...]:
    """The findings of ``rule`` on ``graph``: :func:`mlops_infra.plan.guardrails.evaluate`, as ``plan``."""
    from mlops_infra.plan.guardrails import evaluate

    return next((r.findings for r in evaluate(graph, settings) if r.rule == rule), ())


def policies(source: SpecSource) -> list[GuardrailPolicy]:
    """Every guardrail rule as a policy, in :data:`RULES` order."""
    return [GuardrailPolicy(rule, source) for rule in RULES]


def serve(system_file: str | Path, env: str | None = None) -> None:
    """Run the pack (blocks; Pulumi starts it as an analyzer plugin)."""
    PolicyPack(PACK_NAME, list(policies(SpecSource(Path(system_file), env))),
               enforcement_level=EnforcementLevel.ADVISORY,
               description="mlops-infra guardrails: the rules `mlops-infra plan` evaluates (docs/guardrails.md)")


# -- the stack as a desired graph ----------------------------------------------------------------------


def graph_of_stack(resources: Sequence[Any]) -> DesiredGraph:
    """The stack CrossGuard sees (``PolicyResource`` objects) as a desired graph the rules read."""
    out = []
    for r in resources:
        if r.resource_type == ROOT_STACK_TYPE:
            continue
        out.append(DesiredResource(
            urn=r.urn, type=r.resource_type, name=r.name,
            custom=not (r.resource_type.startswith("mlops:") or r.resource_type.startswith("pulumi:providers:")),
            parent=r.parent.urn if r.parent is not None else None, inputs=plain(r.props),
            dependencies=tuple(sorted(d.urn for d in r.dependencies)), address=_address(r)))
    urn = out[0].urn if out else "urn:pulumi:stack::project::t::n"
    stack, project = urn.split("::")[0].split(":")[-1], urn.split("::")[1]
    platform = next((r.inputs for r in out if r.type == PLATFORM_TYPE), {})
    metadata = {k: platform[k] for k in ("cloud", "region", "account", "namespace", "context") if platform.get(k)}
    return DesiredGraph(project, stack, tuple(sorted(out, key=lambda r: r.urn)), metadata=metadata)


def plain(value: Any) -> Any:
    """A property value as plain JSON data: CrossGuard's unknown-checking proxies unwrapped, unknown
    values (during a preview) as None, and integral numbers as ints (properties travel as a protobuf
    ``Struct``, whose numbers are doubles: a component's ``gpus: 4`` arrives as 4.0)."""
    if isinstance(value, Mapping):
        target = _target(value)
        return {str(k): plain(target[k]) for k in target}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        target = _target(value)
        return [plain(item) for item in (target if isinstance(target, Iterable) else value)]
    if isinstance(value, str) and value in UNKNOWNS:
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _target(value: Any) -> Any:
    """What a ``pulumi_policy.proxy`` list or dict proxy wraps (the object itself otherwise)."""
    try:
        return value["__target"]
    except (KeyError, TypeError, IndexError):
        return value


def _address(resource: Any) -> str:
    """The ML item a resource belongs to: its own or its nearest ancestor component's."""
    current = resource
    while current is not None:
        section = SECTION_OF_TYPE.get(current.resource_type)
        if section:
            return f"{section}.{current.name}"
        if current.resource_type == PLATFORM_TYPE:
            return "platform"
        current = current.parent
    return ""


def _component_urn(graph: DesiredGraph, address: str) -> str | None:
    return next((r.urn for r in graph.resources if not r.custom and r.address == address), None)
