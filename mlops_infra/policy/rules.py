"""The guardrail rules, evaluated on one environment's desired graph (docs/guardrails.md).

Contract:
- :func:`evaluate_guardrails` is pure: a desired graph, the environment's
  :class:`~mlops_infra.spec.guardrails.GuardrailSettings` and (for the cost cap) a function giving
  the graph's :class:`~mlops_infra.policy.model.CostCeiling` in; one result per rule that applies
  there out (pass or fail, in :data:`~mlops_infra.spec.guardrails.RULES` order). The cost function is
  passed in because pricing belongs to the plan layer (:func:`mlops_infra.plan.guardrails.evaluate`
  passes :func:`mlops_infra.plan.cost.estimate_cost`'s ceiling); without one the cost cap fails
  closed, saying it could not be evaluated.
- The rules read two things of the graph, and nothing else:
  - the ML facts of its components (:func:`mlops_infra.policy.facts.component_facts`): what
    ``validate`` has too (:func:`mlops_infra.policy.facts.facts_graph` builds a graph of components
    only from an effective system, with the same facts functions the compiler calls);
  - its cloud resources (type, inputs, dependencies): buckets, their encryption and public access
    blocks, bucket policies, Kubernetes Services. A graph of components only has none, so these
    checks run in ``plan`` and in the CrossGuard pack, not in ``validate``.
- The CrossGuard policy pack (:mod:`mlops_infra.program.policy_pack`) turns the stack Pulumi is
  deploying into a :class:`~mlops_infra.graph.DesiredGraph` and evaluates it through the same entry
  point as ``plan``: users who run ``pulumi up --policy-pack`` get the answers ``plan`` gives.
- Rules (what fails):
  - ``encryption``: a data source with ``encryption: s3`` (SSE-S3: an AWS-owned key, no key policy,
    no CloudTrail record of key use); an S3 bucket (any of :data:`BUCKET_TYPES`) with no default
    encryption (a configuration of :data:`BUCKET_ENCRYPTION_TYPES`, or the bucket's inline one) using
    ``aws:kms`` or ``aws:kms:dsse`` with a key id (``ServerSideEncryptionByDefault.SSEAlgorithm`` and
    ``KMSMasterKeyID``, https://docs.aws.amazon.com/AmazonS3/latest/API/API_ServerSideEncryptionByDefault.html;
    without a key id S3 uses the AWS managed key aws/s3: :func:`_has_key`).
  - ``no_public_access``: an S3 bucket without a public access block setting all four of
    BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PublicAccessBlockConfiguration.html); a
    bucket policy statement that allows the principal ``*``; a Kubernetes Service of type
    LoadBalancer or NodePort (reachable from outside the cluster).
  - ``progressive_rollout``: a production endpoint whose rollout is ``all_at_once``, or, on Kubernetes,
    ``rolling`` (Knative's switch there: :data:`~mlops_infra.spec.guardrails.PROGRESSIVE_STRATEGIES`).
  - ``capture``: a production endpoint without request/response capture.
  - ``approved_models``: a production endpoint whose model versions are served without approval: the
    model's ``approval`` is ``automatic`` and the environment lacks the ``model_approved`` gate. With
    either, the compiler serves only versions Approved in the registry, on both targets (an unapproved
    pinned version waits, or the endpoint keeps serving the version it serves:
    :mod:`mlops_infra.model_versions`; on Kubernetes since ae4cc60 the MLflow version's
    ``mlops-infra.approval-status`` tag, :mod:`mlops_infra.state.mlflow_registry`). Before that,
    KServe served whatever version was pinned on Kubernetes and only the gate satisfied the rule there.
  - ``max_gpus``: GPUs at full scale (each endpoint's GPUs x its max replicas, or min replicas without
    autoscaling; each cluster's GPUs per node x its max nodes, on AWS at least what its training jobs'
    runs hold at once, on Kubernetes plus what it may borrow: :func:`gpu_usage`) over the cap; a
    Kubernetes cluster that borrows without a limit fails it closed.
  - ``max_hourly_cost_usd``: the cost per hour at full scale (on-demand catalog prices: the plan's
    monthly ceiling / 730 h for what runs all month, endpoints that wait for their model version
    counted as running; what runs part of the time at its cost per hour while it runs: AWS training
    at the nodes its jobs ask for at once, summed per cluster, never ``nodes.max``, drift jobs at
    their runs at once; a Kubernetes cluster that borrows at max nodes + ``borrowing.maxNodes``, the
    count ``max_gpus`` uses: :func:`mlops_infra.plan.cost.hourly_ceiling`) over the cap; the finding
    names the items counted while they run (:func:`_at_peak`); items without a price make it fail
    closed (:func:`_unpriced`), and so does a cluster that borrows without a limit (:func:`_unbounded`).
  - ``endpoint_alerts``: an endpoint with no alert (on one of its monitors) that notifies a channel.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.graph import DesiredGraph, DesiredResource, is_json
from mlops_infra.name_lists import join_names
from mlops_infra.policy.facts import SystemFacts, component_facts, replica_ceiling
from mlops_infra.policy.model import FAIL, PASS, CostCeiling, GuardrailFinding, GuardrailResult
from mlops_infra.spec.guardrails import RULES, GuardrailSettings, progressive_strategies
from mlops_infra.spec.regions import unknown_region

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_ENCRYPTION_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_TYPES = (BUCKET, BUCKET_V2)
"""Every type token of an S3 bucket the pinned pulumi-aws (7.51.1) ships: ``pulumi_aws/s3/bucket.py`` and
``bucket_v2.py`` (each registers the other as an alias). Their inline default encryption (deprecated,
working) counts: Bucket's ``serverSideEncryptionConfiguration.rule.applyServerSideEncryptionByDefault``,
BucketV2's ``serverSideEncryptionConfigurations[].rules[].applyServerSideEncryptionByDefaults[]``."""
BUCKET_ENCRYPTION_TYPES = (BUCKET_ENCRYPTION, BUCKET_ENCRYPTION_V2)
"""Every type token of a bucket's default-encryption configuration it ships
(``bucket_server_side_encryption_configuration.py`` and ``..._v2.py``): ``rules[].applyServerSideEncryptionByDefault``."""
BUCKET_PUBLIC_ACCESS_BLOCK_TYPES = (BUCKET_PUBLIC_ACCESS_BLOCK,)
"""Every type token of a bucket's public access block it ships (``bucket_public_access_block.py``: no V2)."""
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KUBERNETES_SERVICE = "kubernetes:core/v1:Service"
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "ignorePublicAcls", "blockPublicPolicy", "restrictPublicBuckets")
EXPOSED_SERVICE_TYPES = ("LoadBalancer", "NodePort")

