"""The AWS target: an effective system -> SageMaker, S3, IAM, KMS, CloudWatch, SNS, EventBridge.

Contract: :func:`compile_aws` fills ``ctx.builder`` with the desired resources of one AWS
environment. It is pure (no Pulumi, clock, environment or network) and deterministic. Resource
types are pulumi-aws v7 tokens and inputs use the engine's camelCase property names, nested ones
included, so the Pulumi program can register the graph generically. Every custom resource uses
the explicit ``aws`` provider and is parented to its ML component (or the platform component);
physical names are explicit (``<system>-<env>-...``, buckets suffixed with the account id).

What is compiled and why is in ``docs/compile-aws.md``; each module owns one concern:
``provider`` (explicit provider), ``platform`` (key, image repository, shared roles), ``storage``
(secure buckets), ``iam``/``policies``/``arns`` (least-privilege roles), ``registry`` (model
package groups), ``training`` (clusters, training pipelines and triggers), ``serving`` (models,
endpoint configs, endpoints, autoscaling, canary rollout plans), ``monitoring`` (alarm metrics,
drift jobs), ``alerting`` (alarms, topics, subscribers), ``pipelines``, ``schedules`` and, after
every section, ``dashboards`` (a CloudWatch dashboard per endpoint and training job).

Canary rollouts with arbitrary steps (2, 5, 10, 25, 75, 100) exceed SageMaker's deployment
guardrails (a canary has two steps); the graph therefore holds the final state (one variant
``v<version>``, a native CANARY ``deploymentConfig`` approximating the first step) and
``graph.rollouts[<endpoint address>]`` holds the full plan that ``mlops-infra apply`` drives with
``UpdateEndpointWeightsAndCapacities`` (see :func:`serving.canary_rollout`); ``rollout_runner``
compiles the Lambda and schedule that drive those plans without a terminal.
"""

from __future__ import annotations

from collections.abc import Callable

from mlops_infra.compile.aws import (
    alerting,
    dashboards,
    monitoring,
    registry,
    rollout_runner,
    serving,
    storage,
    training,
)
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.compile.aws.platform import add_platform, add_platform_roles
from mlops_infra.compile.aws.provider import add_provider
from mlops_infra.compile.context import CompileContext

SECTIONS: dict[str, Callable[[AwsContext, object], None]] = {
    "data_sources": storage.compile_data_source,
    "clusters": training.compile_cluster,
    "models": registry.compile_model,
    "channels": alerting.compile_channel,
    "monitors": monitoring.compile_monitor,
    "alerts": alerting.compile_alert,
    "endpoints": serving.compile_endpoint,
    "training_jobs": training.compile_training_job,
}
"""Section -> compiler of one item, in the order sections must run: each reads only what earlier
sections published (buckets, groups, topics, alarms)."""


def compile_aws(ctx: CompileContext) -> None:
    """Compile the effective system of an AWS environment into ``ctx.builder``."""
    aws = AwsContext(ctx)
    ctx.builder.metadata.update({"cloud": "aws", "region": aws.region, "account": aws.account})
    aws.provider = add_provider(aws)
    add_platform(aws)
    for section, compile_item in SECTIONS.items():
        for item in getattr(ctx.system, section):
            compile_item(aws, item)
    storage.keep_platform_buckets(aws)
    rollout_runner.compile_rollout_runner(aws)
    dashboards.compile_dashboards(aws)
    add_platform_roles(aws)
