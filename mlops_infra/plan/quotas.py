"""AWS account quotas an environment's graph alone would pass: one plan warning each, before apply.

A spec can be valid and every resource well-formed, and still not fit the AWS account: an account
holds at most so many IAM roles, SageMaker pipelines, scalable targets and EventBridge rules.
``pulumi up`` then stops partway, at the resource that passes the
quota, with the stack half applied. The plan says so first.

Contract:
- :func:`quota_warnings` is pure: a desired graph in, one warning per quota of :data:`QUOTAS` that
  the graph's own resources exceed, in :data:`QUOTAS` order, then the SageMaker limits below
  (:func:`sagemaker_limit_warnings`) at their defaults. It counts what the graph declares, not
  what the account already holds (other stacks' roles count too, so a warning is a lower bound of
  the problem, and no warning does not prove the account has room).
- The number compared is the default a new account gets (each source below), since the plan cannot
  see the account's raised quotas without reading them: the warning says to check them (Service
  Quotas console or ``aws service-quotas get-service-quota``). Where a quota cannot be raised past a
  maximum and the graph passes that too, the warning says the system must be split.
- Only AWS graphs (``metadata["cloud"] == "aws"``) are checked; the region is read from the
  graph's metadata where a quota differs by region.

Quotas (for a new account, per account and Region unless said):
- IAM roles: 1,000 per account (IAM is global), adjustable up to 5,000 (IAM User Guide, "IAM and
  AWS STS quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
- SageMaker pipelines: 500 per account ("Maximum number of pipelines allowed per account - 500",
  SageMaker Developer Guide, "Feature Processor constraints, limits and quotas",
  https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html,
  the page that lists the Pipelines quota).
- Application Auto Scaling scalable targets for SageMaker: 500 per resource type, adjustable
  ("Application Auto Scaling quotas",
  https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-quotas.html).
- EventBridge rules on an event bus: 300, adjustable; 100 in af-south-1 and eu-south-1 ("Amazon
  EventBridge quotas", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html).
  Rules without ``eventBusName`` are on the default bus.

SageMaker limits the compiled schedules and training jobs meet at run time, not at ``pulumi up``
(:func:`sagemaker_limit_warnings`; audit scale45). They are Service Quotas of service code
``sagemaker``; the names below are those ``ListServiceQuotas`` answers (quota codes from a public dump of
``aws service-quotas list-aws-default-service-quotas --service-code sagemaker``, the dump
:mod:`mlops_infra.plan.instance_quotas` cites), the defaults those of the SageMaker Developer Guide,
"Feature Processor restrictions, limits, and quotas"
(https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html): "Maximum
number of concurrent pipeline executions allowed per account - 20" and "Maximum number of instances per
training job - 20".

- :data:`CONCURRENT_EXECUTIONS` (``L-F88776CD``): the pipeline executions running at once in the account
  and Region. :func:`pipeline_starts` finds the pipelines the graph's EventBridge Scheduler schedules
  start at the same moment. A schedule starts its pipeline directly (a drift monitor's,
  ``compile/aws/monitoring.py``) or through the training job's retrain gate, a Lambda whose
  ``PIPELINE_NAME`` is the pipeline's name (``compile/aws/gates.py``); any other target (the rollout
  runner) starts no pipeline. Schedules run in UTC at minute precision ("All schedule types on
  EventBridge Scheduler invoke their targets with 60 second precision", EventBridge Scheduler User
  Guide, "Schedule types", https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html),
  so pipelines of one ``cron(...)`` expression start in the same minute. A ``rate(...)`` schedule
  created without a ``StartDate`` (``compile/aws/pipelines.py`` sets none) "starts invoking the target
  immediately" (same page, Rate-based schedules), then every interval after: the rate schedules one
  ``pulumi up`` creates fire within that apply's span of each other, and a schedule whose interval
  divides another's fires with it too (``rate(30 minutes)`` with every ``rate(1 hour)``), and any two meet at
  every common multiple of their intervals. So all rate schedules are one group. Counted as
  coinciding: starts of one cron expression, and the rate group. Not counted: different cron
  expressions that share a minute (Mondays 03:00 and daily 03:00), a cron with a rate, alarm-started
  runs, and runs still active from earlier starts; so a warning is a lower bound, and the runs of
  other systems in the account count against the same quota. What fails: ``StartPipelineExecution``
  past the quota answers ``ResourceLimitExceeded`` ("You have exceeded an SageMaker resource limit",
  botocore ``sagemaker`` ``StartPipelineExecution`` errors). A schedule that starts the pipeline itself
  retries as its target's ``retryPolicy`` says, then hands the event to its ``deadLetterConfig`` queue
  or, without one, drops it ("If you configure a retry policy for your schedule, EventBridge
  Scheduler delivers the dead-letter event [after] exhausting the maximum number of retries you set",
  "Configuring a schedule's dead-letter queue"; botocore ``scheduler`` ``Target.DeadLetterConfig``);
  the warning reads both from the graph. Through a gate, the gate's function fails, Lambda retries it
  twice and keeps the event in the gate's failure queue (:mod:`mlops_infra.compile.aws.retrain_gate`).
  Whether AWS raises this quota is not documented: the fix names the ``get-service-quota`` call whose
  ``Adjustable`` field says so, and the changes that need no increase.
- :data:`PER_JOB` (``L-622CFD70`` "Maximum number of instances per training job", ``L-DB62C864``
  "Maximum number of instances per spot training job"): a Training step's
  ``ResourceConfig.InstanceCount`` (the job's ``nodes``, ``compile/aws/training.py``), one warning per
  pipeline over it, found with :func:`mlops_infra.plan.instance_quotas.instance_needs` (a step with
  ``EnableManagedSpotTraining`` is judged on the spot quota). The spot quota's default is not on the
  page; an account's applied table lists "Maximum instances per spot training job | 20" beside the
  on-demand 20, so 20 is used. AWS raises it through Service Quotas (AWS sample
  aws-samples Llama-2-70B on Trainium, README: "Request the following SageMaker quotas on the Service
  Quotas console: ... Maximum number of instances per training job: 8-32"). AWS documents the limit, not
  the refusal: the warning says the run is expected to fail at ``CreateTrainingJob``.

:func:`quota_warnings` compares both with those defaults (like the quotas above, a raised quota is not
seen); :func:`sagemaker_limit_warnings` given the account's quota table (quota name -> value, as
``state/aws_live/service_quotas.sagemaker_quotas`` reads it for ``instance_quotas``) compares with the
account's values instead, and a quota the table lacks is judged by its default, said so (audit closing-45b-4). ``plan --refresh`` does the latter
(``cli/commands/plan.instance_quota_preflight``, which keeps the defaults when the read fails) and asks
:func:`quota_warnings` for the count quotas only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.compile.aws.schedules import minutes_of_rate
from mlops_infra.graph import DesiredGraph, DesiredResource, is_ref
from mlops_infra.name_lists import join_names


class _Resources:
    """The graph's resources by type, found in one pass (each quota reads one or two types)."""

    def __init__(self, graph: DesiredGraph) -> None:
        self.by_type: dict[str, list[DesiredResource]] = {}
        for resource in graph.resources:
            self.by_type.setdefault(resource.type, []).append(resource)

    def of(self, type_: str) -> list[DesiredResource]:
        return self.by_type.get(type_, [])


