"""Apply a plan whose changes AWS only accepts in order (``Plan.sequences``, finding A3).

Contract of :func:`up_in_order`: with no sequences, one ``up``. Otherwise first an ``up`` limited to
the resources of every ``deregister`` step (``targets``) while the program leaves them out
(``$MLOPS_INFRA_PHASE_OMIT``): Pulumi deletes exactly those (DeregisterScalableTarget, the policy
with it) and nothing else; then the full ``up``, which updates the endpoint and registers the
autoscaling again. ``say`` tells the user each phase.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlops_infra.plan.sequences import PHASE_OMIT_ENV, phase_one_urns


def up_in_order(up: Callable[..., Any], sequences: Sequence[Any], extra_env: Mapping[str, str],
                say: Callable[[str], None]) -> Any:
    """Run ``up(extra_env=..., targets=...)`` once per phase (see the module contract)."""
    first = phase_one_urns(sequences)
    if first:
        items = ", ".join(sorted({s.address for s in sequences if s.runner == "apply"}))
        say(f"Phase 1 of 2: deregistering autoscaling of {items} before the endpoint update (AWS requires it)")
        up(extra_env={**extra_env, PHASE_OMIT_ENV: ",".join(first)}, targets=first)
        say("Phase 2 of 2: updating the endpoint and registering its autoscaling again")
    return up(extra_env=dict(extra_env))