CostFunction = Callable[[DesiredGraph], CostCeiling]


@dataclass(frozen=True)
class Subject:
    """What one evaluation reads: the graph, its component facts (and the same facts by kind, in
    address order), the settings, the cost function, and the graph's resources of each type in
    :data:`RESOURCE_TYPES` in graph order (:meth:`resources`), found in one pass over the graph
    (the one that finds the component facts when the caller has none)."""

    graph: DesiredGraph
    facts: Mapping[str, dict[str, Any]]
    settings: GuardrailSettings
    cost: CostFunction | None
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)
    derived: dict[Any, Any] = field(default_factory=dict)
    by_type: dict[str, list[DesiredResource]] | None = None

    @classmethod
    def of(cls, graph: DesiredGraph, settings: GuardrailSettings, cost: CostFunction | None,
           facts: Mapping[str, dict[str, Any]] | None = None) -> Subject:
        if INDEX_RESOURCES:
            by_type, found = _index(graph.resources, facts is None)
            facts = found if facts is None else facts
        else:
            by_type, facts = None, component_facts(graph.resources) if facts is None else facts
        if isinstance(facts, SystemFacts):  # grouped and sorted already, per section
            return cls(graph, facts, settings, cost, facts.by_kind, facts.derived, by_type)
        by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for pair in sorted(facts.items(), key=_first):
            kind = pair[1].get("kind")
            group = by_kind.get(kind)
            if group is None:
                by_kind[kind] = [pair]
            else:
                group.append(pair)
        return cls(graph, facts, settings, cost, by_kind, by_type=by_type)

    def resources(self, type_: str) -> list[DesiredResource]:
        """The graph's resources of ``type_``, in graph order (:func:`_resources`)."""
        if self.by_type is None or type_ not in self.by_type:
            return _resources(self.graph, type_)
        return self.by_type[type_]

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """``(address, facts)`` of the components of ``kind``, in address order."""
        return self.by_kind.get(kind, [])

    def derive(self, name: str, make: Callable[..., Any], *groups: list[Any]) -> Any:
        """``make(*groups)``, reused by every environment whose ``groups`` (lists of :meth:`of_kind`)
        are the same lists (environments of one validate share the lists no override touched)."""
        key = (name, *map(id, groups))
        found = self.derived.get(key)
        if found is None or any(a is not b for a, b in zip(found[0], groups, strict=True)):
            found = self.derived[key] = (groups, make(*groups))
        return found[1]


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


