"""The canary's size: how many instances (replicas) the new version runs for its share of traffic.

One rule for the three places that size a canary: the rollout runner, which sets it
(``rollout/drivers/sagemaker.py``, through ``rollout/schedule.py``, and the dry-run schedule), the
plan's instance quotas (``plan/instance_quotas.py``) and the plan's cost estimate (``plan/cost.py``).
It is a top-level module so that both ``plan`` and ``rollout`` may import it (``tests/test_layering.py``),
and it is one of the files the scheduled runners ship (``compile/rollout_code.py`` ``COMMON``).

Contract: :func:`canary_instances` is ``ceil(percent x replicas / 100)``, at least 1, with ``replicas``
at least 1, computed in integers. The float forms are not the same rule:
``math.ceil(14 / 100 * 50)`` is 8 (``14 / 100 * 50`` is a float just above 7) where ``14 x 50 / 100`` is
exactly 7, so the plan's cost counted an instance the runner never starts. At least 1: the canary is a
SageMaker production variant of real-time instances, and a variant's ``InitialInstanceCount`` is at
least 1 (botocore sagemaker 2017-07-24 ``ProductionVariant.InitialInstanceCount``: shape
``InitialTaskCount``, ``min`` 1); a Kubernetes canary revision composes the rule with its own floor
(``max(minReplicas, canary_instances(...))``, ``plan/cost.py``).

The fleet swaps (audit rolloutaws-4): a SageMaker canary makes two ``UpdateEndpoint`` calls, the start
(to the rollout config: ``primary`` at the count serving and ``canary`` at
:data:`START_CANARY_INSTANCES`, ``rollout/drivers/sagemaker.py`` ``_rollout_config``) and the finish (to
the graph's single-``primary`` config), and each "Deploys the EndpointConfig specified in the request to
a new fleet of instances. SageMaker shifts endpoint traffic to the new instances with the updated
endpoint configuration and then deletes the old instances" (botocore sagemaker 2017-07-24
``UpdateEndpoint``). :func:`fleet_swap_instances` is what each new fleet runs beside the stable fleet
serving (the same counts ``plan/instance_quotas.py`` checks against the quotas), for up to
:data:`FLEET_PROVISIONING_SECONDS` each: the dry-run's overlap (``rollout/schedule.py``) and the plan's
``rollout_extra`` (``plan/cost.py``) count both. A KServe canary swaps no fleet: the new revision is the
canary and takes all traffic at the finish (``plan/cost.py``, ``rollout/schedule.py``).
"""

from __future__ import annotations


def canary_instances(percent: int, replicas: int) -> int:
    """Instances the canary needs for ``percent`` of traffic beside ``replicas`` stable ones: the integer
    ``ceil(percent x max(1, replicas) / 100)``, at least one (see the module contract)."""
    return max(1, -(-percent * max(1, replicas) // 100))


FLEET_PROVISIONING_SECONDS = 1200
"""Time allowed for SageMaker to provision one new fleet (or one rolling batch) and pass its health
checks: an allowance, not a measured figure (GPU fleets usually take 5-15 minutes). The compiler's
deployment timeouts use it (``compile/aws/serving.py`` ``execution_timeout``), and so do the canary's
two fleet swaps (module contract); it lives here so that the rollout runner, which ships this file,
and the plan read the same number."""

START_CANARY_INSTANCES = 1
"""The ``canary`` variant's instances in the rollout config the start deploys
(``rollout/drivers/sagemaker.py`` ``_rollout_config``: ``InitialInstanceCount`` 1); its first step sizes it."""


def fleet_swap_instances(last_percent: int, replicas: int) -> tuple[int, int]:
    """``(start, finish)``: the instances each of a SageMaker canary's two fleet swaps runs beside the
    ``replicas`` stable ones serving (see the module contract). The start's new fleet is ``primary``
    again plus the canary's :data:`START_CANARY_INSTANCES`; the finish's is ``primary`` again, beside the
    old ``primary`` and the canary still running at its last step's size
    (``canary_instances(last_percent, replicas)``), so ``replicas`` plus that canary."""
    fleet = max(1, replicas)
    return fleet + START_CANARY_INSTANCES, fleet + canary_instances(last_percent, fleet)
