"""Lists of the spec that become lists of an AWS API with a maximum length: checked in AWS environments.

A document can be valid, and its graph well-formed, and still hold a list longer than the AWS API
it is sent to accepts: the first ``pulumi up`` (or the first run of a pipeline step) then fails.
:func:`check_aws_lists` refuses such a list where the user wrote it, in AWS environments only (on
Kubernetes the same lists have no such maximum, so a document promoted from a Kubernetes dev
environment is refused where it would fail, not before):

- an alert notifies at most :data:`~mlops_infra.spec.limits.AWS_ALARM_ACTIONS_MAX` channels: its
  CloudWatch alarm gets one action per channel (``compile/aws/alerting.py``), and ``PutMetricAlarm``
  takes at most 5 (audit finding L6);
- an endpoint that SageMaker rolls back itself (:data:`~mlops_infra.spec.serving.SAGEMAKER_ROLLED_BACK`)
  rolls back on at most :data:`~mlops_infra.spec.limits.SAGEMAKER_ROLLBACK_ALARMS_MAX` alerts: they
  are its ``AutoRollbackConfiguration.Alarms`` (``compile/aws/serving.py``); a canary's controller
  reads any number (audit finding L7);
- a canary endpoint's rollback notice (:func:`~mlops_infra.spec.alerting.rollback_channels`: the union of the channels of its
  ``rollback_on`` alerts) is one CloudWatch alarm whose actions are those channels' topics
  (``compile/aws/alerting.py``, ``compile_rollback_alarm``), so the union too is at most
  :data:`~mlops_infra.spec.limits.AWS_ALARM_ACTIONS_MAX` (``too-many-alarm-actions``, the same limit and code as an alert's; not reported while one
  of those alerts is itself over, whose own error comes first);
- a training job reads at most :data:`~mlops_infra.spec.limits.SAGEMAKER_INPUT_CHANNELS_MAX` data
  sources: each is a channel of the job's ``InputDataConfig`` (``compile/aws/training.py``; audit
  finding L10);
- a training job writes at most :data:`~mlops_infra.spec.limits.SAGEMAKER_TRAINING_OUTPUTS_MAX` data
  sources: each is an ``MLOPS_OUTPUT_<SOURCE>`` variable of the Train step's ``Environment``, which
  takes at most :data:`~mlops_infra.spec.limits.SAGEMAKER_TRAINING_ENVIRONMENT_MAX` and holds up to
  :data:`~mlops_infra.spec.limits.SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED` of mlops-infra's own
  (``compile/aws/training.py`` ``training_environment``; audit datasources-2).

Entries naming an unknown item are not counted (they are reported as unknown references), and
neither are duplicates (reported as such): the count is what the compiler would send.
"""

from __future__ import annotations

from collections.abc import Iterator

from mlops_infra.diagnostics import Diagnostic, error
from mlops_infra.spec.alerting import rollback_channels
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.limits import (
    AWS_ALARM_ACTIONS_MAX,
    SAGEMAKER_INPUT_CHANNELS_MAX,
    SAGEMAKER_ROLLBACK_ALARMS_MAX,
    SAGEMAKER_TRAINING_ENVIRONMENT_MAX,
    SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED,
    SAGEMAKER_TRAINING_OUTPUTS_MAX,
)
from mlops_infra.spec.serving import SAGEMAKER_ROLLED_BACK


def _known(names: list[str], index: dict[str, int]) -> int:
    return len({n for n in names if n in index})