RESOURCE_TYPES = (*BUCKET_TYPES, *BUCKET_ENCRYPTION_TYPES, *BUCKET_PUBLIC_ACCESS_BLOCK_TYPES, BUCKET_POLICY,
                  KUBERNETES_SERVICE)
"""The cloud resource types the rules read (:meth:`Subject.resources`)."""

INDEX_RESOURCES = True
"""Whether :meth:`Subject.of` finds the resources of :data:`RESOURCE_TYPES` (and the component
facts) in one pass over the graph (the shortcut), and :func:`check_max_gpus` reads the facts by
kind; tests turn it off to compare with a scan of the graph per type and
:func:`gpu_usage` of every fact."""


def _index(resources: Iterable[Any], with_facts: bool) -> tuple[dict[str, list[Any]], dict[str, dict[str, Any]]]:
    """``({type: resources of that type}, component facts)`` of ``resources`` in one pass: each
    list in the resources' order (:func:`_resources` of each type), the facts (when ``with_facts``)
    :func:`~mlops_infra.policy.facts.component_facts`'."""
    by_type: dict[str, list[Any]] = {type_: [] for type_ in RESOURCE_TYPES}
    if with_facts:
        return by_type, component_facts(resources, by_type)
    wanted = by_type.get
    for res in resources:
        group = wanted(res.type)
        if group is not None:
            group.append(res)
    return by_type, {}


Check = Callable[[Subject], list[GuardrailFinding]]


def evaluate_guardrails(graph: DesiredGraph, settings: GuardrailSettings, cost: CostFunction | None = None,
                        facts: Mapping[str, dict[str, Any]] | None = None) -> tuple[GuardrailResult, ...]:
    """Every rule that applies in the environment, evaluated on ``graph`` (see the module contract).
    ``facts`` (``{address: facts}``) stands for the graph's component facts when the caller has them
    already (``validate``: :func:`mlops_infra.policy.facts.system_facts`); ``graph`` then holds only
    what else the rules read (cloud resources, and components for the cost cap)."""
    subject = Subject.of(graph, settings, cost, facts)
    results = []
    for rule, level in settings.levels.items():
        findings = tuple(CHECKS[rule](subject))
        status = FAIL if findings else PASS
        summary = (f"{len(findings)} violation(s): {RULES[rule]} ({settings.env})" if findings
                   else f"{RULES[rule]} ({settings.env})")
        results.append(GuardrailResult(rule, level, status, summary, findings))
    return tuple(results)


def failing(results: Iterable[GuardrailResult]) -> tuple[GuardrailResult, ...]:
    """The results that fail, mandatory ones first (then in rule order)."""
    failed = [r for r in results if r.status == FAIL]
    return tuple(sorted(failed, key=lambda r: not r.blocks))


# -- the rules -----------------------------------------------------------------------------------


def _resources(graph: DesiredGraph, type_: str) -> list[DesiredResource]:
    return [r for r in graph.resources if r.type == type_]


def _of_types(subject: Subject, types: Iterable[str]) -> list[DesiredResource]:
    """The graph's resources of each of ``types`` (each type's in graph order, types in the order given)."""
    return [r for type_ in types for r in subject.resources(type_)]


def _attached(subject: Subject, types: Iterable[str]) -> dict[str, list[DesiredResource]]:
    """Resources of ``types`` by the URN of each resource they depend on (a bucket's configurations)."""
    out: dict[str, list[DesiredResource]] = {}
    for r in _of_types(subject, types):
        for dependency in r.dependencies:
            out.setdefault(dependency, []).append(r)
    return out


def _bucket_label(bucket: DesiredResource) -> str:
    name = bucket.inputs.get("bucket") if isinstance(bucket.inputs, dict) else None
    return f"bucket {name}" if isinstance(name, str) else f"bucket {bucket.name}"