@dataclass(frozen=True)
class Quota:
    """One account quota: what it counts (``count`` of the graph's resources), its default for a new
    account in a region, the most it can be raised to (None: no stated maximum), the words for the
    count (``what``) and its ``source``."""

    what: str
    count: Callable[[_Resources], int]
    default: Callable[[str], int]
    maximum: int | None
    source: str
    regional: bool = True
    """False for a quota of the whole account (IAM's)."""


def _of_type(type_: str) -> Callable[[_Resources], int]:
    return lambda resources: len(resources.of(type_))


def _rules_on_default_bus(resources: _Resources) -> int:
    return sum(r.inputs.get("eventBusName") in (None, "default")
               for r in resources.of("aws:cloudwatch/eventRule:EventRule"))


QUOTAS: tuple[Quota, ...] = (
    Quota("IAM roles", _of_type("aws:iam/role:Role"), lambda region: 1_000, 5_000,
          'IAM User Guide, "IAM and AWS STS quotas": roles in an AWS account', regional=False),
    Quota("SageMaker pipelines", _of_type("aws:sagemaker/pipeline:Pipeline"), lambda region: 500, None,
          'SageMaker Developer Guide, "Feature Processor constraints, limits and quotas": maximum number of '
          "pipelines allowed per account"),
    Quota("Application Auto Scaling scalable targets for SageMaker", _of_type("aws:appautoscaling/target:Target"),
          lambda region: 500, None, '"Application Auto Scaling quotas": scalable targets per resource type'),
    Quota("EventBridge rules on the default event bus", _rules_on_default_bus,
          lambda region: 100 if region in ("af-south-1", "eu-south-1") else 300, None,
          '"Amazon EventBridge quotas": rules per event bus'),
)
"""The quotas checked, in the order their warnings are given (module contract)."""


