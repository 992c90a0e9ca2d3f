"""SageMaker instance quotas: the instances an AWS environment needs, per instance type and use, against
what the account may run. One plan warning per shortfall, before apply (``plan --refresh``).

SageMaker counts instances per account and Region, per instance type and per use, in quotas named
``<instance type> for endpoint usage``, ``... for training job usage``, ``... for spot training job
usage`` and ``... for processing job usage`` (Service Quotas, service code ``sagemaker``; AWS lists
them there, not on one page: "Amazon SageMaker AI endpoints and quotas",
https://docs.aws.amazon.com/general/latest/gr/sagemaker.html, points to Service Quotas). Many are 0
in a new account, GPU types above all, and a call past one fails with ``ResourceLimitExceeded``: "The
account-level service limit 'ml.m5.large for endpoint usage' is 0 Instances, with current utilization
of 0 Instances and a request delta of 1 Instances" (CreateEndpoint, users' reports:
https://github.com/aws-samples/sagemaker-custom-project-templates/issues/51,
https://github.com/awsdocs/amazon-sagemaker-developer-guide/issues/70; CreateTrainingJob "'ml.p3.2xlarge
for training job usage' is 0 Instances", https://github.com/gabehollombe-aws/jupyter-notebooks/issues/1).
A managed spot training job (``EnableManagedSpotTraining``) is counted against the spot family, not the
on-demand one: "'ml.g4dn.xlarge for spot training job usage' is 0 Instances" (CreateTrainingJob,
vietanhdev/sagemaker-yolo-terraform ``docs/increase-gpu-quota.md``: "use_spot_instances=True -> Request
'for spot training job usage'"); the ``sagemaker`` quota list (``aws service-quotas
list-aws-default-service-quotas --service-code sagemaker``, as dumped in public quota audits) holds both
families for every training type, e.g. ``L-1DE24427 ml.g6e.xlarge for spot training job usage`` beside
``L-1E3225F6 ml.g6e.xlarge for training job usage``.
So the reference system's first ``pulumi up`` fails at its endpoint in such an account, and its first
retrain fails at the training job, with nothing in the spec to blame.

Contract:
- :func:`instance_needs` is pure: a desired graph in, what it needs per (use, instance type), each
  with the items that need it. Endpoints: the production variants of the config each endpoint
  serves (``instanceType``; serverless variants have none), ``initialInstanceCount`` to create,
  the scalable target's ``maxCapacity`` (else the initial count) at full scale, and, during an
  update, the new fleet beside the old one: every endpoint update without a rolling policy is a
  blue/green one, which "creates a new fleet during the deployment while maintaining the old fleet"
  (SageMaker API reference, ``BlueGreenUpdatePolicy``: "If no update policy is specified, SageMaker
  uses a blue/green deployment strategy"), so the largest fleet again; a rolling update adds one
  batch (``rollingUpdatePolicy.maximumBatchSize``, a count or a percent of the fleet). An endpoint
  the graph records a canary rollout for (``graph.rollouts``) adds more: the controller runs a
  ``canary`` variant beside ``primary`` (sized ``ceil(p% x recorded count)`` at each step, at least 1:
  :func:`mlops_infra.canary_size.canary_instances`, the rule the runner ships; the recorded count is the one
  serving at the start, at full scale the maximum) and finishes with ``UpdateEndpoint`` to the single
  ``primary`` config, a blue/green swap whose new fleet (primary's retained count) runs beside the
  whole old one, canary variant included, until the termination wait ends
  (``rollout/drivers/sagemaker.py``, **Finish**; botocore sagemaker ``BlueGreenUpdatePolicy``): the
  fleet again plus the canary's last size. The rollout's **Start** is a blue/green update too
  (``rollout/drivers/sagemaker.py`` ``_rollout_config``: ``UpdateEndpoint`` to a config of ``primary``
  at the count serving now and ``canary`` at 1; botocore sagemaker 2017-07-24 ``UpdateEndpoint``:
  "Deploys the EndpointConfig specified in the request to a new fleet of instances. SageMaker shifts
  endpoint traffic to the new instances ... and then deletes the old instances"): the fleet plus 1
  beside the serving fleet, 2 x fleet + 1 at full scale (audit closing-38a-3). Its steps need at most
  fleet + canary <= 2 x fleet, so a quota below the start's need stops the rollout before its first
  step (the warning names the start), and only a quota the start fits and the finish passes fails at
  the finish (the warning names the finish). An endpoint still
  waiting for its model version to be registered has no config yet (``serving.compile_endpoint``),
  only its component's facts: it counts as it will be created once the version exists
  (``minReplicas``, ``maxReplicas`` when autoscaled, its whole fleet for an update), marked so in
  the warning: the apply that creates it is the one that fails. Training and
  processing: the ``ResourceConfig`` of each pipeline's Training steps and the
  ``ProcessingResources.ClusterConfig`` of its Processing steps, one run at a time per pipeline
  (the retrain gate), all pipelines possibly at once. A Training step whose
  ``EnableManagedSpotTraining`` is true (a ``spot: true`` cluster, ``compile/aws/training.py``) is use
  ``spot training job``, else ``training job``.
- :func:`use_totals`: the same needs per use over all instance types, for the account-wide quotas
  SageMaker also keeps per use (:data:`TOTALS`: ``Number of instances across active endpoints``,
  ``... across all training jobs``, ``... across all spot training jobs``, ``... across all
  processing jobs``; Service Quotas codes ``L-7A3DF611``, ``L-00C91CB5``, ``L-F311B08F`` in public
  quota-code tables; an account's applied table lists "Number of instances across all training jobs
  | 4 | Total concurrent on-demand instances" beside "... all spot training jobs | 4 | Total
  concurrent spot instances"). They refuse the call like a per-type quota: "The account-level service
  limit 'Number of instances across active endpoints' is 3 Instances, with current utilization of 3
  Instances and a request delta of 1 Instances" (CreateEndpoint, a user's notebook output), "...
  'Number of instances across all processing jobs' is 4 Instances, with current utilization of 0
  Instances and a request delta of 11 Instances"
  (https://github.com/data-science-on-aws/data-science-on-aws/issues/200). An endpoint serving
  several types counts once there, its variants summed: one update provisions all its new fleets.
- :func:`instance_quota_warnings` compares those needs with the quota values read from the account
  (``state/aws_live/service_quotas.py``: applied values, else AWS's defaults), quota name to value.
  Per (use, type), then per use over all types, one warning, the most severe: creating the
  endpoints, or one job's run, needs more than the quota (the call fails); else full scale, or every
  job at once, does (scale-out or a concurrent run is refused); else the largest update does (that
  update fails). A quota not in the table is not judged, with one exception:
- :func:`offer_warnings` (the region check, audit preflight-4): a per-type quota the table does not list
  while it lists that use's quota for other types. Service Quotas holds one quota per instance type
  SageMaker offers in the Region for that use, 0 included (``aws service-quotas
  list-aws-default-service-quotas --service-code sagemaker``, as dumped in public quota audits: 1537
  quotas, e.g. ``L-1E3225F6 ml.g6e.xlarge for training job usage``), and a type SageMaker does not offer
  there is refused at the call: "ResourceLimitExceeded ... when calling the CreateTrainingJob operation:
  The requested resource training-job/ml.p2.xlarge is not available in this region", the user "did NOT
  find ml.p2.xlarge instance in ... request limit increase", and the SageMaker team's answer "SageMaker
  does not support that instance type in that region"
  (https://github.com/aws/amazon-sagemaker-examples/issues/1001); "ValidationException ...
  CreateTrainingJob operation: Unsupported instance type ml.p3dn.24xlarge" outside the Regions that
  offer it (https://github.com/aws/amazon-sagemaker-examples/issues/3494); "certain regions do not
  support the currently specified instance type or require a limit increase" for endpoints and
  training jobs alike (https://github.com/aws-controllers-k8s/sagemaker-controller/pull/87). AWS does
  not document that the table omits such a type (rather than listing it at 0): a warning that says
  "most likely", naming the call that fails and the fix, never an error. A use the table lists no
  per-type quota of at all (a partial read, a stand-in) is not judged.
- :func:`catalog_offer_warnings`, the same region check offline (a plan without ``--refresh``), where the
  price catalog decides: only for a (use, Region) whose SageMaker prices in the catalog in use all come
  from one read of the AWS Price List Query API for that Region (``mlops-infra catalog refresh``,
  :func:`mlops_infra.catalog.pricelist.merge_catalog`: ``GetProducts ServiceCode=AmazonSageMaker
  regionCode=<region>``, every "ML Instance" product of the component ``Hosting``, ``Training`` or
  ``Processing``, which replaces that use's rows). The Price List prices what SageMaker sells in a Region
  (https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/using-price-list-query-api.html), so a
  type it lists no price for there is most likely not offered; but a catalog is a snapshot (a type
  launched since it was read is missing from it), so the warning names the catalog's date and says to
  refresh it or plan with ``--refresh``. The shipped snapshot (a few hand-sourced rows per Region) never
  decides: a missing price there is only "not counted" in the cost.
- :func:`run_time_warnings`: each Training step's ``StoppingCondition.MaxRuntimeInSeconds`` (the
  job's ``max_runtime``, which validate allows up to the API's 28 days) against the account's
  ``Longest run time for a training job`` (Service Quotas ``L-33A961FD``; "Training Limits per Region
  - Longest run time for a training job - 432,000 seconds", SageMaker Developer Guide, "Feature
  Processor restrictions, limits, and quotas",
  https://docs.aws.amazon.com/sagemaker/latest/dg/feature-store-feature-processor-quotas.html; an
  account's applied table shows "432,000 sec (5 days)"): one warning per pipeline asking more. AWS
  documents the limit, not how a longer request is met (refused at CreateTrainingJob, like the
  instance quotas, or stopped at the limit): the warning says so. When the read table has no such
  quota, nothing is judged. A spot step's ``MaxWaitTimeInSeconds`` (twice the runtime,
  ``compile/aws/training.py``) is not judged: botocore ``StoppingCondition`` documents it only as
  "equal to or greater than MaxRuntimeInSeconds", and no source found ties it to this quota. The account's other use of a type (other systems' endpoints,
  other stacks) counts against the same quota and is not seen here, so a warning is a lower bound.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.canary_size import canary_instances, fleet_swap_instances
from mlops_infra.graph import DesiredGraph, DesiredResource, is_ref
from mlops_infra.name_lists import join_names

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
USES = ("endpoint", "training job", "spot training job", "processing job")
"""The SageMaker uses whose instance quotas the plan checks, as their quota names spell them."""
TOTALS = {"endpoint": "Number of instances across active endpoints",
          "training job": "Number of instances across all training jobs",
          "spot training job": "Number of instances across all spot training jobs",
          "processing job": "Number of instances across all processing jobs"}
"""The account-wide quota of each use, over all instance types (module contract)."""
CALLS = {"endpoint": "CreateEndpoint", "training job": "CreateTrainingJob", "spot training job": "CreateTrainingJob",
         "processing job": "CreateProcessingJob"}
"""The call that creates one item of each use, the one refused past its quota."""
LONGEST_RUN = "Longest run time for a training job"
"""The account's run-time quota for one training job, in seconds (module contract)."""


