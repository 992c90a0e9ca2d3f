"""Make a plan: match desired resources to prior state by URN and decide an action for each.

Contract of :func:`make_plan` (pure and deterministic: no clock, environment, network or Pulumi):
- CREATE for a desired URN not in state (``missing-in-cloud`` when a refreshed read says it is
  gone: created again by an apply of this plan, which refreshes first, :data:`_GONE`); DELETE for a state URN no longer desired, except the root ``pulumi:pulumi:Stack`` and
  default providers (``pulumi:providers:<pkg>::default*``), which the engine manages; UPDATE or
  REPLACE when normalised inputs differ (``plan/normalize.py``, ``plan/diff.py``; a resource whose
  stored inputs' text proves it unchanged, ``normalize.unchanged``, is not walked), REPLACE when a
  changed path forces it (``plan/rules.py`` or the resource's ``replace_on_changes``) or when its
  provider is replaced, or it moves to another provider (explicit or default alike) whose replace keys differ
  from the old one's (``_provider_reason``: ``DiffConfig``, Pulumi >= 3.151; an aws provider has none: pulumi-aws 7
  moves a resource to another region through its own ``region`` input, ``rules.REGION``); NOOP otherwise (kept
  unless ``PlanOptions.include_noops`` is False).
- Resources are planned in dependency order, so a ref to a created or replaced resource resolves
  to "known after apply" (or to that resource's new input of the same name, when it echoes one,
  e.g. ``name``). With no prior resource (a first plan) every resource is created and a ref resolves
  to that answer whatever was planned before it: they are planned in URN order, each CREATE recorded
  first (``_Planner._creates``), with no alias or sequence worked out (nothing in a prior to take
  over). A dependent whose only changes come from such refs has the reason ``depends-on-replaced``;
  it is a REPLACE exactly when such a path forces replacement for its type.
- A REPLACE deletes first (``delete_before_replace``, the outage line) exactly when Pulumi would:
  the resource's ``delete_before_replace`` option when set, else the provider's own rule for a
  replace it forces itself (an explicitly named AWS resource; a Kubernetes object whose explicit
  name and namespace stay). A create-first replace that keeps the physical name is warned about
  (the create collides), unless it moves the resource to another AWS region, where a regional name is free; one that
  moves an S3 bucket to another region under the same name is blocked (bucket names are not regional:
  :mod:`mlops_infra.plan.global_names`). IAM resources have no region and do not move.
- A DELETE or REPLACE of a protected resource (protected in state, or in the spec for a replace)
  keeps its action, gets the reason ``protected`` and a ``blocked`` message saying how to unprotect.
- An UPDATE that shortens (or first sets) a store's retention deletes data S3 already holds
  (:mod:`mlops_infra.plan.retention`): warned; blocked like a protected delete when its lifecycle is protected
  in the state.
- A DELETE of a resource whose state has ``retainOnDelete`` (and no ``protect``) is ``retained``, with
  the reason ``retained``: the engine only drops it from the state (pulumi/pulumi
  ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``: "Deleting a "drop on delete" is a no-op"), so it
  stays in the cloud and ``Plan.counts`` does not count it as destroyed.
- A resource whose state records ``initErrors`` (the last apply made it, but it did not become ready:
  :mod:`mlops_infra.plan.init_errors`) is never a NOOP: as the engine does ("generate an empty update
  step to attempt to 'continue' awaiting initialization", pkg/resource/deploy/step_generator.go), it
  is an UPDATE with the reason ``init-error`` and the provider's first reason, redacted and shortened;
  a Kubernetes Job with ``pulumi.com/replaceUnready: "true"`` is a delete-first REPLACE instead (its
  provider replaces a Job that is not ready). A resource that changes anyway keeps its action and
  reason, and its message says it too.
- With a live reading, a resource read live that is not ready (a Deployment whose rollout failed, an
  InferenceService whose Ready condition is False, a failed Job, a SageMaker endpoint OutOfService or whose
  last update failed: :mod:`mlops_infra.plan.readiness`) keeps its NOOP, with the reason ``not-ready``
  (``pulumi up`` leaves it as it is), except a failed ``replaceUnready`` Job, which its provider
  replaces; a resource that changes anyway says it too.
- A resource whose state has ``pendingReplacement`` (a delete-before-replace deleted it, the create did not follow:
  :attr:`~mlops_infra.state.model.StateResource.pending_replacement`) is a REPLACE whatever its diff, with the reason
  ``pending-replacement``, that deletes nothing (not ``delete_before_replace``, no loss warned), as the engine
  does (pkg/resource/deploy/step_generator.go: ``old.PendingReplacement`` forces the replace and emits no delete
  step); one no longer desired is a ``retained`` DELETE (``NewRemovePendingReplaceStep``: removed from the
  state only), never blocked by ``protect`` (that step deletes nothing).
- A desired resource whose state has ``taint`` (``pulumi state taint``) is a REPLACE whatever its diff, with the
  reason ``tainted``, as the engine's ``isTargetedReplace``; as for ``pulumi up --replace`` the engine asks no
  provider, so it deletes first only by its ``delete_before_replace`` option.
- Each copy the state marks ``delete: true`` (:attr:`~mlops_infra.state.model.PriorState.pending_deletes`: an old
  object a create-before-replace could not delete) is a DELETE of its own, reason ``pending-delete``, beside its
  URN's own change (before it in ``Plan.changes``), as the engine's ``GenerateDeletes`` deletes each on the next
  ``up`` whatever the program says and whatever its ``protect`` (a replacing delete: ``step.go`` ``DeleteStep.Apply``);
  counted in ``Plan.counts``' destroys (one with ``retainOnDelete``, which the engine only drops from the state, is
  left out).
- A resource whose state has ``external`` (read with ``Resource.get``, :attr:`StateResource.external`) is, when no
  longer desired, a ``retained`` DELETE, reason ``read-resource`` (the engine's delete of it only drops it from the
  state: ``step.go`` ``DeleteStep.Op`` ``OpReadDiscard``), blocked when protected (``DeleteStep.Apply`` checks
  ``protect`` first); when desired, a REPLACE with that reason that deletes nothing (the engine creates a managed
  one in its place: step_generator.go "Case 2: wasExternal").
- Components (``custom=False``) are planned like other resources (their inputs are ML facts) and
  are excluded from ``Plan.counts``.
- An explicit provider is planned with the inputs ``pulumi up`` registers: the stack config's provider
  settings (``PlanOptions.provider_settings``, e.g. ``kubernetes:context``) over the graph's inputs they
  override; ``graph.digest()`` stays the compiled graph's.
- A resource whose ``deleted_with`` resource is REPLACEd is a REPLACE too, reason ``deleted-with-replaced``, as the
  engine does (pkg/resource/deploy/step_generator.go ``calculateDependentReplacements``: "A resource deleted with a
  replaced resource is destroyed by that delete, so it must be replaced regardless of property diffs"; ``diff``
  for a goal whose ``DeletedWith`` is replaced): an endpoint's scalable target and policy, which AWS deregisters
  with the endpoint.
- Changes AWS only accepts in order (an autoscaled variant's instance type, finding A3) become
  ``Plan.sequences`` and their autoscaling resources REPLACE (``plan/sequences.py``).
- The plan records ``prior.serial`` and ``graph.digest()`` (computed when first read: text and
  markdown renders do not show it; :class:`~mlops_infra.plan.model.DeferredDigest`); ``changes`` are sorted by URN; drift
  (given, or found from ``live`` by :func:`mlops_infra.plan.drift.find_drift`) is its own section.
- Aliases (``ResourceOptions.aliases``, full URNs), as the engine matches them (pulumi
  pkg/resource/deploy/step_generator.go ``getOldResource``): a desired resource whose URN is not in
  the state takes the prior resource of its first alias that is in the state, is not itself desired
  and is not taken by another resource; it is planned against that prior like any resource under its
  own type's rules (a type change, e.g. a Namespace that became a NamespacePatch, is no replace by
  itself), and the aliased URN is never deleted (``isOperatedOn``). Its NOOP or UPDATE gets the reason
  ``aliased``, naming the type and name it had; a REPLACE keeps its reason, with that said first. The typed SDK
  classes' own type aliases (``pulumi.Alias(type_=...)`` in ``_internal_init``: pulumi-aws 7's ``Bucket`` aliases
  6's ``BucketV2``) are matched the same way, after the resource's own (:mod:`mlops_infra.plan.sdk_aliases`); such a
  rename is said as "renamed by an SDK alias".
- Warnings: provider versions the state records other than the SDK versions ``up`` runs with
  (:mod:`mlops_infra.plan.provider_versions`, first), pending operations in state, a state of another project/stack, updates of types with
  no registered replacement rules, secrets that could not be compared, live reads that failed, and
  with a live reading SNS subscriptions not confirmed (:mod:`mlops_infra.plan.email_confirmation`), and
  a SageMaker serving role that loses an ECR pull its served version may need
  (:mod:`mlops_infra.plan.serving_pull`).
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from mlops_infra.compile.context import COMPONENT_TYPES, PLATFORM_TYPE
from mlops_infra.frozen import fillable
from mlops_infra.frozen import new as new_object
from mlops_infra.graph import (
    REF,
    ROOT_STACK_TYPE,
    DesiredGraph,
    DesiredResource,
    is_ref,
    urn_name,
)
from mlops_infra.plan import diff, env_values, init_errors, normalize, provider_env, retention
from mlops_infra.plan.diff import creation_changes, diff_inputs
from mlops_infra.plan.global_names import GLOBAL_NAMES, collision
from mlops_infra.plan.model import (
    Action,
    AttributeChange,
    DeferredDigest,
    Plan,
    Reason,
    ResourceChange,
    UnreadGroup,
)
from mlops_infra.plan.normalize import MISSING, Normalized, RefValue, get_dotted, normalize_inputs
from mlops_infra.plan.rules import (
    MUTABLE_FLAGS,
    REGION,
    PathMatcher,
    ReplaceRule,
    matcher,
    option_matcher,
    parse_path,
    provider_deletes_first,
    region_aware,
    replace_matcher,
    rule_for,
    with_provider_flags,
)
from mlops_infra.plan.sdk_aliases import alias_urns
from mlops_infra.plan.sequences import order_autoscaling
from mlops_infra.state.model import READ_FAILURE_CAUSES, UNKNOWN, LiveState, PriorState, StateResource

_SECTION_OF = {type_: section for section, type_ in COMPONENT_TYPES.items()}
_Kind = tuple[ReplaceRule, bool, bool]
"""What :meth:`_Planner._plan` reads of a resource's type: its rule, whether it is in ``MUTABLE_FLAGS``, whether
its provider fills its region (``region_aware``, custom resources only)."""
_URN = attrgetter("urn")
_NO_CHANGE = Reason("no-change", "no changes")
"""The reason of every NOOP (one immutable object for the many unchanged resources of a plan)."""
_REASON_SLOTS = fillable(Reason)


def _reason(code: str, message: str) -> Reason:
    """``Reason(code, message)``, built as :mod:`mlops_infra.frozen` says (one per resource to create)."""
    reason = new_object(_REASON_SLOTS)
    reason.code, reason.message = code, message
    reason.__class__ = Reason
    return reason


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Options of :func:`make_plan`.

    ``include_noops``: keep NOOP changes in ``Plan.changes`` (renderers hide them; JSON shows them).
    ``estimate_cost`` / ``summarize_ml``: fill ``Plan.cost`` / ``Plan.ml``.
    ``region``: price region for the cost estimate (default: the graph's ``metadata["region"]``).
    ``provider_settings``: package -> {input: value} the stack configuration gives every explicit provider of
    the package at apply (``pulumi config set kubernetes:context``: the program registers the graph's inputs
    updated with them, ``program/providers.py`` ``provider_inputs``; read by
    :func:`mlops_infra.kube.effective_context.provider_settings`). An input of the rule's ``stack_config`` that
    the graph's provider sets is planned at that value, what ``pulumi up`` sends: an override applied once plans
    no change, one changed since plans the change. Inputs the graph leaves unset stay uncompared (the rule's
    ``stack_config``). None: the graph's inputs.
    ``sdk_versions``: provider package -> the SDK version ``pulumi up`` runs with; a state whose providers record
    another ``version`` is warned about (:mod:`mlops_infra.plan.provider_versions`). None: the installed SDKs'.
    ``program_env``: the ``PULUMI_K8S_*`` variables (:data:`mlops_infra.plan.provider_env.VARIABLES`) set where
    ``pulumi up`` runs the program (the CLI passes its own environment's): each explicit Kubernetes provider is
    planned with the options ``pulumi_kubernetes.Provider`` sends from them (:func:`mlops_infra.plan.provider_env.sent`),
    so a stored option this run does not send the same is a provider update naming its variable. None: none set.
    """

    include_noops: bool = True
    estimate_cost: bool = True
    summarize_ml: bool = True
    region: str | None = None
    provider_settings: Mapping[str, Mapping[str, Any]] | None = None
    sdk_versions: Mapping[str, str] | None = None
    program_env: Mapping[str, str] | None = None


