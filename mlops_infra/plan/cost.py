"""Monthly cost before and after a plan, from ML facts and the catalog's sourced prices.

Contract of :func:`estimate_cost` (pure; no clock: schedules are counted over a fixed month):
- Facts come from component resources (``compile/facts.py``): the desired graph's ("after") and
  the prior state's ("before"). Months are 730 hours; every amount is USD per month as a range,
  floor (min replicas/nodes) to ceiling (max).
- Prices (:mod:`mlops_infra.catalog`) are on-demand, per region and per use: a SageMaker endpoint
  at its Hosting price, a training job at its Training price, a drift job at its Processing price,
  all in the environment's region; a Kubernetes node at the EC2 on-demand price (Linux) of its
  shape. A price is never borrowed from another region or use: when the catalog has none, the item
  is "not counted" (a note says which price is missing and how to refresh the catalog) and adds no
  number. Kubernetes targets name no region: nodes are priced in :data:`KUBERNETES_PRICE_REGION`
  and the note says so.
- Endpoints: replicas min..max x the hourly price of ``instanceType``. An endpoint without
  ``autoscaling`` (facts key present and None) runs at ``minReplicas`` fixed on both targets
  (docs/semantics.md): floor = ceiling = min replicas. The floor is what runs
  (:func:`running_floor`): at least 1 wherever the target cannot run none. On Kubernetes an
  endpoint with no node shape (no accelerator, no instance type) is priced as the node its pod is
  sized for, one per replica, floor 0 (:func:`endpoint_instance`).
- Training on AWS: SageMaker bills per run: runs per month (the cron's runs over the
  :data:`REFERENCE_DAYS` days of a year from :data:`REFERENCE_START`, divided by 12: an average
  month, as the 730 h month of the endpoints, so a weekly run counts 4.33 times and a yearly one
  1/12) x nodes x max_runtime hours (24 h,
  SageMaker's default limit, when unset) x the training price; floor = ceiling (each run is
  assumed to use its whole max_runtime). A job without a schedule is not counted (note). A job with
  a schedule and ``onAlerts`` also runs when those alerts fire, and how often they fire is not
  known: the floor is its scheduled runs, the ceiling the job running back to back all month
  (730 h / max_runtime runs: its retrain gate starts none while one runs,
  ``compile/aws/retrain_gate.py``, for the schedule and the alerts alike), with a note naming the
  alerts. AWS clusters cost nothing between runs.
- Spot (a cluster's ``spot``): no first-party source publishes spot prices as a snapshot (they move
  with supply and demand), so spot capacity is not priced: the on-demand figure is shown as its
  ceiling, with the note :data:`SPOT_NOTE`. Spot never bills above on-demand: EC2 Spot's maximum
  price defaults to the On-Demand price
  (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-spot-instances.html), and SageMaker
  managed spot training bills spot usage below the on-demand rate
  (https://docs.aws.amazon.com/sagemaker/latest/dg/model-managed-spot-training.html).
- On Kubernetes a cluster is nodes min..max x 730 h x the EC2 node price (the max is a ceiling);
  its training jobs run on it and add nothing.
- Scheduled drift/quality jobs (monitors whose facts carry ``jobInstanceType``,
  ``jobScheduleSeconds`` and ``jobMaxRuntimeSeconds``, see ``compile/drift_job.py``): runs per
  month (730 h / the schedule: an interval, not a cron, so an average month's count, maybe
  fractional; on AWS the interval the EventBridge schedule runs at, whole minutes: :func:`drift_interval`)
  x the max runtime in hours x the hourly price of one ``jobInstanceType``: the
  SageMaker Processing price on AWS; on Kubernetes the EC2 price of a node of that shape. The
  ceiling assumes each run lasts its whole max runtime. On AWS the floor equals it (SageMaker
  starts an instance for each run; how long a run really takes is not known and none is invented,
  as for training); on Kubernetes the floor is 0 (the job's pod is small and may fit on nodes that
  are up anyway), and the run count is approximate (the CronJob's cron rounds some intervals). A
  drift monitor whose facts lack these keys (state saved by an older mlops-infra) is a note, never
  a guess.
- ``rollout_extra_usd``: the one-off extra capacity of the rollouts this plan starts, at the floor
  (the fewest replicas that run, :func:`running_floor`). Blue/green (and all-at-once on AWS, a
  blue/green fleet swap at every ``UpdateEndpoint``: botocore ``BlueGreenUpdatePolicy`` "creates a new
  fleet during the deployment while maintaining the old fleet", ``TerminationWaitInSeconds`` the bake)
  = the old fleet, as it ran (the before-side facts): on AWS for any replacement of the endpoint config
  (:data:`CONFIG_FACTS`), for the new fleet's provisioning plus the termination wait, at most 3600 s
  (:func:`fleet_swap_hours`), with or without a bake; on Kubernetes for a new model or version, for the bake. Canary (a new model
  or version) = for each step ``s``, ceil(s% x replicas) canary instances (at least 1) for one bake on
  AWS, plus the two whole-fleet swaps of its start and its finish (botocore sagemaker ``UpdateEndpoint``:
  "Deploys the EndpointConfig specified in the request to a new fleet of instances"; the start's new
  fleet is replicas + 1, the finish's replicas beside the canary's last size:
  ``canary_size.fleet_swap_instances``), each for ``canary_size.FLEET_PROVISIONING_SECONDS`` (audit
  rolloutaws-4); on Kubernetes at least min replicas per step and no swap (KServe's canary is the new
  revision, which takes all traffic at the finish). Rolling adds none (note). A canary is sized from the
  replicas serving (at least those at its start, ``rollout/drivers/sagemaker.py``), which an autoscaled
  endpoint may have scaled out to ``maxReplicas``: a note of the item gives the figure there
  (``rollout extra $a at N replica(s) to $b at M``). A canary's note also says what a rollback keeps
  per hour until a later version rolls out (SageMaker: the canary variant shrunk to one instance;
  KServe: the new revision's min replicas, docs/rollout.md).
- A region move (the prior state's AWS provider in another region than the environment's, :func:`prior_region`):
  ``before`` is priced in the prior region, where the applied stack runs and is billed, ``after`` in the
  environment's, and the first note says so (audit xregion-5).
- ``not_counted`` lists the items the totals leave out (a missing price, no schedule, no node
  shape, facts too old to price); ``sources`` lists each distinct price source URL with its date;
  ``notes`` are de-duplicated per item (``endpoints.x: no eu-west-1 price for ...``, or ``... (12 items, e.g. endpoints.a)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from mlops_infra import catalog
from mlops_infra.canary_size import FLEET_PROVISIONING_SECONDS, canary_instances, fleet_swap_instances
from mlops_infra.compile.aws.schedules import rate_minutes
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.instance_quotas import update_beside
from mlops_infra.plan.model import HOURS_PER_MONTH, CostEstimate, CostLine, CostRange
from mlops_infra.policy.facts import component_facts
from mlops_infra.policy.model import CostCeiling
from mlops_infra.policy.rules import borrowed_nodes, unbounded_borrowing
from mlops_infra.spec.cost import peak_nodes
from mlops_infra.spec.fit import DEFAULT_INSTANCE
from mlops_infra.spec.monitoring import DRIFT_METRICS
from mlops_infra.spec.rolling_batch import rolling_batch
from mlops_infra.spec.serving import Rollout
from mlops_infra.state.model import PriorState

REFERENCE_START = datetime(2025, 1, 1, tzinfo=UTC)
"""Start of the fixed reference year that cron schedules are counted over."""
REFERENCE_DAYS = 365
"""The reference year: a cron's runs in it / 12 is its runs in an average month. A 30-day window
from a Wednesday counted a weekly run 4 or 5 times by its weekday (4.35 on average), a yearly or
quarterly one once a month, and a run on the 31st or in June not at all."""
KUBERNETES_PRICE_REGION = "us-east-1"
"""Region whose EC2 prices stand for Kubernetes nodes (a Kubernetes target names no region)."""
SPOT_NOTE = "spot: not priced (no spot price source); the on-demand figure is its ceiling"
REFRESH_HINT = "missing prices: `mlops-infra catalog refresh --regions {region}` with AWS credentials adds them (docs/prices.md)"
DEFAULT_MAX_RUNTIME_SECONDS = 86400
"""SageMaker's default ``MaxRuntimeInSeconds`` (1 day), used when a job sets no max_runtime."""



