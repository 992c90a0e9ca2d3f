"""What we know about resources that exist: from a Pulumi state file (prior) or the cloud (live).

Contract:
- :class:`StateResource` mirrors a resource in a Pulumi checkpoint, leniently: unknown fields are
  ignored, missing ones default. ``inputs``/``outputs`` are as Pulumi stored them (camelCase names,
  secrets as ``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ...}``).
- :class:`PriorState` is a whole stack's last applied state. ``serial`` identifies that exact state
  (a SHA-256 of its canonical JSON) so a saved plan can refuse to apply after it moved.
- :class:`LiveState` is what the cloud says now, in the same shape, keyed by the same URNs; a URN in
  ``missing`` was looked for and is gone; ``errors`` are reads that failed (permission, throttling).
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import orjson

from mlops_infra.frozen import fillable, new

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARKER = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class StateResource:
    """One resource as recorded in state (or read live). Immutable, compared by value.

    ``inputs`` and ``outputs`` are JSON objects, read and never changed. A resource made with dicts
    (a live read, a test) returns those dicts. One read from a state file by
    :func:`~mlops_infra.state.pulumi_state.load_state` keeps them as compact JSON bytes instead
    (:meth:`packed`: a few times smaller than the objects; most of a state is never looked at
    again once planned) and each access decodes a fresh copy: read the attribute once and keep
    the dict, not in a loop.
    """

    __slots__ = ("_inputs", "_output_keys", "_outputs", "custom", "dependencies", "external", "id", "init_errors", "parent",
                 "pending_replacement", "protect", "provider", "retain_on_delete", "taint", "type", "urn")
    urn: str
    type: str
    custom: bool
    id: str | None
    parent: str | None
    provider: str | None
    dependencies: tuple[str, ...]
    protect: bool
    retain_on_delete: bool
    """Pulumi's ``retainOnDelete`` (pulumi/pulumi ``sdk/go/common/apitype/core.go`` ``ResourceV3``:
    ``RetainOnDelete bool `json:"retainOnDelete,omitempty"```): the engine's delete of this resource
    only drops it from the state and leaves it in the cloud (``pkg/resource/deploy/step.go``
    ``DeleteStep.Apply``: "Deleting a "drop on delete" is a no-op")."""
    init_errors: tuple[str, ...]
    """Pulumi's ``initErrors`` (pulumi/pulumi ``sdk/go/common/apitype/core.go`` ``ResourceV3``:
    ``InitErrors []string `json:"initErrors,omitempty"```), as the provider wrote them: the last
    create or update made the resource but it did not become ready (``pkg/resource/deploy/step.go``,
    ``CreateStep``/``UpdateStep.Apply`` on ``StatusPartialFailure``: ``s.new.InitErrors =
    initErr.Reasons``, recorded with the new inputs). Provider text: it may quote values, so it is
    never shown unredacted (``mlops_infra.plan.init_errors``). Empty for a resource that initialized."""
    pending_replacement: bool
    """Pulumi's ``pendingReplacement`` (``sdk/go/common/apitype/core.go`` ``ResourceV3``: "PendingReplacement is
    used to track delete-before-replace resources that have been deleted but not yet recreated", ``omitempty``):
    the object is gone from the cloud; the engine replaces it whatever its diff says, without deleting it again
    (``pkg/resource/deploy/step_generator.go``: ``if diff.Replace() || triggerReplace || old.PendingReplacement``;
    "If the resource is already pending replacement we don't need to emit any step"), and one no longer desired
    is only removed from the state (``NewRemovePendingReplaceStep``)."""
    taint: bool
    """Pulumi's ``taint`` (``ResourceV3``: "Taint is set to true when we wish to force it to be replaced upon the next
    update", ``omitempty``; set by ``pulumi state taint``): the engine replaces it before any diff
    (``pkg/resource/deploy/step_generator.go`` ``isTargetedReplace``: "If the resource was marked tainted in the old
    state, we will replace (and implicitly untaint) it"). A version-4 state using it lists the feature ``taint``."""
    external: bool
    """Pulumi's ``external`` (``ResourceV3``: "External is set to true when the lifecycle of this resource is not managed
    by Pulumi", ``omitempty``): read with ``Resource.get``. Its delete only drops it from the state
    (``pkg/resource/deploy/step.go`` ``DeleteStep.Op``: ``OpReadDiscard``; ``Apply``: "Deleting an External resource
    is a no-op"); a program that registers its URN as a managed resource makes the engine create one in its place
    (``step_generator.go``, "Case 2: wasExternal")."""

    def __init__(self, urn: str, type: str, custom: bool = True, id: str | None = None,
                 parent: str | None = None, provider: str | None = None, inputs: dict[str, Any] | None = None,
                 outputs: dict[str, Any] | None = None, dependencies: tuple[str, ...] = (),
                 protect: bool = False, retain_on_delete: bool = False, init_errors: tuple[str, ...] = (),
                 pending_replacement: bool = False, taint: bool = False, external: bool = False) -> None:
        self._fill(urn, type, custom, id, parent, provider, {} if inputs is None else inputs,
                   {} if outputs is None else outputs, None, dependencies, protect, retain_on_delete, init_errors,
                   pending_replacement, taint, external)

    @classmethod
    def packed(cls, urn: str, type: str, custom: bool, id: str | None, parent: str | None,
               provider: str | None, inputs: bytes, outputs: bytes, output_keys: tuple[str, ...] | None,
               dependencies: tuple[str, ...], protect: bool, retain_on_delete: bool = False,
               init_errors: tuple[str, ...] = (), pending_replacement: bool = False,
               taint: bool = False, external: bool = False) -> StateResource:
        """A resource whose ``inputs`` are the JSON object ``inputs`` (compact bytes, as orjson
        writes it: decoding gives back the same values, types included) and whose ``outputs`` are
        the object ``outputs`` or, with ``output_keys``, the object holding those keys in that
        order, each taken from ``outputs`` when it holds it, else from the inputs (an output that
        repeats an input is stored once)."""
        if cls is not StateResource:
            self = cls.__new__(cls)
            self._fill(urn, type, custom, id, parent, provider, inputs, outputs, output_keys, dependencies, protect,
                       retain_on_delete, init_errors, pending_replacement, taint, external)
            return self
        # One per resource of a state file: made as mlops_infra.frozen says (no setattr call per slot).
        self = new(_StateResourceSlots)
        self.urn, self.type, self.custom, self.id, self.parent, self.provider = urn, type, custom, id, parent, provider
        self._inputs, self._outputs, self._output_keys = inputs, outputs, output_keys
        self.dependencies, self.protect, self.retain_on_delete = dependencies, protect, retain_on_delete
        self.init_errors, self.pending_replacement, self.taint = init_errors, pending_replacement, taint
        self.external = external
        self.__class__ = StateResource
        return self

    def _fill(self, urn: str, type: str, custom: bool, id: str | None, parent: str | None, provider: str | None,
              inputs: dict[str, Any] | bytes, outputs: dict[str, Any] | bytes, output_keys: tuple[str, ...] | None,
              dependencies: tuple[str, ...], protect: bool, retain_on_delete: bool,
              init_errors: tuple[str, ...] = (), pending_replacement: bool = False, taint: bool = False,
              external: bool = False) -> None:
        """Set every slot once (the class is immutable: ``__setattr__`` refuses)."""
        setter = object.__setattr__
        setter(self, "urn", urn)
        setter(self, "type", type)
        setter(self, "custom", custom)
        setter(self, "id", id)
        setter(self, "parent", parent)
        setter(self, "provider", provider)
        setter(self, "_inputs", inputs)
        setter(self, "_outputs", outputs)
        setter(self, "_output_keys", output_keys)
        setter(self, "dependencies", dependencies)
        setter(self, "protect", protect)
        setter(self, "retain_on_delete", retain_on_delete)
        setter(self, "init_errors", init_errors)
        setter(self, "pending_replacement", pending_replacement)
        setter(self, "taint", taint)
        setter(self, "external", external)

    @property
    def inputs(self) -> dict[str, Any]:
        stored = self._inputs
        return stored if type(stored) is dict else orjson.loads(stored)

    @property
    def stored_inputs(self) -> bytes | dict[str, Any]:
        """The inputs as this resource keeps them, not decoded: for one read from a state file
        (:meth:`packed`), their compact JSON bytes as orjson writes them (``orjson.loads`` of them
        is :attr:`inputs`, types included); for one made with dicts (a live read, a test), the
        inputs dict itself, not a copy. Read, never change it. For a text comparison with the
        stored inputs (``mlops_infra.plan.normalize.unchanged`` takes either form) without the
        decoding :attr:`inputs` does."""
        return self._inputs

    @property
    def outputs(self) -> dict[str, Any]:
        stored = self._outputs
        if type(stored) is dict:
            return stored
        own = orjson.loads(stored)
        keys = self._output_keys
        if keys is None:
            return own
        inputs = self.inputs
        return {key: own[key] if key in own else inputs[key] for key in keys}

    def output(self, name: str, default: Any = None) -> Any:
        """``self.outputs.get(name, default)``, decoding only what that needs: the outputs stored as
        the resource's own, and its inputs only when ``name`` is an output repeating an input."""
        stored = self._outputs
        if type(stored) is dict:
            return stored.get(name, default)
        keys = self._output_keys
        if keys is not None and name not in keys:
            return default
        own = orjson.loads(stored)
        if name in own:
            return own[name]
        return self.inputs[name] if keys is not None else default

    def _values(self) -> tuple[Any, ...]:
        return (self.urn, self.type, self.custom, self.id, self.parent, self.provider, self.inputs, self.outputs,
                self.dependencies, self.protect, self.retain_on_delete, self.init_errors, self.pending_replacement,
                self.taint, self.external)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # dict fields: unhashable, as the dataclass it replaces

    def __repr__(self) -> str:
        names = ("urn", "type", "custom", "id", "parent", "provider", "inputs", "outputs", "dependencies", "protect",
                 "retain_on_delete", "init_errors", "pending_replacement", "taint", "external")
        return f"StateResource({', '.join(f'{n}={v!r}' for n, v in zip(names, self._values(), strict=True))})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.urn, self.type, self.custom, self.id, self.parent, self.provider, self._inputs,
                           self._outputs, self._output_keys, self.dependencies, self.protect, self.retain_on_delete,
                           self.init_errors, self.pending_replacement, self.taint, self.external))