def make_plan(graph: DesiredGraph, prior: PriorState, *, live: LiveState | None = None,
              drift: Sequence[Any] | None = None, options: PlanOptions | None = None) -> Plan:
    """The plan that takes ``prior`` to ``graph`` (see the module contract).

    The cyclic garbage collector is paused while planning (the walk allocates hundreds of thousands
    of small acyclic containers, which a collection would only walk again) and restored
    afterwards, as the compiler does.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _make_plan(graph, prior, live, drift, options or PlanOptions())
    finally:
        if was_enabled:
            gc.enable()


def _make_plan(graph: DesiredGraph, prior: PriorState, live: LiveState | None, drift: Sequence[Any] | None,
               options: PlanOptions) -> Plan:
    planner = _Planner(graph, prior, live, options.provider_settings, options.program_env)
    changes = planner.run()
    present = {c.action for c in changes}  # the actions planned: each scan below only where its action is
    if options.program_env or (Action.UPDATE in present and any(
            c.type == provider_env.TYPE and c.action is Action.UPDATE for c in changes)):
        changes, warned = provider_env.explained(changes, prior, planner.desired, options.program_env)  # closing-43b-1
        planner.warnings.extend(warned)
    if prior.resources:  # provvers-4: the provider versions that wrote the state
        from mlops_infra.plan.provider_versions import installed_sdk_versions, version_warnings

        installed = installed_sdk_versions() if options.sdk_versions is None else options.sdk_versions
        planner.warnings[:0] = version_warnings(prior, installed)
    sequences, changes = order_autoscaling(graph, prior, changes)
    if prior.pending_deletes:  # stateformats-3; after the sequences, which take one change per URN
        changes = tuple(sorted((*planner.pending_deletes(), *changes), key=_URN))  # stable: each before its URN's own
    present = {c.action for c in changes}
    kept: dict[str, str] = {}
    if Action.DELETE in present and any(
            c.action is Action.DELETE and c.type == "aws:appautoscaling/target:Target" for c in changes):
        from mlops_infra.plan.kept_count import kept_counts  # autoscale-2: a count no call resets

        kept = kept_counts(changes, prior, planner.desired)
        planner.warnings.extend(kept.values())
    if live is not None:  # resources read live that are not ready (plan/readiness.py)
        from mlops_infra.plan.readiness import marked, not_ready

        changes = marked(changes, not_ready(live))
        present = {c.action for c in changes}
    drift_items = _drift(graph, prior, live, drift, planner.warnings)
    if live is not None:
        from mlops_infra.plan.email_confirmation import unconfirmed_warnings

        planner.warnings.extend(unconfirmed_warnings(live, planner.desired))
    if Action.UPDATE in present and any(c.type.endswith(":InferenceService") and c.action is Action.UPDATE
                                        for c in changes):
        from mlops_infra.plan.revision_restart import revision_warnings

        planner.warnings.extend(revision_warnings(changes, prior, planner.desired))
    if any(c.role == "pushgateway" for c in changes):  # rare: read the rule only then
        from mlops_infra.plan.pushgateway_restart import restart_warnings

        planner.warnings.extend(restart_warnings(changes, prior, planner.desired))
    if Action.DELETE in present or Action.REPLACE in present:  # a removed cluster or job (queue_removal)
        from mlops_infra.plan.queue_removal import removal_warnings

        planner.warnings.extend(removal_warnings(changes, prior, planner.desired))
    if Action.UPDATE in present and any(
            c.action is Action.UPDATE and c.type == "aws:iam/rolePolicy:RolePolicy" and c.address.startswith("endpoints.")
            for c in changes):  # a serving role's policy changed (serving_pull: an ECR pull it loses)
        from mlops_infra.plan.serving_pull import pull_warnings

        planner.warnings.extend(pull_warnings(changes, prior, planner.desired, graph.model_versions))
    ml: tuple = ()
    facts = None
    if options.summarize_ml or options.estimate_cost:  # both read the same facts: read once
        from mlops_infra.plan.cost import facts_by_address
        from mlops_infra.policy.facts import settle_prior

        facts = settle_prior(facts_by_address(prior.resources.values()), facts_by_address(graph.resources))
    if options.summarize_ml:
        from mlops_infra.plan.ml import summarize_ml

        ml = summarize_ml(graph, prior, changes, drift=drift_items, sequences=sequences, facts=facts)
    cost = None
    if options.estimate_cost:
        from mlops_infra.plan.cost import estimate_cost

        cost = estimate_cost(graph, prior, region=options.region, facts=facts, kept=frozenset(kept))
    kept = changes if options.include_noops else tuple(  # a not-ready NOOP is kept: the renderers show it
        c for c in changes if c.action is not Action.NOOP or c.reason.code == "not-ready")
    return Plan(project=graph.project, stack=graph.stack, target=dict(graph.metadata), state_serial=prior.serial,
                graph_digest=DeferredDigest(graph.digest), changes=kept, ml=ml, drift=drift_items, cost=cost,
                refreshed=live is not None or drift is not None, warnings=tuple(planner.warnings),
                unread=unread_groups(live) if live is not None else (),
                sequences=sequences)


def _drift(graph: DesiredGraph, prior: PriorState, live: LiveState | None, drift: Sequence[Any] | None,
           warnings: list[str]) -> tuple[Any, ...]:
    if drift is None and live is not None:
        from mlops_infra.plan.drift import find_drift, left_alone

        drift = find_drift(prior, live, left=left_alone(graph), desired=graph)
    unread = unread_groups(live) if live is not None else ()
    if unread:
        causes = "; ".join(f"{g.count} {g.cause} ({', '.join(g.codes)})" for g in unread)
        warnings.append(f"the refresh is incomplete: {sum(g.count for g in unread)} resource(s) could not be read "
                        f"from the cloud, so drift on them is unknown ({causes})")
    return tuple(sorted(drift or (), key=lambda d: str(getattr(d, "urn", "") or (d.get("urn", "") if isinstance(d, dict) else ""))))


def unread_groups(live: LiveState) -> tuple[UnreadGroup, ...]:
    """The resources ``live`` could not read, grouped by cause (most first), with their AWS error
    codes and advice; reads without a recorded cause count as ``other``."""
    by_cause: dict[str, list[str]] = {}
    for urn in live.errors.keys() | live.failures.keys():
        cause, code = live.failures.get(urn, ("other", (live.errors.get(urn) or "").split(":", 1)[0] or "unknown"))
        by_cause.setdefault(cause, []).append(code)
    groups = [UnreadGroup(cause, tuple(sorted(set(codes))), len(codes),
                          READ_FAILURE_CAUSES.get(cause, READ_FAILURE_CAUSES["other"]))
              for cause, codes in by_cause.items()]
    return tuple(sorted(groups, key=lambda g: (-g.count, g.cause)))


def is_default_provider(urn: str, type_: str) -> bool:
    """A provider the engine created because a resource named none (never deleted by a plan)."""
    return type_.startswith("pulumi:providers:") and urn_name(urn).startswith("default")


class _Planner:
    """State of one planning run (see :func:`make_plan`)."""

    def __init__(self, graph: DesiredGraph, prior: PriorState, live: LiveState | None,
                 provider_settings: Mapping[str, Mapping[str, Any]] | None = None,
                 program_env: Mapping[str, str] | None = None) -> None:
        self.graph = graph
        self.state = prior
        self.desired = {r.urn: r for r in graph.resources}
        if provider_settings:
            self._registered_providers(provider_settings)
        self.program_env = program_env
        """``PlanOptions.program_env``: read by :func:`mlops_infra.plan.provider_env.configured`."""
        if program_env and (options := provider_env.sent(program_env)):
            self._sdk_sent(options)
        self.missing = live.missing if live is not None else frozenset()
        self.live = live
        self.prior = {u: r for u, r in prior.resources.items() if u not in self.missing}
        self.aliased = self._match_aliases()
        """Desired URN -> the state URN it takes over by an alias (that prior is in ``prior`` under the desired URN)."""
        self.actions: dict[str, Action] = {}
        self.warnings: list[str] = []
        self.unverifiable = 0
        self.unknown_types: set[str] = set()
        self.outputs: dict[tuple[str, str], Any] = {}
        self.refs: dict[tuple[str, str], RefValue] = {}
        self.ref_texts: dict[bytes, bytes] = {}
        """:data:`~mlops_infra.plan.normalize.RefTexts` of the refs in ``refs`` (final answers), for
        :func:`~mlops_infra.plan.normalize.unchanged`: a ref's replacement without a lookup."""
        self.made: dict[tuple[str, type, Any], AttributeChange] = {}  # creation_changes' shared scalar changes
        self.env_config_maps: set[str] | None = None  # env_values.env_config_maps(graph), made on first use
        self.filled: dict[str, Mapping[str, Any]] = {}  # explicit provider URN -> what it fills (_filled)
        self.stored_filled: dict[str | None, Mapping[str, Any]] = {}  # the state's provider -> what it fills
        self.kinds: tuple[dict[str, _Kind], dict[str, _Kind]] = ({}, {})
        """Per ``custom`` (False, True): type -> its :data:`_Kind`, looked up once per type (:meth:`_kind`)."""

    def _registered_providers(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Each explicit provider as ``pulumi up`` registers it: the stack config's ``settings`` over the inputs of
        its rule's ``stack_config`` the graph sets (``PlanOptions.provider_settings``)."""
        for urn, res in self.desired.items():
            if not res.type.startswith("pulumi:providers:"):
                continue
            keys = rule_for(res.type).stack_config
            given = settings.get(res.type.rsplit(":", 1)[1]) or {}
            sent = {k: v for k, v in given.items() if k in keys and k in res.inputs and v is not None}
            if sent:
                self.desired[urn] = replace(res, inputs={**res.inputs, **sent})

    def _sdk_sent(self, options: Mapping[str, str]) -> None:
        """Each explicit Kubernetes provider with the ``options`` its SDK class sends from the environment, those the
        graph leaves unset (``PlanOptions.program_env``)."""
        for urn, res in self.desired.items():
            if res.type == provider_env.TYPE and (unset := {k: v for k, v in options.items() if k not in res.inputs}):
                self.desired[urn] = replace(res, inputs={**res.inputs, **unset})

    def _match_aliases(self) -> dict[str, str]:
        """Move the prior of each aliased resource to its desired URN (see the module contract)."""
        found: dict[str, str] = {}
        taken: set[str] = set()
        prior, desired = self.prior, self.desired
        if not prior:  # nothing to take over (a first plan): no resource's aliases are worked out
            return found
        for res in self.graph.resources:
            sdk = alias_urns(res.urn, res.type) if res.custom else ()
            if (not res.options.aliases and not sdk) or res.urn in prior:
                continue
            alias = next((a for a in (*res.options.aliases, *sdk) if a in prior and a not in desired and a not in taken),
                         None)
            if alias is not None:
                taken.add(alias)
                found[res.urn] = alias
        for urn, alias in found.items():
            prior[urn] = prior.pop(alias)
        return found

    # -- driver -------------------------------------------------------------------------------------
    def run(self) -> tuple[ResourceChange, ...]:
        self._state_warnings()
        changes = [self._plan(self.desired[urn]) for urn in self._order()] if self.prior else self._creates()
        if self.aliased:
            changes = [self._aliased(c) if c.urn in self.aliased else c for c in changes]
        changes += self._deletes()
        if self.unverifiable:
            self.warnings.append(
                f"{self.unverifiable} secret value(s) in the state are encrypted by the "
                f"{self.state.secrets_provider or 'unknown'} secrets provider and could not be compared; "
                "they were assumed unchanged")
        if self.unknown_types:
            self.warnings.append(
                "no replacement rules for " + ", ".join(sorted(self.unknown_types))
                + ": their changes are shown as updates, but the provider may replace them")
        return tuple(sorted(changes, key=_URN))

    def _order(self) -> list[str]:
        """Desired URNs, dependencies (and providers) first, ties by URN; cycles broken by URN.

        Each resource keeps the count of its dependencies not yet ordered (not their set: a plan
        orders every desired resource at once). URNs are handled as their ranks in URN order (the
        heap compares integers, not long strings with a common prefix: the same order)."""
        urns = sorted(self.desired)
        rank = {urn: i for i, urn in enumerate(urns)}
        rank_of = rank.get
        desired = self.desired
        count = len(urns)
        pending = [0] * count
        users: list[list[int] | None] = [None] * count
        for i, urn in enumerate(urns):
            res = desired[urn]
            found = set(map(rank_of, res.dependencies))  # None for a URN not desired
            if res.provider is not None:
                found.add(rank_of(res.provider))
            found.discard(None)
            found.discard(i)
            if not found:
                continue
            pending[i] = len(found)
            for dep in found:
                waiting = users[dep]
                if waiting is None:
                    users[dep] = [i]
                else:
                    waiting.append(i)
        ready = [i for i in range(count) if not pending[i]]  # ascending: already a heap
        done = bytearray(count)
        order: list[str] = []
        while len(order) < count:
            if not ready:  # a cycle (not produced by GraphBuilder): release the smallest remaining URN
                heapq.heappush(ready, done.index(0))
            i = heapq.heappop(ready)
            if done[i]:
                continue
            done[i] = 1
            order.append(urns[i])
            for user in users[i] or ():
                pending[user] -= 1
                if not pending[user] and not done[user]:
                    heapq.heappush(ready, user)
        return order

    def _state_warnings(self) -> None:
        state = self.state
        if state.pending_operations:
            self.warnings.append(
                f"the state records {state.pending_operations} pending operation(s) from an update that is running or was interrupted: "
                "resources may exist that the state does not know; run `pulumi refresh` (or clear them with "
                "`pulumi stack export`/`import`) before applying, once no update runs on the stack")
        if state.resources and state.project and (state.project, state.stack) != (self.graph.project, self.graph.stack):
            self.warnings.append(
                f"the state is of {state.project}/{state.stack}, not {self.graph.project}/{self.graph.stack}: "
                "every resource would be replaced; check the state file and the environment")

    def _aliased(self, change: ResourceChange) -> ResourceChange:
        """``change`` of a resource that took over a prior by an alias, saying so (its action unchanged)."""
        old = self.aliased[change.urn]
        old_type = self.prior[change.urn].type
        if old in alias_urns(change.urn, change.type) and old not in self.desired[change.urn].options.aliases:
            moved = (f"{change.name} is the {old_type} {urn_name(old)} in the state, renamed by an SDK alias: the "
                     f"installed SDK registers it as {change.type} and declares {old_type} as its alias, so Pulumi "
                     "takes it over; it is not deleted or created for the rename")
        else:
            moved = (f"{change.name} is the {old_type} {urn_name(old)} in the state; Pulumi takes it over as this "
                     f"{change.type} by its alias, so it is not deleted or created for the move")
        if change.action is Action.NOOP or change.action is Action.UPDATE:
            detail = "" if change.action is Action.NOOP else f"; {change.reason.message}"
            return replace(change, reason=Reason("aliased", moved + detail))
        return replace(change, reason=Reason(change.reason.code, f"{moved}; {change.reason.message}"))

    # -- refs ---------------------------------------------------------------------------------------
    def lookup(self, urn: str, output: str) -> RefValue:
        """What a ref to ``urn``'s ``output`` resolves to, given the actions decided so far: once
        ``urn``'s action is decided (it never changes), the same answer, remembered (many resources
        refer to one role, bucket or provider), and the text a text proof puts in its place
        (``ref_texts``, :func:`~mlops_infra.plan.normalize.kept_ref_text`)."""
        key = (urn, output)
        found = self.refs.get(key)
        if found is None:
            found = self._resolve(urn, output)
            if urn in self.actions:
                self.refs[key] = found
                if (text := normalize.kept_ref_text(urn, output, found)) is not None:
                    self.ref_texts[text[0]] = text[1]
        return found

    def _resolve(self, urn: str, output: str) -> RefValue:
        action = self.actions.get(urn)
        if action is not Action.CREATE and action is not Action.REPLACE and action is not Action.UPDATE:
            state = self.prior.get(urn)  # the common answer first: the state's value of a resource kept as it is
            if state is not None:
                value = state.id if output == "id" else self._output(urn, state, output)
                if value is not MISSING and value is not None:
                    return RefValue(value)
        target = self.desired.get(urn)
        echo = get_dotted(target.inputs, output) if target is not None else MISSING
        if isinstance(echo, (dict, list)):
            echo = MISSING  # only scalars echo reliably (outputs add fields to objects)
        if action in (Action.CREATE, Action.REPLACE):
            return RefValue(UNKNOWN if echo is MISSING else echo, source=urn)
        state = self.prior.get(urn)
        if state is None:
            return RefValue(UNKNOWN if echo is MISSING else echo)
        if action is Action.UPDATE and echo is not MISSING:
            return RefValue(echo)
        value = state.id if output == "id" else self._output(urn, state, output)
        if value is MISSING or value is None:
            return RefValue(echo) if echo is not MISSING else RefValue(same_as_prior=True)
        return RefValue(value)

    def _output(self, urn: str, state: StateResource, output: str) -> Any:
        """``state``'s output ``output`` (dotted), MISSING when absent; each looked up once (a state
        read from a file decodes its outputs on each access, and a resource is referred to often),
        through :meth:`StateResource.output` (it decodes only what the first name needs)."""
        key = (urn, output)
        found = self.outputs.get(key, self)
        if found is self:
            head, dot, rest = output.partition(".")
            found = state.output(head, MISSING)
            if dot:
                found = get_dotted(found, rest)
            self.outputs[key] = found
        return found

    # -- one resource -------------------------------------------------------------------------------
    def _normalize(self, state: StateResource | None, res: DesiredResource, rule: ReplaceRule,
                   filled: Mapping[str, Any] | None = None) -> Normalized:
        norm = normalize_inputs(None if state is None else state.inputs, res.inputs, name=res.name, rule=rule,
                                lookup=self.lookup, ignore_changes=res.options.ignore_changes,
                                secrets_provider=self.state.secrets_provider, filled=filled)
        self.unverifiable += norm.unverifiable
        return norm

    def _kind(self, res: DesiredResource) -> _Kind:
        """``res``'s type's :data:`_Kind`: its rule (``rule_for``), whether its data is mutable under a provider
        flag (``MUTABLE_FLAGS``) and whether its provider fills its ``region`` (a custom ``region_aware`` type);
        made once per type and ``custom``."""
        kinds = self.kinds[res.custom]
        found = kinds.get(res.type)
        if found is None:
            found = kinds[res.type] = (rule_for(res.type, res.custom), res.type in MUTABLE_FLAGS,
                                       res.custom and region_aware(res.type))
        return found

    def _plan(self, res: DesiredResource) -> ResourceChange:
        rule, mutable, regional = self._kind(res)
        state = self.prior.get(res.urn)
        if state is not None and mutable:  # k8sstate-1: data mutable under the provider's flag
            rule = with_provider_flags(res.type, rule, self._flags_of(res, state), res.inputs)
        if state is None:
            return self._create(res, rule, matcher(rule.sensitive))
        norm: Normalized | None = None
        undone = self._not_taken(state, res, rule) if rule.read_back else ()
        filled = self._filled(res, state) if regional and REGION not in res.inputs else None
        # the stored inputs as read (compact JSON bytes from a file), not decoded again
        if not undone and normalize.unchanged(state.stored_inputs, res.inputs, rule=rule, lookup=self.lookup,
                                              filled=filled, texts=self.ref_texts):
            attrs: tuple[AttributeChange, ...] = ()  # what the walk and diff_inputs would answer, proved from text
            provider = res.provider
            if not state.init_errors and not state.pending_replacement and not state.taint and not state.external and (
                    self.live is None or not self._failed_endpoint(res)) and (not res.custom or not provider or (
                    state.provider == provider and self.actions.get(provider) is not Action.REPLACE)) and (
                    res.options.deleted_with is None or self.actions.get(res.options.deleted_with) is not Action.REPLACE):
                self.actions[res.urn] = Action.NOOP  # what _decide and _record give it: no provider reason
                return ResourceChange.built(res.urn, res.type, res.name, Action.NOOP, _NO_CHANGE, attrs, res.address,
                                            res.role, res.custom, False, None)
        elif (norm := self._normalize(state, res, rule, filled)).differs:
            options = option_matcher(res.options.replace_on_changes)
            attrs = diff_inputs(norm, replace=replace_matcher(rule), keep=matcher(rule.keep),
                                sensitive=matcher(rule.sensitive), extra_replace=options or None,
                                env_data=self._environment(res))
            if rule.replace_changed_only:
                attrs = self._set_or_unset(res, attrs)
        else:
            attrs = ()  # what diff_inputs answers for trees the walk proved equal, without its matchers
        action, reason = self._decide(res, state, rule, attrs, norm)
        undone = tuple(u for u in undone if all(a.path != u.path for a in attrs))
        if undone:
            attrs += undone
            if action is Action.NOOP:
                action, reason = Action.UPDATE, Reason("not-taken-by-cloud", (
                    f"{_paths(undone)} is not what the cloud kept: the last apply sent "
                    f"{', '.join(repr(u.after) for u in undone)}, the cloud kept {', '.join(repr(u.before) for u in undone)} "
                    "(SageMaker rolls an endpoint update back when it fails or its alarms fire); it is sent again"))
        if state.init_errors or self._failed_endpoint(res):  # closing-36a-1: Failed, its record cleared
            action, reason = _unfinished(res, state, action, reason, init_errors.endpoint_status(self.live, res.urn))
        if state.taint:  # stateformats-2: `pulumi state taint`: replaced before any diff (isTargetedReplace)
            action, reason = Action.REPLACE, _tainted(res, action, reason)
        if state.external:  # stateformats-7: read with Resource.get; the engine creates one it manages instead
            action, reason = Action.REPLACE, _taken_over(res)
        if state.pending_replacement:  # stateformats-1: deleted by a delete-before-replace, not created again
            action, reason = Action.REPLACE, _recreated(res, action, reason)
        if action is Action.UPDATE and not rule.known and reason.code != init_errors.CODE:
            self.unknown_types.add(res.type)
        blocked = None
        delete_first = action is Action.REPLACE and not (state.pending_replacement or state.external) and self._delete_first(
            res, rule, reason, attrs, targeted=state.taint)
        collides = (self._region_collision(res, rule, attrs)
                    if action is Action.REPLACE and not delete_first and res.type in GLOBAL_NAMES else None)
        if action is Action.REPLACE and (state.protect or res.options.protect):
            blocked = _unprotect_hint(res.urn, "replace", rule.loses) + (f" Even then: {collides}" if collides else "")
            reason = Reason("protected", f"{reason.message}; it is protected, so the replace is blocked")
        elif collides:  # xregion-4: a bucket name taken in the old region (plan/global_names.py)
            blocked = collides
            reason = Reason(reason.code, f"{reason.message}; its name is not regional and is still taken in the old "
                                         "region, so the replace is blocked")
        elif action is Action.REPLACE and rule.loses and not (state.pending_replacement or state.external):  # kept
            self._warn_loss(res.name, "replaced", rule.loses)
        elif res.role in retention.ROLES and (blocked := self._retention(res, state, action)):
            reason = Reason(reason.code, f"{reason.message}; it shortens a protected store's retention, so the "
                                         "update is blocked")
        return self._record(res, action, reason, attrs, blocked=blocked, delete_first=delete_first)

    def _create(self, res: DesiredResource, rule: ReplaceRule, sensitive: PathMatcher) -> ResourceChange:
        """The CREATE of ``res``, which is not in the prior state (``sensitive``: ``matcher(rule.sensitive)``)."""
        reason = (Reason("missing-in-cloud", f"{res.name} is in the state but gone from the cloud: {_GONE}")
                  if res.urn in self.missing else _reason("new", f"{res.name} is not in the state: it will be created"))
        attrs = diff.new_resource_changes(res.inputs, name=res.name, rule=rule, lookup=self.lookup,
                                          secrets_provider=self.state.secrets_provider, sensitive=sensitive,
                                          made=self.made)
        if attrs is None:  # what it stands for
            attrs = creation_changes(self._normalize(None, res, rule), sensitive=sensitive, made=self.made)
        return self._record(res, Action.CREATE, reason, attrs)

    def _creates(self) -> list[ResourceChange]:
        """Every desired resource planned as :meth:`_plan` plans it when the prior state holds none (a first
        plan, or a refreshed one whose every resource is gone from the cloud): each a CREATE, in URN order,
        each CREATE recorded first. With no prior, a ref resolves to the same value whatever was planned
        before it (:meth:`_resolve`: the referenced resource is created, so the ref is known after apply or
        the input it echoes; a URN not desired is unknown), so no dependency order (:meth:`_order`) is
        needed; and it is what a ref to a resource planned before it resolves to in that order (the source
        included). The rule and its sensitive paths are looked up once per type."""
        desired, actions = self.desired, self.actions
        actions.update(dict.fromkeys(desired, Action.CREATE))
        by_type: dict[tuple[str, bool], tuple[ReplaceRule, PathMatcher]] = {}
        changes = []
        for urn in sorted(desired):
            res = desired[urn]
            found = by_type.get((res.type, res.custom))
            if found is None:
                rule = rule_for(res.type, res.custom)
                found = by_type[res.type, res.custom] = (rule, matcher(rule.sensitive))
            changes.append(self._create(res, *found))
        return changes

    def _filled(self, res: DesiredResource, state: StateResource) -> Mapping[str, Any]:
        """What the resource's provider fills in its inputs when the graph leaves it unset (``filled`` of
        :func:`~mlops_infra.plan.normalize.normalize_inputs`): a region-aware AWS resource's ``region``
        (:data:`~mlops_infra.plan.rules.REGION`: pulumi-aws provider/region.go ``applyRegion`` takes the
        provider's ``region``), the region of the provider ``pulumi up`` registers it with: the explicit
        provider's desired ``region``, or, when the graph names none, the stored default provider's; None
        as the value (not compared) when that is not a known string here. One answer per provider (explicit, or
        the state's: two caches, so an explicit provider never lends its answer to a resource that names none).
        Asked only for a custom region-aware resource whose inputs set no ``region`` (:meth:`_plan` checks, from its
        :data:`_Kind`; any other has nothing filled)."""
        explicit = res.provider is not None
        cache = self.filled if explicit else self.stored_filled
        key = res.provider if explicit else state.provider
        found = cache.get(key)
        if found is None:
            region = None
            if explicit:
                provider = self.desired.get(res.provider)
                region = provider.inputs.get(REGION) if provider is not None else None
            elif state.provider is not None and (stored := self.prior.get(state.provider)) is not None and (
                    is_default_provider(state.provider, stored.type)):
                region = stored.inputs.get(REGION)
            found = cache[key] = {REGION: region if isinstance(region, str) else None}
        return found

    def _flags_of(self, res: DesiredResource, state: StateResource) -> dict | None:
        """The mutable flag of the kubernetes provider that applies ``res`` (:func:`~mlops_infra.plan.rules
        .with_provider_flags`), as ``up`` configures it: the desired provider's inputs (with the ``PULUMI_K8S_*``
        options the SDK sends from this run's environment), else the variable, else false
        (:func:`mlops_infra.plan.provider_env.configured`), not the stored value: a provider update configures the
        provider with its new inputs before any resource using it is diffed (pulumi/pulumi
        pkg/resource/deploy/providers/registry.go @1b594989 ``Update``; audit closing-43b-1). Without a desired
        provider: the stored provider's."""
        flag = MUTABLE_FLAGS[res.type]
        desired = self.desired.get(res.provider) if res.provider else None
        if desired is not None:
            return {flag: "true" if provider_env.configured(flag, desired.inputs, self.program_env) else "false"}
        prior = self.state.resources.get(state.provider) if state.provider else None
        return prior.inputs if prior is not None else None

    def _retention(self, res: DesiredResource, state: StateResource, action: Action) -> str | None:
        """A retention that shortens on a store holding data (:mod:`mlops_infra.plan.retention`): warned; the
        ``blocked`` hint when the AWS lifecycle is protected in the state. A Kubernetes declaration is replaced
        when it changes; an AWS lifecycle only with its bucket (a new, empty one)."""
        if action not in (Action.UPDATE, Action.REPLACE):
            return None
        if res.type == retention.CONFIG_MAP:
            warning = retention.shortened_requirement(res.address, res.name, state.inputs, res.inputs)
            if warning:
                self.warnings.append(warning)
            return None
        loss = retention.shortened_retention(res.address, res.name, state.inputs, res.inputs)
        if loss is None or action is not Action.UPDATE:
            return None
        self.warnings.append(loss.warning())
        return loss.unblock(res.urn) if state.protect else None

    def _environment(self, res: DesiredResource) -> bool | None:
        """For a ConfigMap, whether its ``data`` is a container's environment by the graph
        (:func:`~mlops_infra.plan.env_values.env_config_maps`, walked once, when the first ConfigMap
        differs); None for other types."""
        if res.type != env_values.CONFIG_MAP:
            return None
        if self.env_config_maps is None:
            self.env_config_maps = env_values.env_config_maps(self.graph.resources)
        return res.urn in self.env_config_maps

    def _failed_endpoint(self, res: DesiredResource) -> bool:
        """Whether ``res`` is a SageMaker endpoint the live reading (``plan --refresh``) says is ``Failed``: planned
        as one with ``initErrors`` whether or not its state has the record (:mod:`mlops_infra.plan.init_errors`)."""
        return self.live is not None and res.type == init_errors.ENDPOINT and init_errors.failed_endpoint(
            res.type, init_errors.endpoint_status(self.live, res.urn))

    def _delete_first(self, res: DesiredResource, rule: ReplaceRule, reason: Reason,
                      attrs: tuple[AttributeChange, ...], targeted: bool = False) -> bool:
        """Whether Pulumi deletes before it creates in this replace, as the engine decides
        (pkg/resource/deploy/step_generator.go, the replace step): the resource's
        ``delete_before_replace`` option when set, else the provider's answer, which only a replace the
        provider forces itself can make true (:func:`~mlops_infra.plan.rules.provider_deletes_first`;
        a replace from a new provider, ``providerChanged``, or only from ``replaceOnChanges`` asks no
        provider). ``targeted``: the state's ``taint`` (``isTargetedReplace``, as ``up --replace``: the diff asks no
        provider, so only the option deletes first). A create-first replace that keeps the physical name collides:
        warned."""
        option = res.options.delete_before_replace
        # `up --replace` and a taint ask no provider (step_generator.go diff: isTargetedReplace)
        forced = targeted or reason.code in init_errors.FORCED_CODES
        if forced and not targeted and res.type == init_errors.ENDPOINT:
            return True  # a Failed endpoint: apply registers deleteBeforeReplace for it (plan/init_errors.py)
        if reason.code == "provider-replaced":
            return option is True  # asks no provider
        keep = matcher(rule.keep)
        forcing = replace_matcher(rule) if rule.provider_replace is None else matcher(rule.provider_replace)
        provider_forced = any(a.forces_replacement and forcing.touches(p := parse_path(a.path)) and not keep.covers(p)
                              for a in attrs)
        name_paths = [rule.named_by, "metadata.namespace"] if rule.named_by == "metadata.name" else [rule.named_by]
        name_kept = bool(rule.named_by) and not any(_on_branch(a.path, n) for a in attrs for n in name_paths)
        name = get_dotted(res.inputs, rule.named_by) if rule.named_by else MISSING
        named = name is not MISSING and name is not None
        first = option if option is not None else (
            not forced and provider_forced and provider_deletes_first(res.type, named, name_kept))
        if not first and name_kept and named and _region_move(attrs) is None:  # another region: _region_collision
            why = ("its deleteBeforeReplace option is false" if option is False
                   else "a tainted resource's replace asks no provider and its deleteBeforeReplace option is unset"
                   if targeted
                   else "`pulumi up --replace` asks no provider and its deleteBeforeReplace option is unset" if forced
                   else "the provider does not replace it itself: replaceOnChanges asks for it" if not provider_forced
                   else "the provider creates first")
            shown = self.lookup(name[REF], name["output"]).value if is_ref(name) else name
            then = (f"`pulumi up` would fail there: untaint it (`pulumi state untaint '{res.urn}'`) and plan again"
                    if targeted else "this is a bug in mlops-infra (the replace must delete first or rename it)")
            self.warnings.append(
                f"{res.name} ({res.type}) is replaced create-first ({why}), but its name {shown!r} does not "
                f"change: creating the new one will fail while the old one exists; {then}")
        return first

    def _region_collision(self, res: DesiredResource, rule: ReplaceRule,
                          attrs: tuple[AttributeChange, ...]) -> str | None:
        """The ``blocked`` hint of a create-first replace that moves ``res`` to another AWS region under a name that is
        not regional (:mod:`mlops_infra.plan.global_names`: S3 bucket names), or None: its own ``region`` input
        changes (pulumi-aws 7 moves a resource so, :data:`~mlops_infra.plan.rules.REGION`; its provider's region
        change replaces nothing, pulumi/pulumi-aws#5656), and its name is set and kept."""
        moved = _region_move(attrs)
        if res.type not in GLOBAL_NAMES or not rule.named_by or moved is None:
            return None
        before, after = moved.before, moved.after
        name = get_dotted(res.inputs, rule.named_by)
        if name is MISSING or name is None or any(_on_branch(a.path, rule.named_by) for a in attrs):
            return None
        shown = self.lookup(name[REF], name["output"]).value if is_ref(name) else name
        return collision(res.type, str(shown), str(before), str(after))

    def _set_or_unset(self, res: DesiredResource, attrs: tuple[AttributeChange, ...]) -> tuple[AttributeChange, ...]:
        """``attrs`` with a replace path that is only added or removed not forcing (see
        ``ReplaceRule.replace_changed_only``). Added together with other changes, the provider
        updates them in place too (a context changed in the same apply is not a move): warned."""
        out = tuple(replace(a, forces_replacement=False) if a.forces_replacement and (a.before is None or a.after is None)
                    else a for a in attrs)
        added = [a.path for a, b in zip(attrs, out, strict=True) if a is not b]
        if added and len(attrs) > len(added):
            self.warnings.append(
                f"{res.name} gains {', '.join(added)} in this apply while its other settings change too "
                f"({_paths([a for a in attrs if a.path not in added])}): the provider takes both as an update "
                "and replaces nothing, so its objects are not moved; apply the first with the old settings, "
                "then change them")
        return out

    def _not_taken(self, state: StateResource, res: DesiredResource, rule: ReplaceRule) -> tuple[AttributeChange, ...]:
        """The ``read_back`` inputs of ``rule`` (see :class:`~mlops_infra.plan.rules.ReplaceRule`) whose
        recorded output differs from the recorded input, and the desired value differs from that output:
        (path, the output the cloud kept, the desired value). Inputs in ``ignore_changes`` (a canary
        endpoint's config, which the rollout controller switches) are left alone."""
        found = []
        for field in rule.read_back:
            if field in res.options.ignore_changes or field not in res.inputs:
                continue
            kept, sent = state.output(field, MISSING), state.inputs.get(field, MISSING)
            if kept is MISSING or sent is MISSING or kept == sent:
                continue
            desired = res.inputs[field]
            if is_ref(desired):
                desired = self.lookup(desired[REF], desired["output"]).value
            if isinstance(desired, str) and desired != kept:
                found.append(AttributeChange(field, kept, desired))
        return tuple(found)

    def _decide(self, res: DesiredResource, state: StateResource, rule: ReplaceRule,
                attrs: tuple[AttributeChange, ...], norm: Normalized | None) -> tuple[Action, Reason]:
        provider = self._provider_reason(res, state)
        if provider is not None:
            return Action.REPLACE, provider
        with_ = res.options.deleted_with
        if with_ is not None and res.custom and self.actions.get(with_) is Action.REPLACE:
            return Action.REPLACE, _deleted_with(res, with_, self.desired.get(with_))
        if not attrs:
            return Action.NOOP, _NO_CHANGE
        assert norm is not None  # changes are found by the walk
        derived = {a.path: self._ref_source(parse_path(a.path), norm) for a in attrs}
        forcing = [a for a in attrs if a.forces_replacement]
        own_forcing = [a for a in forcing if derived[a.path] is None]
        if own_forcing:
            moved = next((a for a in own_forcing if a.path == REGION and REGION not in res.inputs
                          and region_aware(res.type)), None)
            if moved is not None:  # the provider fills region (rules.REGION): not the type's own rule
                others = [a for a in own_forcing if a is not moved]
                return Action.REPLACE, Reason("forces-replacement", (
                    f"its region changes from {moved.before} to {moved.after}, its provider's region: a resource "
                    "is created in its new region (pulumi-aws replaces it when its region changes)"
                    + (f"; {_paths(others)} cannot be updated in place either: {rule.why}" if others else "")))
            first = own_forcing[0]
            if replace_matcher(rule).touches(parse_path(first.path)) and not matcher(rule.keep).covers(parse_path(first.path)):
                return Action.REPLACE, Reason("forces-replacement",
                                              f"{_paths(own_forcing)} cannot be updated in place: {rule.why}")
            return Action.REPLACE, Reason("replace-on-changes",
                                          f"{_paths(own_forcing)} changes and is listed in replace_on_changes")
        if forcing:
            return Action.REPLACE, Reason("depends-on-replaced", self._depends_message(forcing[0], derived, "replaced"))
        own = [a for a in attrs if derived[a.path] is None]
        if own:
            return Action.UPDATE, Reason("property-changed", f"{_paths(own)} can be updated in place")
        return Action.UPDATE, Reason("depends-on-replaced", self._depends_message(attrs[0], derived, "updated"))

    def _depends_message(self, change: AttributeChange, derived: dict[str, str | None], verb: str) -> str:
        source = derived[change.path] or ""
        what = "created" if self.actions.get(source) is Action.CREATE else "replaced"
        return f"{change.path} takes an output of {urn_name(source)}, which is {what}, so this resource is {verb}"

    @staticmethod
    def _ref_source(path: tuple, norm: Normalized) -> str | None:
        for ref_path, source in norm.from_refs.items():
            if path[: len(ref_path)] == ref_path:
                return source
        return None

    def _provider_reason(self, res: DesiredResource, state: StateResource) -> Reason | None:
        """Why the resource's provider makes it a replace, or None.

        As the Pulumi engine decides (``stepGenerator.providerChanged``, pulumi/pulumi
        pkg/resource/deploy/step_generator.go): the same provider as in the state is no reason unless that provider
        is itself replaced; a move from a provider whose prior the new one took over by an alias is none ("observed an
        aliased provider"); any other move, to or from an explicit or a default provider alike, replaces the resource
        only when the new provider's ``DiffConfig`` of the old provider's stored inputs against the new one's says
        replace ("If there is a replacement diff, we must also replace this resource ... Otherwise, it's safe to allow
        this new provider to replace our old one"): here the provider type's ``replace`` keys, as for a provider's own
        change (a changed ``clusterIdentifier`` for kubernetes; none for aws: pulumi-aws 7 dropped the ``region``
        cascade of pulumi/pulumi-aws#4000, #5656, so a move to a provider of another region replaces a region-aware
        resource through its own ``region`` input, :func:`_region_move`, and leaves an IAM one as it is). Explicit
        providers follow this rule since Pulumi 3.151.0 (CHANGELOG: "The engine will now call DiffConfig on explict
        providers to decide replace semantics, this matches the behaviour for default providers", pulumi/pulumi#18509);
        older engines replaced on any move that involved an explicit provider, but apply requires a newer CLI
        (``apply/cli_version.py``). ``state.provider`` is the provider's URN (the state reader splits ``<urn>::<id>``)."""
        if not res.custom or not res.provider:
            return None
        if self.actions.get(res.provider) is Action.REPLACE:
            return Reason("provider-replaced", f"its provider {urn_name(res.provider)} is replaced: "
                          f"{rule_for(self.desired[res.provider].type).why}")
        old, new = state.provider, self.desired.get(res.provider)
        if old is None or old == res.provider or new is None or self.aliased.get(res.provider) == old:
            return None
        old_state = self.state.resources.get(old)
        if old_state is None:
            return None
        for key in rule_for(new.type).replace:
            before, after = old_state.inputs.get(key), new.inputs.get(key)
            if before is not None and after is not None and str(before) != str(after):
                return Reason("provider-replaced", f"its provider changes from {urn_name(old)} to "
                              f"{urn_name(res.provider)}, with {key} {before} -> {after}")
        return None

    def _record(self, res: DesiredResource, action: Action, reason: Reason, attrs: tuple[AttributeChange, ...],
                blocked: str | None = None, delete_first: bool = False) -> ResourceChange:
        self.actions[res.urn] = action
        return ResourceChange.built(  # (urn, type, name, action, reason, changes, address, role, custom,
            # delete_before_replace, blocked): one per desired resource
            res.urn, res.type, res.name, action, reason, attrs, res.address, res.role, res.custom,
            delete_first, blocked)

    # -- deletes ------------------------------------------------------------------------------------
    def _deletes(self) -> Iterable[ResourceChange]:
        for urn, state in self.prior.items():
            if urn in self.desired or state.type == ROOT_STACK_TYPE or is_default_provider(urn, state.type):
                continue
            name = urn_name(urn)
            reason = Reason("removed-from-spec", f"{name} is in the state but no longer desired: it will be deleted")
            blocked = None
            loses = rule_for(state.type, state.custom).loses
            if state.pending_replacement:  # step_generator.go GenerateDeletes: NewRemovePendingReplaceStep
                reason = Reason(PENDING_REPLACEMENT, f"{name} is no longer desired, and an earlier delete-before-replace "
                                "already deleted it (pendingReplacement): it will be removed from the state, nothing "
                                "is deleted")
                yield ResourceChange(urn=urn, type=state.type, name=name, action=Action.DELETE, reason=reason,
                                     address=self._address_of(urn), custom=state.custom, retained=True)
                continue
            if state.protect:
                blocked = _unprotect_hint(urn, "delete", loses)
                reason = Reason("protected", f"{name} is no longer desired, but it is protected: the delete is blocked")
            elif state.external:  # pulumi step.go DeleteStep.Op: OpReadDiscard; Apply: "a no-op"
                reason = Reason(READ_RESOURCE, f"{name} is no longer desired; it was read with Resource.get (external), "
                                "not managed by Pulumi: it will be dropped from the state, nothing is deleted")
            elif state.retain_on_delete:  # pulumi step.go DeleteStep.Apply: "a "drop on delete" is a no-op"
                after = _DELETED_AFTER_UP if state.type in _FORGOTTEN_DELETED_BY_APPLY else ""
                reason = Reason("retained", f"{name} is no longer desired and will be kept in the cloud "
                                f"(retainOnDelete): Pulumi forgets it, nothing is deleted{after}")
            elif loses:
                self._warn_loss(name, "deleted", loses)
            yield ResourceChange(urn=urn, type=state.type, name=name, action=Action.DELETE, reason=reason,
                                 address=self._address_of(urn), custom=state.custom, blocked=blocked,
                                 retained=(state.retain_on_delete or state.external) and not state.protect)

    def pending_deletes(self) -> Iterable[ResourceChange]:
        """A DELETE of each copy the state marks ``delete: true`` (:attr:`PriorState.pending_deletes`), reason
        ``pending-delete``: the engine deletes them all on the next ``up`` (pulumi/pulumi
        ``pkg/resource/deploy/step_generator.go`` ``GenerateDeletes``: ``if res.Delete { ...
        NewDeleteReplacementStep``), whatever the program registers, and whatever its ``protect``: that step is a
        replacing delete, which ``step.go`` ``DeleteStep.Apply`` does not refuse ("Refuse to delete protected resources
        (unless we're replacing them ...)": ``if !s.replacing && s.old.Protect``; ``NewDeleteReplacementStep`` sets
        ``replacing: true``). A protected copy (an apply that dropped protect and replaced in one update,
        ``step_generator.go``: "we do allow unprotecting and replacing to happen in a single update cycle") is so
        planned as deleted, not blocked, with a warning. One with ``retainOnDelete`` is left out: the engine only
        drops it from the state (``step.go`` ``DeleteStep.Apply``: "Deleting a "drop on delete" is a no-op"), nothing
        in the cloud changes, and a ``retained`` change of its URN would name its live copy to
        ``apply/forgotten.py``."""
        for state in self.state.pending_deletes:
            if state.retain_on_delete:
                continue
            name = urn_name(state.urn)
            old = f"the old copy of {name} (id {state.id})" if state.id else f"an old copy of {name}"
            protected = (" It is protected, but Pulumi deletes a copy pending deletion whatever its protect."
                         if state.protect else "")
            reason = Reason(PENDING_DELETE, f"{old}, which an earlier replacement left pending deletion (delete: true), "
                            f"will be deleted by the next update, whatever the spec says.{protected}")
            if state.protect:
                self.warnings.append(f"{old} of protected {name} is pending deletion (delete: true): the next update "
                                     "deletes it, as Pulumi ignores protect for such a copy; if it must be kept, do "
                                     "not apply this plan")
            address = self._address_of(state.urn) or (self._address_of(state.parent) if state.parent else "")
            yield ResourceChange(urn=state.urn, type=state.type, name=name, action=Action.DELETE, reason=reason,
                                 address=address, custom=state.custom)

    def _warn_loss(self, name: str, verb: str, loses: str) -> None:
        """A replace or delete that discards more than the resource, of a resource not (yet) protected."""
        self.warnings.append(f"{name} is {verb}, which discards {loses}; it is not protected in the state, "
                             "so the apply will do it: if that is not intended, do not apply this plan")

    def _address_of(self, urn: str) -> str:
        """The ML item a state resource belonged to, from its component ancestors ("" if none)."""
        seen: set[str] = set()
        state = self.state.resources.get(urn)
        while state is not None and state.urn not in seen:
            seen.add(state.urn)
            if not state.custom and state.type in _SECTION_OF:
                return f"{_SECTION_OF[state.type]}.{urn_name(state.urn)}"
            if not state.custom and state.type == PLATFORM_TYPE:
                return "platform"
            state = self.state.resources.get(state.parent) if state.parent else None
        return ""


_FORGOTTEN_DELETED_BY_APPLY = frozenset({"aws:sagemaker/model:Model",
                                         "aws:sagemaker/endpointConfiguration:EndpointConfiguration"})
"""Retained types ``mlops-infra apply`` deletes after ``pulumi up`` (``apply/forgotten.py`` ``KINDS``)."""
_DELETED_AFTER_UP = ("; then `mlops-infra apply` deletes it unless an endpoint still uses it (SageMaker refuses "
                     "to create a name that exists)")


def _unfinished(res: DesiredResource, state: StateResource, action: Action, reason: Reason,
                status: str | None = None) -> tuple[Action, Reason]:
    """The action and reason of a resource whose state records ``initErrors`` (:mod:`mlops_infra.plan.init_errors`):
    the engine's empty update that waits for it again when nothing else changes (a SageMaker endpoint's does not
    wait: said, with what apply does about a Failed one); a replace that apply forces (``pulumi up --replace``,
    :func:`~mlops_infra.plan.init_errors.forced`) for a ``replaceUnready`` Job, which runs again, and for a SageMaker
    endpoint whose live ``status`` (``plan --refresh``) is Failed, also when its state lost the record (closing-36a-1);
    a resource that changes anyway keeps its change's action and reason, and says this too."""
    said = (f"the last apply did not finish initializing it ({init_errors.summary(state.urn, state.init_errors)})"
            if state.init_errors else "the state records no init error (an earlier update cleared it, or an update "
            "failed it), but SageMaker says the endpoint failed")
    if res.type == init_errors.ENDPOINT and action in (Action.NOOP, Action.UPDATE):
        also = f"; also {reason.message}" if action is Action.UPDATE else ""
        then = init_errors.endpoint_reason(res.inputs.get("name"), status, changed=action is Action.UPDATE)
        if init_errors.failed_endpoint(res.type, status):
            code = init_errors.CODE if state.init_errors else init_errors.FAILED_CODE  # closing-36a-1
            return Action.REPLACE, Reason(code, f"{said}: {then}{also}")
        if action is Action.UPDATE:
            return action, Reason(reason.code, f"{reason.message}; {said}: {then}")
        return Action.UPDATE, Reason(init_errors.CODE, f"{said}: {then}")
    if action in (Action.NOOP, Action.UPDATE) and init_errors.forced(res.type, res.inputs):
        return Action.REPLACE, Reason(init_errors.CODE, (
            f"{said}: apply replaces this {init_errors.REPLACE_UNREADY} Job (`pulumi up --replace`), whether or not "
            "it completed since, so the Job runs again" + (f"; also {reason.message}" if action is Action.UPDATE else "")))
    if action is Action.NOOP:
        return Action.UPDATE, Reason(init_errors.CODE, f"{said}: Pulumi updates it again and waits for it to be ready")
    return action, Reason(reason.code, f"{reason.message}; {said}")


def _region_move(attrs: Sequence[AttributeChange]) -> AttributeChange | None:
    """The change of a region-aware AWS resource's own ``region`` (:data:`~mlops_infra.plan.rules.REGION`) from one
    region to another among ``attrs``, which moves it there: pulumi-aws 7 replaces it ("Changing the value of
    `region` will force resource replacement", terraform-provider-aws enhanced-region-support guide); None when
    there is none."""
    return next((a for a in attrs if a.path == REGION and a.forces_replacement and isinstance(a.before, str)
                 and isinstance(a.after, str) and a.before != a.after), None)


def _on_branch(path: str, other: str) -> bool:
    """Whether two display paths are on one branch (either is the other or lies under it)."""
    short, long = sorted((path, other), key=len)
    return long == short or long.startswith((f"{short}.", f"{short}["))


def _paths(changes: Sequence[AttributeChange], limit: int = 3) -> str:
    names = [c.path for c in changes[:limit]]
    more = f" (+{len(changes) - limit} more)" if len(changes) > limit else ""
    return ", ".join(names) + more


def _deleted_with(res: DesiredResource, with_: str, target: DesiredResource | None) -> Reason:
    """The reason of a resource replaced because its ``deleted_with`` resource is (see the module contract);
    for an endpoint's autoscaling (``compile/aws/serving._add_autoscaling``) said in ML terms."""
    name = urn_name(with_)
    if target is not None and target.type == _SAGEMAKER_ENDPOINT:
        return Reason("deleted-with-replaced", (
            f"its endpoint {name} is replaced, and AWS deregisters an endpoint's autoscaling when it deletes the "
            "endpoint, so this resource is replaced with it"))
    return Reason("deleted-with-replaced", f"{name} is replaced and deletes it (deletedWith), so this resource is "
                                           "replaced with it")


_SAGEMAKER_ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
TAINTED = "tainted"
"""The reason of a resource whose state has ``taint`` (:attr:`StateResource.taint`)."""
READ_RESOURCE = "read-resource"
"""The reason of a resource whose state has ``external`` (:attr:`StateResource.external`)."""
PENDING_DELETE = "pending-delete"
"""The reason of the delete of a copy the state marks ``delete: true`` (:attr:`PriorState.pending_deletes`)."""
PENDING_REPLACEMENT = "pending-replacement"
"""The reason of a resource whose state has ``pendingReplacement`` (:attr:`StateResource.pending_replacement`)."""


def _taken_over(res: DesiredResource) -> Reason:
    """The reason of a desired resource whose state has ``external`` (read with ``Resource.get``): the engine creates
    a resource it manages in its place and only drops the one read from the state (pulumi/pulumi
    ``pkg/resource/deploy/step_generator.go``, "Case 2: wasExternal": "we must create a resource to take its place";
    ``NewCreateReplacementStep`` and ``NewReplaceStep``, whose delete of a read resource is a discard)."""
    return Reason(READ_RESOURCE, (
        f"{res.name} must be replaced: the state holds it as read with Resource.get (external), not managed by "
        "Pulumi, so Pulumi creates one it manages in its place; the one read is only dropped from the state, "
        "nothing is deleted"))


def _tainted(res: DesiredResource, action: Action, reason: Reason) -> Reason:
    """The reason of a desired resource whose state has ``taint``: the engine replaces it before any diff (pulumi/pulumi
    ``pkg/resource/deploy/step_generator.go`` ``isTargetedReplace``: "If the resource was marked tainted in the old
    state, we will replace (and implicitly untaint) it"; ``diff`` then returns ``DiffSome`` with ``ReplaceKeys:
    ["id"]`` without asking the provider)."""
    also = f"; also {reason.message}" if action is not Action.NOOP else ""
    return Reason(TAINTED, (f"{res.name} must be replaced: it is tainted in the state (`pulumi state taint`), and "
                            f"Pulumi replaces a tainted resource on the next update whatever its inputs{also}"))


def _recreated(res: DesiredResource, action: Action, reason: Reason) -> Reason:
    """The reason of a desired resource whose state has ``pendingReplacement``: the engine replaces it whatever the
    diff (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``: ``if diff.Changes == plugin.DiffSome ||
    old.PendingReplacement { if diff.Replace() || triggerReplace || old.PendingReplacement {``) and deletes nothing
    ("If the resource is already pending replacement we don't need to emit any step"): it is created again."""
    what = "the endpoint serves nothing until then" if res.type == _SAGEMAKER_ENDPOINT else "it is missing until then"
    also = f"; also {reason.message}" if action is not Action.NOOP else ""
    return Reason(PENDING_REPLACEMENT, (
        f"{res.name} must be replaced: an earlier delete-before-replace deleted it and did not create it again "
        f"(pendingReplacement): Pulumi creates it, nothing is deleted; {what}{also}"))
_GONE = ("it will be created again by `apply --plan` of this plan (apply runs `pulumi up --refresh` for a refreshed "
         "plan); a plain `apply` plans from the state alone and does not")
"""What a refreshed plan says of a resource gone from the cloud, as apply does it (audit autoscale-6: ``pulumi up``
without ``--refresh`` diffs against the state's record and re-creates nothing; ``apply/engine.up`` ``refresh``)."""


def _unprotect_hint(urn: str, verb: str, loses: str = "") -> str:
    loss = f" Deleting it discards {loses}." if loses else ""
    return (f"{urn_name(urn)} is protected.{loss} To {verb} it, first remove the protection: run "
            f"`pulumi state unprotect '{urn}'` (or apply once with protect turned off), then plan again.")