def quota_warnings(graph: DesiredGraph, *, sagemaker_limits: bool = True) -> list[str]:
    """One warning per quota of :data:`QUOTAS` the graph's own resources exceed (module contract), then,
    unless ``sagemaker_limits`` is False (a caller that judges them against the account's own values),
    :func:`sagemaker_limit_warnings` against AWS's defaults."""
    metadata: dict[str, Any] = graph.metadata
    if metadata.get("cloud") != "aws":
        return []
    region = str(metadata.get("region") or "")
    resources = _Resources(graph)
    out = []
    for quota in QUOTAS:
        needed, default = quota.count(resources), quota.default(region)
        if needed <= default:
            continue
        account = f"account {metadata.get('account')}" if metadata.get("account") else "the account"
        where = f"{account} in {region}" if quota.regional and region else account
        head = (f"AWS quota: this environment alone needs {needed:,} {quota.what}; a new AWS account allows "
                f"{default:,} ({quota.source}).")
        if quota.maximum is not None and needed > quota.maximum:
            out.append(f"{head} That is more than the {quota.maximum:,} it can be raised to: `pulumi up` will "
                       f"fail; split the system across accounts.")
        else:
            raised = f" (it can be raised to {quota.maximum:,})" if quota.maximum is not None else ""
            out.append(f"{head} Unless the quota of {where} was raised{raised}, `pulumi up` fails partway: check "
                       "it in Service Quotas and request an increase first.")
    return out + (sagemaker_limit_warnings(graph) if sagemaker_limits else [])



SCHEDULE = "aws:scheduler/schedule:Schedule"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
FUNCTION = "aws:lambda/function:Function"
CONCURRENT_EXECUTIONS = "Maximum number of concurrent pipeline executions allowed per account"
"""The Service Quotas name of SageMaker's concurrent pipeline executions (``L-F88776CD``; module contract)."""
PER_JOB = {"training job": "Maximum number of instances per training job",
           "spot training job": "Maximum number of instances per spot training job"}
"""The Service Quotas name of the instances one training job may have, per use (module contract)."""
DEFAULTS = {CONCURRENT_EXECUTIONS: 20, **dict.fromkeys(PER_JOB.values(), 20)}
"""Each SageMaker limit's value in a new account (module contract)."""
CODES = {CONCURRENT_EXECUTIONS: "L-F88776CD", PER_JOB["training job"]: "L-622CFD70",
         PER_JOB["spot training job"]: "L-DB62C864"}
"""The Service Quotas code of each limit, for ``aws service-quotas get-service-quota``."""


@dataclass(frozen=True)
class Starts:
    """Pipelines a graph's schedules start at the same moment (module contract): ``when`` says which
    (the cron expression, or the rate intervals), ``pipelines`` their addresses started directly by a
    schedule, ``gated`` those started through their retrain gate, ``direct`` the schedules that start
    a pipeline themselves."""

    when: str
    rate: bool
    pipelines: tuple[str, ...]
    gated: tuple[str, ...]
    direct: tuple[DesiredResource, ...]

    @property
    def count(self) -> int:
        return len(set(self.pipelines) | set(self.gated))


