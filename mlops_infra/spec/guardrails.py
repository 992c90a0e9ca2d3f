"""Guardrails of an environment: which policy rules apply there, and whether each one blocks.

Contract:
- :data:`RULES` names every rule and what it requires (the rules themselves are evaluated on the
  desired graph by :mod:`mlops_infra.plan.guardrails`; this module only says how they are set).
- :class:`Guardrails` is the optional ``environments.<env>.guardrails`` block. Every field is
  optional, so a document without it (the reference) means exactly what it meant before.
- :func:`guardrail_settings` resolves one environment's settings, purely from the base system:
  - ``production``: ``guardrails.production`` when set; else an environment is production when it
    ends a promotion chain (it has ``promote_from`` and no environment promotes from it: ``prod`` in
    dev -> staging -> prod). The production rules (:data:`PRODUCTION_RULES`) apply only there.
  - the level of each rule: ``guardrails.rules[rule]``, else ``guardrails.enforcement``, else
    ``mandatory`` in production and ``advisory`` elsewhere. A mandatory rule that fails is an error
    (``validate`` and ``plan`` exit 1); an advisory one is a warning.
  - the caps: ``max_gpus`` and ``max_hourly_cost_usd`` (their rules apply only when set).
- :func:`check_production_derived` (a base check) warns ``production-derived-away`` where the
  derivation most likely went wrong: an environment with release gates (:data:`RELEASE_GATES`) and
  no ``guardrails.production`` is not production only because another environment promotes from it
  (a DR region promoting from prod switches prod's production rules off, and its rules become
  advisory). ``staging`` in dev -> staging -> prod has no release gate in the examples, so it is
  not flagged; a naive "production when its downstream is" would make staging production too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.spec.base import SpecModel
from mlops_infra.spec.serving import CONTROLLER_STRATEGIES

if TYPE_CHECKING:
    from mlops_infra.spec.context import CheckContext

RULES: dict[str, str] = {
    "encryption": "every store is encrypted at rest with a customer-managed KMS key",
    "no_public_access": "no store or service is open to the public",
    "progressive_rollout": "production endpoints roll out progressively (canary or blue_green; rolling too on AWS)",
    "capture": "production endpoints capture requests and responses",
    "approved_models": "production endpoints serve only model versions approved in the registry",
    "max_gpus": "the environment uses at most max_gpus GPUs at full scale",
    "max_hourly_cost_usd": "the environment costs at most max_hourly_cost_usd per hour at full scale",
    "endpoint_alerts": "every endpoint has an alert that notifies a channel",
}
"""Every guardrail rule, in the order they are shown, with what it requires."""

Level = Literal["mandatory", "advisory"]
MANDATORY: Level = "mandatory"
ADVISORY: Level = "advisory"

PROGRESSIVE_STRATEGIES: dict[str, tuple[str, ...]] = {
    "aws": ("canary", "blue_green", "rolling"),
    "kubernetes": tuple(sorted(CONTROLLER_STRATEGIES, reverse=True)),  # canary, blue_green
}
"""The rollout strategies ``progressive_rollout`` accepts, per target. On AWS SageMaker's ``rolling``
deployment moves traffic in batches (``compile/aws/serving.py``). On Kubernetes only the strategies the
rollout controller drives are progressive: any other InferenceService has no ``canaryTrafficPercent``,
so KServe gives the Knative Service the single target ``{latestRevision: true, percent: 100}`` and the
new revision takes all traffic at once once ready (``spec/rollout_switch.py``, which warns
``rollout-ignored-on-kubernetes`` for the same reason: kserve ``ksvc_reconciler.go``, knative
``route_types.go`` ``TrafficTarget.LatestRevision``)."""


def progressive_strategies(cloud: str | None) -> tuple[str, ...]:
    """The strategies ``progressive_rollout`` accepts on ``cloud`` (``aws``, ``kubernetes``; another or
    unknown target: AWS's, the widest), in the order messages name them."""
    return PROGRESSIVE_STRATEGIES.get(cloud or "", PROGRESSIVE_STRATEGIES["aws"])


PRODUCTION_RULES = frozenset({"progressive_rollout", "capture", "approved_models"})
"""Rules that apply only in production environments."""
CAP_RULES = frozenset({"max_gpus", "max_hourly_cost_usd"})
"""Rules that apply only where their cap is set."""


class RuleLevels(SpecModel):
    """A level per rule (mandatory or advisory); a rule not named here takes ``enforcement``."""

    encryption: Level | None = Field(default=None, description=RULES["encryption"] + ".")
    no_public_access: Level | None = Field(default=None, description=RULES["no_public_access"] + ".")
    progressive_rollout: Level | None = Field(default=None, description=RULES["progressive_rollout"] + ".")
    capture: Level | None = Field(default=None, description=RULES["capture"] + ".")
    approved_models: Level | None = Field(default=None, description=RULES["approved_models"] + ".")
    max_gpus: Level | None = Field(default=None, description=RULES["max_gpus"] + ".")
    max_hourly_cost_usd: Level | None = Field(default=None, description=RULES["max_hourly_cost_usd"] + ".")
    endpoint_alerts: Level | None = Field(default=None, description=RULES["endpoint_alerts"] + ".")


class Guardrails(SpecModel):
    """Policy rules of one environment (docs/guardrails.md). Every field is optional."""

    production: bool | None = Field(
        default=None,
        description="Whether this is a production environment (the production rules apply, and rules are "
                    "mandatory by default). Default: the environment that ends a promotion chain (it has "
                    "promote_from and nothing promotes from it).")
    enforcement: Level | None = Field(
        default=None,
        description="Level of every rule here: mandatory (a violation fails validate and plan) or advisory "
                    "(a warning). Default: mandatory in production, advisory elsewhere.")
    rules: RuleLevels = Field(
        default_factory=RuleLevels,
        description="Level per rule, over enforcement: encryption, no_public_access, progressive_rollout, capture, "
                    "approved_models, max_gpus, max_hourly_cost_usd, endpoint_alerts.")
    max_gpus: int | None = Field(
        default=None, ge=0,
        description="Most GPUs the environment may use at full scale (endpoints at max replicas, clusters at max nodes).")
    max_hourly_cost_usd: float | None = Field(
        default=None, gt=0,
        description="Most the environment may cost per hour at full scale (USD, on-demand catalog prices), what "
                    "may run at once: the plan's monthly ceiling / 730 h for endpoints and Kubernetes clusters (a "
                    "cluster that borrows at max nodes + borrowing.max_nodes); what runs part of the time while "
                    "it runs, never a monthly average: AWS training, counted at the nodes its jobs' runs hold at "
                    "once x the Training price, and drift jobs at their runs at once. Items without a catalog "
                    "price make the rule fail closed, and so does borrowing without max_nodes "
                    "(docs/guardrails.md).")


@dataclass(frozen=True)
class GuardrailSettings:
    """One environment's resolved guardrails (see the module contract). ``levels`` holds the rules
    that apply there, each with its level; ``gates`` are the environment's promotion gates."""

    env: str
    production: bool
    levels: dict[str, Level] = field(default_factory=dict)
    max_gpus: int | None = None
    max_hourly_cost_usd: float | None = None
    gates: tuple[str, ...] = ()

    def level(self, rule: str) -> Level | None:
        """The rule's level here, or None when it does not apply."""
        return self.levels.get(rule)


def is_production(environments: dict, env: str) -> bool:
    """``guardrails.production``, else whether ``env`` ends a promotion chain (module contract)."""
    environment = environments[env]
    if environment.guardrails.production is not None:
        return environment.guardrails.production
    promoted_from = {e.promote_from for e in environments.values()}
    return environment.promote_from is not None and env not in promoted_from


def guardrail_settings(system, env: str) -> GuardrailSettings:
    """The guardrails of ``env`` of ``system`` (the base or that environment's effective system)."""
    environment = system.environments[env]
    own = environment.guardrails
    production = is_production(system.environments, env)
    default: Level = own.enforcement or (MANDATORY if production else ADVISORY)
    caps = {"max_gpus": own.max_gpus, "max_hourly_cost_usd": own.max_hourly_cost_usd}
    levels: dict[str, Level] = {}
    for rule in RULES:
        if rule in PRODUCTION_RULES and not production:
            continue
        if rule in CAP_RULES and caps[rule] is None:
            continue
        levels[rule] = getattr(own.rules, rule) or default
    return GuardrailSettings(env, production, levels, own.max_gpus, own.max_hourly_cost_usd,
                             tuple(environment.gates))


RELEASE_GATES = ("no_drift", "progressive_rollout", "manual_approval")
"""Promotion gates that guard a release to users, not a test stage: an environment holding one is
likely meant to be production (``production-derived-away``)."""


def check_production_derived(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Warn at the gates of each environment that release gates mark as production but that is not,
    only because another environment promotes from it (module contract)."""
    envs = ctx.system.environments
    downstream: dict[str, list[str]] = {}
    for name, environment in envs.items():
        if environment.promote_from is not None:
            downstream.setdefault(environment.promote_from, []).append(name)
    for name, environment in envs.items():
        release = [g for g in environment.gates if g in RELEASE_GATES]
        after = downstream.get(name)
        if not release or not after or environment.promote_from is None or environment.guardrails.production is not None:
            continue
        them = " and ".join(f'"{e}"' for e in after)
        rules = ", ".join(sorted(PRODUCTION_RULES))
        yield warning(
            "production-derived-away",
            f'Environment "{name}" is not production: {them} promote{"s" if len(after) == 1 else ""} from it',
            f"An environment is production when it ends a promotion chain (docs/guardrails.md), so {them} "
            f"promoting from {name} switch{'es' if len(after) == 1 else ''} {name}'s production rules ({rules}) off "
            f"and makes its other rules advisory, although its gates ({', '.join(release)}) guard a release. If "
            f"{name} serves users, set environments.{name}.guardrails.production: true; if it is a stage before "
            f"{them}, set guardrails.production: false to say so.",
            ("environments", name, "gates"), f"environments.{name}")
