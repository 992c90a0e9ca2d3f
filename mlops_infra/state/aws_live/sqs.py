"""SQS queues (the failure queues of ``compile/aws/lambda_failures.py``): pure ``map_*`` mappers,
``_read_*`` readers and their :data:`READERS` entries.

A queue is read with one ``GetQueueAttributes`` (``AttributeNames=["All"]``; botocore ``sqs``
``GetQueueAttributesRequest.AttributeNames``: without names "the request returns empty results"),
by its URL: the id Pulumi keeps for ``aws:sqs/queue:Queue`` (the queue URL, as ``CreateQueue``
returns it). SQS has no read of many queues' attributes (``ListQueues`` returns URLs only: botocore
``ListQueuesResult.QueueUrls``). Attribute values are strings (botocore ``QueueAttributeMap``:
string to string); numbers and booleans are turned into Pulumi's ints and bools. Its tags come
from the Resource Groups Tagging API by the queue's ``QueueArn`` (:mod:`.tagging`), not from one
``ListQueueTags`` per queue.

A deleted queue is gone: SQS answers ``QueueDoesNotExist`` ("Ensure that the QueueUrl is correct
and that the queue has not been deleted", botocore ``sqs`` ``QueueDoesNotExist``), whose code is
``AWS.SimpleQueueService.NonExistentQueue`` for clients of SQS's query-compatible JSON protocol
(botocore ``sqs`` metadata ``awsQueryCompatible``: the query error code from the
``x-amzn-query-error`` header), both in :data:`~.retry.NOT_FOUND_CODES`.

What drift compares, in pulumi-aws ``sqs.Queue`` input names and defaults (pulumi-aws 7
``sqs/queue.py`` ``QueueArgs``): ``kmsMasterKeyId``, ``kmsDataKeyReusePeriodSeconds`` ("The default
is 300"), ``messageRetentionSeconds`` ("The default for this attribute is 345600 (4 days)"),
``visibilityTimeoutSeconds`` (SQS's default 30, botocore ``CreateQueueRequest``), ``delaySeconds``
(0), ``fifoQueue`` (false), ``tags``; ``policy``, ``redrivePolicy`` and ``sqsManagedSseEnabled``
only when the state sets them ("The provider will only perform drift detection of its value when
present in a configuration", same file).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource

_INTS = {"KmsDataKeyReusePeriodSeconds": "kmsDataKeyReusePeriodSeconds",
         "MessageRetentionPeriod": "messageRetentionSeconds", "VisibilityTimeout": "visibilityTimeoutSeconds",
         "DelaySeconds": "delaySeconds", "MaximumMessageSize": "maxMessageSize",
         "ReceiveMessageWaitTimeSeconds": "receiveWaitTimeSeconds"}
_BOOLS = {"FifoQueue": "fifoQueue", "SqsManagedSseEnabled": "sqsManagedSseEnabled",
          "ContentBasedDeduplication": "contentBasedDeduplication"}
_TEXTS = {"KmsMasterKeyId": "kmsMasterKeyId", "Policy": "policy", "RedrivePolicy": "redrivePolicy",
          "RedriveAllowPolicy": "redriveAllowPolicy"}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def map_sqs_queue(attributes: Mapping[str, str]) -> Reading:
    """``GetQueueAttributes.Attributes`` (all of them) -> ``aws:sqs/queue:Queue`` (no tags: those
    come from :mod:`.tagging`); ``fifoQueue`` is false when SQS does not list ``FifoQueue`` (it
    does for FIFO queues only)."""
    arn = attributes.get("QueueArn")
    inputs: dict[str, Any] = {"name": arn.rsplit(":", 1)[-1] if arn else None,
                              "fifoQueue": str(attributes.get("FifoQueue", "false")).lower() == "true"}
    inputs |= {name: _int(attributes[key]) for key, name in _INTS.items() if key in attributes}
    inputs |= {name: str(attributes[key]).lower() == "true" for key, name in _BOOLS.items() if key in attributes}
    inputs |= {name: attributes[key] for key, name in _TEXTS.items() if key in attributes}
    return Reading(drop_none(inputs), drop_none({"arn": arn}))


def _read_sqs_queue(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_sqs_queue(client.get_queue_attributes(QueueUrl=res.id, AttributeNames=["All"]).get("Attributes", {}))


READERS: dict[str, Reader] = {
    "aws:sqs/queue:Queue": Reader("sqs", Tracking("queue", (
        T("kmsMasterKeyId", "KMS key"), T("kmsDataKeyReusePeriodSeconds", "KMS data key reuse", default=300),
        T("messageRetentionSeconds", "retention", default=345600),
        T("visibilityTimeoutSeconds", "visibility timeout", default=30), T("delaySeconds", "delay", default=0),
        T("fifoQueue", "FIFO", default=False), T("sqsManagedSseEnabled", "SQS-managed encryption", computed=True),
        T("policy", "queue policy", "policy", computed=True),
        T("redrivePolicy", "redrive policy", "json", computed=True), TAGS,
    )), read_one=_read_sqs_queue, tags=True),
}
