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
- The canary is sized from the replicas serving when the rollout starts (``drivers/sagemaker.py``: the
  count the start records), which an autoscaled endpoint may have scaled out up to ``replicas.max``:
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

from mlops_infra.canary_size import canary_instances
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
    hours = sum(r.canary_instances * r.bake_seconds for r in rows) / 3600 + biggest * spec.gate_timeout_seconds / 3600
    cost = None if usd_per_hour is None else round(hours * usd_per_hour, 2)
    return Schedule(tuple(rows), offset, offset + spec.gate_timeout_seconds, round(hours, 3), cost, usd_per_hour)
