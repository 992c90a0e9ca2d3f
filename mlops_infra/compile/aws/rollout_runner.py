"""The rollout runner on AWS: a Lambda that makes one reconcile pass per tick of an EventBridge schedule.

A canary lasts an hour or more; compiled into the graph, it needs no terminal (``mlops-infra rollout
--watch`` remains for watching it). Only environments with a canary endpoint get it (``aws.canaries``,
recorded by ``serving.compile_endpoint``); the resources are the platform's:

- **Function** ``<system>-<env>-rollout-runner`` (python3.12, arm64), handler
  ``mlops_infra.rollout.scheduled.handler``. Its code archive holds mlops-infra's own rollout modules
  (:data:`CODE`: the same reconcile, fleet pass, SageMaker driver and CloudWatch gates the CLI runs,
  read as text from the installed package, never imported here; :mod:`mlops_infra.compile.rollout_code`) and ``rollouts.json``, the runner's
  document (:func:`document`, format in ``mlops_infra/rollout/scheduled.py``). A new model version
  changes the document, so the function's code shows as an update in ``plan``. The Python runtime
  imports a dotted handler ``package.module.function`` from the archive root (awslambdaric
  ``bootstrap.py``, ``_get_handler``: ``modname, fname = handler.rsplit(".", 1)``, then
  ``importlib.import_module``); boto3 is part of the Lambda Python runtime.
- **Execution role**, exactly what one pass calls (``drivers/sagemaker.py``, ``gates/cloudwatch.py``):
  ``DescribeEndpoint``, ``ListTags``, ``AddTags``, ``DeleteTags``, ``UpdateEndpoint`` and
  ``UpdateEndpointWeightsAndCapacities`` on each canary endpoint's ARN; ``sagemaker:Search`` on ``*``
  (a pass observes its endpoints 100 per call through Search; the action has no resource types,
  Service Authorization Reference, "Actions defined by Amazon SageMaker", so it cannot be narrowed to
  the canaries: it reads the metadata of any searchable SageMaker resource of the account and region,
  read-only; without it the pass falls back to describing each endpoint); ``DeleteEndpointConfig`` on
  the configs named after each endpoint (:func:`named_config_patterns`) and ``DeleteModel`` on its models
  (``<model name up to -v>*``), for the cleanup of what a finished rollout kept for its rollback
  (``drivers/sagemaker.py``: only names the controller recorded on the endpoint, never what it
  serves); ``UpdateEndpoint`` also on the
  configs it switches to (the final config by name, the controller's ``<config prefix>-rollout-v*``);
  ``CreateEndpointConfig`` on the rollout configs only; ``DescribeEndpointConfig`` on configs named
  after the endpoint (:func:`named_config_patterns`: the serving config of an earlier version has a name no
  compile knows); ``cloudwatch:DescribeAlarms`` on the rollback alarms' ARNs;
  ``cloudwatch:GetMetricData`` on ``*`` (the action has no resource types, Service Authorization
  Reference, "Actions defined by Amazon CloudWatch"); when a config is encrypted with the platform key
  (botocore ``CreateEndpointConfigInput.KmsKeyId``: "The KMS key policy must grant permission to the IAM
  role that you specify in your CreateEndpoint, UpdateEndpoint requests"), ``kms:CreateGrant`` on it for
  AWS resources only and, in a statement of its own, ``kms:DescribeKey`` on it (a DescribeKey request does
  not carry ``kms:GrantIsForAWSResource``, so under that condition it was never allowed: audit iam-1,
  :func:`policies.kms_service_grant`); for autoscaled canaries the
  Application Auto Scaling calls of a finish that changes the instance type (Describe, Deregister,
  RegisterScalableTarget, DescribeScalingPolicies and PutScalingPolicy on ``*``: their resource type
  is a scalable-target ARN with an ID AWS assigns, unknown at compile time; unconditioned, so the role may
  change any scalable target of the account and region, not only SageMaker variants: the condition keys
  ``application-autoscaling:service-namespace`` / ``scalable-dimension`` exist for identity policies
  (Application Auto Scaling User Guide, "How Application Auto Scaling works with IAM", "Condition keys"), but
  which actions carry them is not confirmed here from the Service Authorization Reference, and a key an action
  does not carry would refuse the driver's calls (audit iam-4; docs/compile-aws.md "Least privilege")) and the
  CloudWatch alarm
  calls a target-tracking policy makes on the caller's behalf (Application Auto Scaling "Identity-based
  policy examples": PutScalingPolicy needs ``cloudwatch:DescribeAlarms``, ``PutMetricAlarm`` and
  ``DeleteAlarms``), on the alarms it names ``TargetTracking-<resource id>-*``; and writing its own
  log group. Not checked against AWS here (IAM is not enforced by moto). With many canary endpoints
  this policy passes IAM's quota on a role's inline policies; :func:`iam.add_role` then widens each
  statement's per-endpoint ARNs to ``<system>-<env>-*`` (its contract).
- **The config prefix** (audit limits-3): each endpoint's rollout configs are named
  ``<config prefix>-rollout-v<N>-<hash>`` (``drivers/sagemaker.py``), the prefix being :func:`config_prefix`,
  ``physical_name(<system>, <env>, <endpoint>, max_len=40)`` (``compile/naming.py``: the name itself when it
  fits in 40 characters, else cut and ended with the hash of the full name), written into the document
  (``"configPrefix"``) so the driver uses the compiler's prefix, never its own. Before, the prefix was the
  physical endpoint name cut at 40 characters: with a system name of 40 or more characters that is the
  system name alone, and the grants above covered every endpoint config of the system, other environments
  of the account included (IAM: a ``*`` in a ``Resource`` ARN matches any characters; endpoint-config ARNs
  are ``arn:aws:sagemaker:<region>:<account>:endpoint-config/<name>``, so environments of one account share
  them). For a name that fits the prefix and every grant are what they were (no change for existing
  stacks). A name that does not fit gets, besides the hashed prefix, the pattern of its serving configs
  (:func:`serving_config_stem`) and, for the rollout configs an earlier release named by the cut (an endpoint
  on one at the upgrade, or a kept entry), ``<endpoint[:40]>-rollout-v*`` for describing and deleting them:
  rollout configs only, never another environment's serving config. Known limit, in the serving configs'
  names (``serving._add_config``, cut at 55 characters and ended with the hash of the whole name): when
  two endpoints' names agree on their first 55 characters, their serving configs' stems are the same.
- **Schedule** ``<system>-<env>-rollout-runner``: ``rate(1 minute)`` (EventBridge Scheduler rate
  expressions are ``rate(value unit)``, a positive whole value, unit ``minute(s)``, ``hour(s)`` or
  ``day(s)``, the singular for 1; one minute is the finest, "Schedule types on EventBridge Scheduler",
  https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), ``flexibleTimeWindow``
  ``OFF``; no retries (``maximumRetryAttempts`` 0, ``maximumEventAgeInSeconds`` 60, the minimum of
  botocore ``RetryPolicy``): the next tick is the retry. Its own role, trusted by
  ``scheduler.amazonaws.com`` for this account, may ``lambda:InvokeFunction`` on that function only.
  Shapes: botocore ``scheduler`` ``CreateScheduleInput`` (``Name``, ``ScheduleExpression``,
  ``FlexibleTimeWindow.Mode``, ``Target.Arn`` and ``Target.RoleArn`` required).
- **Rollback notices** (``rollout/scheduled.py``, "Rollback notices"): for each canary endpoint whose
  ``rollback_on`` alerts notify channels, :func:`alerting.compile_rollback_alarm` adds the alarm that
  tells them, the document's entry gets ``"notify": true`` and the document ``"notifications"``
  (namespace ``mlops-infra/Rollouts``, metric ``RolledBack``, dimensions ``System`` and
  ``Environment``); the role may then ``cloudwatch:PutMetricData`` in that namespace only:
  the action has no resource types (``*``) and takes the condition key ``cloudwatch:namespace``
  (Service Authorization Reference, "Actions, resources, and condition keys for Amazon CloudWatch",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html;
  the ``StringEquals`` form is CloudWatch's own example, "Using condition keys to limit access to
  CloudWatch namespaces",
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html).
  Recording a notice sent in the rollout status is an ``AddTags`` on the endpoint, already granted.
  The runner publishes the notice to the rollback channels' topics itself (``alerting.rollback_notice``,
  in the document's ``"notifications"`` as ``"alarms"``, with ``"gates"``: ``alerting.rollback_gates``):
  ``sns:Publish`` on exactly those topic ARNs, and, the topics being encrypted with the platform key,
  ``kms:GenerateDataKey*`` and ``kms:Decrypt`` on that key only through SNS (``kms:ViaService`` =
  ``sns.<region>.amazonaws.com``; Amazon SNS Developer Guide, "Encryption at rest", "Enabling
  compatibility between event sources from AWS services and encrypted topics": a publisher needs
  ``kms:GenerateDataKey*`` and ``kms:Decrypt``; AWS KMS "kms:ViaService" condition key).
- **Failures**: Lambda does not retry a failed pass (event invoke config ``maximumRetryAttempts`` 0,
  ``maximumEventAgeInSeconds`` 60, as the schedule's): the next tick is the retry, and a retry would
  only overlap it. Nothing is kept (every tick's event is the same); the function's Errors alarm
  tells the channels of the canaries' ``rollback_on`` alerts, or the system's (:mod:`lambda_failures`).
- A pass is bounded by the function's timeout (300 s); a pass longer than the rate overlaps the next
  one, which is safe (the reconciler's optimistic concurrency: one acts, the other finds it lost).
"""