def check_encryption(subject: Subject) -> list[GuardrailFinding]:
    found = [GuardrailFinding("encryption", address, f"{address} is encrypted with SSE-S3 (an AWS-owned key), not "
                              "a customer-managed KMS key", "Set encryption: kms (the default).", "encryption")
             for address, f in subject.of_kind("data_source") if f.get("encryption") != "kms"]
    configs = _attached(subject, BUCKET_ENCRYPTION_TYPES)
    for bucket in _of_types(subject, BUCKET_TYPES):
        defaults = [*_inline_defaults(bucket), *(d for c in configs.get(bucket.urn, ()) for d in _config_defaults(c))]
        if not any(_sse_algorithm(d) in KMS_ALGORITHMS and _has_key(d) for d in defaults):
            seen = ", ".join(sorted({_sse_algorithm(d) + ("" if _has_key(d) or _sse_algorithm(d) not in KMS_ALGORITHMS
                                                          else " without a key id")
                                     for d in defaults if _sse_algorithm(d)})) or "none"
            found.append(GuardrailFinding(
                "encryption", bucket.address or "platform",
                f"{_bucket_label(bucket)} has no default encryption with a KMS key (found: {seen})",
                "Give the bucket a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and a "
                "customer-managed key in kmsMasterKeyId (without one S3 uses the AWS managed key aws/s3; "
                "mlops-infra compiles one for every bucket: do not remove it).", urn=bucket.urn))
    return found


def _config_defaults(config: DesiredResource) -> list[Any]:
    """The ``applyServerSideEncryptionByDefault`` objects of an encryption configuration's rules."""
    inputs = config.inputs if isinstance(config.inputs, dict) else {}
    return [_dict(rule).get("applyServerSideEncryptionByDefault") for rule in _list(inputs.get("rules"))]


def _inline_defaults(bucket: DesiredResource) -> list[Any]:
    """The default-encryption objects a bucket carries inline (:data:`BUCKET_TYPES`' shapes)."""
    inputs = bucket.inputs if isinstance(bucket.inputs, dict) else {}
    if bucket.type == BUCKET:
        rule = _dict(_dict(inputs.get("serverSideEncryptionConfiguration")).get("rule"))
        return [rule.get("applyServerSideEncryptionByDefault")]
    return [default for config in _list(inputs.get("serverSideEncryptionConfigurations"))
            for rule in _list(_dict(config).get("rules"))
            for default in _list(_dict(rule).get("applyServerSideEncryptionByDefaults"))]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _sse_algorithm(default: Any) -> str:
    algorithm = _dict(default).get("sseAlgorithm")
    return algorithm if isinstance(algorithm, str) else ""


def _has_key(default: Any) -> bool:
    """Whether a default encryption names its KMS key (``kmsMasterKeyId``). Without one S3 uses the
    AWS managed key ``aws/s3`` ("If you don't specify a customer managed key at configuration, Amazon
    S3 automatically creates an AWS KMS key (aws/s3) in your AWS account", S3 API reference,
    ServerSideEncryptionByDefault; pulumi-aws ``s3/_inputs.py``
    ``BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs.kms_master_key_id``:
    "The default ``aws/s3`` AWS KMS master key is used if this element is absent"), whose key policy the
    customer cannot edit. A ref to a key in the graph counts; so does a present None, which is how the
    policy pack reads a value unknown during a preview (``program/policy_pack.plain``: the compiled key
    id is a ref to the platform key, unknown until the key exists); absent or empty does not."""
    default = _dict(default)
    return "kmsMasterKeyId" in default and default["kmsMasterKeyId"] != ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def check_public_access(subject: Subject) -> list[GuardrailFinding]:
    found = []
    blocks = _attached(subject, BUCKET_PUBLIC_ACCESS_BLOCK_TYPES)
    for bucket in _of_types(subject, BUCKET_TYPES):
        if not any(all(b.inputs.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS) for b in blocks.get(bucket.urn, ())):
            found.append(GuardrailFinding(
                "no_public_access", bucket.address or "platform",
                f"{_bucket_label(bucket)} has no public access block with all four settings on",
                "Give the bucket a BucketPublicAccessBlock with " + ", ".join(f"{f}: true" for f in PUBLIC_ACCESS_FLAGS)
                + " (mlops-infra compiles one for every bucket: do not remove it).", urn=bucket.urn))
    for policy in subject.resources(BUCKET_POLICY):
        for statement in _statements(policy.inputs.get("policy")):
            if statement.get("Effect") == "Allow" and _anyone(statement.get("Principal")):
                found.append(GuardrailFinding(
                    "no_public_access", policy.address or "platform",
                    f"bucket policy {policy.name} allows the principal * ({statement.get('Sid') or 'a statement'})",
                    "Name the principals the statement allows (an account or role ARN), never *.", urn=policy.urn))
    for service in subject.resources(KUBERNETES_SERVICE):
        spec = service.inputs.get("spec") if isinstance(service.inputs, dict) else None
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind in EXPOSED_SERVICE_TYPES:
            found.append(GuardrailFinding(
                "no_public_access", service.address or "platform",
                f"Service {service.name} is of type {kind}, reachable from outside the cluster",
                "Use a ClusterIP Service and expose it through an authenticated ingress.", urn=service.urn))
    return found