_StateResourceSlots = fillable(StateResource)


def _rebuild(*fields: Any) -> StateResource:
    """Unpickle a :class:`StateResource` (its slots as they were)."""
    return StateResource.packed(*fields)


@dataclass(frozen=True)
class _StateResourceFields:
    """:class:`StateResource`'s fields, which it declares as its own: ``dataclasses.fields``,
    ``replace`` and ``asdict`` treat it as the frozen dataclass it was before it stored bytes."""

    urn: str
    type: str
    custom: bool = True
    id: str | None = None
    parent: str | None = None
    provider: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    protect: bool = False
    retain_on_delete: bool = False
    init_errors: tuple[str, ...] = ()
    pending_replacement: bool = False
    taint: bool = False
    external: bool = False


StateResource.__dataclass_fields__ = _StateResourceFields.__dataclass_fields__  # type: ignore[attr-defined]
StateResource.__dataclass_params__ = _StateResourceFields.__dataclass_params__  # type: ignore[attr-defined]
StateResource.__match_args__ = _StateResourceFields.__match_args__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class PriorState:
    """A stack's last applied state."""

    source: str
    version: int
    serial: str
    project: str | None
    stack: str | None
    resources: dict[str, StateResource]
    secrets_provider: str | None = None
    pending_operations: int = 0
    malformed_urns: tuple[str, ...] = ()
    """``resources[i] "urn"``/``"parent"`` entries that are not engine URNs (see ``check_integrity``)."""
    pending: tuple[tuple[str, str, str], ...] = ()
    """(resource type, URN, operation) of each well-formed entry of ``pending_operations`` (pulumi/pulumi
    ``sdk/go/common/apitype/core.go`` ``OperationV2``: ``resource.type``, ``resource.urn``, ``type`` = creating,
    updating, deleting, reading), so an interrupted apply can name them."""
    pending_deletes: tuple[StateResource, ...] = ()
    """The resources marked ``delete: true``, in state order (``ResourceV3.Delete``: "Delete is true when the resource
    should be deleted during the next update"): old copies a create-before-replace could not delete, with their own
    ids, never in ``resources`` (pulumi/pulumi ``pkg/resource/deploy/deployment.go``: "Ignore resources that are
    pending deletion"). The engine deletes every one on the next ``up`` (``step_generator.go`` ``GenerateDeletes``:
    ``if res.Delete { ... NewDeleteReplacementStep``), whatever the program registers."""

    @classmethod
    def empty(cls, project: str | None = None, stack: str | None = None) -> PriorState:
        """No state yet (a stack never applied)."""
        return cls("(no state)", 3, "0" * 64, project, stack, {})


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the cloud says now, for the resources that were looked for."""

    resources: dict[str, StateResource]
    missing: frozenset[str] = frozenset()
    errors: dict[str, str] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    """URN -> (cause, code) of each failed read (``state.aws_live.retry.classify``): the plan
    groups unread resources by cause. ``errors`` keeps the scrubbed message for logs."""


READ_FAILURE_CAUSES: dict[str, str] = {
    "access-denied": "access denied: grant the credentials the read actions of these types (docs/plan.md, section Refresh)",
    "credentials-rejected": "the credentials were rejected (expired, revoked or for another partition): "
                            "refresh them (`aws sts get-caller-identity` shows which are used)",
    "no-credentials": "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                      "AWS_SECRET_ACCESS_KEY, or run where an instance or task role applies",
    "throttled": "throttled by AWS past the retries: run again later, or lower the request rate",
    "server-error": "AWS answered with a server error: run again later (https://health.aws.amazon.com)",
    "connection-failed": "the connection failed (refused, reset or closed without an answer): check the "
                         "network, a proxy, and AWS_ENDPOINT_URL",
    "timeout": "no answer in time: check the network, a proxy, and AWS_ENDPOINT_URL; "
               "--refresh-timeout sets the deadline",
    "bad-endpoint": "the endpoint URL is not a URL: check AWS_ENDPOINT_URL",
    "other": "the read failed: run again with MLOPS_INFRA_DEBUG=1 for details",
    "kubernetes-forbidden": "the Kubernetes API refused the read (401/403): give the kubeconfig context's user "
                            "get on these kinds in the namespace (`kubectl auth can-i get <kind> -n <namespace>`)",
    "kubernetes-unreachable": "the Kubernetes API server did not answer, or there is no usable kubeconfig context: "
                              "check the environment's context (`kubectl --context <context> get ns`), the network "
                              "and a proxy; --refresh-timeout sets the deadline",
    "kubernetes-type-missing": "the cluster no longer serves these kinds (their CRD is not installed): install the "
                               "operator that provides them (the cluster preflight above names it)",
    "kubernetes-server-error": "the Kubernetes API server answered with a server error: run again later",
}
"""Why a live read failed -> what to do. The plan groups unread resources by these causes."""