from __future__ import annotations

import re
from typing import Any

from mlops_infra.compile import naming, rollout_code
from mlops_infra.compile.aws import alerting, arns, iam, lambda_failures, lambdas, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import archive, ref
from mlops_infra.spec.lambda_failures import runner_audience

FUNCTION = lambdas.FUNCTION
SCHEDULE = "aws:scheduler/schedule:Schedule"
ADDRESS = "platform"
HANDLER = "mlops_infra.rollout.scheduled.handler"
RATE = "rate(1 minute)"
TIMEOUT_SECONDS = 300
DOCUMENT = rollout_code.DOCUMENT
CODE = rollout_code.AWS
"""The modules of ``mlops_infra`` the runner imports on AWS (a test runs the archive with only these)."""
RUNNER_ROLE = iam.RoleSpec("rollout-runner", ("rollout-runner",), ("lambda.amazonaws.com",),
                           "Runs one rollout reconcile pass per tick on this environment's canary endpoints.")
SCHEDULE_ROLE = iam.RoleSpec("rollout-schedule", ("rollout-schedule",), ("scheduler.amazonaws.com",),
                             "Lets the rollout schedule invoke the rollout runner, nothing else.")


def code() -> tuple[tuple[str, str], ...]:
    """(archive path, text) of :data:`CODE`, read from the installed package."""
    return rollout_code.files(CODE)