@lru_cache(maxsize=256)
def scheduled_runs(cron: str | None) -> float | None:
    """Runs of a cron schedule (UTC) in an average month (the reference year's runs / 12, see
    :data:`REFERENCE_DAYS`); None for no or an unreadable schedule. A cron fires at each of its
    minutes and hours on each day its day fields match, so the year's runs are those per day times
    the days: counted for every day, else the days walked once each (their own cron, ``0 0 <day of
    month> <month> <day of week>``, so croniter keeps its day-of-month/day-of-week rule). A five-field
    cron is read as the targets run it (:func:`_as_scheduled`)."""
    if not cron:
        return None
    from croniter import croniter  # with dateutil and six: imported when a plan prices a scheduled job

    fields = cron.split()
    if len(fields) == 5:
        fields = _as_scheduled(cron, fields)
    try:
        it = croniter(" ".join(fields), REFERENCE_START - timedelta(microseconds=1))
    except (ValueError, KeyError, TypeError):
        return None
    minutes, hours, *day_fields = it.expanded[:5]
    per_day = (60 if minutes == ["*"] else len(minutes)) * (24 if hours == ["*"] else len(hours))
    if all(field == ["*"] for field in day_fields):  # every day: counted, not walked
        return per_day * REFERENCE_DAYS / 12
    if len(fields) == 5:  # it fires at each of its minutes and hours on the days of "0 0 <dom> <month> <dow>"
        it, per_run = croniter("0 0 " + " ".join(fields[2:]), REFERENCE_START - timedelta(microseconds=1)), per_day
    else:  # an alias (@daily, @weekly, ...): a few hundred runs at most, walked
        per_run = 1
    end = REFERENCE_START + timedelta(days=REFERENCE_DAYS)
    runs = 0
    while it.get_next(datetime) < end:
        runs += 1
    return runs * per_run / 12


def _as_scheduled(cron: str, fields: list[str]) -> list[str]:
    """The fields as the targets run them (:func:`~mlops_infra.spec.cron.kubernetes_schedule`: the
    spec parser's weekdays, Sunday written 0): croniter reads ``7-7`` as every day, where the
    parser, the Kubernetes CronJob and the AWS schedule run Sundays only. ``fields`` when the cron
    does not parse (validate reports it)."""
    from mlops_infra.spec.cron import CronError, kubernetes_schedule, parse_cron_expression

    try:
        return kubernetes_schedule(parse_cron_expression(cron)).split()
    except CronError:
        return fields


def runs_text(runs: float) -> str:
    """A run count as shown: ``4.33``, ``30.42``, ``730``, ``2,920``."""
    return f"{runs:,.2f}".rstrip("0").rstrip(".")


def facts_by_address(items: Any) -> dict[str, dict[str, Any]]:
    """``{address: facts}`` from resources (desired or state) that carry ML facts: the guardrails'
    reader (:func:`mlops_infra.policy.facts.component_facts`), one definition of a component's facts."""
    return component_facts(items)


def target_cloud(graph: DesiredGraph) -> str:
    """``aws`` or ``kubernetes``: the graph's metadata, else what its resource types say."""
    cloud = graph.metadata.get("cloud") or graph.metadata.get("kind")
    if cloud in ("aws", "kubernetes"):
        return cloud
    kube = any(r.type.startswith("kubernetes:") for r in graph.resources)
    aws = any(r.type.startswith("aws:") for r in graph.resources)
    return "kubernetes" if kube and not aws else "aws"