def check_aws_lists(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """In an AWS environment, the lists of the module docstring fit their AWS API."""
    if environment.target.kind != "aws":
        return
    yield from _alarm_actions(ctx, env)
    yield from _rollback_alarms(ctx, env)
    yield from _input_channels(ctx, env)
    yield from _output_variables(ctx, env)
    yield from _rollback_channels(ctx, env)


def _alarm_actions(ctx: CheckContext, env: str) -> Iterator[Diagnostic]:
    for i, alert in enumerate(ctx.system.alerts):
        count = _known(alert.notify, ctx.names["channels"])
        if count > AWS_ALARM_ACTIONS_MAX:
            yield error(
                "too-many-alarm-actions",
                f'Alert "{alert.name}" notifies {count} channels; an AWS alarm takes at most {AWS_ALARM_ACTIONS_MAX}',
                f"In environment {env} (AWS) the alert is a CloudWatch alarm with one action per channel, and "
                f"PutMetricAlarm refuses more than {AWS_ALARM_ACTIONS_MAX} (AlarmActions: at most "
                f"{AWS_ALARM_ACTIONS_MAX}, a quota AWS does not raise). Notify at most {AWS_ALARM_ACTIONS_MAX} "
                f"channels: remove {count - AWS_ALARM_ACTIONS_MAX}, or notify one channel that reaches several "
                "people (an email list, a webhook).",
                ("alerts", i, "notify", AWS_ALARM_ACTIONS_MAX), f"alerts.{alert.name}")


def _rollback_alarms(ctx: CheckContext, env: str) -> Iterator[Diagnostic]:
    for i, endpoint in enumerate(ctx.system.endpoints):
        rollout = endpoint.rollout
        count = _known(rollout.rollback_on, ctx.names["alerts"])
        if rollout.strategy in SAGEMAKER_ROLLED_BACK and count > SAGEMAKER_ROLLBACK_ALARMS_MAX:
            yield error(
                "too-many-rollback-alarms",
                f'Endpoint "{endpoint.name}" rolls back on {count} alerts; SageMaker watches at most '
                f"{SAGEMAKER_ROLLBACK_ALARMS_MAX}",
                f"In environment {env} (AWS) SageMaker rolls a {rollout.strategy} rollout back by itself on "
                f"the alarms of rollback_on, and takes at most {SAGEMAKER_ROLLBACK_ALARMS_MAX} "
                f"(DeploymentConfig.AutoRollbackConfiguration.Alarms). Keep the {SAGEMAKER_ROLLBACK_ALARMS_MAX} "
                "alerts that say most about a bad version, or use strategy: canary, whose controller reads any "
                "number of alerts.",
                ("endpoints", i, "rollout", "rollback_on", SAGEMAKER_ROLLBACK_ALARMS_MAX),
                f"endpoints.{endpoint.name}")


def _input_channels(ctx: CheckContext, env: str) -> Iterator[Diagnostic]:
    for i, job in enumerate(ctx.system.training_jobs):
        count = _known(job.inputs, ctx.names["data_sources"])
        if count > SAGEMAKER_INPUT_CHANNELS_MAX:
            yield error(
                "too-many-input-channels",
                f'Training job "{job.name}" reads {count} data sources; a SageMaker training job takes at most '
                f"{SAGEMAKER_INPUT_CHANNELS_MAX}",
                f"In environment {env} (AWS) each input is a channel of the job's InputDataConfig, and "
                f"CreateTrainingJob takes at most {SAGEMAKER_INPUT_CHANNELS_MAX}: the pipeline's training step "
                f"would fail when it runs. Read at most {SAGEMAKER_INPUT_CHANNELS_MAX} data sources: put data "
                "that is read together under one data source (one bucket, several prefixes).",
                ("training_jobs", i, "inputs", SAGEMAKER_INPUT_CHANNELS_MAX), f"training_jobs.{job.name}")


def _output_variables(ctx: CheckContext, env: str) -> Iterator[Diagnostic]:
    for i, job in enumerate(ctx.system.training_jobs):
        outputs = list(dict.fromkeys(n for n in job.outputs if n in ctx.names["data_sources"]))
        if len(outputs) > SAGEMAKER_TRAINING_OUTPUTS_MAX:
            over = outputs[SAGEMAKER_TRAINING_OUTPUTS_MAX:]
            yield error(
                "too-many-output-variables",
                f'Training job "{job.name}" writes {len(outputs)} data sources; on SageMaker it can be told of at '
                f"most {SAGEMAKER_TRAINING_OUTPUTS_MAX}",
                f"In environment {env} (AWS) each output is an MLOPS_OUTPUT_<SOURCE> variable of the training "
                f"step's Environment, which CreateTrainingJob takes with at most {SAGEMAKER_TRAINING_ENVIRONMENT_MAX} "
                f"variables, {SAGEMAKER_TRAINING_ENVIRONMENT_RESERVED} of them mlops-infra's own: the pipeline's "
                f"training step would fail when it runs. {len(over)} output(s) past the {SAGEMAKER_TRAINING_OUTPUTS_MAX} "
                f"that fit: {', '.join(over)}. Write at most {SAGEMAKER_TRAINING_OUTPUTS_MAX} data sources: put data "
                "that is written together under one data source (one bucket, several prefixes).",
                ("training_jobs", i, "outputs", SAGEMAKER_TRAINING_OUTPUTS_MAX), f"training_jobs.{job.name}")


def _rollback_channels(ctx: CheckContext, env: str) -> Iterator[Diagnostic]:
    for i, endpoint in enumerate(ctx.system.endpoints):
        if endpoint.rollout.strategy != "canary":
            continue
        channels = rollback_channels(ctx.system, endpoint)
        alerts = [ctx.system.item("alerts", name) for name in endpoint.rollout.rollback_on]
        if any(a is not None and _known(a.notify, ctx.names["channels"]) > AWS_ALARM_ACTIONS_MAX for a in alerts):
            continue  # that alert's own error says it first (same limit, same code)
        if len(channels) > AWS_ALARM_ACTIONS_MAX:
            yield error(
                "too-many-alarm-actions",
                f'Endpoint "{endpoint.name}" tells {len(channels)} channels of a rollback; an AWS alarm takes at most '
                f"{AWS_ALARM_ACTIONS_MAX}",
                f"In environment {env} (AWS) a canary rolled back by the controller is announced by one CloudWatch "
                f"alarm whose actions are the channels its rollback_on alerts notify ({', '.join(channels)}), and "
                f"PutMetricAlarm refuses more than {AWS_ALARM_ACTIONS_MAX} (AlarmActions: at most "
                f"{AWS_ALARM_ACTIONS_MAX}). Make the rollback_on alerts notify at most {AWS_ALARM_ACTIONS_MAX} "
                "channels together (one channel that reaches several people: an email list, a webhook).",
                ("endpoints", i, "rollout", "rollback_on"), f"endpoints.{endpoint.name}")