def quota_name(instance_type: str, use: str) -> str:
    """The Service Quotas name of ``instance_type``'s quota for ``use``: ``ml.g5.xlarge for endpoint usage``;
    with no ``instance_type``, the account-wide quota of ``use`` (:data:`TOTALS`)."""
    return f"{instance_type} for {use} usage" if instance_type else TOTALS[use]


@dataclass(frozen=True)
class Use:
    """One item's instances of one type: ``address`` (``endpoints.scorer``), ``start`` (to create an
    endpoint, or one run of a job), ``most`` (at full scale; a run's count for jobs) and ``update``
    (what an endpoint update adds beside its fleet; 0 for jobs)."""

    address: str
    start: int
    most: int
    update: int = 0
    waiting_for: str = ""
    """``<model> v<version>`` when the endpoint waits for that version to be registered."""
    canary: int = 0
    """The canary variant's last size when a canary rollout's finish is the largest update (in ``update``)."""


@dataclass
class Need:
    """What the environment needs of one instance type for one use (module contract); ``instance_type``
    ``""``: of all types together, judged against the use's account-wide quota (:data:`TOTALS`)."""

    use: str
    instance_type: str
    items: list[Use] = field(default_factory=list)

    @property
    def start(self) -> int:
        """Endpoints: all of them created; jobs: the largest single run."""
        return sum(u.start for u in self.items) if self.use == "endpoint" else max(u.start for u in self.items)

    @property
    def most(self) -> int:
        """Endpoints at full scale; jobs: every pipeline running at once."""
        return sum(u.most for u in self.items)

    @property
    def peak(self) -> int:
        """Full scale plus the largest update's new fleet (endpoints); :attr:`most` for jobs."""
        return self.most + max((u.update for u in self.items), default=0)


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def update_beside(fleet: int, *, canary_percent: int = 0, batch: Mapping[str, Any] | None = None) -> int:
    """What an update of an endpoint whose ``fleet`` serves provisions beside it (module contract): a
    canary rollout whose last step is ``canary_percent`` the fleet again plus the canary's last size
    (its finish's swap, :func:`mlops_infra.canary_size.fleet_swap_instances`); a rolling update one
    ``batch`` (``rollingUpdatePolicy.maximumBatchSize``: a count, or a percent of the fleet); any other
    update, a blue/green fleet swap, the fleet again. The one reading of an update's extra fleet: the
    quota checks here and the cost cap (``plan/cost.update_peaks``) use it."""
    if canary_percent:
        return fleet_swap_instances(canary_percent, fleet)[1]
    if batch is None:
        return fleet
    if batch.get("type") == "INSTANCE_COUNT":
        return min(fleet, _count(batch.get("value")))
    return math.ceil(fleet * _count(batch.get("value")) / 100)


