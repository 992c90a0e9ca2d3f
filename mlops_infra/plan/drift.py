"""Drift: what changed in the cloud since the last apply (prior state vs live state).

Contract:
- :func:`find_drift` compares each prior resource with its live reading and returns one
  :class:`DriftItem` per drifted resource, sorted by URN. A URN in ``live.missing`` is
  ``deleted``; a resource whose tracked properties differ is ``changed``. Resources that were
  not read (skipped types, components, read errors) are not drift: the caller reports
  ``live.errors`` separately.
- Only the properties the reader registry declares (:data:`mlops_infra.state.aws_live.TRACKING`)
  are compared, after normalising both sides the way Pulumi stores values: ``__defaults``
  dropped, ``None``/``""``/``[]``/``{}`` all mean "not set", ``1.0`` equals ``1``, KMS key ARNs
  equal their key ids, JSON documents compared parsed, IAM policies with their scalar/list
  equivalences, sets unordered, keyed lists matched by key; a property's declared ``default``
  stands in for it on whichever side does not set it. Nested objects compare only the
  keys the prior side sets (the rest is provider-computed); maps of user data compare every key.
- A value that is, or contains, a Pulumi secret (``4dabf18193072939515e22adb298388d``) or the
  unknown sentinel is never compared and never appears in a change or a summary. Properties
  declared ``sensitive`` are compared, but their values show as ``"<sensitive>"``.
- A property of kind ``env`` (a Lambda function's ``environment.variables``) is compared variable by
  variable, every name counting; a change names the variable and what happened (``added``,
  ``removed``, changed). A live value is never shown, whatever its name or shape: Lambda treats every
  value as possibly secret (botocore ``lambda`` ``EnvironmentVariables`` is ``sensitive``,
  ``EnvironmentResponse.Variables`` "Omitted from CloudTrail logs"), and a key typed into the console
  under a harmless name (``ENCRYPTION_KEY``, ``HF_HUB``) has no shape or name a detector could know
  (audit closing-34b-1). The state's value is shown only when it is the compiled graph's (``desired``:
  the same function's variable with the same plain string value, which the compiler writes from the
  spec and never from a secret: secret *names* such as ``SECRET_ID``, a pipeline name, a webhook URL
  the spec's plaintext-secret check passed) and neither its name names a credential
  (:func:`mlops_infra.secrets.rules.names_a_credential`) nor it has a secret's shape
  (:func:`mlops_infra.secrets.contains_secret`); every other value present on either side shows
  ``"<sensitive>"``. Without ``desired`` no value is shown. A variable whose state value is a Pulumi
  secret is compared by presence only (its value cannot be read here); a whole map that is a secret
  or unknown is not compared.
- A Kubernetes container's ``env`` list (anywhere in a tracked value: ``containers``, ``initContainers``, a
  CronJob's ``jobTemplate``) is the same kind of thing: the pod's environment, plain text in the object
  (``EnvVar.value``), edited with ``kubectl set env`` / ``kubectl edit`` (audit closing-34d-1). It is
  compared keyed by ``name`` (its order does not count); a change names the variable (``env HF_HUB
  added``, ``env CAPTURE_BUCKET <compiled> -> <sensitive>``); a live value (``value``, ``valueFrom``) is
  never shown, the state's only when the compiled graph (``desired``) holds that variable at the same
  place with the same plain string and it is neither credential-named nor secret-shaped, as above. A
  change above the list (a container added or removed) shows its entries the same way. A pod template
  kept as JSON text in a ConfigMap key (a training job's run template, ``train-<job>``
  ``pytorchjob.json``; :func:`~mlops_infra.plan.env_values.template_keys`) is compared parsed, so its
  containers' ``env`` follow the same rule; a live value of such a key that is not a JSON document is
  shown as ``"<sensitive>"`` whole (audit closing-35a-1).
- A ConfigMap a compiled container takes its environment from (whole with ``envFrom.configMapRef``, or
  a key with ``env[].valueFrom.configMapKeyRef``; found in the graph, run templates kept as JSON in a
  ConfigMap included, and always ``mlops-object-store``, every training pod's: core/v1
  ConfigMapEnvSource "The contents of the target ConfigMap's Data field will represent the key-value
  pairs as environment variables") has its ``data`` compared as kind ``env`` (audit closing-34g-1): ``data HF_TOKEN added``,
  never the live value. In a tracked JSON document (kind ``json``: a SageMaker pipeline definition,
  read back by DescribePipeline ``PipelineDefinition``) every ``Environment`` map (a step's
  training/processing container environment, botocore ``CreateTrainingJobRequest.Environment``) shows
  its live values as ``"<sensitive>"`` and the state's only as above (audit closing-34g-2).
- Where environment values live, how env lists are keyed and when a value may be shown are
  :mod:`mlops_infra.plan.env_values`' (one rule with the plan diff's), applied ``guarded``: the
  credential-name and secret-shape check above, which the plan diff does not make (its row prints the
  compiled value beside the state's; a drift line shows the state's alone).
- A path the desired graph leaves to something other than Pulumi (its ``ignore_changes``,
  :func:`left_alone`: a canary endpoint's config, which the rollout controller switches) is never
  drift; the callers that have the graph pass it.
- SageMaker endpoints get one derived check: the live variants' desired instance counts and
  weights (``outputs.productionVariants``) against the prior endpoint config's
  ``initialInstanceCount``/``initialVariantWeight``. A count inside the range of a prior
  autoscaling target for that variant is autoscaling, not drift. When the endpoint runs another
  config than the state's and its ``endpointConfigName`` is left to the rollout controller, the
  config compared with is the one it runs, if the state holds it (after a finished rollout: the
  version's final config, which ``pulumi up`` created); else (a rollout config the controller made)
  nothing is compared.
- IAM roles get one derived check: the permissions policies the live role holds beyond those the
  prior state holds for it. A role's attached managed policies and inline policies are its access
  (permissions) policies (botocore ``iam`` ``RoleDetail.AttachedManagedPolicies`` and
  ``RolePolicyList``); the reader lists them (``managedPolicyArns``, ``inlinePolicies`` names). An
  attached ARN that is neither one of the role's own ``managedPolicyArns`` inputs nor the
  ``policyArn`` of a ``RolePolicyAttachment`` of that role, or an inline policy name that is neither
  one of the role's own ``inlinePolicies`` nor a ``RolePolicy`` of that role in the state, is drift:
  ``IAM role runner: policy AdministratorAccess attached outside Pulumi``. One the state holds but
  the role lacks is its own resource's drift (a ``RolePolicy`` read as removed). A reading without
  those lists (not read) compares nothing.
- ``summary`` is one line in ML/operator terms, e.g. ``endpoint scorer: instance count 2 -> 5
  changed outside Pulumi`` or ``bucket ml-data: encryption removed outside Pulumi``. It is for
  people; decide on ``kind`` and ``changes``.

Pure: no I/O, no clock, no Pulumi.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from mlops_infra.endpoint_tags import SCALING_TAG, TAG_PREFIXES
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.env_values import (
    CONFIG_MAP,
    CONTAINER_ENV,
    DATA,
    STEP_ENVIRONMENT,
    entry_shown,
    env_config_maps,
    holds_key,
    json_document,
    key_envs,
    shown,
    template_keys,
)
from mlops_infra.plan.normalize import MISSING, get_dotted
from mlops_infra.plan.rules import RULES, parse_path
from mlops_infra.plan.unordered import align_set
from mlops_infra.state.aws_live import TRACKING, Tracked, Tracking
from mlops_infra.state.model import SECRET_SIG, UNKNOWN, LiveState, PriorState, StateResource

CHANGED = "changed"
DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One resource that differs from its last applied state.

    ``kind`` is ``"changed"`` or ``"deleted"``. ``changes`` lists ``(path, prior_value,
    live_value)`` with Pulumi input paths (``productionVariants[primary].instanceType``) and
    normalised values; empty for a deletion. ``summary`` is a human sentence.
    """

    urn: str
    type: str
    kind: str
    changes: tuple[tuple[str, Any, Any], ...]
    summary: str