def _started(graph: DesiredGraph) -> list[tuple[DesiredResource, str, bool]]:
    """Each schedule that starts a pipeline: (schedule, pipeline address, through a retrain gate)."""
    by_urn = graph.by_urn()
    pipelines = {str(r.inputs.get("pipelineName")): r for r in graph.resources if r.type == PIPELINE}
    out = []
    for schedule in graph.resources:
        if schedule.type != SCHEDULE:
            continue
        arn = (schedule.inputs.get("target") or {}).get("arn")
        target = by_urn.get(arn["$ref"]) if is_ref(arn) else None
        if target is None:
            continue
        if target.type == PIPELINE:
            out.append((schedule, target.address, False))
        elif target.type == FUNCTION:
            name = ((target.inputs.get("environment") or {}).get("variables") or {}).get("PIPELINE_NAME")
            if isinstance(name, str) and name in pipelines:
                out.append((schedule, pipelines[name].address, True))
    return out


def _group(when: str, rate: bool, members: list[tuple[DesiredResource, str, bool]]) -> Starts:
    return Starts(when, rate, tuple(sorted({a for _, a, g in members if not g})),
                  tuple(sorted({a for _, a, g in members if g})), tuple(s for s, _, g in members if not g))


def pipeline_starts(graph: DesiredGraph) -> list[Starts]:
    """The groups of pipelines ``graph``'s schedules start at the same moment (module contract): one per
    cron expression, then one of every rate schedule; largest first, then by ``when``. Rate schedules without a start
    date all fire when one ``up`` creates them, and together again at every common multiple of their intervals
    (11 x ``rate(90 minutes)`` and 10 x ``rate(1 hour)``: 21 every 3 hours; audit closing-45b-1), so they are one group
    whatever their intervals."""
    started = _started(graph)
    crons: dict[str, list[tuple[DesiredResource, str, bool]]] = {}
    rates: dict[int, list[tuple[DesiredResource, str, bool]]] = {}
    for item in started:
        expression = str(item[0].inputs.get("scheduleExpression") or "")
        minutes = minutes_of_rate(expression)
        if minutes is not None:
            rates.setdefault(minutes, []).append(item)
        elif expression.startswith("cron("):
            crons.setdefault(expression, []).append(item)
    groups = [_group(expression, False, members) for expression, members in crons.items()]
    if rates:  # all at once when one `up` creates them, and again at every common multiple of their intervals
        members = [item for minutes in sorted(rates) for item in rates[minutes]]
        expressions = sorted({str(s.inputs.get("scheduleExpression")) for s, _, _ in members},
                             key=lambda e: minutes_of_rate(e) or 0)
        groups.append(_group(" and ".join(expressions), True, members))
    return sorted(groups, key=lambda g: (-g.count, g.when))


def _where(graph: DesiredGraph) -> str:
    metadata: dict[str, Any] = graph.metadata
    return f"account {metadata.get('account') or '?'} in {metadata.get('region') or '?'}"


def _limit(name: str, applied: Mapping[str, float] | None, where: str) -> tuple[float, str]:
    """The value of quota ``name`` and how the warning words it: the account's (``applied``) or, offline or when the
    account's list lacks that name (a renamed quota; audit closing-45b-4: a limit nobody checks is worse than a
    default one), the value of a new account."""
    value = None if applied is None else applied.get(name)
    if value is None:
        unread = "" if applied is None else f" (the Service Quotas list of {where} names no '{name}')"
        return DEFAULTS[name], (f"a new AWS account allows {DEFAULTS[name]} ('{name}', Service Quotas {CODES[name]}), "
                                f"unless the quota of {where} was raised{unread}")
    return value, f"'{name}' is {value:g} in {where} (Service Quotas {CODES[name]})"