def _statements(document: Any) -> list[dict[str, Any]]:
    if is_json(document):
        document = document["$json"]
    elif isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = [statements] if isinstance(statements, dict) else _list(statements)
    return [s for s in statements if isinstance(s, dict)]


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        principal = principal.get("AWS")
    return principal == "*" or (isinstance(principal, list) and "*" in principal)


def check_progressive_rollout(subject: Subject) -> list[GuardrailFinding]:
    """Endpoints whose strategy is not progressive on the graph's target
    (:func:`~mlops_infra.spec.guardrails.progressive_strategies`: ``rolling`` is not, on Kubernetes)."""
    s = subject.settings
    cloud = subject.graph.metadata.get("cloud")
    accepted = progressive_strategies(cloud)
    example = "(for example rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m})."
    found = []
    for address, f in subject.of_kind("endpoint"):
        strategy = (f.get("rollout") or {}).get("strategy")
        if strategy is None or strategy in accepted:
            continue
        if strategy == "all_at_once":
            message = f"{address} rolls out all at once in {s.env}"
        else:
            message = (f"{address} rolls out {strategy} in {s.env}, which on {cloud} moves all traffic to the new "
                       "version at once (Knative's latest revision, no controller steps)")
        found.append(GuardrailFinding("progressive_rollout", address, message,
                                      f"Set rollout.strategy to {', '.join(accepted[:-1])} or {accepted[-1]} "
                                      + example, "rollout.strategy"))
    return found


def check_capture(subject: Subject) -> list[GuardrailFinding]:
    s = subject.settings
    return [GuardrailFinding("capture", address, f"{address} captures no requests in {s.env}",
                             "Add capture: {sample_percent: 10} (or more) to the endpoint: drift and quality monitors "
                             "and audits read the captured requests.", "capture")
            for address, f in subject.of_kind("endpoint") if not f.get("capturePercent")]


def check_approved_models(subject: Subject) -> list[GuardrailFinding]:
    facts, s = subject.facts, subject.settings
    if "model_approved" in s.gates:
        return []
    endpoints = subject.of_kind("endpoint")
    found = []
    for address, f in endpoints:
        model = f.get("model")
        approval = (facts.get(f"models.{model}") or {}).get("approval")
        if approval != "manual":
            found.append(GuardrailFinding(
                "approved_models", f"models.{model}",
                f"{address} serves {model}, whose versions are approved automatically, and {s.env} has no "
                "model_approved gate: any registered version would serve",
                f"Set approval: manual on model {model} (a person approves each version), or add model_approved to "
                f"environments.{s.env}.gates; then only versions Approved in the registry are served.", "approval"))
    return found


def gpu_usage(facts: Mapping[str, dict[str, Any]], cloud: str | None = None) -> list[tuple[str, int | None, str]]:
    """(address, GPUs at full scale, how) for every endpoint and cluster that has GPUs, on ``cloud``
    (``aws``, ``kubernetes``, or None: unknown, the larger count of the two). A cluster counts:

    - on AWS, the larger of its GPUs per node x max nodes and what its training jobs' runs hold at
      once: the sum over its jobs of GPUs per node x the job's nodes. SageMaker starts the instances
      each job asks for (botocore ``sagemaker`` ``ResourceConfig.InstanceCount``: "The number of ML
      compute instances to use"), whatever the cluster's max (``spec/hardware.py``
      ``check_training_nodes``: there "a cluster is only the capacity a job asks SageMaker for"), and
      nothing serialises two jobs' runs (a job's own runs do: its retrain gate starts none while one is
      ``Executing``, ``compile/aws/retrain_gate.py``);
    - on Kubernetes, its GPUs per node x (max nodes + ``borrowing.maxNodes``): its Kueue ClusterQueue
      admits up to its nominal quota plus what it may borrow from its cohort (``borrowingLimit``,
      ``compile/kubernetes/queues.py``); a cluster that borrows without a limit has no bound: None
      ("If null, it means that there is no borrowing limit", Kueue ``ClusterQueue`` v1beta2).
    """
    return _gpu_usage(sorted(facts.items()), cloud)