def _update_extra(endpoint: DesiredResource, fleet: int, rollout: Any) -> int:
    """What an update of ``endpoint`` provisions beside its ``fleet`` (:func:`update_beside`)."""
    if _canary_size(rollout, fleet):
        return update_beside(fleet, canary_percent=_count(rollout["steps"][-1]))
    rolling = (endpoint.inputs.get("deploymentConfig") or {}).get("rollingUpdatePolicy")
    return update_beside(fleet, batch=(rolling.get("maximumBatchSize") or {}) if rolling else None)


def _canary_size(rollout: Any, fleet: int) -> int:
    """The canary variant's size at the last step of a canary ``rollout`` of a ``fleet`` (module contract), else 0."""
    if not isinstance(rollout, dict) or rollout.get("strategy") != "canary" or not rollout.get("steps"):
        return 0
    return canary_instances(_count(rollout["steps"][-1]), fleet)


def _endpoint_uses(graph: DesiredGraph) -> Iterator[tuple[str, str, Use]]:
    by_urn = graph.by_urn()
    maxima = {str(r.inputs.get("resourceId")): _count(r.inputs.get("maxCapacity"))
              for r in graph.resources if r.type == SCALABLE_TARGET}
    for endpoint in graph.resources:
        if endpoint.type != ENDPOINT:
            continue
        config_ref = endpoint.inputs.get("endpointConfigName")
        config = by_urn.get(config_ref["$ref"]) if is_ref(config_ref) else None
        if config is None or config.type != ENDPOINT_CONFIG:
            continue
        for variant in config.inputs.get("productionVariants") or []:
            instance_type = variant.get("instanceType")
            if not isinstance(instance_type, str):
                continue  # serverless
            start = _count(variant.get("initialInstanceCount"))
            most = max(start, maxima.get(f"endpoint/{endpoint.inputs.get('name')}/variant/{variant.get('variantName')}",
                                         0))
            rollout = graph.rollouts.get(endpoint.address)
            yield "endpoint", instance_type, Use(endpoint.address, start, most, _update_extra(endpoint, most, rollout),
                                                 canary=_canary_size(rollout, most))
    for component in graph.resources:
        facts = component.inputs
        if component.custom or facts.get("kind") != "endpoint" or facts.get("deployed") is not False:
            continue
        instance_type = facts.get("instanceType")
        if isinstance(instance_type, str) and instance_type.startswith("ml."):
            start = _count(facts.get("minReplicas"))
            most = max(start, _count(facts.get("maxReplicas"))) if facts.get("autoscaling") else start
            yield "endpoint", instance_type, Use(component.address, start, most, most,
                                                 f"{facts.get('model')} v{facts.get('waitingFor')}")


