"""The canary's size (:mod:`mlops_infra.canary_size`): ``ceil(p x replicas / 100)`` in integers, at least 1."""

from __future__ import annotations

import math
from fractions import Fraction

from mlops_infra.canary_size import canary_instances


def test_the_size_is_the_exact_ceiling_of_the_share_at_least_one() -> None:
    assert [canary_instances(p, 3) for p in (2, 5, 10, 25, 75, 100)] == [1, 1, 1, 1, 3, 3]
    assert [canary_instances(p, 10) for p in (2, 5, 10, 25, 75, 100)] == [1, 1, 1, 3, 8, 10]
    assert canary_instances(14, 50) == 7  # 14 / 100 * 50 == 7.000000000000001: math.ceil of it is 8
    assert math.ceil(14 / 100 * 50) == 8
    assert canary_instances(50, 0) == 1 and canary_instances(1, 1) == 1  # no endpoint runs fewer than 1
    for percent in range(1, 101):
        for replicas in range(1, 201):
            assert canary_instances(percent, replicas) == max(1, math.ceil(Fraction(percent * replicas, 100)))
