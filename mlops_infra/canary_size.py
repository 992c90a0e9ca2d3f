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
"""

from __future__ import annotations


def canary_instances(percent: int, replicas: int) -> int:
    """Instances the canary needs for ``percent`` of traffic beside ``replicas`` stable ones: the integer
    ``ceil(percent x max(1, replicas) / 100)``, at least one (see the module contract)."""
    return max(1, -(-percent * max(1, replicas) // 100))