def _definition(pipeline: DesiredResource) -> dict[str, Any]:
    definition = pipeline.inputs.get("pipelineDefinition")
    if isinstance(definition, dict) and isinstance(definition.get("$json"), dict):
        return definition["$json"]
    if isinstance(definition, str):
        try:
            parsed = json.loads(definition)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _job_uses(graph: DesiredGraph) -> Iterator[tuple[str, str, Use]]:
    for pipeline in graph.resources:
        if pipeline.type != PIPELINE:
            continue
        for step in _definition(pipeline).get("Steps") or []:
            arguments = step.get("Arguments") or {}
            if step.get("Type") == "Training":
                use = "spot training job" if arguments.get("EnableManagedSpotTraining") is True else "training job"
                resources = arguments.get("ResourceConfig") or {}
            elif step.get("Type") == "Processing":
                use, resources = "processing job", (arguments.get("ProcessingResources") or {}).get("ClusterConfig") or {}
            else:
                continue
            instance_type, count = resources.get("InstanceType"), _count(resources.get("InstanceCount"))
            if isinstance(instance_type, str) and count:
                yield use, instance_type, Use(pipeline.address, count, count)


def instance_needs(graph: DesiredGraph) -> list[Need]:
    """What ``graph`` needs per (use, instance type), in :data:`USES` order then by type (module contract)."""
    needs: dict[tuple[str, str], Need] = {}
    for use, instance_type, item in (*_endpoint_uses(graph), *_job_uses(graph)):
        needs.setdefault((use, instance_type), Need(use, instance_type)).items.append(item)
    return sorted(needs.values(), key=lambda n: (USES.index(n.use), n.instance_type))