@dataclass(frozen=True, slots=True)
class _Change:
    path: str
    label: str
    prior: Any
    live: Any
    note: str = ""
    verb: str = ""  # what happened instead of "changed" ("attached", "added"), phrased without values
    named: bool = False  # the label names the thing (``env HF_HUB``): no part of the path is added to it


class Keyed(dict):
    """A list of objects turned into ``{key: object}`` so elements match by identity."""


SENSITIVE = "<sensitive>"
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[^:]*:\d*:key/(?P<id>[0-9a-zA-Z-]+)$")


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------


def is_opaque(value: Any) -> bool:
    """True when ``value`` is or contains a secret or an unknown: never compared."""
    if isinstance(value, dict):
        return SECRET_SIG in value or any(is_opaque(v) for v in value.values())
    if isinstance(value, list):
        return any(is_opaque(v) for v in value)
    return value == UNKNOWN


def clean(value: Any) -> Any:
    """Pulumi's value equivalences: ``__defaults`` dropped, empty means unset, ``1.0 == 1``,
    KMS key ARNs as key ids."""
    if isinstance(value, dict):
        out = {k: clean(v) for k, v in value.items() if k != "__defaults"}
        out = {k: v for k, v in out.items() if v is not None}
        return (type(value)(out) if isinstance(value, Keyed) else out) or None
    if isinstance(value, list):
        return [clean(v) for v in value] or None
    if isinstance(value, str):
        match = _KMS_KEY_ARN.match(value)
        return match.group("id") if match else (value or None)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _parse_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _canonical_policy(value: Any) -> Any:
    """IAM equivalences: a one-element list equals its element; string lists are unordered."""
    if isinstance(value, dict):
        return {k: _canonical_policy(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical_policy(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    return value


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _keyed(value: Any, field: str) -> Any:
    if not isinstance(value, list):
        return value
    out = Keyed()
    for index, element in enumerate(value):
        key = element.get(field) if isinstance(element, dict) else None
        out[str(key if key is not None else index)] = element
    return out


def _tags(value: Any) -> Any:
    """User tags as Pulumi compares them: without AWS-reserved ``aws:`` keys and without the tags the
    stack's provider ignores (its ``ignoreTags``, ``compile/aws/provider.ignore_tags``: the rollout
    controller's, "Resource tag key prefixes/keys to ignore across all resources", pulumi-aws
    ``ProviderIgnoreTagsArgs``), which are neither in the state nor drift."""
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items()
            if not str(k).startswith(("aws:", *TAG_PREFIXES)) and k != SCALING_TAG}


NORMALISERS: dict[str, Callable[[Any], Any]] = {
    "value": clean,
    "map": clean,
    "tags": lambda v: clean(_tags(v)),
    "set": lambda v: sorted(c, key=_sort_key) if isinstance(c := clean(v), list) else c,
    "json": lambda v: clean(_parse_json(v)),
    "policy": lambda v: clean(_canonical_policy(_parse_json(v))),
}
_WHOLE = frozenset({"json", "policy", "set"})  # compared as one value
_STRICT = frozenset({"map", "tags"})  # every key counts


def normalise(value: Any, kind: str) -> Any:
    """Both sides of a comparison go through this (see :class:`~mlops_infra.state.aws_live.Tracked`)."""
    if kind.startswith("keyed:"):
        return clean(_keyed(value, kind.partition(":")[2]))
    return NORMALISERS[kind](value)


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _diff(path: str, prior: Any, live: Any, strict: bool) -> list[tuple[str, Any, Any]]:
    """Leaf differences; keyed elements match by key, objects by key, equal-length lists by index."""
    if prior == live:
        return []
    if isinstance(prior, Keyed) and isinstance(live, Keyed):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(prior.keys() | live.keys()):
            if key in prior and key in live:
                out += _diff(f"{path}[{key}]", prior[key], live[key], strict)
            else:
                out.append((f"{path}[{key}]", _plain(prior.get(key)), _plain(live.get(key))))
        return out
    if isinstance(prior, dict) and isinstance(live, dict):
        keys = sorted(prior.keys() | live.keys()) if strict else sorted(prior.keys())
        return [c for k in keys for c in _diff(f"{path}.{k}", prior.get(k), live.get(k), strict)]
    if isinstance(prior, list) and isinstance(live, list) and len(prior) == len(live):
        return [c for i, (p, v) in enumerate(zip(prior, live, strict=True)) for c in _diff(f"{path}[{i}]", p, v, strict)]
    return [(path, _plain(prior), _plain(live))]


def _sets_aligned(type_token: str, path: str, prior: Any, live: Any) -> Any:
    """``live`` with each list under ``path`` that its type's rule calls a set (:data:`~mlops_infra.plan.rules.RULES`
    ``sets``: ``schema.TypeSet`` in terraform-provider-aws) put in ``prior``'s order where both hold the same
    members (:func:`~mlops_infra.plan.unordered.align_set`). The provider sends a set to AWS in the set's own
    order, by hash code (terraform-plugin-sdk helper/schema/set.go ``List``/``listCode``: the codes sorted as
    strings), not the program's, and the API gives it back as sent; the prior inputs hold the program's order
    (pulumi-terraform-bridge keeps it). So a set read back reordered is not drift (audit typesets44-4: an
    autoscaling policy's ``customizedMetricSpecification.dimensions``, terraform-provider-aws
    internal/service/appautoscaling/policy.go ``"dimensions": {Type: schema.TypeSet, ...}`` and
    ``expandCustomizedMetricSpecification``'s ``v.List()``, read back reordered for about one endpoint name in six)."""
    rule = RULES.get(type_token)
    if rule is None or not rule.sets or live is MISSING:
        return live
    base = parse_path(path)
    for pattern in rule.sets:  # read as the planner reads them (rules.parse_path: dots, [i], [*], ["x.y"])
        parts = parse_path(pattern)
        if len(parts) > len(base) and parts[:len(base)] == base:
            live = _align_at(parts[len(base):], prior, live)
    return live


def _align_at(parts: tuple[str | int, ...], prior: Any, live: Any) -> Any:
    if not parts:
        return align_set(live, prior) if isinstance(prior, list) and isinstance(live, list) else live
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(prior, list) and isinstance(live, list) and len(prior) == len(live):
        return [_align_at(rest, p, v) for p, v in zip(prior, live, strict=True)]
    if type(head) is int and isinstance(prior, list) and isinstance(live, list) and head < min(len(prior), len(live)):
        return [*live[:head], _align_at(rest, prior[head], live[head]), *live[head + 1:]]
    if isinstance(prior, dict) and isinstance(live, dict) and head in prior and head in live:
        return {**live, head: _align_at(rest, prior[head], live[head])}
    return live


def _prior_value(prior: StateResource, tracked: Tracked) -> Any:
    if tracked.prior_output and tracked.prior_output in prior.outputs:
        return prior.outputs[tracked.prior_output]
    value = get_dotted(prior.inputs, tracked.path)
    if value is MISSING:
        return MISSING if tracked.computed else tracked.default
    return value


def _tracked_changes(prior: StateResource, live: StateResource, tracked: Tracked,
                     compiled: Mapping[str, Any]) -> list[_Change]:
    before = _prior_value(prior, tracked)
    after = get_dotted(live.inputs, tracked.path)
    after = tracked.default if after is MISSING else after
    ours = get_dotted(compiled, tracked.path)
    if tracked.kind == ENV:
        return [] if before is MISSING else _env_changes(tracked, before, after,
                                                         ours if isinstance(ours, Mapping) else {})
    templates = template_keys(ours) if prior.type == CONFIG_MAP and tracked.path == DATA else frozenset()
    if templates:  # run templates kept as JSON text: compared parsed, their env values masked below
        before, after, ours = (_templates_parsed(v, templates) for v in (before, after, ours))
    if before is MISSING or is_opaque(before) or is_opaque(after):
        return []
    if tracked.kind in _WHOLE:
        before, after = normalise(before, tracked.kind), normalise(after, tracked.kind)
        diffs = [] if before == after else [(tracked.path, _plain(before), _plain(after))]
        if diffs and tracked.kind == "json" and holds_key(STEP_ENVIRONMENT, before, after):
            ours = _document(ours)
            diffs = [(path, _environment_masked(p, ours), _environment_masked(v, None)) for path, p, v in diffs]
    else:
        before, after = normalise(_key_envs(before), tracked.kind), normalise(_key_envs(after), tracked.kind)
        after = _sets_aligned(prior.type, tracked.path, before, after)
        diffs = _diff(tracked.path, before, after, tracked.kind in _STRICT)
    if templates:
        diffs = [(path, _unreadable_hidden(path, p, templates), _unreadable_hidden(path, v, templates))
                 for path, p, v in diffs]
    if tracked.sensitive:
        return [_Change(path, tracked.label, SENSITIVE, SENSITIVE) for path, _, _ in diffs]
    if diffs and tracked.kind not in _WHOLE and holds_key(CONTAINER_ENV, before, after):
        ours = None if ours is MISSING else normalise(_key_envs(ours), tracked.kind)
        return [_container_env_change(tracked, path, p, v, ours) for path, p, v in diffs]
    return [_Change(path, tracked.label, p, v) for path, p, v in diffs]


def _templates_parsed(value: Any, keys: frozenset[str]) -> Any:
    """A ConfigMap's ``data`` with the values of ``keys`` (pod templates kept as JSON text,
    :func:`~mlops_infra.plan.env_values.template_keys`) parsed; one that does not parse stays text."""
    if not isinstance(value, dict):
        return value
    return {k: doc if k in keys and (doc := json_document(v)) is not None else v for k, v in value.items()}


def _unreadable_hidden(path: str, value: Any, keys: frozenset[str]) -> Any:
    """One side of a ``data`` difference with a template key's value that did not parse (still text)
    hidden whole: its containers' env values cannot be told from the rest (module contract)."""
    if path == DATA and isinstance(value, dict):
        return {k: SENSITIVE if k in keys and isinstance(v, str) else v for k, v in value.items()}
    if any(path == f"{DATA}.{k}" for k in keys) and isinstance(value, str):
        return SENSITIVE
    return value


def _document(value: Any) -> Any:
    """The compiled graph's JSON document (``pipelineDefinition``) as the json kind compares it; None
    when there is none or it cannot be read."""
    if value is MISSING or value is None:
        return None
    try:
        return normalise(value, "json")
    except (TypeError, ValueError):
        return None


def _environment_masked(value: Any, ours: Any) -> Any:
    """A JSON document (a SageMaker pipeline definition) with every step's ``Environment`` value shown
    only as :func:`_env_value` allows (module contract): never live (``ours`` None), the state's only
    when it is the compiled document's at the same place."""
    if isinstance(value, dict):
        ours = ours if isinstance(ours, dict) else {}
        out = {}
        for k, v in value.items():
            if k == STEP_ENVIRONMENT and isinstance(v, dict):
                mine = ours.get(k) if isinstance(ours.get(k), dict) else {}
                out[k] = {n: _env_value(str(n), e, mine.get(n)) for n, e in v.items()}
            else:
                out[k] = _environment_masked(v, ours.get(k))
        return out
    if isinstance(value, list):
        ours = ours if isinstance(ours, list) else []
        return [_environment_masked(v, ours[i] if i < len(ours) else None) for i, v in enumerate(value)]
    return value


_ENV_ENTRY = re.compile(r"\.env\[(?P<name>[^\]]+)\](?P<rest>.*)$")
_STEP = re.compile(r"\.([^.\[\]]+)|\[([^\]]+)\]")


def _key_envs(value: Any) -> Any:
    """``value`` with every container ``env`` list keyed by ``name`` (module contract)."""
    return key_envs(value, _by_name)


def _by_name(entries: list) -> Keyed:
    return _keyed(entries, "name")


def _at(value: Any, suffix: str) -> Any:
    """The value at ``suffix`` (``.a[0].env[NAME].value``) below ``value``; None when there is none. A
    dotted key holding dots (a ConfigMap's ``pytorchjob.json``) is found by joining steps."""
    steps = _STEP.findall(suffix)
    i = 0
    while i < len(steps):
        dotted, bracket = steps[i]
        key, i = dotted or bracket, i + 1
        if isinstance(value, dict):
            while dotted and key not in value and i < len(steps) and steps[i][0]:
                key, i = f"{key}.{steps[i][0]}", i + 1
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _env_value(name: str, value: Any, ours: Any) -> Any:
    """One side of an environment value as drift may show it: :func:`~mlops_infra.plan.env_values.shown`,
    guarded (module contract); a live side is passed with ``ours`` None."""
    return shown(name, value, ours, hidden=SENSITIVE, guarded=True)


def _masked_entry(name: str, entry: Any, ours: Any) -> Any:
    return entry_shown(name, entry, ours, hidden=SENSITIVE, guarded=True)


def _masked(value: Any, ours: Any, env: bool = False) -> Any:
    """``value`` with every container environment value it holds shown as :func:`_env_value` allows."""
    if env and isinstance(value, dict):
        ours = ours if isinstance(ours, dict) else {}
        return {n: _masked_entry(str(n), e, ours.get(n)) for n, e in value.items()}
    if isinstance(value, dict):
        ours = ours if isinstance(ours, dict) else {}
        return {k: _masked(v, ours.get(k), env=k == CONTAINER_ENV) for k, v in value.items()}
    if isinstance(value, list):
        ours = ours if isinstance(ours, list) else []
        return [_masked(v, ours[i] if i < len(ours) else None) for i, v in enumerate(value)]
    return value


def _container_env_change(tracked: Tracked, path: str, prior: Any, live: Any, ours: Any) -> _Change:
    """A difference of a value holding container environments, without a value it may not show."""
    suffix = path[len(tracked.path):]
    at_ours = _at(ours, suffix)
    entry = _ENV_ENTRY.search(path)
    if entry is None:  # above or beside an env entry
        env = path.endswith(".env")
        return _Change(path, tracked.label, _masked(prior, at_ours, env), _masked(live, None, env))
    name, rest = entry.group("name"), entry.group("rest")
    label = f"env {name}"
    if rest:  # a field of the entry (``value``, ``valueFrom...``)
        return _Change(path, label, _env_value(name, prior, at_ours), _env_value(name, live, None), named=True)
    verb = "added" if prior is None else "removed" if live is None else ""
    return _Change(path, label, _masked_entry(name, prior, at_ours) if prior is not None else None,
                   _masked_entry(name, live, None) if live is not None else None, verb=verb, named=True)


ENV = "env"
"""The kind of a map of environment variables, compared variable by variable (module contract)."""


def _whole_opaque(value: Any) -> bool:
    return value == UNKNOWN or (isinstance(value, dict) and SECRET_SIG in value)


def _shown_prior(name: str, was: Any, compiled: Mapping[str, Any]) -> Any:
    """The state's value of variable ``name`` when it may be shown (the compiled graph's own, see the
    module contract), else :data:`SENSITIVE`."""
    ours = compiled.get(name)
    return _env_value(name, was, clean(ours) if isinstance(ours, str) else None)


def _env_changes(tracked: Tracked, before: Any, after: Any, compiled: Mapping[str, Any]) -> list[_Change]:
    """One change per variable that differs; no live value ever, the state's only when it is the
    compiled graph's ``compiled`` variables' (module contract)."""
    if _whole_opaque(before) or _whole_opaque(after):
        return []
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    changes: list[_Change] = []
    for name in sorted(before.keys() | after.keys(), key=str):
        path, was, now = f"{tracked.path}.{name}", before.get(name), after.get(name)
        if is_opaque(was):  # a Pulumi secret in the state: only its removal can be seen
            if name not in after:
                changes.append(_Change(path, f"{tracked.label} {name}", SENSITIVE, None, verb="removed"))
            continue
        if is_opaque(now):
            continue
        was, now = clean(was), clean(now)
        if was == now:
            continue
        shown = None if was is None else _shown_prior(str(name), was, compiled)
        verb = "added" if was is None else "removed" if now is None else ""
        label = f"{tracked.label} {name}" if verb else tracked.label  # a phrase adds the name from the path
        changes.append(_Change(path, label, shown, None if now is None else SENSITIVE, verb=verb))
    return changes


def _compiled_inputs(desired: DesiredGraph | None) -> dict[str, Mapping[str, Any]]:
    """URN -> the compiled graph's inputs of that resource (whose environment values may be shown)."""
    return {res.urn: res.inputs for res in desired.resources} if desired is not None else {}


def _environment_config_maps(desired: DesiredGraph | None) -> set[str]:
    """URNs of the compiled ConfigMaps whose ``data`` is a container's environment
    (:func:`~mlops_infra.plan.env_values.env_config_maps`; module contract)."""
    return set() if desired is None else env_config_maps(desired.resources)


# --------------------------------------------------------------------------------------------
# Derived checks: runtime facts against what the prior state implies
# --------------------------------------------------------------------------------------------

ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
SCALABLE_TARGET = "aws:appautoscaling/target:Target"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


class _PriorIndex:
    """Lookups over the prior state that derived checks need (built once per call)."""

    def __init__(self, prior: PriorState) -> None:
        self.configs: dict[str, StateResource] = {}
        self.targets: dict[str, StateResource] = {}
        self.inline_policies: dict[str, set[str]] = {}  # role name -> its RolePolicy names
        self.attached_policies: dict[str, set[str]] = {}  # role name -> its RolePolicyAttachment ARNs
        for res in prior.resources.values():
            if res.type == ENDPOINT_CONFIG:
                self.configs[str(res.inputs.get("name") or res.id)] = res
            elif res.type == SCALABLE_TARGET:
                self.targets[str(res.inputs.get("resourceId") or res.id)] = res
            elif res.type == ROLE_POLICY:
                role, _, name = (res.id or "").partition(":")
                self.inline_policies.setdefault(str(res.inputs.get("role", role)), set()).add(
                    str(res.inputs.get("name", name)))
            elif res.type == ROLE_POLICY_ATTACHMENT:
                self.attached_policies.setdefault(str(res.inputs.get("role")), set()).add(
                    str(res.inputs.get("policyArn")))


def _scaling_range(index: _PriorIndex, endpoint: str, variant: str) -> tuple[Any, Any] | None:
    target = index.targets.get(f"endpoint/{endpoint}/variant/{variant}")
    if target is None or target.inputs.get("scalableDimension", "sagemaker:variant:DesiredInstanceCount") \
            != "sagemaker:variant:DesiredInstanceCount":
        return None
    return target.inputs.get("minCapacity"), target.inputs.get("maxCapacity")


def _count_change(path: str, expected: Any, actual: Any, bounds: tuple[Any, Any] | None) -> list[_Change]:
    if not isinstance(expected, int | float) or not isinstance(actual, int | float):
        return []
    if bounds is not None and all(isinstance(b, int | float) for b in bounds):
        low, high = bounds
        if low <= actual <= high:
            return []
        return [_Change(path, "instance count", expected, actual, f"autoscaling range {low}-{high}")]
    return [] if actual == expected else [_Change(path, "instance count", expected, actual)]


def _weight_change(path: str, expected: Any, actual: Any) -> list[_Change]:
    expected = 1 if expected is None else expected
    if not isinstance(expected, int | float) or not isinstance(actual, int | float):
        return []
    if abs(float(expected) - float(actual)) < 1e-9:
        return []
    return [_Change(path, "traffic weight", clean(float(expected)), clean(float(actual)))]


def _endpoint_capacity(prior: StateResource, live: StateResource, index: _PriorIndex,
                       left: Collection[str] = ()) -> list[_Change]:
    """Live desired instance counts and weights vs the prior endpoint config, or the config the
    endpoint runs when ``left`` holds ``endpointConfigName`` (see module doc)."""
    config_name = prior.inputs.get("endpointConfigName")
    if not isinstance(config_name, str):
        return []
    if live.inputs.get("endpointConfigName") != config_name:
        if not _covered("endpointConfigName", left):
            return []  # a config change is reported by the tracked property itself
        config_name = live.inputs.get("endpointConfigName")  # the controller's switch: compare with what runs
        if not isinstance(config_name, str):
            return []
    config = index.configs.get(config_name)
    if config is None or is_opaque(config.inputs.get("productionVariants")):
        return []
    expected = {v.get("variantName"): v for v in config.inputs.get("productionVariants") or [] if isinstance(v, dict)}
    endpoint = str(prior.inputs.get("name") or prior.id)
    changes: list[_Change] = []
    for variant in live.outputs.get("productionVariants") or []:
        name = variant.get("variantName")
        want = expected.get(name)
        if want is None:
            continue
        base = f"productionVariants[{name}]"
        count = variant.get("desiredInstanceCount", variant.get("currentInstanceCount"))
        weight = variant.get("desiredWeight", variant.get("currentWeight"))
        changes += _count_change(f"{base}.instanceCount", want.get("initialInstanceCount"), count,
                                 _scaling_range(index, endpoint, str(name)))
        changes += _weight_change(f"{base}.weight", want.get("initialVariantWeight"), weight)
    if len(expected) > 1:
        changes = [_with_variant(c) for c in changes]
    return changes


def _with_variant(change: _Change) -> _Change:
    variant = change.path.split("[", 1)[1].split("]", 1)[0]
    return _Change(change.path, f"variant {variant} {change.label}", change.prior, change.live, change.note)


def _names(value: Any) -> set[str]:
    """Inline policy names of a role's ``inlinePolicies`` (``[{name, ...}]``)."""
    return {str(p["name"]) for p in value or () if isinstance(p, dict) and p.get("name")}


def _role_policies(prior: StateResource, live: StateResource, index: _PriorIndex,
                   left: Collection[str] = ()) -> list[_Change]:
    """Attached managed policies and inline policies the live role holds beyond the state's (see
    module doc)."""
    role = str(prior.inputs.get("name") or prior.id)
    changes: list[_Change] = []
    attached = live.inputs.get("managedPolicyArns")
    if isinstance(attached, list) and not _covered("managedPolicyArns", left):
        own = prior.inputs.get("managedPolicyArns")
        held = index.attached_policies.get(role, set()) | set(own if isinstance(own, list) else ())
        changes += [_Change(f"managedPolicyArns[{arn}]", f"policy {arn.rsplit('/', 1)[-1]}", None, arn,
                            verb="attached") for arn in sorted(set(map(str, attached)) - held)]
    inline = live.inputs.get("inlinePolicies")
    if isinstance(inline, list) and not _covered("inlinePolicies", left):
        held = index.inline_policies.get(role, set()) | _names(prior.inputs.get("inlinePolicies"))
        changes += [_Change(f"inlinePolicies[{name}]", f"inline policy {name}", None, name, verb="added")
                    for name in sorted(_names(inline) - held)]
    return changes


DERIVED: dict[str, Callable[[StateResource, StateResource, _PriorIndex, Collection[str]], list[_Change]]] = {
    ENDPOINT: _endpoint_capacity,
    ROLE: _role_policies,
}


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _fmt(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt_pair(prior: Any, live: Any) -> str:
    """``prior -> live``, each cut as :func:`_fmt` does; when the two cut values read the same (a long
    value changed past its first 57 characters, such as a PrometheusRule ``expr`` whose threshold was
    edited), both show a window of the same width around the first character that differs instead."""
    before, after = _fmt(prior), _fmt(live)
    if before != after or not isinstance(prior, str) or not isinstance(live, str):
        return f"{before} -> {after}"
    at = next((i for i, (a, b) in enumerate(zip(prior, live, strict=False)) if a != b), min(len(prior), len(live)))
    start = max(0, at - 20)

    def window(text: str) -> str:
        part = text[start:start + 54]
        return ("..." if start else "") + part + ("..." if start + 54 < len(text) else "")
    return f"{window(prior)} -> {window(live)}"


_INDEX = re.compile(r"\[\d+\]")
_KEYS = re.compile(r"\[[^\]]+\]")


def _where(suffix: str) -> str:
    """The part of a leaf path below its tracked property, for people: element keys and the
    last name (``[0].applyServerSideEncryptionByDefault.sseAlgorithm`` -> ``sseAlgorithm``,
    ``[blue].instanceType`` -> ``[blue] instanceType``)."""
    suffix = _INDEX.sub("", suffix)
    keys = "".join(_KEYS.findall(suffix))
    last = _KEYS.sub("", suffix).rsplit(".", 1)[-1]
    return keys + (f" {last}" if last else "")


def _phrase(change: _Change, tracked_path: str | None) -> str:
    suffix = change.path[len(tracked_path):] if tracked_path and change.path.startswith(tracked_path) \
        and not change.named else ""
    where = _where(suffix) if suffix else ""
    label = change.label + (where if where.startswith("[") else f" {where.strip()}" if where.strip() else "")
    if _scalar(change.prior) and _scalar(change.live) and change.prior != SENSITIVE:
        label += f" {_fmt_pair(change.prior, change.live)}"  # an env change's hidden live side: value -> <sensitive>
    return label + (f" ({change.note})" if change.note else "")


def _subject(res: StateResource, tracking: Tracking | None) -> str:
    noun = tracking.noun if tracking else res.type.rsplit(":", 1)[-1]
    name = res.id if tracking and tracking.subject == "id" and res.id else res.urn.split("::")[-1]
    return f"{noun} {name}"


def _deleted_summary(res: StateResource, tracking: Tracking | None) -> str:
    gone = tracking.gone if tracking else "deleted"
    separator = ": " if " " in gone else " "
    return f"{_subject(res, tracking)}{separator}{gone} outside Pulumi"


def _changed_summary(res: StateResource, tracking: Tracking | None, changes: list[tuple[_Change, str | None]]) -> str:
    phrases = list(dict.fromkeys(_phrase(c, path) for c, path in changes if not c.verb))
    events = list(dict.fromkeys(f"{c.label} {c.verb}" for c, _ in changes if c.verb))
    parts = [f"{', '.join(phrases)} changed"] * bool(phrases) + events
    return f"{_subject(res, tracking)}: {', '.join(parts)} outside Pulumi"


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _changes_for(prior: StateResource, live: StateResource, tracking: Tracking | None,
                 index: _PriorIndex, left: Collection[str] = (),
                 compiled: Mapping[str, Any] | None = None,
                 environment: bool = False) -> list[tuple[_Change, str | None]]:
    out: list[tuple[_Change, str | None]] = []
    for tracked in tracking.properties if tracking else ():
        if left and _covered(tracked.path, left):
            continue
        if environment and tracked.path == "data":  # a ConfigMap that is a pod's environment
            tracked = replace(tracked, kind=ENV)
        out += [(c, tracked.path) for c in _tracked_changes(prior, live, tracked, compiled or {})]
    derived = DERIVED.get(prior.type)
    if derived is not None:
        out += [(c, None) for c in derived(prior, live, index, left)]
    return out


def _covered(path: str, left: Collection[str]) -> bool:
    """Whether the tracked ``path`` is one of ``left`` or inside one (``a.b`` and ``a[0]`` are in ``a``)."""
    return any(path == name or path.startswith((f"{name}.", f"{name}[")) for name in left)


def left_alone(graph: DesiredGraph) -> dict[str, tuple[str, ...]]:
    """URN -> the input paths the desired graph leaves to something other than Pulumi: its
    ``ignore_changes``. Pulumi "ignores a property by using the old value from the state instead of the
    value provided by the Pulumi program" and "does not automatically read the live value for the
    property unless you run a refresh" (Pulumi docs, Resource option: ignoreChanges), so the state keeps
    the value the resource was created with while the owner moves it: a canary endpoint's
    ``endpointConfigName``, switched by the rollout controller at every rollout
    (``compile/aws/serving.py``). Comparing such a path with the cloud would report every rollout as
    a change made outside Pulumi."""
    return {r.urn: tuple(r.options.ignore_changes) for r in graph.resources if r.options.ignore_changes}


def find_drift(prior: PriorState, live: LiveState, *,
               tracking: Mapping[str, Tracking] | None = None,
               left: Mapping[str, Collection[str]] | None = None,
               desired: DesiredGraph | None = None) -> list[DriftItem]:
    """Every drifted resource, sorted by URN (see the module docstring for the rules). ``left``
    (:func:`left_alone` of the desired graph): paths per URN that are never drift. ``desired``: the
    compiled graph, whose own environment values may be shown (kind ``env``); without it none is."""
    tracking = TRACKING if tracking is None else tracking
    left = left or {}
    index = _PriorIndex(prior)
    compiled = _compiled_inputs(desired)
    environments = _environment_config_maps(desired)
    items: list[DriftItem] = []
    for urn in sorted(prior.resources):
        res = prior.resources[urn]
        spec = tracking.get(res.type)
        if urn in live.missing:
            items.append(DriftItem(urn, res.type, DELETED, (), _deleted_summary(res, spec)))
            continue
        now = live.resources.get(urn)
        if now is None:
            continue
        changes = _changes_for(res, now, spec, index, left.get(urn, ()), compiled.get(urn), urn in environments)
        if changes:
            triples = tuple((c.path, c.prior, c.live) for c, _ in changes)
            items.append(DriftItem(urn, res.type, CHANGED, triples, _changed_summary(res, spec, changes)))
    return items