@dataclass
class _Pricer:
    """Price lookups for one estimate, collecting sources and notes."""

    cloud: str
    region: str
    address: str = ""
    sources: set[str] = field(default_factory=set)
    notes: dict[str, set[str]] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    """Regions with a price the catalog lacks (the notes end with how to refresh them)."""
    uncounted: set[str] = field(default_factory=set)
    """Addresses of items left out of the totals (no price, no schedule, no node shape)."""
    unpriced: set[str] = field(default_factory=set)
    """Addresses of the items among ``uncounted`` whose price the catalog lacks (``missing`` names
    the regions): what a cost cap cannot check (:func:`hourly_ceiling`)."""
    prices: dict[tuple[str, str], catalog.Price | None] = field(default_factory=dict)
    """(instance, use) -> the catalog's answer, asked once per estimate (thousands of items share
    a few instance types; the catalog in use does not change during one)."""

    def note(self, text: str) -> None:
        """Record a caveat for the item being priced (``address``)."""
        self.notes.setdefault(text, set()).add(self.address)

    def not_counted(self, text: str) -> None:
        """Record that the item being priced adds no number (``text`` says why)."""
        self.note(text)
        self.uncounted.add(self.address)

    def note_lines(self) -> tuple[str, ...]:
        """One line per caveat: ``<address>: <text>`` or ``<text> (N items, e.g. <address>)``."""
        out = []
        for text, addresses in self.notes.items():
            first = min(addresses)
            out.append(f"{first}: {text}" if len(addresses) == 1 else f"{text} ({len(addresses)} items, e.g. {first})")
        hints = [f"missing prices: {why}" if (why := catalog.unpriceable(region)) else REFRESH_HINT.format(region=region)
                 for region in sorted(self.missing)]  # xregion-2: no refresh prices an aws-cn region
        return (*sorted(out), *hints)

    def shown(self, instance: str) -> str:
        """The instance name as priced: the EC2 node shape on Kubernetes."""
        return f"{catalog.ec2_name(instance)} node" if self.cloud == "kubernetes" else instance

    def _price(self, instance: str, use: catalog.Use) -> catalog.Price | None:
        if self.cloud == "kubernetes":
            return catalog.ec2_price(instance, KUBERNETES_PRICE_REGION)
        return catalog.price(instance, use, self.region)

    def hourly(self, instance: str | None, use: catalog.Use) -> tuple[float | None, str]:
        """(USD per hour, note) of one instance of ``instance`` for ``use`` on this target."""
        if not instance:
            if self.cloud == "kubernetes":
                self.not_counted("no node shape: not counted")
            return None, ""
        key = (instance, use)
        if key not in self.prices:
            self.prices[key] = self._price(instance, use)
        price = self.prices[key]
        if self.cloud == "kubernetes":
            note = f"EC2 on-demand node price, {KUBERNETES_PRICE_REGION}: the target names no region"
            shown = f"{catalog.ec2_name(instance)} (EC2 node)"
            region = KUBERNETES_PRICE_REGION
        else:
            note = ""
            shown = f"{instance} (SageMaker {_COMPONENT[use]})"
            region = self.region
        if price is None:
            self.not_counted(f"no {region} price for {shown} in the price catalog: not counted")
            self.missing.add(region)
            self.unpriced.add(self.address)
            return None, ""
        self.sources.add(f"price source: {price.source_url} ({price.source_date})")
        return price.usd_per_hour, note


_COMPONENT = {"inference": "hosting", "training": "training", "processing": "processing"}
"""Use -> the SageMaker pricing component it is billed as (Price List attribute ``component``)."""


def _join(*notes: str) -> str:
    return "; ".join(dict.fromkeys(n for n in notes if n))


def _endpoint(facts: dict[str, Any], pricer: _Pricer) -> tuple[float, float, str, str] | None:
    if facts.get("deployed") is False:  # waiting for its model version: nothing runs (model_versions.py)
        pricer.note(f"waits for {facts.get('model')} v{facts.get('waitingFor')}, so nothing runs yet; priced "
                    "once it is created")
        return None
    instance, sized_only = endpoint_instance(facts, pricer.cloud)
    hourly, note = pricer.hourly(instance, "inference")
    if hourly is None or instance is None:
        return None
    low, high = replica_range(facts)
    count = replicas_text(facts, "fixed: no autoscaling") if fixed_replicas(facts) else f"{low}-{high} replicas"
    floor = running_floor(facts, pricer.cloud)
    if floor > low:
        note = _join(note, f"at least {floor} replica runs: {_WHY_ONE[pricer.cloud]}")
        low, high = floor, max(high, floor)
    basis = f"{count} x {pricer.shown(instance)} @ ${hourly:g}/h"
    if sized_only:
        return 0.0, high * hourly * HOURS_PER_MONTH, basis, _join(note, SIZED_ONLY_NOTE.format(
            node=catalog.ec2_name(instance)))
    return low * hourly * HOURS_PER_MONTH, high * hourly * HOURS_PER_MONTH, basis, note


SIZED_ONLY_NOTE = ("no node shape (neither accelerator nor instance_type): each replica requests the cpu and memory "
                   "of about one {node} node, the shape its pod is sized for; floor 0: the pods may fit on nodes "
                   "already up; ceiling: a node of that shape per replica")


def endpoint_instance(facts: dict[str, Any], cloud: str) -> tuple[str | None, bool]:
    """(the instance an endpoint's replica is priced as, whether only its pod is sized so). A Kubernetes
    endpoint with neither accelerator nor instance type (facts ``instanceType`` None,
    ``compile/facts._shape``) selects no node, but its pod is sized as
    :data:`mlops_infra.spec.fit.DEFAULT_INSTANCE` (``compile/kubernetes/serving.replica_shape``), and
    requests, as requests and equal limits, 90% of that node's vCPUs and 85% of its memory
    (``gpu.NodeShape.pod_requests``, ``compile/kubernetes/serving.resources``): one replica fills such a node,
    and a cluster without room starts one per replica. It is priced as a node of that shape per
    replica, floor 0 (the pods may fit on nodes already up), as the Kubernetes drift job's pod is
    (:func:`_monitor`; audit pricing45-6: it was "not counted: its pods run on the cluster's existing
    nodes")."""
    instance = facts.get("instanceType")
    if instance or cloud != "kubernetes":
        return instance, False
    return DEFAULT_INSTANCE, True


_WHY_ONE = {"aws": "a SageMaker variant has at least one instance",
            "kubernetes": "without autoscaling, or scaling on cpu, KServe runs at least one"}


def running_floor(facts: dict[str, Any], cloud: str) -> int:
    """The fewest replicas an endpoint runs: ``minReplicas``, but at least 1 where the target cannot
    run none, as the compilers compile it. SageMaker: a variant's ``InitialInstanceCount`` and its
    scalable target's ``MinCapacity`` are compiled as ``max(1, min)`` (botocore
    ``ProductionVariant.InitialInstanceCount``: ``InitialTaskCount``, ``min`` 1;
    ``compile/aws/serving.py``). Kubernetes: without autoscaling, or scaling on cpu (Knative's HPA
    class cannot scale to zero), ``minReplicas`` is compiled as ``max(1, min)``
    (``compile/kubernetes/serving.replica_range``); Knative's own autoscaler (rps, concurrency) may
    scale to zero. A plan priced ``min: 0`` at $0 while an instance ran all month."""
    low = int(facts.get("minReplicas") or 0)
    scaling = facts.get("autoscaling")
    if cloud == "aws" or fixed_replicas(facts) or (scaling and scaling.get("metric") == "cpu_utilization"):
        return max(1, low)
    return low


