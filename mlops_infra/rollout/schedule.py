"""The dry-run schedule of a rollout: steps, bake, total time and the worst-case cost of the overlap at a
given replica count.

Pure: it takes the rollout spec, the endpoint's replica count and an hourly price, and computes.

- Each step runs ``bake_seconds``; the canary (the new version) needs ``ceil(p% x replicas)``
  instances (at least one) for its share ``p`` of traffic (:func:`~mlops_infra.canary_size.canary_instances`,
  the one rule the plan's quotas and cost use too; the driver imports it from here), beside the stable
  fleet, which keeps all its instances until the finish (so a rollback is instant; on AWS the driver
  suspends the stable variant's autoscaling scale-in meanwhile, ``drivers/sagemaker.py``). That extra
  capacity is the overlap.
- The worst case is the longest run that can still end in a rollback: every step baked, plus a hold of
  ``gate_timeout_seconds`` (gates unreadable) at the step with the largest canary. Its cost is the
  canary's instance-hours over that time at ``usd_per_hour`` (None: no price known).
- On SageMaker (``spec.target`` ``aws``) the overlap also counts the rollout's two whole-fleet swaps,
  the start's and the finish's ``UpdateEndpoint`` (botocore sagemaker ``UpdateEndpoint``: "Deploys the
  EndpointConfig specified in the request to a new fleet of instances"): the instances of
  :func:`~mlops_infra.canary_size.fleet_swap_instances`, each swap for
  :data:`~mlops_infra.canary_size.FLEET_PROVISIONING_SECONDS` (``swap_seconds``; the allowance the
  compiler's deployment timeouts use too), so step 1 follows a swap of the whole stable fleet (audit
  rolloutaws-4: the overlap left them out, about half the extra). Neither the swaps' time nor each
  step's provisioning is in ``starts_after``/``total_seconds``: those count the bakes, lower bounds
  (``cli/commands/rollout.py`` says so). A KServe canary swaps no fleet: the canary is a new Knative
  revision beside the serving one, and the finish sends all traffic to it (kserve
  ``pkg/controller/v1beta1/inferenceservice/reconcilers/knative/ksvc_reconciler.go``: with
  ``canaryTrafficPercent`` the route splits between the latest and the previously rolled-out revision,
  without it all traffic goes to the latest revision), so ``swap_seconds`` is 0 there.
- The canary is sized from the replicas serving: the count the start records, or primary's current count
  when an autoscaled endpoint scaled out during the rollout (``drivers/sagemaker.py`` ``_weights``: the
  larger of the two, audit rolloutaws-5), and an autoscaled endpoint may serve up to ``replicas.max``:
  :func:`schedule` takes that count, and the dry-run (``cli/commands/rollout.py``) shows the schedule at
  ``replicas.min`` and, for an autoscaled endpoint, its cost at ``replicas.max`` too.
- After a rollback the new version is kept for inspection until a later version's rollout: on
  SageMaker its ``canary`` variant at :data:`IDLE_CANARY_INSTANCES` instance once the rollback has
  settled; on Kubernetes the new revision at its ``minReplicas`` (docs/rollout.md). That cost runs per
  hour, outside the worst case above.
- The effective share is exact on both targets: SageMaker splits by variant weight and KServe by
  ``canaryTrafficPercent``, whatever the instance count (unlike SageMaker's native CANARY, whose size is
  a whole number of instances, review finding B10).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.canary_size import FLEET_PROVISIONING_SECONDS, canary_instances, fleet_swap_instances
from mlops_infra.rollout.model import RolloutSpec


@dataclass(frozen=True)
class ScheduledStep:
    number: int
    percent: int
    starts_after: int
    bake_seconds: int
    canary_instances: int


@dataclass(frozen=True)
class Schedule:
    steps: tuple[ScheduledStep, ...]
    total_seconds: int
    worst_case_seconds: int
    overlap_instance_hours: float
    worst_case_usd: float | None
    usd_per_hour: float | None
    swap_seconds: int = 0
    """The allowance for each of the two whole-fleet swaps (0: none, Kubernetes)."""
    swap_instances: tuple[int, int] = (0, 0)
    """The instances the start's and the finish's new fleets run beside the stable fleet."""


IDLE_CANARY_INSTANCES = 1
"""The instances a rolled-back (or aborted) version's SageMaker ``canary`` variant keeps once the
rollback has settled: the fewest a variant of real-time instances runs (``drivers/sagemaker.py``,
**Rollback**)."""


def schedule(spec: RolloutSpec, replicas: int, usd_per_hour: float | None) -> Schedule:
    rows, offset = [], 0
    for number, percent in enumerate(spec.steps, start=1):
        rows.append(ScheduledStep(number, percent, offset, spec.bake_seconds, canary_instances(percent, replicas)))
        offset += spec.bake_seconds
    biggest = max((r.canary_instances for r in rows), default=0)
    swap_seconds = FLEET_PROVISIONING_SECONDS if spec.target == "aws" and rows else 0
    swaps = fleet_swap_instances(rows[-1].percent, replicas) if swap_seconds else (0, 0)
    seconds = sum(r.canary_instances * r.bake_seconds for r in rows) + biggest * spec.gate_timeout_seconds
    hours = (seconds + sum(swaps) * swap_seconds) / 3600
    cost = None if usd_per_hour is None else round(hours * usd_per_hour, 2)
    return Schedule(tuple(rows), offset, offset + spec.gate_timeout_seconds, round(hours, 3), cost, usd_per_hour,
                    swap_seconds, swaps)