def _retry(schedules: tuple[DesiredResource, ...]) -> str:
    """What a schedule that starts its pipeline itself does with a refused start, from its target as compiled."""
    targets = [s.inputs.get("target") or {} for s in schedules]
    policies = {(t.get("retryPolicy") or {}).get("maximumRetryAttempts") for t in targets}, {
        (t.get("retryPolicy") or {}).get("maximumEventAgeInSeconds") for t in targets}
    kept = sum(bool(t.get("deadLetterConfig")) for t in targets)
    attempts, ages = policies
    retries = ("as its retry policy says" if len(attempts) != 1 or len(ages) != 1 or None in attempts | ages else
               f"{next(iter(attempts))} time{'s' if next(iter(attempts)) != 1 else ''} within "
               f"{int(next(iter(ages))):,} s")
    after = ("hands it to its dead-letter queue" if kept == len(targets) else
             "drops it (the schedule has no dead-letter queue: the run never happens)" if not kept else
             "hands it to its dead-letter queue where it has one, else drops it")
    return f"EventBridge Scheduler retries the start {retries}, then {after}"


def execution_warnings(graph: DesiredGraph, applied: Mapping[str, float] | None = None) -> list[str]:
    """One warning per group of :func:`pipeline_starts` larger than the account's concurrent pipeline
    executions (:data:`CONCURRENT_EXECUTIONS`: its default, or its value in ``applied``; module contract)."""
    where = _where(graph)
    quota, says = _limit(CONCURRENT_EXECUTIONS, applied, where)
    out = []
    for group in pipeline_starts(graph):
        if group.count <= quota:
            continue
        names = join_names(sorted({*group.pipelines, *group.gated}))
        if group.rate:
            moment = (f"their {group.when} schedules, created by one `pulumi up` without a start date, fire within "
                      "that apply's span of each other, and again at every common multiple of their intervals")
            fix = ("run fewer drift monitors in this account (a longer interval does not spread these starts: the "
                   "schedules still fire together, only less often)")
        else:
            moment = f"their schedule {group.when} (UTC) starts them in the same minute"
            fix = "give the training jobs' schedules different minutes (stagger the crons)"
        fails = []
        if group.pipelines:
            fails.append(_retry(group.direct))
        if group.gated:
            fails.append("a retrain gate whose start is refused fails: Lambda retries it twice, then keeps the event "
                         "in the gate's failure queue and its Errors alarm fires")
        out.append(f"SageMaker quota: {group.count:,} pipelines start at once ({names}): {moment}; {says}. Each start "
                   f"past {quota:g} fails at StartPipelineExecution (ResourceLimitExceeded), and runs still active "
                   f"from earlier starts count too; {'; '.join(fails)}. Request an increase in Service Quotas first "
                   "(whether AWS raises it: `aws service-quotas get-service-quota --service-code sagemaker "
                   f"--quota-code {CODES[CONCURRENT_EXECUTIONS]}`, field Adjustable), or {fix}.")
    return out


def per_job_warnings(graph: DesiredGraph, applied: Mapping[str, float] | None = None) -> list[str]:
    """One warning per pipeline whose Training step asks more instances than one training job may have
    (:data:`PER_JOB`: its default, or its value in ``applied``; module contract), by address."""
    from mlops_infra.plan.instance_quotas import instance_needs

    where = _where(graph)
    asks: dict[tuple[str, str], int] = {}
    for need in instance_needs(graph):
        for item in need.items if need.use in PER_JOB else ():
            key = (item.address, need.use)
            asks[key] = max(asks.get(key, 0), item.start)
    out = []
    for (address, use), count in sorted(asks.items()):
        limit = _limit(PER_JOB[use], applied, where)
        if count <= limit[0]:
            continue
        out.append(f"SageMaker quota: every run of {address} asks {count} instances (ResourceConfig.InstanceCount, its "
                   f"nodes) for one {use}; {limit[1]}. AWS documents the limit, not the refusal: expect "
                   "CreateTrainingJob to refuse the run (ResourceLimitExceeded, as past the instance quotas), so "
                   "every run fails. Request an increase in Service Quotas first, or lower nodes to at most "
                   f"{math.floor(limit[0])}.")
    return out


def sagemaker_limit_warnings(graph: DesiredGraph, applied: Mapping[str, float] | None = None) -> list[str]:
    """:func:`execution_warnings` then :func:`per_job_warnings` for an AWS graph (module contract): offline
    (``applied`` None) against the defaults, with ``--refresh`` against the account's quota table."""
    if graph.metadata.get("cloud") != "aws":
        return []
    return execution_warnings(graph, applied) + per_job_warnings(graph, applied)
