"""The reader registry: :data:`READERS` maps every readable type token to its
:class:`~mlops_infra.state.aws_live.reader.Reader`, merged from the service modules' ``READERS``;
:data:`TRACKING` is the same declaration without the I/O, for :mod:`mlops_infra.plan.drift`.

Contract: a type token is declared by exactly one service module (a second declaration is a bug
and fails at import). The order is that of :data:`SERVICES`, then each module's own order.
"""

from __future__ import annotations

from types import ModuleType

from mlops_infra.state.aws_live import (
    appautoscaling,
    chatbot,
    cloudwatch,
    ecr,
    events,
    iam,
    kms,
    lambda_,
    logs,
    s3,
    sagemaker,
    scheduler,
    secretsmanager,
    sns,
    sqs,
)
from mlops_infra.state.aws_live.reader import Reader
from mlops_infra.state.aws_live.tracking import Tracking

SERVICES: tuple[ModuleType, ...] = (kms, s3, iam, ecr, sagemaker, appautoscaling, cloudwatch, events, sns,
                                    secretsmanager, chatbot, lambda_, scheduler, sqs, logs)


def merge_readers(services: tuple[ModuleType, ...]) -> dict[str, Reader]:
    """The services' ``READERS`` in one dict; a type declared twice is a bug in mlops-infra."""
    readers: dict[str, Reader] = {}
    for service in services:
        for type_, reader in service.READERS.items():
            if type_ in readers:
                raise AssertionError(f"{type_} has two readers (this is a bug in mlops-infra)")
            readers[type_] = reader
    return readers


READERS: dict[str, Reader] = merge_readers(SERVICES)
TRACKING: dict[str, Tracking] = {type_: reader.tracking for type_, reader in READERS.items()}