def use_totals(needs: list[Need]) -> list[Need]:
    """The needs of each use over all its instance types (``instance_type`` ``""``), in :data:`USES`
    order: an endpoint serving several types counts once, its variants summed (one update provisions
    them all); jobs as for one type (module contract)."""
    totals = []
    for use in USES:
        items = [u for n in needs if n.use == use for u in n.items]
        if items:
            totals.append(Need(use, "", _per_endpoint(items) if use == "endpoint" else items))
    return totals


def _per_endpoint(items: list[Use]) -> list[Use]:
    merged: dict[str, Use] = {}
    for u in items:
        p = merged.get(u.address)
        merged[u.address] = u if p is None else Use(u.address, p.start + u.start, p.most + u.most,
                                                     p.update + u.update, p.waiting_for or u.waiting_for,
                                                     p.canary + u.canary)
    return list(merged.values())


def _training_runtimes(graph: DesiredGraph) -> Iterator[tuple[str, int]]:
    for pipeline in graph.resources:
        if pipeline.type != PIPELINE:
            continue
        for step in _definition(pipeline).get("Steps") or []:
            stopping = (step.get("Arguments") or {}).get("StoppingCondition") or {}
            if step.get("Type") == "Training" and _count(stopping.get("MaxRuntimeInSeconds")):
                yield pipeline.address, _count(stopping.get("MaxRuntimeInSeconds"))


def _duration(seconds: float) -> str:
    return f"{seconds:g} s ({seconds / 86400:.3g} days)" if seconds >= 86400 else f"{seconds:g} s ({seconds / 3600:.3g} h)"


