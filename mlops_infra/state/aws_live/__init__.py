"""Live AWS state: read the resources a stack's state names, with boto3, in Pulumi's shapes.

Contract:
- :func:`scan_aws` takes :class:`~mlops_infra.state.model.StateResource` objects (normally a prior
  state's resources) and returns a :class:`~mlops_infra.state.model.LiveState` keyed by the same
  URNs. Each live resource keeps the prior ``urn``/``type``/``id``/``parent``/``provider``; its
  ``inputs`` hold what the cloud says now for the properties drift tracks, under Pulumi's engine
  names (camelCase, as in state files) and in the value shapes Pulumi stores (objects for
  single nested blocks, lists for repeated ones, policies and JSON documents as strings).
  ``outputs`` hold runtime facts that are not inputs (SageMaker endpoint variant weights and
  instance counts, ARNs, statuses).
- A resource that was looked for and is gone (a not-found error, a KMS key pending deletion, a
  secret scheduled for deletion) goes to ``missing``. Any other failure goes to ``errors[urn]``
  with a short message (error code and AWS message, credentials and signatures scrubbed).
  Component resources (``custom=False``), providers (``pulumi:providers:*``), resources without
  an id (never created) and types with no reader are skipped: neither live nor missing.
- Which types are read, and which input paths drift compares, is declared once per type in
  :data:`READERS` (type token -> :class:`Reader`); :data:`TRACKING` is the same declaration
  without the I/O, for :mod:`mlops_infra.plan.drift`.
- Mapping functions (``map_*``) are pure: a boto3 response in, Pulumi-shaped inputs out. Reader
  functions (``_read_*``) do the calls and nothing else.
- Reads run on a thread pool of ``max_workers``, with fewer in flight while more do not
  measurably read faster (:mod:`.concurrency`: a larger ``max_workers`` is never slower); each
  unit of work is retried with exponential backoff and jitter on throttling errors (on top of
  botocore's ``standard`` retry mode), a bounded number of times (:class:`RetryPolicy`).
- Batch reads where AWS has them (each cited and tested on moto in its module): CloudWatch alarms
  100 per ``DescribeAlarms``; IAM roles and inline policies from ``ListRoles`` +
  ``GetAccountAuthorizationDetails`` (from 5 of a type); KMS aliases from one ``ListAliases``;
  tags, 100 resources per Resource Groups Tagging API ``GetResources``, after the reads, for the
  types whose read carries none (a reader's ``tags``; :mod:`.tagging`). A resource whose tags were
  not read fails as its read would: never compared as untagged.
  S3 buckets, KMS keys, SNS topics and SageMaker models and endpoint configs have no read of many
  that carries the fields drift compares (``ListModels``, ``ListEndpointConfigs`` and
  ``ListEndpoints`` return names, ARNs, times and status only: botocore ``ModelSummary``,
  ``EndpointConfigSummary``, ``EndpointSummary``; ``ListTopics`` returns ARNs only), so they are
  read one resource at a time. SageMaker endpoints could come from ``Search``
  (``Resource=Endpoint``, whole ``Endpoint`` records); not done yet.
- A resource's region is its own ``region`` input (pulumi-aws v7), else its provider's
  ``region`` input when the provider is among the scanned resources, else ``region``.
- Secret values are never read. Lambda environment variables are read and compared variable by
  variable; a value that may be secret is never shown (:mod:`mlops_infra.plan.drift`, kind ``env``).

Modules: :mod:`.scan` (the scan: work units, thread pool, assembling the live state),
:mod:`.retry` (error classification, scrubbed messages, retries), :mod:`.context` (clients,
memos and the call count shared by a scan's threads), :mod:`.concurrency` (the in-flight limit), :mod:`.shapes` (AWS -> Pulumi value helpers), :mod:`.tracking`
and :mod:`.reader` (the declarations), :mod:`.registry` (type token -> reader, merged from the
service modules), and one module per AWS service (``kms``, ``s3``, ``iam``, ``ecr``,
``sagemaker``, ``appautoscaling``, ``cloudwatch``, ``events``, ``sns``, ``secretsmanager``,
``chatbot``, ``lambda_``, ``scheduler``, ``sqs``, ``logs``), and :mod:`.tagging` (tags by ARN), each holding that service's ``map_*`` and ``_read_*``
functions and its ``READERS`` entries. This package re-exports the public names.
"""

from __future__ import annotations

from mlops_infra.state.aws_live.appautoscaling import map_scalable_target, map_scaling_policy
from mlops_infra.state.aws_live.chatbot import map_slack_channel
from mlops_infra.state.aws_live.cloudwatch import map_metric_alarm
from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.ecr import map_ecr_repository
from mlops_infra.state.aws_live.events import map_event_rule, map_event_target
from mlops_infra.state.aws_live.iam import map_role
from mlops_infra.state.aws_live.kms import map_kms_key
from mlops_infra.state.aws_live.lambda_ import map_event_invoke_config, map_lambda_function
from mlops_infra.state.aws_live.reader import Reader, Reading, ReadMany, ReadOne
from mlops_infra.state.aws_live.registry import READERS, TRACKING
from mlops_infra.state.aws_live.retry import (
    NOT_FOUND_CODES,
    THROTTLING_CODES,
    RetryPolicy,
    call_with_retry,
    describe_error,
    error_code,
    is_not_found,
    is_throttling,
)
from mlops_infra.state.aws_live.s3 import (
    map_bucket_encryption,
    map_bucket_lifecycle,
    map_bucket_versioning,
    map_public_access_block,
)
from mlops_infra.state.aws_live.sagemaker import (
    map_endpoint,
    map_endpoint_config,
    map_model,
    map_model_package_group,
    map_pipeline,
)
from mlops_infra.state.aws_live.scan import plan_units, scan_aws
from mlops_infra.state.aws_live.scheduler import map_schedule
from mlops_infra.state.aws_live.secretsmanager import map_secret
from mlops_infra.state.aws_live.shapes import drop_none, policy_text, pulumi_name, pulumi_shape, tag_map
from mlops_infra.state.aws_live.sns import map_sns_subscription, map_sns_topic
from mlops_infra.state.aws_live.sqs import map_sqs_queue
from mlops_infra.state.aws_live.tracking import Tracked, Tracking

__all__ = [
    "NOT_FOUND_CODES",
    "READERS",
    "THROTTLING_CODES",
    "TRACKING",
    "ReadMany",
    "ReadOne",
    "Reader",
    "Reading",
    "RetryPolicy",
    "ScanContext",
    "Tracked",
    "Tracking",
    "call_with_retry",
    "describe_error",
    "drop_none",
    "error_code",
    "is_not_found",
    "is_throttling",
    "map_bucket_encryption",
    "map_bucket_lifecycle",
    "map_bucket_versioning",
    "map_ecr_repository",
    "map_endpoint",
    "map_endpoint_config",
    "map_event_invoke_config",
    "map_event_rule",
    "map_event_target",
    "map_kms_key",
    "map_lambda_function",
    "map_metric_alarm",
    "map_model",
    "map_model_package_group",
    "map_pipeline",
    "map_public_access_block",
    "map_role",
    "map_scalable_target",
    "map_scaling_policy",
    "map_schedule",
    "map_secret",
    "map_slack_channel",
    "map_sns_subscription",
    "map_sns_topic",
    "map_sqs_queue",
    "plan_units",
    "policy_text",
    "pulumi_name",
    "pulumi_shape",
    "scan_aws",
    "tag_map",
]