def _gpu_usage(pairs: Iterable[tuple[str, dict[str, Any]]], cloud: str | None = None) -> list[tuple[str, int | None, str]]:
    """:func:`gpu_usage` of facts given as ``(address, facts)`` pairs in address order."""
    pairs = list(pairs)
    jobs: dict[Any, list[tuple[str, int, int]]] = {}
    if cloud != "kubernetes":
        for _, f in pairs:
            if f.get("kind") == "training_job":
                gpus, nodes = f.get("gpus"), f.get("nodes")
                if _positive(gpus) and _positive(nodes):
                    jobs.setdefault(f.get("cluster"), []).append((str(f.get("name")), gpus, nodes))
    out: list[tuple[str, int | None, str]] = []
    for address, f in pairs:
        gpus = f.get("gpus") or 0
        if not isinstance(gpus, int) or gpus <= 0:
            continue
        if f.get("kind") == "endpoint":
            count = replica_ceiling(f)
            out.append((address, gpus * count, f"{gpus} GPU(s) x {count} replica(s)"))
        elif f.get("kind") == "cluster":
            out.append(_cluster_gpus(address, f, gpus, jobs.get(f.get("name"), ()), cloud))
    return out


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def borrowed_nodes(f: Mapping[str, Any]) -> int | None:
    """Nodes a Kubernetes cluster (its facts ``f``) may run beyond its max nodes by borrowing from its
    cohort: 0 without ``borrowing``, ``borrowing.maxNodes`` (the ClusterQueue's ``borrowingLimit``,
    ``compile/kubernetes/queues.py``), None when it borrows without a limit ("If null, it means that
    there is no borrowing limit", Kueue ``ClusterQueue`` v1beta2). The one count :func:`gpu_usage`
    and the cost cap (:func:`mlops_infra.plan.cost.hourly_ceiling`) add to max nodes."""
    borrowing = f.get("borrowing")
    if not isinstance(borrowing, dict):
        return 0
    limit = borrowing.get("maxNodes")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None


def unbounded_borrowing(f: Mapping[str, Any]) -> str:
    """How a cluster whose :func:`borrowed_nodes` is None borrows, as the findings say it."""
    return f"borrowing from cohort {(f.get('borrowing') or {}).get('cohort')} without a limit"


def _cluster_gpus(address: str, f: dict[str, Any], gpus: int, jobs: Iterable[tuple[str, int, int]],
                  cloud: str | None) -> tuple[str, int | None, str]:
    """One cluster's line of :func:`gpu_usage`."""
    count = f.get("maxNodes") or 0
    best: tuple[int | None, str] = (gpus * count, f"{gpus} GPU(s) x {count} node(s)")
    if cloud != "aws" and isinstance(f.get("borrowing"), dict):
        limit = borrowed_nodes(f)
        if limit is None:
            return address, None, f"{gpus} GPU(s) x {count} node(s) + {unbounded_borrowing(f)}"
        best = (gpus * (count + limit), f"{gpus} GPU(s) x ({count} node(s) + {limit} borrowed)")
    jobs = list(jobs)
    if cloud != "kubernetes" and jobs:
        total = sum(g * n for _, g, n in jobs)
        if best[0] is not None and total > best[0]:
            best = (total, "training jobs that may run at once: " + " + ".join(
                f"{name} {g} GPU(s) x {n} node(s)" for name, g, n in jobs))
    return address, best[0], best[1]