def fixed_replicas(facts: dict[str, Any]) -> bool:
    """Whether an endpoint runs at ``minReplicas`` fixed: its facts say it has no autoscaling
    (``autoscaling`` False, or the None earlier releases compiled; facts without the key keep
    their min..max range, and the planner reads a prior state's missing key as the desired value:
    :func:`mlops_infra.policy.facts.settle_prior`)."""
    return "autoscaling" in facts and not facts["autoscaling"]


def replicas_text(facts: dict[str, Any], fixed: str) -> str:
    """What a fixed-count endpoint runs: ``1 replica``; ``2 replicas (<fixed>)`` when its spec gives a
    range it cannot use (max > min without autoscaling)."""
    low, high = int(facts.get("minReplicas") or 0), int(facts.get("maxReplicas") or 0)
    return f"{low} replica{'' if low == 1 else 's'}" + (f" ({fixed})" if high > low else "")


def replica_range(facts: dict[str, Any]) -> tuple[int, int]:
    """(floor, ceiling) of the replicas an endpoint runs: min..max, or min..min when fixed."""
    low, high = int(facts.get("minReplicas") or 0), int(facts.get("maxReplicas") or 0)
    return (low, low) if fixed_replicas(facts) else (low, high)


def _training_job(facts: dict[str, Any], pricer: _Pricer) -> tuple[float, float, str, str] | None:
    if pricer.cloud == "kubernetes":
        return None  # runs on its cluster's nodes, priced with the cluster
    if not facts.get("schedule"):
        pricer.not_counted("no schedule (alert-triggered or manual runs): not counted")
        return None
    runs = scheduled_runs(facts["schedule"])
    if runs is None:
        pricer.not_counted("a schedule croniter cannot read: not counted")
        return None
    hourly, note = pricer.hourly(facts.get("instanceType"), "training")
    if hourly is None:
        return None
    seconds = facts.get("maxRuntimeSeconds")
    runtime_note = "" if seconds else "no max_runtime: SageMaker's 24h default limit assumed"
    hours = (seconds or DEFAULT_MAX_RUNTIME_SECONDS) / 3600
    nodes = int(facts.get("nodes") or 1)
    # a job's runs go one at a time (its retrain gate starts none while one is Executing,
    # compile/aws/retrain_gate.py; every schedule and alarm rule targets it, compile/aws/training._add_triggers),
    # so a month holds at most 730 h / max_runtime of them (audit closing-34e-3)
    most = HOURS_PER_MONTH / hours
    full = runs >= most
    full_note = (f"the schedule asks for {runs_text(runs)} runs of {hours:g}h: back to back, one at a time (the "
                 f"retrain gate), a 730 h month holds {runs_text(most)}") if runs > most else ""
    runs = min(runs, most)
    monthly = runs * nodes * hours * hourly
    spot = SPOT_NOTE if facts.get("spot") else ""
    alerts = [str(a) for a in facts.get("onAlerts") or ()]
    basis = f"{runs_text(runs)} runs/month x {nodes} nodes x {hours:g}h max x {facts['instanceType']} @ ${hourly:g}/h"
    if alerts and not full:  # its runs also start on these alerts, one at a time (the retrain gate)
        basis = (f"{runs_text(runs)}-{runs_text(most)} runs/month x {nodes} nodes x {hours:g}h max x "
                 f"{facts['instanceType']} @ ${hourly:g}/h")
        return monthly, most * nodes * hours * hourly, basis, _join(
            note, runtime_note, f"also runs when {', '.join(alerts)} fire{'s' if len(alerts) == 1 else ''}: those "
            f"runs are not in the floor (the scheduled runs, each at its max_runtime); the ceiling is runs back to "
            f"back all month ({runs_text(most)} runs of {hours:g}h: one at a time, the retrain gate)", spot)
    if alerts:
        full_note = _join(full_note, f"runs on {', '.join(alerts)} add nothing: the month is full")
    return monthly, monthly, basis, _join(note, runtime_note, "each run at its max_runtime (a ceiling)", full_note,
                                          spot)


def _cluster(facts: dict[str, Any], pricer: _Pricer) -> tuple[float, float, str, str] | None:
    if pricer.cloud != "kubernetes":
        return None  # SageMaker bills training per job run (see training jobs)
    hourly, note = pricer.hourly(facts.get("instanceType"), "training")
    if hourly is None:
        return None
    low, high = int(facts.get("minNodes") or 0), int(facts.get("maxNodes") or 0)
    basis = f"{low}-{high} nodes x {pricer.shown(facts['instanceType'])} @ ${hourly:g}/h"
    spot = SPOT_NOTE if facts.get("spot") else ""
    return (low * hourly * HOURS_PER_MONTH, high * hourly * HOURS_PER_MONTH, basis,
            _join(note, "ceiling: the cluster at max nodes all month", spot))


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _monitor(facts: dict[str, Any], pricer: _Pricer) -> tuple[float, float, str, str] | None:
    instance, every, seconds = (facts.get(key) for key in
                                ("jobInstanceType", "jobScheduleSeconds", "jobMaxRuntimeSeconds"))
    if not (isinstance(instance, str) and _positive(every) and _positive(seconds)):
        if facts.get("metric") in DRIFT_METRICS:
            pricer.not_counted("scheduled drift job: its instance and run time are not in the facts "
                        "(saved by an older mlops-infra), not priced")
        return None
    hourly, note = pricer.hourly(instance, "processing")
    if hourly is None:
        return None
    every, rounded = drift_interval(every, pricer.cloud)
    runs, hours = HOURS_PER_MONTH * 3600 / every, seconds / 3600
    ceiling = runs * hours * hourly
    basis = f"{round(runs, 2):g} runs/month x up to {round(hours, 2):g} h x {pricer.shown(instance)} @ ${hourly:g}/h"
    if pricer.cloud == "kubernetes":
        return 0.0, ceiling, basis, _join(note, "floor 0: it may fit on nodes already up; "
                                                "ceiling: a node of this shape per run")
    return ceiling, ceiling, basis, _join(note, rounded, "each run at its max runtime (a ceiling)")


