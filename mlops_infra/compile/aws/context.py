"""What the AWS section compilers share while one system compiles.

Contract: :class:`AwsContext` wraps the target-neutral :class:`CompileContext` and adds the AWS
facts (partition, region, account), the explicit provider, the platform component and what the
sections publish for each other, keyed by item name: bucket names, model package groups, SNS
topics, alarms, pipelines. Sections run in dependency order (see ``compile_aws``), so a section
only reads what earlier sections published. Every custom resource goes through :meth:`add`, which
sets the explicit provider and, when the type takes them, the tags.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from mlops_infra.compile.aws import arns
from mlops_infra.compile.context import CompileContext
from mlops_infra.compile.naming import physical_name
from mlops_infra.graph import ResourceOptions
from mlops_infra.spec import containers


def require(value, what: str):
    """``value``, or a bug error: spec checks reject dangling references before compiling."""
    if value is None:
        raise ValueError(f"{what} does not exist; spec checks must reject this (this is a bug in mlops-infra)")
    return value


UNTAGGED_TYPES = frozenset({
    "aws:iam/rolePolicy:RolePolicy", "aws:kms/alias:Alias", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:scheduler/schedule:Schedule", "aws:cloudwatch/eventTarget:EventTarget",
    "aws:sns/topicSubscription:TopicSubscription", "aws:sns/topicPolicy:TopicPolicy", "aws:lambda/permission:Permission",
    "aws:appautoscaling/policy:Policy", "aws:cloudwatch/dashboard:Dashboard",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
})
"""Resource types without a ``tags`` input (checked against pulumi_aws in the tests)."""
ITEM_TAG = "mlops-infra/item"
"""The tag naming the ML item a resource belongs to (``endpoints.scorer``)."""
T = TypeVar("T")


@dataclass
class AwsContext:
    """The AWS view of one compile (see the module docstring)."""

    ctx: CompileContext
    provider: str = ""
    platform: str = ""
    key: str = ""
    repository: str = ""
    repository_name: str = ""
    drift_image: str = ""
    """URN of the drift-job image build (compile/aws/drift_image.py), once a drift monitor needs it."""
    buckets: dict[str, str] = field(default_factory=dict)
    """data source name -> physical bucket name."""
    platform_buckets: dict[str, str] = field(default_factory=dict)
    """platform bucket purpose (capture, artifacts) -> physical bucket name."""
    bucket_urns: dict[str, str] = field(default_factory=dict)
    """physical bucket name -> Bucket URN (what reads or writes a bucket waits for it)."""
    groups: dict[str, str] = field(default_factory=dict)
    """model name -> ModelPackageGroup URN."""
    topics: dict[str, str] = field(default_factory=dict)
    """channel name -> SNS topic URN."""
    alarms: dict[str, str] = field(default_factory=dict)
    """alert name -> MetricAlarm URN."""
    alarm_names: dict[str, str] = field(default_factory=dict)
    """alert name -> physical alarm name."""
    pipelines: list[str] = field(default_factory=list)
    """Pipeline URNs the scheduler role may start."""
    gates: list[str] = field(default_factory=list)
    """Retrain gate Lambda URNs the scheduler role may invoke (:mod:`gates`)."""
    statement_ids: dict[str, set[str]] = field(default_factory=dict)
    """Lambda permission ``statementId``s given so far, per function URN (:func:`gates.statement_id`)."""
    job_roles: list[str] = field(default_factory=list)
    """Role URNs the pipeline role may pass to SageMaker jobs."""
    endpoint_names: dict[str, str] = field(default_factory=dict)
    """endpoint name -> physical SageMaker endpoint name (:func:`~mlops_infra.compile.aws.serving.endpoint_name`)."""
    canaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """endpoint address -> what the rollout runner drives there (compile/aws/rollout_runner.py): the
    physical endpoint, the new version, its final config and model, whether the config uses the
    platform key and whether the endpoint is autoscaled."""
    model_reads: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = field(default_factory=dict)
    """model name -> what its serving roles read, made once
    (:func:`~mlops_infra.compile.aws.serving._model_reads`)."""
    used_roles: set[str] = field(default_factory=set)
    """Platform roles some resource uses ('pipelines', 'scheduler'); only those are created."""
    _item_tags: dict[str, dict[str, str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """item address -> its tags (:meth:`tags`), never handed out: callers get copies."""
    ref_arns: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """URN -> the ``(ARN, exact)`` of its ``arn`` output, or None (``iam._ref_arn``, once per URN)."""
    ref_deltas: dict[bytes, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    """A ref's JSON text -> what the ARN it resolves to counts in an IAM policy beyond that text
    (``iam.policy_characters``, once per ref: the platform key is in most role policies)."""
    contract_files: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    """data source name -> the contract file of a drift job with that baseline
    (``monitoring._contract_source``: ``drift_job.contract_file`` of the data source, written once)."""
    _names: dict[tuple[tuple[str, ...], int], str] = field(default_factory=dict, init=False, repr=False,
                                                           compare=False)
    """(parts, max_len) -> :meth:`name`'s answer (:meth:`name`)."""
    _made: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    """key -> :meth:`once`'s value."""

    @cached_property
    def region(self) -> str:
        """The target's region (read once per compile: most ARNs ask, and the target is a frozen
        spec model, ``frozen=True`` in ``spec/base.py``)."""
        return self.ctx.target.region

    @cached_property
    def account(self) -> str:
        """The target's account (read once per compile, as :attr:`region`)."""
        return self.ctx.target.account

    @property
    def partition(self) -> str:
        return arns.partition(self.region)

    @cached_property
    def model_indexes(self) -> dict[str, int]:
        """model name -> its index in ``system.models`` (diagnostic paths), computed once per compile."""
        return {m.name: i for i, m in enumerate(self.ctx.system.models)}

    @cached_property
    def serving_instances(self) -> dict[str, str]:
        """model name -> the instance that picks its serving image (:func:`containers.serving_instances`),
        once per compile: asked per endpoint, a per-call scan was quadratic in endpoints."""
        return containers.serving_instances(self.ctx.system)

    @cached_property
    def monitors_by_endpoint(self) -> dict[str, list[Any]]:
        """endpoint name -> its monitors in ``system.monitors`` order, once per compile (asked per
        endpoint, a scan of every monitor was quadratic in endpoints)."""
        out: dict[str, list[Any]] = {}
        for monitor in self.ctx.system.monitors:
            out.setdefault(monitor.endpoint, []).append(monitor)
        return out

    @cached_property
    def endpoints_by_model(self) -> dict[str, list[Any]]:
        """model name -> the endpoints serving it, in ``system.endpoints`` order, once per compile
        (as :attr:`monitors_by_endpoint`)."""
        out: dict[str, list[Any]] = {}
        for endpoint in self.ctx.system.endpoints:
            out.setdefault(endpoint.model.name, []).append(endpoint)
        return out

    @cached_property
    def jobs_by_registered_model(self) -> dict[str, list[Any]]:
        """model name -> the training jobs registering it, in ``system.training_jobs`` order, once per
        compile (as :attr:`monitors_by_endpoint`)."""
        out: dict[str, list[Any]] = {}
        for job in self.ctx.system.training_jobs:
            out.setdefault(job.registers, []).append(job)
        return out

    @cached_property
    def alerts_by_monitor(self) -> dict[str, list[tuple[int, Any]]]:
        """monitor name -> (index in ``system.alerts``, alert) of the alerts on it, in order, once
        per compile (as :attr:`monitors_by_endpoint`)."""
        out: dict[str, list[tuple[int, Any]]] = {}
        for index, alert in enumerate(self.ctx.system.alerts):
            out.setdefault(alert.monitor, []).append((index, alert))
        return out

    @cached_property
    def _system_name(self) -> str:
        return self.ctx.system.metadata.name

    def name(self, *parts: str, max_len: int = 63) -> str:
        """:meth:`CompileContext.name`'s name (the same call, one frame fewer: most resources ask),
        made once per ``parts`` and ``max_len``: :func:`~mlops_infra.compile.naming.physical_name` is
        a function of its arguments alone, and many names are asked for more than once (a drift
        job's by its pipeline, schedule and silence alarm; the environment's own prefix,
        ``name(max_len=120)``, by every silence, rollback and training-failure alarm's name)."""
        key = (parts, max_len)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = physical_name(self._system_name, self.ctx.env, *parts, max_len=max_len)
        return found

    def once(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, made once per compile and ``key``: for an input value that is a function of ``key``
        and this compile's facts alone (target, platform resources), asked by every item of a kind: the
        trust policy of every role trusting the same services, the statements every drift job's role
        holds alike. Every resource holding it holds that one object, as an item's resources share its
        tags (:meth:`add`: a graph's inputs are read, never changed)."""
        made = self._made
        if key not in made:
            made[key] = make()
        return made[key]

    @cached_property
    def _around_item_tag(self) -> tuple[dict[str, str], dict[str, str]]:
        """The tags of an item (``ctx.tags`` with :data:`ITEM_TAG`) before and after :data:`ITEM_TAG`.
        ``ctx.tags`` sorts by key, and the keys are the same for every item, so an item's tags are
        ``{**before, ITEM_TAG: address, **after}`` (made without a sort per item)."""
        tags = list(self.ctx.tags(**{ITEM_TAG: ""}).items())
        at = [key for key, _ in tags].index(ITEM_TAG)
        return dict(tags[:at]), dict(tags[at + 1:])

    def _item_tags_of(self, address: str) -> dict[str, str]:
        """``ctx.tags(**{ITEM_TAG: address})`` (see :attr:`_around_item_tag`), made once per item."""
        made = self._item_tags.get(address)
        if made is None:
            before, after = self._around_item_tag
            made = self._item_tags[address] = {**before, ITEM_TAG: address, **after}
        return made

    def tags(self, address: str) -> dict[str, str]:
        """The system's tags plus the ML item the resource belongs to (a new dict each call; made
        once per item: most items tag several resources)."""
        return dict(self._item_tags_of(address))

    def add(self, type_: str, name: str, inputs: dict[str, Any], *, parent: str, address: str, role: str,
            options: ResourceOptions | None = None, depends_on: tuple[str, ...] | list[str] = (),
            refs_in: Any = None) -> str:
        """Add a custom resource with the explicit provider (and tags when the type has them).

        The builder searches ``refs_in`` for refs when given (see :meth:`GraphBuilder.add`), else
        ``inputs`` as the caller passed them: the tags added here are strings, never refs.
        The tagged resources of one item share one ``tags`` object (:meth:`_item_tags_of`'s, not a
        copy each): a graph's inputs are read, never changed (:mod:`mlops_infra.graph`), and most
        items tag several resources (memory: issue 14's 10,000-endpoint plan)."""
        if refs_in is None:
            refs_in = inputs
        if type_ not in UNTAGGED_TYPES:
            inputs = {**inputs, "tags": self._item_tags_of(address)}
        return self.ctx.builder.add(type_, name, inputs, parent=parent, provider=self.provider,
                                    options=options, depends_on=depends_on, address=address, role=role,
                                    refs_in=refs_in)

    def urn(self, type_: str, name: str, parent: str) -> str:
        """The URN a resource will have (to depend on it before it is added)."""
        return self.ctx.builder.urn_for(type_, name, parent)