def check_max_gpus(subject: Subject) -> list[GuardrailFinding]:
    s = subject.settings
    if s.max_gpus is None:
        return []
    cloud = subject.graph.metadata.get("cloud")
    cloud = cloud if cloud in ("aws", "kubernetes") else None
    if INDEX_RESOURCES:  # the endpoints, clusters and jobs, in address order: no sort of every fact
        usage = _gpu_usage(sorted([*subject.of_kind("cluster"), *subject.of_kind("endpoint"),
                                   *subject.of_kind("training_job")], key=_first), cloud)
    else:
        usage = gpu_usage(subject.facts, cloud)
    unbounded = [(a, how) for a, n, how in usage if n is None]
    if unbounded:
        return [GuardrailFinding("max_gpus", address, f"{address} has no GPU bound in {s.env}: {how}, so the "
                                 f"cap of {s.max_gpus} GPUs cannot hold (the rule fails closed)",
                                 "Set borrowing.max_nodes on the cluster (at most that many nodes borrowed from "
                                 "the cohort), or remove borrowing.", "borrowing.max_nodes")
                for address, how in unbounded]
    total = sum(n for _, n, _ in usage if n is not None)
    if total <= s.max_gpus:
        return []
    largest = sorted(usage, key=lambda u: -u[1])[:5]
    shown = "; ".join(f"{a}: {how} = {n}" for a, n, how in largest)
    return [GuardrailFinding("max_gpus", f"environments.{s.env}",
                             f"{s.env} uses {total} GPUs at full scale, over its cap of {s.max_gpus} ({shown})",
                             "Lower replicas.max, nodes.max or training jobs' nodes, use fewer GPUs per replica "
                             f"or node, or raise environments.{s.env}.guardrails.max_gpus.", "guardrails.max_gpus")]


def check_max_hourly_cost(subject: Subject) -> list[GuardrailFinding]:
    s = subject.settings
    cap = s.max_hourly_cost_usd
    where, field = f"environments.{s.env}", "guardrails.max_hourly_cost_usd"
    if cap is None:
        return []
    if subject.cost is None:
        return [GuardrailFinding("max_hourly_cost_usd", where, f"the cost of {s.env} could not be evaluated (no "
                                 "price function was given): the cap fails closed",
                                 "Evaluate guardrails through mlops_infra.plan.guardrails.evaluate (this is a bug "
                                 "in mlops-infra when it shows in validate, plan or the policy pack).", field)]
    ceiling = subject.cost(subject.graph)
    if ceiling.unbounded:
        return _unbounded(s.env, cap, ceiling)
    if ceiling.usd_per_hour <= cap:
        return _unpriced(s.env, cap, ceiling, where, field)
    shown = "; ".join(f"{address}: ${usd:,.2f}/h" for address, usd in ceiling.by_item[:5])
    uncounted = f" Not counted (no price): {', '.join(ceiling.not_counted)}." if ceiling.not_counted else ""
    return [GuardrailFinding("max_hourly_cost_usd", where,
                             f"{s.env} may cost ${ceiling.usd_per_hour:,.2f}/h at full scale, over its cap of "
                             f"${cap:,.2f}/h ({shown}){_at_peak(ceiling)}",
                             "Lower replicas.max, nodes.max, borrowing.max_nodes or training jobs' nodes, choose "
                             "smaller instances, or raise "
                             f"environments.{s.env}.guardrails.max_hourly_cost_usd (on-demand catalog prices: "
                             "endpoints at max replicas with what their update runs beside them (the fleet again, a "
                             "canary's last size, one rolling batch), Kubernetes clusters at max nodes + "
                             "borrowing.max_nodes, and "
                             "what runs part of the time while it runs: AWS training at the nodes its jobs' runs hold "
                             "at once, drift jobs at their runs at once; docs/guardrails.md)."
                             f"{uncounted}", field)]


def _at_peak(ceiling: CostCeiling) -> str:
    """The clause naming the items counted while they run (:attr:`CostCeiling.at_peak`), not as a
    monthly average: a weekly training run or a 6-hourly drift job costs its instances' price per
    hour while it runs, whatever its share of the month."""
    if not ceiling.at_peak:
        return ""
    shown = join_names(ceiling.at_peak, 8)
    return f"; counted at their peak (what may run at once, not a monthly average): {shown}"