def drift_interval(every: float, cloud: str) -> tuple[float, str]:
    """(seconds between two runs of a drift job scheduled every ``every`` seconds, a note when that
    is not ``every``). On AWS the job is started by an EventBridge Scheduler rate expression, which
    counts whole minutes: the compiler rounds the interval up to them
    (:func:`mlops_infra.compile.aws.schedules.rate_minutes`, the one rule), so a ``30s`` schedule runs
    every minute and a ``90s`` one every 2 minutes (audit pricing45-1: priced at the spec's interval,
    a ``30s`` job cost twice its bill). On Kubernetes the interval as given (the CronJob's cron rounds
    some, see the module contract)."""
    if cloud != "aws":
        return every, ""
    minutes = rate_minutes(math.ceil(every))
    if minutes * 60 == every:
        return every, ""
    return minutes * 60, (f"runs every {minutes} minute{'' if minutes == 1 else 's'}, not every {every:g} s: "
                          "an EventBridge rate counts whole minutes")


_PRICED: dict[str, Callable[[dict[str, Any], _Pricer], tuple[float, float, str, str] | None]] = {
    "endpoint": _endpoint, "training_job": _training_job, "cluster": _cluster, "monitor": _monitor,
}
"""Facts kind -> monthly (floor, ceiling, basis, note) of one item; None = nothing to price."""


def _line(address: str, before: dict | None, after: dict | None, pricer: _Pricer,
          kept: bool = False, old_pricer: _Pricer | None = None) -> CostLine | None:
    """One item's cost line: ``before`` priced by ``old_pricer`` (the prior state's region, :func:`prior_region`)
    when given, else by ``pricer``; ``after`` by ``pricer``."""
    kind = (after or before or {}).get("kind")
    price = _PRICED.get(kind or "")
    if price is None:
        return None
    old = price(before, old_pricer or pricer) if before else None
    new = price(after, pricer) if after else None
    if kept and new is not None and old is not None and before is not None:
        new = _kept_count_range(new, old, before)
    if old is None and new is None:
        return None
    shown = new or old
    assert shown is not None
    basis = shown[2] if not (old and new and old[2] != new[2]) else f"{old[2]} -> {new[2]}"
    return CostLine(address=address, basis=basis, before_usd=_cents(old[1]) if old else None,
                    after_usd=_cents(new[1]) if new else None, note=_join(old[3] if old else "", new[3] if new else ""),
                    before_min_usd=_cents(old[0]) if old else None, after_min_usd=_cents(new[0]) if new else None)


def _kept_count_range(new: tuple[float, float, str, str], old: tuple[float, float, str, str],
                      before: dict[str, Any]) -> tuple[float, float, str, str]:
    """``new`` (priced at min, fixed) widened to the prior ceiling: the variant keeps the count autoscaling last
    set, anywhere from min to the prior max, until its config changes (:func:`mlops_infra.plan.kept_count.kept_counts`:
    deregistering the scalable target changes no ``DesiredInstanceCount``, botocore application-autoscaling
    ``DeregisterScalableTarget``)."""
    high = int(before.get("maxReplicas") or 0)
    note = _join(new[3], f"autoscaling removed: the variant keeps the count Application Auto Scaling last set "
                         f"(up to {high}) until its endpoint config changes, so it is priced up to that")
    return new[0], max(new[1], old[1]), new[2], note


def _cents(value: float) -> float:
    return round(value, 2)


CONFIG_FACTS = ("model", "modelVersion", "instanceType", "capturePercent")
"""The endpoint facts that make up its SageMaker endpoint config (``compile/aws/serving._add_config``:
the model, the instance type, ``initialInstanceCount`` = max(1, minReplicas), the data capture): a
change of one, or of the floor, replaces the config. A new image of the same version renames the model
too, which the facts do not show."""


def rollout_extra(before: dict[str, Any] | None, after: dict[str, Any] | None, pricer: _Pricer) -> float:
    """One-off extra cost of the rollout a plan starts on one endpoint (0 when none starts): the floor,
    at the fewest replicas that run. Notes of the item give the rest (see the module contract): the
    ceiling at ``maxReplicas`` of an autoscaled endpoint, and what a rolled-back canary keeps per hour."""
    if not before or not after or after.get("kind") != "endpoint":
        return 0.0
    rollout = after.get("rollout") or {}
    strategy = rollout.get("strategy")
    new_version = (before.get("model"), before.get("modelVersion")) != (after.get("model"), after.get("modelVersion"))
    # all_at_once is a blue/green fleet swap on SageMaker, the old fleet kept for the bake
    # (compile/aws/serving.DEPLOYMENTS; BlueGreenUpdatePolicy.TerminationWaitInSeconds), at every
    # UpdateEndpoint: any config replacement, not only a new version
    fleets = ("blue_green", "all_at_once") if pricer.cloud == "aws" else ("blue_green",)
    if strategy in fleets and pricer.cloud == "aws":
        starts = new_version or _config_changes(before, after, pricer.cloud)
    else:
        starts = new_version
    if not starts:
        return 0.0
    if strategy == "rolling":
        pricer.note("rolling rollout: extra capacity during batches not estimated")
    if strategy in fleets and pricer.cloud == "aws":
        return _extra(pricer, before, lambda replicas: replicas * fleet_swap_hours(rollout), "old fleet")
    bake_h = (rollout.get("bakeSeconds") or 0) / 3600
    if (strategy not in fleets and strategy != "canary") or not bake_h:
        return 0.0
    if strategy != "canary":  # the old fleet, as it ran, kept for the bake
        return _extra(pricer, before, lambda replicas: replicas * bake_h, "old fleet")
    steps = rollout.get("steps") or [100]
    if pricer.cloud == "kubernetes":
        # KServe puts the InferenceService's minReplicas on every revision (ksvc_reconciler.go
        # createKnativeService: autoscaling.knative.dev/min-scale), and Knative keeps "the minimum
        # number of replicas that each Revision should have" ("Configuring scale bounds"): the canary
        # revision runs all of them at every step, more as its share grows
        low = running_floor(after, pricer.cloud)
        floor = _extra(pricer, after, lambda replicas: sum(max(low, canary_instances(s, replicas)) for s in steps) * bake_h,
                       "canary")
        _kept_canary(pricer, after, low, "the new revision keeps its minReplicas pod(s)")
        return floor
    # SageMaker: the start's and the finish's UpdateEndpoint each deploy a whole new fleet beside the
    # serving one (canary_size.fleet_swap_instances, audit rolloutaws-4; a KServe canary swaps none)
    swap_h = FLEET_PROVISIONING_SECONDS / 3600
    floor = _extra(pricer, after, lambda replicas: sum(canary_instances(s, replicas) for s in steps) * bake_h
                   + sum(fleet_swap_instances(steps[-1], replicas)) * swap_h, "canary")
    _kept_canary(pricer, after, 1, "the canary variant keeps 1 instance")
    return floor