def run_time_warnings(graph: DesiredGraph, quotas: Mapping[str, float], where: str) -> list[str]:
    """One warning per pipeline whose Training step asks more than :data:`LONGEST_RUN` in ``quotas``
    (module contract), by address; none when the quota is not in ``quotas``."""
    quota = quotas.get(LONGEST_RUN)
    if quota is None:
        return []
    return [f"SageMaker quota: '{LONGEST_RUN}' is {_duration(quota)} in {where}; every run of {address} asks up to "
            f"{_duration(runtime)} (MaxRuntimeInSeconds, its max_runtime), more than the account allows a training "
            "job (AWS documents the limit, not whether CreateTrainingJob refuses such a run or stops it at the "
            "limit). Request an increase in Service Quotas first, or lower max_runtime."
            for address, runtime in sorted(set(_training_runtimes(graph))) if runtime > quota]


def _items(need: Need, attribute: str) -> str:
    return join_names([f"{u.address} {getattr(u, attribute)}" + (f" once {u.waiting_for} is registered"
                                                                 if u.waiting_for else "")
                       for u in sorted(need.items, key=lambda u: u.address)])


def _warning(need: Need, quota: float, where: str) -> str | None:
    name = quota_name(need.instance_type, need.use)
    head = f"SageMaker quota: '{name}' is {quota:g} in {where}"
    other = "of this type " if need.instance_type else ""
    fix = f"Request an increase in Service Quotas first (other use {other}in the account counts too)."
    if need.use == "endpoint":
        if need.start > quota:
            return (f"{head}; creating this environment's endpoints needs {need.start} ({_items(need, 'start')}), so "
                    f"the `pulumi up` that creates them fails at CreateEndpoint (ResourceLimitExceeded). {fix}")
        if need.most > quota:
            return (f"{head}; they need {need.most} at full scale ({_items(need, 'most')}): autoscaling stops short "
                    f"of it, as SageMaker refuses the scale-out. {fix}")
        if need.peak > quota:
            largest = max(need.items, key=lambda u: u.update)
            if largest.canary:
                serving = largest.update - largest.canary
                start = need.most + serving + 1
                if start > quota:
                    return (f"{head}; the canary rollout of {largest.address} starts with a blue/green UpdateEndpoint "
                            f"whose new fleet (primary {serving} and the canary variant at 1) runs beside the serving "
                            f"{serving}, {start} in all at full scale, so the rollout cannot start: the new version "
                            f"is never served. {fix}")
                return (f"{head}; the canary rollout of {largest.address} ends with a blue/green swap whose new fleet "
                        f"runs beside primary and the canary variant ({largest.canary} at its last step), "
                        f"{need.peak} in all at full scale, so the finish fails. {fix}")
            return (f"{head}; an update of {largest.address} (a new model version or config) provisions its new fleet "
                    f"beside the old one, {need.peak} in all at full scale, so it fails. {fix}")
        return None
    largest = max(need.items, key=lambda u: (u.start, u.address))
    if need.start > quota:
        return (f"{head}; a run of {largest.address} needs {need.start}, so it fails at {CALLS[need.use]} "
                f"(ResourceLimitExceeded). {fix}")
    if need.most > quota:
        return (f"{head}; runs of {_items(need, 'most')} at the same time need {need.most}: the one past the quota "
                f"fails. {fix}")
    return None


def _listed_types(quotas: Mapping[str, float], use: str) -> set[str]:
    suffix = f" for {use} usage"
    return {name[:-len(suffix)] for name in quotas if name.startswith("ml.") and name.endswith(suffix)}


