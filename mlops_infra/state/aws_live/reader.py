"""How one resource type is read: :class:`Reader` (boto3 service, read function, tracking) and
:class:`Reading` (what a read found).

A ``read_one`` function (:data:`ReadOne`) reads one resource and returns ``None`` when it is gone;
a ``read_many`` function (:data:`ReadMany`) reads a batch and returns a reading or ``None`` per URN.
Either may raise botocore errors: the scan classifies them (not found -> missing, else an error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.tracking import Tracking
from mlops_infra.state.model import StateResource


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reader found for one resource: Pulumi-shaped ``inputs`` plus runtime ``outputs``."""

    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)


ReadOne = Callable[[Any, StateResource, ScanContext], Reading | None]

ReadMany = Callable[[Any, Sequence[StateResource], ScanContext], dict[str, Reading | None]]


@dataclass(frozen=True, slots=True)
class Reader:
    """How to read one type: a boto3 ``service``, one of ``read_one``/``read_many`` (returning
    ``None`` for a resource that is gone), and the :class:`Tracking` drift uses. ``tags``: the
    reading's ``tags`` input comes from the Resource Groups Tagging API, by the reading's
    ``outputs.arn``, after the read (:mod:`.tagging`); the read function does not set it."""

    service: str
    tracking: Tracking
    read_one: ReadOne | None = None
    read_many: ReadMany | None = None
    batch_size: int = 1
    tags: bool = False