def fleet_swap_hours(rollout: dict[str, Any]) -> float:
    """Hours a SageMaker blue/green (or all_at_once) update runs two fleets (audit pricing45-2): the new
    fleet is provisioned beside the serving one (botocore sagemaker ``UpdateEndpoint``: "Deploys the
    EndpointConfig ... to a new fleet of instances ... and then deletes the old instances"), allowed
    ``canary_size.FLEET_PROVISIONING_SECONDS`` as the canary's swaps are, then the old fleet waits the
    termination wait, which the compiler caps at ``compile/aws/serving.MAX_WAIT_SECONDS`` (botocore
    sagemaker 2017-07-24 ``BlueGreenUpdatePolicy.TerminationWaitInSeconds``: "Additional waiting time in
    seconds after the completion of an endpoint deployment before terminating the old endpoint fleet",
    shape ``TerminationWaitInSeconds`` min 0, max 3600): a longer bake keeps the old fleet 3600 s, no
    bake still overlaps for the provisioning. The two fleets are counted at the old one's size (the
    new one is the config's initial count, the same floor unless the plan changes it)."""
    from mlops_infra.compile.aws.serving import MAX_WAIT_SECONDS

    wait = min(int(rollout.get("bakeSeconds") or 0), MAX_WAIT_SECONDS)
    return (wait + FLEET_PROVISIONING_SECONDS) / 3600


def _config_changes(before: dict[str, Any], after: dict[str, Any], cloud: str) -> bool:
    """Whether the endpoint config is replaced (:data:`CONFIG_FACTS`, or the floor that seeds its count)."""
    return (any(before.get(key) != after.get(key) for key in CONFIG_FACTS)
            or running_floor(before, cloud) != running_floor(after, cloud))


def _replica_range(facts: dict[str, Any], cloud: str) -> tuple[int, int]:
    """(fewest, most) replicas the endpoint runs: the floor, and ``maxReplicas`` when autoscaled."""
    low = running_floor(facts, cloud)
    if fixed_replicas(facts):
        return low, low
    return low, max(low, int(facts.get("maxReplicas") or low))


def _extra(pricer: _Pricer, facts: dict[str, Any], instance_hours: Callable[[int], float], what: str) -> float:
    """The extra at the floor of ``facts``' replicas (``instance_hours(replicas)`` x the hourly price of
    its instance type); a note gives it at ``maxReplicas`` when that differs. 0 without a price."""
    low, high = _replica_range(facts, pricer.cloud)
    instance, sized_only = endpoint_instance(facts, pricer.cloud)
    if sized_only:  # its floor is 0: the pods may fit on nodes already up (endpoint_instance)
        return 0.0
    hourly, _ = pricer.hourly(instance, "inference")
    if hourly is None or not low:
        return 0.0
    floor, ceiling = instance_hours(low) * hourly, instance_hours(high) * hourly
    if _cents(ceiling) > _cents(floor):
        pricer.note(f"rollout extra ${floor:,.2f} at {low} replica(s) to ${ceiling:,.2f} at {high} "
                    f"(the {what} is sized from the replicas running when the rollout starts)")
    return floor


def _kept_canary(pricer: _Pricer, facts: dict[str, Any], count: int, kept: str) -> None:
    """A note of what a rolled-back canary keeps running, per hour, until a later version's rollout."""
    instance, sized_only = endpoint_instance(facts, pricer.cloud)
    if sized_only:
        return
    hourly, _ = pricer.hourly(instance, "inference")
    if hourly is None or not count:
        return
    pricer.note(f"after a rollback {kept}: ${count * hourly:,.2f}/h (${count * hourly * HOURS_PER_MONTH:,.0f} "
                f"a month) until a later version rolls out")


def estimate_cost(graph: DesiredGraph, prior: PriorState, *, region: str | None = None,
                  facts: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None = None,
                  kept: frozenset[str] = frozenset()) -> CostEstimate:
    """The monthly cost estimate of ``prior`` -> ``graph`` (see the module contract). ``facts``:
    :func:`facts_by_address` of ``prior``'s and of ``graph``'s resources, when the caller has them
    (only read here). ``kept``: the AWS endpoints whose variant keeps the count autoscaling last set, as the
    plan's warnings name them (:func:`mlops_infra.plan.kept_count.kept_counts`, audit autoscale-2): priced from
    ``replicas.min`` up to the prior max."""
    return _estimate(graph, prior, region, facts, kept)[0]


def hourly_ceiling(graph: DesiredGraph) -> CostCeiling:
    """``graph``'s cost per hour at full scale (the ``max_hourly_cost_usd`` guardrail,
    :func:`mlops_infra.plan.guardrails.cost_ceiling`): what runs at once, each item at what it costs
    per hour while it runs, never a monthly average. Endpoints and Kubernetes clusters run all month,
    so their monthly ceiling / 730 h is that (max replicas, max nodes); an endpoint adds what its
    update runs beside that fleet (:func:`update_peaks`), so it is counted at its update's peak. The items that run part of the
    time are counted while they run (``at_peak``, :func:`running_peaks`): AWS training at its
    clusters' peak (:func:`training_peaks`: a weekly 12 h run of 2 nodes is 2 nodes' price per hour
    while it runs, not 4.33 x 12 / 730 of it), each drift job at its runs at once
    (:func:`drift_peak`), and a Kubernetes cluster that borrows from its cohort at its max nodes plus
    ``borrowing.maxNodes``, the count ``max_gpus`` uses (:func:`mlops_infra.policy.rules.borrowed_nodes`).
    ``not_counted``: the items the catalog has no price for, in ``missing_regions`` (the other items
    not counted, no schedule or no node shape, miss no price); ``unbounded``: the clusters that borrow
    without a limit, whose cost per hour has no bound (the cap fails closed on them, as ``max_gpus``)."""
    after = facts_by_address(graph.resources)
    estimate, pricer = _estimate(graph, PriorState.empty(), None, ({}, after))
    per_hour = {line.address: line.after_range.max_usd / HOURS_PER_MONTH
                for line in estimate.lines if line.after_range is not None}
    peaks, replaced, unbounded = running_peaks(after, pricer)
    for address in replaced:
        per_hour.pop(address, None)
    per_hour.update(peaks)
    for address, usd in update_peaks(after, pricer).items():
        if address in per_hour:  # its fleet is priced: the update's fleet beside it, at the same price
            per_hour[address] += usd
            peaks[address] = per_hour[address]
    jobs = {address for address, f in after.items() if f.get("kind") == "training_job"} if pricer.cloud == "aws" else set()
    unpriced = pricer.unpriced - jobs  # priced (or not) at their clusters' peak
    items = tuple(sorted(per_hour.items(), key=lambda item: (-item[1], item[0])))
    return CostCeiling(sum(per_hour.values()), items, tuple(sorted(unpriced)),
                       tuple(sorted(pricer.missing)) if unpriced else (), at_peak=tuple(sorted(peaks)),
                       unbounded=tuple(sorted(unbounded.items())))