def offer_warnings(needs: list[Need], quotas: Mapping[str, float], where: str) -> list[str]:
    """One warning per per-type need whose quota ``quotas`` does not list while it lists that use's
    quota for other instance types (module contract, :func:`offer_warnings`), in ``needs`` order."""
    out = []
    for need in needs:
        name = quota_name(need.instance_type, need.use)
        listed = _listed_types(quotas, need.use) if need.instance_type and name not in quotas else set()
        if not listed:
            continue
        call = "CreateEndpointConfig or CreateEndpoint" if need.use == "endpoint" else CALLS[need.use]
        items = join_names(sorted({u.address for u in need.items}))
        out.append(f"SageMaker quota: '{name}' is not among the SageMaker quotas of {where}, which lists that use "
                   f"for {len(listed)} other instance type{'s' if len(listed) != 1 else ''}: SageMaker most likely does not offer "
                   f"{need.instance_type} for {need.use} use there, so {items} fails at {call} (\"not available "
                   f"in this region\" or \"Unsupported instance type\"). Pick an instance type the region lists "
                   f"for {need.use} usage in Service Quotas, or another region.")
    return out


CATALOG_USES = {"endpoint": "inference", "training job": "training", "spot training job": "training",
                "processing job": "processing"}
"""The price catalog's use of each SageMaker use (:data:`USES`)."""


def catalog_offer_warnings(graph: DesiredGraph, needs: list[Need] | None = None, prices: Any = None) -> list[str]:
    """One warning per (use, instance type) of ``graph`` the price catalog (``prices``; default the one in
    use) lists no price for in the graph's Region while a Price List read of that Region and use holds
    its prices (module contract, :func:`catalog_offer_warnings`), in :func:`instance_needs` order."""
    metadata: dict[str, Any] = graph.metadata
    region = str(metadata.get("region") or "")
    from mlops_infra import catalog

    prices = catalog.price_catalog() if prices is None else prices
    read = f"GetProducts ServiceCode=AmazonSageMaker regionCode={region}"
    offered: dict[str, set[str]] = {}
    sources: dict[str, set[str]] = {}
    for (service, use, where, instance), (_usd, source) in prices.prices.items():
        if service == "sagemaker" and where == region:
            offered.setdefault(use, set()).add(instance)
            sources.setdefault(use, set()).add(source)
    decided = {use: [prices.sources[key] for key in sorted(keys)] for use, keys in sources.items()
               if all(read in prices.sources[key].url for key in keys)}
    if not decided:  # the shipped snapshot: nothing to decide, and no need computed
        return []
    out = []
    for need in instance_needs(graph) if needs is None else needs:
        use = CATALOG_USES[need.use]
        read_from = decided.get(use)
        if not read_from or need.instance_type in offered[use]:
            continue
        call = "CreateEndpointConfig or CreateEndpoint" if need.use == "endpoint" else CALLS[need.use]
        items = ", ".join(sorted({u.address for u in need.items}))
        as_of = max(s.as_of for s in read_from)
        out.append(f"instance offer: the price catalog ({prices.path.name}, read from the AWS Price List on {as_of}) "
                   f"has no SageMaker {use} price for {need.instance_type} in {region}, so SageMaker most likely does "
                   f"not offer it there for {need.use} use, and {items} would fail at {call}. Pick an instance type "
                   f"the region offers, or another region; if the type is newer than the catalog, refresh it "
                   f"(`mlops-infra catalog refresh --regions {region}`) or plan with --refresh (Service Quotas "
                   "decides).")
    return out


def instance_quota_warnings(graph: DesiredGraph, quotas: Mapping[str, float],
                            needs: list[Need] | None = None) -> list[str]:
    """One warning per (use, instance type) whose need passes its quota in ``quotas`` (quota name ->
    value; module contract), in :func:`instance_needs` order; ``needs``: that of ``graph``, when the
    caller has it already."""
    metadata: dict[str, Any] = graph.metadata
    where = f"account {metadata.get('account') or '?'} in {metadata.get('region') or '?'}"
    out = []
    needs = instance_needs(graph) if needs is None else needs
    for need in (*needs, *use_totals(needs)):
        quota = quotas.get(quota_name(need.instance_type, need.use))
        if quota is None:
            out += offer_warnings([need], quotas, where)
            continue
        warning = _warning(need, quota, where)
        if warning:
            out.append(warning)
    return out + run_time_warnings(graph, quotas, where)