def document(aws: AwsContext, notify: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The runner's document: region and, per canary endpoint, its rollout plan and target; with
    ``notify`` (addresses whose rollbacks are announced), their ``"notify": true`` and the
    ``"notifications"`` settings."""
    rollouts = aws.ctx.builder.rollouts
    doc = {"target": "aws", "region": aws.region, "rollouts": [
        {"address": address, "plan": rollouts[address],
         "endpoint": {**{k: canary[k] for k in ("endpoint", "version", "finalConfig", "model", "autoscaling")},
                      "configPrefix": config_prefix(aws, address)},
         **({"notify": True} if address in notify else {})}
        for address, canary in sorted(aws.canaries.items())]}
    if notify:
        endpoints = [aws.ctx.system.item("endpoints", address.split(".", 1)[1]) for address in sorted(notify)]
        doc["notifications"] = {"alarms": {e.name: alerting.rollback_notice(aws, e) for e in endpoints},
                                "dimensions": alerting.rollback_dimensions(aws),
                                "gates": alerting.rollback_gates(aws, endpoints), "metric": alerting.ROLLED_BACK_METRIC,
                                "namespace": alerting.ROLLOUT_NAMESPACE}
    return doc


CONFIG_PREFIX_MAX = 40
"""The most characters of a config prefix: ``<prefix>-rollout-v<N>-<8 hex>`` stays within SageMaker's 63
(botocore sagemaker ``EndpointConfigName``: max 63) for versions of up to 4 digits."""


def config_prefix(aws: AwsContext, address: str) -> str:
    """The name prefix of the rollout configs of the endpoint at ``address`` (``endpoints.<name>``): its
    physical name when that fits in :data:`CONFIG_PREFIX_MAX` characters (what ``<endpoint>[:40]`` gave),
    else cut and ended with the hash of the full name (see the module contract, **The config prefix**)."""
    return aws.name(address.split(".", 1)[1], max_len=CONFIG_PREFIX_MAX)


def rollout_config_prefix(prefix: str) -> str:
    """The name prefix of the controller's rollout configs before the version (``drivers/sagemaker.py``
    ``rollout_config_prefix``, given the same ``prefix``)."""
    return f"{prefix}-rollout-v"


def serving_config_stem(aws: AwsContext, address: str) -> str:
    """What the names of the endpoint's serving configs all start with: ``serving._add_config`` names one
    ``aws.name(<endpoint>, "cfg", <8 hex of its contents>)``, so the stem is the common prefix of that name
    over 16 contents hashes differing in their first digit (the part before the hash, or, cut to fit, the
    part before the hash of the whole name)."""
    name = address.split(".", 1)[1]
    return naming.common_prefix([aws.name(name, "cfg", digit * 8) for digit in "0123456789abcdef"])


def named_config_patterns(aws: AwsContext, address: str, endpoint: str) -> list[str]:
    """The endpoint-config name patterns the runner may describe and delete for the endpoint at ``address``
    (physical name ``endpoint``): ``<config prefix>*`` (its rollout configs and, when the prefix is the
    physical name, its serving configs: ``<endpoint[:40]>*`` as before), plus, when the prefix had to be
    hashed, :func:`serving_config_stem` ``*`` and the cut an earlier release named rollout configs by
    (see the module contract)."""
    prefix = config_prefix(aws, address)
    patterns = {f"{prefix}*"}
    if prefix != endpoint[:CONFIG_PREFIX_MAX]:
        patterns |= {f"{serving_config_stem(aws, address)}*", f"{rollout_config_prefix(endpoint[:CONFIG_PREFIX_MAX])}*"}
    return sorted(patterns)


def model_prefix(model: str) -> str:
    """The name prefix shared by an endpoint's model versions: the compiled name up to its ``-v<N>-<hash>``
    suffix, with the ``-v`` (``serving._add_model``: ``<endpoint>-v<N>-<hash>``)."""
    match = re.search(r"-v\d+-[0-9a-z]+$", model)
    return (model[:match.start()] if match else model) + "-v"


def _statements(aws: AwsContext, notify: frozenset[str] = frozenset()) -> list:
    r, a = aws.region, aws.account
    canaries = [aws.canaries[k] for k in sorted(aws.canaries)]
    endpoints = [arns.arn(r, a, "sagemaker", f"endpoint/{c['endpoint'].lower()}") for c in canaries]
    rollout_configs = [arns.arn(r, a, "sagemaker", f"endpoint-config/{rollout_config_prefix(config_prefix(aws, k))}*")
                       for k in sorted(aws.canaries)]
    final_configs = [arns.arn(r, a, "sagemaker", f"endpoint-config/{c['finalConfig'].lower()}") for c in canaries]
    named_configs = sorted({arns.arn(r, a, "sagemaker", f"endpoint-config/{pattern}") for k in sorted(aws.canaries)
                            for pattern in named_config_patterns(aws, k, aws.canaries[k]["endpoint"])})
    alarms = sorted({n for k in aws.canaries for n in aws.ctx.builder.rollouts[k].get("rollbackAlarms") or ()})
    autoscaled = any(c["autoscaled"] for c in canaries)
    topics = sorted({t for address in notify for t in alerting.rollback_notice(
        aws, aws.ctx.system.item("endpoints", address.split(".", 1)[1]))["topics"]})
    return [
        policies.allow("ObserveAndStepEndpoints", ["sagemaker:AddTags", "sagemaker:DeleteTags",
                                                   "sagemaker:DescribeEndpoint", "sagemaker:ListTags",
                                                   "sagemaker:UpdateEndpoint",
                                                   "sagemaker:UpdateEndpointWeightsAndCapacities"], endpoints),
        policies.allow("SwitchEndpointConfigs", ["sagemaker:UpdateEndpoint"], sorted(final_configs + rollout_configs)),
        policies.allow("CreateRolloutConfigs", ["sagemaker:CreateEndpointConfig"], sorted(rollout_configs)),
        policies.allow("ReadEndpointConfigs", ["sagemaker:DescribeEndpointConfig"], named_configs),
        policies.allow("ReadRollbackAlarms", ["cloudwatch:DescribeAlarms"],
                       [arns.alarm_arn(r, a, n) for n in alarms]),
        policies.allow("ReadGateMetrics", ["cloudwatch:GetMetricData"], ["*"] if alarms else []),
        policies.allow("AnnounceRollbacks", ["cloudwatch:PutMetricData"], ["*"] if notify else [],
                       {"StringEquals": {"cloudwatch:namespace": alerting.ROLLOUT_NAMESPACE}}),
        policies.allow("PublishRollbackNotices", ["sns:Publish"], topics),
        policies.allow("EncryptRollbackNotices", ["kms:Decrypt", "kms:GenerateDataKey*"],
                       [ref(aws.key, "arn")] if topics else [],
                       {"StringEquals": {"kms:ViaService": f"sns.{r}.amazonaws.com"}}),
        *([policies.kms_service_grant("UseKeyForEncryptedConfigs", ref(aws.key, "arn")),
           policies.kms_describe("DescribeKeyOfEncryptedConfigs", ref(aws.key, "arn"))]
          if any(c["kms"] for c in canaries) else []),
        policies.allow("KeepAutoscalingAcrossInstanceTypeChange",
                       ["application-autoscaling:DeregisterScalableTarget",
                        "application-autoscaling:DescribeScalableTargets",
                        "application-autoscaling:DescribeScalingPolicies",
                        "application-autoscaling:PutScalingPolicy",
                        "application-autoscaling:RegisterScalableTarget"], ["*"] if autoscaled else []),
        policies.allow("KeepTargetTrackingAlarms", ["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
                                                    "cloudwatch:PutMetricAlarm"],
                       [arns.alarm_arn(r, a, f"TargetTracking-endpoint/{c['endpoint']}/variant/primary-*")
                        for c in canaries if c["autoscaled"]]),
        policies.allow("ObserveEndpointsInBatches", ["sagemaker:Search"], ["*"]),
        policies.allow("DeleteKeptConfigs", ["sagemaker:DeleteEndpointConfig"], named_configs),
        policies.allow("DeleteKeptModels", ["sagemaker:DeleteModel"], sorted(
            {arns.arn(r, a, "sagemaker", f"model/{model_prefix(c['model']).lower()}*") for c in canaries})),
    ]


def compile_rollout_runner(aws: AwsContext) -> None:
    """The runner's log group, roles, function and schedule (nothing without a canary endpoint), and
    the rollback alarm of each of its canary endpoints whose rollbacks are announced (an endpoint
    waiting for its model version is not rolled out, so it gets none either)."""
    if not aws.canaries:
        return
    parent = aws.platform
    notify = frozenset(address for address in sorted(aws.canaries) if alerting.compile_rollback_alarm(
        aws, aws.ctx.system.item("endpoints", address.split(".", 1)[1])))
    files = dict(code())
    files[DOCUMENT] = rollout_code.document_text(document(aws, notify))
    function, _ = lambdas.add_function(aws, "rollout-runner", aws.name("rollout-runner", max_len=64), RUNNER_ROLE,
                                       _statements(aws, notify), {
        "description": "mlops-infra: one rollout reconcile pass per tick", "handler": HANDLER,
        "code": archive(files), "timeout": TIMEOUT_SECONDS, "memorySize": 256,
    }, parent=parent, address=ADDRESS, role="rollout-runner", log_role="rollout-runner-log-group",
        failures=lambda_failures.Failures(
            runner_audience(aws.ctx.system, [a.split(".", 1)[1] for a in aws.canaries]), retries=0, max_age=60,
            keep=False, severity="critical", what="advances and rolls back the canary rollouts"))
    invoker = iam.add_role(aws, SCHEDULE_ROLE, [
        policies.allow("InvokeRolloutRunner", ["lambda:InvokeFunction"], [ref(function, "arn")])],
        parent=parent, address=ADDRESS)
    aws.add(SCHEDULE, "rollout-runner-schedule", {
        "name": aws.name("rollout-runner"), "groupName": "default",
        "description": "mlops-infra: one rollout reconcile pass per minute",
        "scheduleExpression": RATE, "flexibleTimeWindow": {"mode": "OFF"}, "state": "ENABLED",
        "target": {"arn": ref(function, "arn"), "roleArn": ref(invoker, "arn"),
                   "retryPolicy": {"maximumRetryAttempts": 0, "maximumEventAgeInSeconds": 60}},
    }, parent=parent, address=ADDRESS, role="rollout-runner-schedule",
        depends_on=[iam.policy_urn(aws, SCHEDULE_ROLE, parent)])
