"""AWS partitions: which ARN partition a region belongs to (the one rule ``spec`` and ``compile`` share).

AWS General Reference, "Amazon Resource Names (ARNs)": ``partition`` is ``aws`` for AWS Regions,
``aws-cn`` for the China Regions (``cn-north-1``, ``cn-northwest-1``) and ``aws-us-gov`` for the
AWS GovCloud (US) Regions (``us-gov-west-1``, ``us-gov-east-1``).
"""

from __future__ import annotations

from functools import cache


@cache
def partition(region: str) -> str:
    """The ARN partition of a region: ``aws``, ``aws-cn`` or ``aws-us-gov`` (remembered per region:
    every ARN asks)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