def running_peaks(after: dict[str, dict[str, Any]],
                  pricer: _Pricer) -> tuple[dict[str, float], set[str], dict[str, str]]:
    """(``{address: USD per hour while it runs}``, the addresses whose monthly figure it replaces,
    ``{address: how}`` of the clusters without a bound) of the items :func:`hourly_ceiling` counts at
    their running rate: on AWS the clusters training jobs run on (:func:`training_peaks`, in place of
    the jobs' monthly lines), on both targets the drift jobs (:func:`drift_peak`), on Kubernetes the
    clusters that borrow (:func:`borrowing_peak`). An item without a price is left out here: its
    monthly line recorded it as unpriced (a training cluster: :func:`training_peaks` records it)."""
    peaks: dict[str, float] = {}
    replaced: set[str] = set()
    unbounded: dict[str, str] = {}
    if pricer.cloud == "aws":
        replaced |= {address for address, f in after.items() if f.get("kind") == "training_job"}
        peaks.update(training_peaks(after, pricer))
    for address, f in sorted(after.items()):
        pricer.address = address
        if f.get("kind") == "monitor":
            usd = drift_peak(f, pricer)
        elif f.get("kind") == "cluster" and pricer.cloud == "kubernetes" and isinstance(f.get("borrowing"), dict):
            if borrowed_nodes(f) is None:
                unbounded[address] = f"{f.get('maxNodes') or 0} node(s) + {unbounded_borrowing(f)}"
                continue
            usd = borrowing_peak(f, pricer)
        else:
            continue
        if usd is not None:
            peaks[address] = usd
            replaced.add(address)
    return peaks, replaced, unbounded


def update_peaks(after: dict[str, dict[str, Any]], pricer: _Pricer) -> dict[str, float]:
    """``{endpoint address: USD per hour}`` of what an update of each endpoint runs beside its fleet at
    full scale (audit pricing45-5: the cap counted max replicas only, while a canary's finish runs 3 x
    the fleet). On SageMaker every endpoint update is a fleet swap that keeps the old fleet while the
    new one is provisioned and for the termination wait (SageMaker API reference
    ``BlueGreenUpdatePolicy``: "creates a new fleet during the deployment while maintaining the old
    fleet"; botocore ``UpdateEndpoint``: "Deploys the EndpointConfig ... to a new fleet of instances
    ... and then deletes the old instances"): the instances
    :func:`mlops_infra.plan.instance_quotas.update_beside` counts for the quotas (the fleet again; a
    canary's finish the fleet plus its last size, ``canary_size.fleet_swap_instances``; a rolling
    update one batch, ``spec/rolling_batch.rolling_batch``, as compiled). On Kubernetes the new
    revision runs beside the serving one: a canary at its last step's size, at least ``minReplicas``
    (KServe puts them on every revision, see :func:`rollout_extra`), a blue/green the fleet again (the
    old one is kept for the bake), Knative's own switch (rolling, all_at_once) the new revision's
    ``minReplicas``, at least its initial scale (:data:`KNATIVE_INITIAL_SCALE`), until it takes the traffic. Nothing orders one endpoint's update after another's,
    so each is counted: an upper bound, as ``max_gpus``'s borrowing. An endpoint without a price adds
    nothing here (its fleet's line says why); one without a node shape counts as its pod's shape
    (:func:`endpoint_instance`)."""
    out: dict[str, float] = {}
    for address, f in sorted(after.items()):
        instance = endpoint_instance(f, pricer.cloud)[0] if f.get("kind") == "endpoint" else None
        if instance is None:
            continue
        pricer.address = address
        hourly, _ = pricer.hourly(instance, "inference")
        if hourly is not None:
            out[address] = update_instances(f, pricer.cloud) * hourly
    return out


KNATIVE_INITIAL_SCALE = 1
"""The scale Knative creates a new revision at, and reaches before the route switches to it, when the revision
sets no ``initial-scale`` (the compiler sets none): knative/serving ``config/core/configmaps/autoscaler.yaml``
``initial-scale: "1"``, ``allow-zero-initial-scale: "false"`` ("Configuring scale bounds": "the initial scale
that a Revision is scaled to immediately after creation"). A scale-to-zero endpoint's switch still runs one
(audit closing-45a-3)."""


def update_instances(facts: dict[str, Any], cloud: str) -> int:
    """The instances (replicas) an update of the endpoint of ``facts`` runs beside its fleet at full scale
    (:func:`update_peaks`)."""
    low, fleet = _replica_range(facts, cloud)
    rollout = facts.get("rollout") or {}
    strategy, steps = rollout.get("strategy"), [int(s) for s in rollout.get("steps") or ()]
    if cloud == "kubernetes":
        if strategy == "canary":
            return max(low, canary_instances(steps[-1] if steps else 100, fleet))
        return fleet if strategy == "blue_green" else max(KNATIVE_INITIAL_SCALE, low)
    if strategy == "canary":
        return update_beside(fleet, canary_percent=steps[-1] if steps else 100)
    if strategy == "rolling":  # the compiled batch: rolling_batch reads the steps only
        percent = rolling_batch(Rollout.model_construct(steps=steps))
        return update_beside(fleet, batch={"type": "CAPACITY_PERCENT", "value": percent})
    return update_beside(fleet)