def _unbounded(env: str, cap: float, ceiling: CostCeiling) -> list[GuardrailFinding]:
    """The cap's findings when a Kubernetes cluster borrows without a limit: its cost per hour has no
    bound, so no cap can hold; the rule fails closed, as :func:`check_max_gpus` does on the same
    clusters (:func:`borrowed_nodes`), with the same fix."""
    return [GuardrailFinding("max_hourly_cost_usd", address,
                             f"{address} has no cost bound in {env}: {how}, so the cap of ${cap:,.2f}/h cannot "
                             "hold (the rule fails closed)",
                             "Set borrowing.max_nodes on the cluster (at most that many nodes borrowed from the "
                             "cohort), or remove borrowing.", "borrowing.max_nodes")
            for address, how in ceiling.unbounded]


def _unpriced(env: str, cap: float, ceiling: CostCeiling, where: str, field: str) -> list[GuardrailFinding]:
    """The cap's finding when items have no catalog price: none when every item has one. An unpriced
    item adds $0 (the plan shows it "not counted"), so the cap cannot hold: the rule fails closed, as
    :func:`check_max_gpus` does for a cluster without a GPU bound. The fix names the command that
    adds the prices (docs/prices.md), never for a region botocore does not know (no price exists there: the
    fix is the target region, audit envs-6) nor for an aws-cn region (its prices are not available from
    mlops-infra, :func:`mlops_infra.catalog.unpriceable`, audit xregion-2), and how to accept an unchecked cap
    (the rule's level)."""
    if not ceiling.not_counted:
        return []
    items = ceiling.not_counted
    shown = join_names(items, 8)
    from mlops_infra.catalog import unpriceable

    china = [r for r in ceiling.missing_regions if unpriceable(r)]  # no refresh prices an aws-cn region (xregion-2)
    real = [r for r in ceiling.missing_regions if not unknown_region(r) and r not in china]
    unreal = [r for r in ceiling.missing_regions if r not in real and r not in china]
    where_missing = f" in {', '.join(ceiling.missing_regions)}" if ceiling.missing_regions else ""
    fix = (f"{', '.join(unreal)} is not an AWS region botocore knows (validate's unknown-region warning): fix "
           f"environments.{env}.target.region. " if unreal else "")
    fix += "".join(f"{why[0].upper()}{why[1:]}. " for r in china if (why := unpriceable(r)))
    if real or not (unreal or china):
        fix += (f"Add the missing prices: `mlops-infra catalog refresh --regions {','.join(real) or '<region>'} "
                "--out prices.json` with AWS credentials, then `export MLOPS_INFRA_PRICES=\"$PWD/prices.json\"` (an "
                "absolute path: the policy pack runs from its own folder; docs/prices.md). ")
    return [GuardrailFinding(
        "max_hourly_cost_usd", where,
        f"{len(items)} item(s) of {env} have no price in the price catalog{where_missing} ({shown}): the cap of "
        f"${cap:,.2f}/h cannot be checked (the rule fails closed; the priced items cost "
        f"${ceiling.usd_per_hour:,.2f}/h at full scale{_at_peak(ceiling)})",
        f"{fix}To accept an unchecked cap, set "
        f"environments.{env}.guardrails.rules.max_hourly_cost_usd: advisory (a warning), or remove the cap.", field)]


def _alerted(monitors: list[tuple[str, dict[str, Any]]], alerts: list[tuple[str, dict[str, Any]]]) -> set[Any]:
    """Names of the endpoints watched by a monitor with an alert that notifies a channel."""
    endpoint_of = {f.get("name"): f.get("endpoint") for _, f in monitors}
    return {endpoint_of.get(f.get("monitor")) for _, f in alerts if f.get("notify")}


def check_endpoint_alerts(subject: Subject) -> list[GuardrailFinding]:
    alerted = subject.derive("alerted", _alerted, subject.of_kind("monitor"), subject.of_kind("alert"))
    return [GuardrailFinding("endpoint_alerts", address, f"{address} has no alert that notifies a channel",
                             f"Add a monitor on {f.get('name')} (for example metric: error_rate) and an alert on it "
                             "with notify: [<channel>].")
            for address, f in subject.of_kind("endpoint") if f.get("name") not in alerted]


CHECKS: dict[str, Check] = {
    "encryption": check_encryption,
    "no_public_access": check_public_access,
    "progressive_rollout": check_progressive_rollout,
    "capture": check_capture,
    "approved_models": check_approved_models,
    "max_gpus": check_max_gpus,
    "max_hourly_cost_usd": check_max_hourly_cost,
    "endpoint_alerts": check_endpoint_alerts,
}
"""Rule name -> its check (one per name of :data:`mlops_infra.spec.guardrails.RULES`)."""
