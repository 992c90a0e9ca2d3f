"""Environments and promotion: promote_from chains, and gates whose needs the spec can check.

Contract: :func:`check_promotion` (on the base system) reports a promote_from that names no
environment or the environment itself, each promotion cycle once with its path, and gates on an
environment nothing is promoted into. :func:`check_gates` (per environment, on its effective
system) reports what a gate needs and that environment lacks.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, did_you_mean, error, known_list, warning
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.guardrails import progressive_strategies


def check_promotion(ctx: CheckContext) -> Iterator[Diagnostic]:
    """promote_from names another existing environment, and promotion never loops."""
    envs = ctx.system.environments
    for name, env in envs.items():
        source = env.promote_from
        path = ("environments", name, "promote_from")
        if source is None:
            if env.gates:
                yield warning("gates-without-promotion", f'Environment "{name}" has gates but no promote_from',
                              "Gates are checked when versions are promoted into an environment. Add promote_from: "
                              "<environment>, or remove gates.", ("environments", name, "gates"), f"environments.{name}")
            continue
        if source == name:
            yield error("self-promotion", f'Environment "{name}" promotes from itself',
                        "promote_from names the environment whose pinned versions are copied here; it must be "
                        f"another environment, such as {known_list(n for n in envs if n != name)}.", path,
                        f"environments.{name}")
        elif source not in envs and not ctx.known_elsewhere.resolves("environments", source):
            yield error("unknown-environment", f'Unknown environment "{source}" in promote_from',
                        f'Environment "{name}" promotes from "{source}", which is not defined.'
                        f"{did_you_mean(source, envs)} Environments: {known_list(envs)}.", path, f"environments.{name}")
    yield from _cycles(ctx)


def _cycles(ctx: CheckContext) -> Iterator[Diagnostic]:
    """Each promotion cycle once, in time linear in the number of environments.

    Every environment has at most one ``promote_from``, so the environments form a functional
    graph: walking from each unvisited environment either ends (outside the graph or at an
    environment already finished) or meets the walk itself, and then the part of the walk from
    that environment on is a cycle. Each environment is walked once.
    """
    envs = ctx.system.environments
    finished: set[str] = set()
    for start in sorted(envs):
        walk: dict[str, int] = {}  # environment -> its position in this walk (insertion ordered)
        current: str | None = start
        while current in envs and current not in finished and current not in walk:
            walk[current] = len(walk)
            current = envs[current].promote_from
        finished.update(walk)
        if current not in walk:
            continue
        cycle = list(walk)[walk[current]:]
        if len(cycle) < 2:
            continue  # self-promotion is reported on its own
        first = min(cycle)
        loop = cycle[cycle.index(first):] + cycle[: cycle.index(first)]
        shown = " <- ".join([*loop, first] if len(loop) <= 10
                            else [*loop[:5], f"... {len(loop) - 6} more", loop[-1], first])
        yield error("promotion-cycle", f"Promotion cycle: {shown}",
                    "Promotion must flow one way (dev -> staging -> prod). Remove promote_from from the "
                    "environment where promotion starts.", ("environments", first, "promote_from"),
                    f"environments.{first}")


def check_gates(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """Gates that need something of the effective system: progressive rollouts, routed alerts."""
    gates = set(environment.gates)
    if "progressive_rollout" in gates:
        accepted = progressive_strategies(environment.target.kind)
        for i, endpoint in enumerate(ctx.system.endpoints):
            strategy = endpoint.rollout.strategy
            if strategy not in accepted:
                how = ("rolls out all at once" if strategy == "all_at_once" else
                       f"rolls out {strategy}, which on {environment.target.kind} moves all traffic at once")
                yield error("gate-unsatisfiable",
                            f'Endpoint "{endpoint.name}" {how}, but environment {env} has the '
                            "progressive_rollout gate",
                            f"Promotions into {env} require every endpoint to roll out progressively. Set "
                            f"rollout.strategy to {', '.join(accepted[:-1])} or {accepted[-1]} (for example "
                            "rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}), or remove the gate "
                            f"from {env}.",
                            ("endpoints", i, "rollout"), f"endpoints.{endpoint.name}")
    if "alerts_routed" in gates:
        for i, alert in enumerate(ctx.system.alerts):
            if not alert.notify:
                yield error("gate-unsatisfiable",
                            f'Alert "{alert.name}" notifies no channel, but environment {env} has the '
                            "alerts_routed gate",
                            f"Add notify: [<channel>] to alert \"{alert.name}\", or remove the gate from {env}.",
                            ("alerts", i), f"alerts.{alert.name}")