def drift_peak(facts: dict[str, Any], pricer: _Pricer) -> float | None:
    """USD per hour of a monitor's scheduled drift job while it runs (None: no drift job, or no price):
    its runs at once x one ``jobInstanceType`` at the SageMaker Processing price (AWS) or a node of
    that shape (Kubernetes). Each run is one instance (``compile/aws/monitoring.drift_step``:
    ``ClusterConfig.InstanceCount`` 1), billed while it runs: botocore ``ProcessingClusterConfig``
    ``SelectedInstanceCount``, "The job is billed for this instance type and count"; on-demand, for
    what runs, no minimum fee (https://aws.amazon.com/sagemaker/pricing/). Runs at once:
    on Kubernetes 1 (the CronJob's ``concurrencyPolicy: Forbid``, ``compile/kubernetes/monitoring.py``);
    on AWS the EventBridge schedule starts a pipeline execution every ``jobScheduleSeconds`` and
    nothing waits for the one before (no retrain gate on drift jobs; "Parallelism configurations are
    applied per execution. For example, if two executions are started they can each run ...",
    https://docs.aws.amazon.com/sagemaker/latest/dg/build-and-manage-pipeline.html), so
    ceil(``jobMaxRuntimeSeconds`` / the interval) may run at once, the interval the schedule runs at
    (:func:`drift_interval`: whole minutes): 1 for any schedule of at least its 5-minute minimum runtime
    (``compile/drift_job.max_runtime_seconds``), up to 5 for a 1-minute (or shorter) one. A 6-hourly run costs the instance's price per hour while it runs, not 1/6 of it."""
    instance, every, seconds = (facts.get(key) for key in
                                ("jobInstanceType", "jobScheduleSeconds", "jobMaxRuntimeSeconds"))
    if not (isinstance(instance, str) and _positive(every) and _positive(seconds)):
        return None
    hourly, _ = pricer.hourly(instance, "processing")
    if hourly is None:
        return None
    every = drift_interval(every, pricer.cloud)[0]
    at_once = 1 if pricer.cloud == "kubernetes" else max(1, math.ceil(seconds / every))
    return at_once * hourly


def borrowing_peak(facts: dict[str, Any], pricer: _Pricer) -> float | None:
    """USD per hour of a Kubernetes cluster that borrows from its cohort, at its peak: max nodes +
    ``borrowing.maxNodes`` (:func:`mlops_infra.policy.rules.borrowed_nodes`, the count ``max_gpus``
    uses: its Kueue ClusterQueue admits runs up to its nominal quota plus its ``borrowingLimit``, and
    the node autoscaler starts nodes for the admitted pods, ``compile/kubernetes/queues.py``) x the EC2
    node price. An upper bound, as for ``max_gpus``: what it borrows from this environment's clusters
    is their quota, already counted (docs/guardrails.md). None without a price."""
    hourly, _ = pricer.hourly(facts.get("instanceType"), "training")
    borrowed = borrowed_nodes(facts)
    if hourly is None or borrowed is None:
        return None
    return (int(facts.get("maxNodes") or 0) + borrowed) * hourly


def training_peaks(after: dict[str, dict[str, Any]], pricer: _Pricer) -> dict[str, float]:
    """``{cluster address: USD per hour}`` of each AWS cluster at its peak: its training jobs' nodes
    at once (:func:`mlops_infra.spec.cost.peak_nodes`, the count the cluster budget checks; not
    ``nodes.max``, which SageMaker never starts) x the SageMaker Training price. SageMaker bills
    each training instance for the time it runs, so that is what a peak costs per hour; the runs
    per month (the plan's monthly figure) say how often, not how much at once. A cluster no training
    job runs on is left out: SageMaker has no standing cluster, so nothing of it ever runs or bills
    (``max_gpus`` still counts its GPUs as capacity). A cluster without a price is recorded as
    unpriced."""
    jobs: dict[Any, list[int]] = {}
    for f in after.values():
        if f.get("kind") == "training_job":
            jobs.setdefault(f.get("cluster"), []).append(int(f.get("nodes") or 1))
    out: dict[str, float] = {}
    for address, f in sorted(after.items()):
        if f.get("kind") != "cluster":
            continue
        runs = jobs.get(f.get("name"))
        if not runs:
            continue
        nodes = peak_nodes(runs)
        pricer.address = address
        hourly, _ = pricer.hourly(f.get("instanceType"), "training")
        if hourly is not None:
            out[address] = nodes * hourly
    return out


def _estimate(graph: DesiredGraph, prior: PriorState, region: str | None,
              facts: tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]] | None,
              kept: frozenset[str] = frozenset()) -> tuple[CostEstimate, _Pricer]:
    pricer = _Pricer(target_cloud(graph), region or graph.metadata.get("region") or "us-east-1")
    before, after = facts if facts is not None else (facts_by_address(prior.resources.values()),
                                                     facts_by_address(graph.resources))
    old_pricer = None
    moved = prior_region(prior) if pricer.cloud == "aws" and before else None
    if moved is not None and moved != pricer.region:  # xregion-5: what runs now is billed where it runs
        # the same notes, sources and sets (one estimate), its own region and price memo
        old_pricer = _Pricer(pricer.cloud, moved, sources=pricer.sources, notes=pricer.notes, missing=pricer.missing,
                             uncounted=pricer.uncounted, unpriced=pricer.unpriced)
    lines: list[CostLine] = []
    extra = 0.0
    for address in sorted(before.keys() | after.keys()):
        pricer.address = address
        if old_pricer is not None:
            old_pricer.address = address
        line = _line(address, before.get(address), after.get(address), pricer, address in kept, old_pricer)
        if line is not None:
            lines.append(line)
        extra += rollout_extra(before.get(address), after.get(address), pricer)
    moved_note = (f"region move: before is priced in {old_pricer.region}, where the applied stack runs (its aws "
                  f"provider's region), after in {pricer.region}",) if old_pricer is not None else ()
    return CostEstimate(before=_total(lines, "before"), after=_total(lines, "after"), lines=tuple(lines),
                        rollout_extra_usd=_cents(extra), sources=tuple(sorted(pricer.sources)),
                        notes=moved_note + pricer.note_lines(), not_counted=tuple(sorted(pricer.uncounted))), pricer


PROVIDER = "pulumi:providers:aws"


def prior_region(prior: PriorState) -> str | None:
    """The region the prior state's AWS resources run in: the ``region`` input of its ``pulumi:providers:aws``
    resources when they all name one (every compiled ``aws:*`` resource names that explicit provider, which sets
    ``region``; pulumi-aws registers each resource in its provider's region), else None (no AWS provider, or
    several regions: the estimate then prices ``before`` in the environment's region, as it did). The AWS Price
    List prices per ``regionCode`` (:mod:`mlops_infra.catalog.pricelist`), so a region move's ``before`` is the
    prior region's bill (audit xregion-5)."""
    regions = {r.inputs.get("region") for r in prior.resources.values() if r.type == PROVIDER}
    if len(regions) != 1:
        return None
    region = next(iter(regions))
    return region if isinstance(region, str) and region else None


def _total(lines: list[CostLine], side: str) -> CostRange:
    ranges = [getattr(line, f"{side}_range") for line in lines]
    present = [r for r in ranges if r is not None]
    return CostRange(_cents(sum((r.min_usd for r in present), 0.0)), _cents(sum((r.max_usd for r in present), 0.0)))
