"""Run a Pulumi program under mocks and capture every resource registration (tests, benchmarks).

Pulumi's mocks (``pulumi.runtime.set_mocks``) replace the engine; ``Mocks.new_resource`` alone does
not see parents, dependencies or options, so :class:`CapturingMonitor` subclasses
``pulumi.runtime.mocks.MockMonitor`` and records each ``RegisterResource`` request.

Contract:
- :func:`capture_program` runs ``program()`` in a fresh ``contextvars`` context (so runs never share
  a root stack or pending outputs), waits for every RPC, and returns a :class:`Capture`: one
  :class:`CapturedResource` per registration except the root stack, keyed by engine URN.
- URNs are engine URNs: :meth:`CapturingMonitor.make_urn` applies the engine's rule
  (``<parent type chain without the root Stack>$<type>::<name>``) instead of the mock's rule
  (which prefixes ``pulumi:pulumi:Stack$`` and keeps only the innermost parent type). ``parent`` is
  None for children of the root stack; ``provider`` is the provider's URN (the ``::<id>`` suffix
  removed); ``dependencies`` and ``property_dependencies`` are sorted URNs.
- ``inputs`` are plain JSON as in a state file: protobuf numbers that are integral become ``int``,
  archives become the graph's ``{"$archive": {name: text}}`` sentinel, secrets ``{"$secret": value}``.
- :class:`EchoMocks` makes outputs deterministic: id = resource name, outputs = inputs plus, for
  every output a test says it needs (``referenced``) and that is not an input, :func:`mock_output`.
  :func:`expected_inputs` resolves a graph's sentinels with the same rule, so a graph and a capture
  of the program registering it compare equal.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from mlops_infra.graph import ROOT_STACK_TYPE, DesiredGraph, iter_refs, resolve, urn_type_chain
from mlops_infra.plan.rules import PROVIDERS

SIG_KEY = "4dabf18193072939515e22adb298388d"
ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class CapturedResource:
    """One ``RegisterResource`` request, in engine terms (see the module contract)."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: tuple[str, ...]
    property_dependencies: dict[str, tuple[str, ...]]
    inputs: dict[str, Any]
    options: dict[str, Any]


@dataclass
class Capture:
    """Everything a program registered (root stack excluded), and what the program returned."""

    resources: dict[str, CapturedResource] = field(default_factory=dict)
    result: Any = None


def mock_output(urn: str, name: str, inputs: dict[str, Any], output: str) -> Any:
    """The deterministic value of ``output`` (a dotted path) of a mocked resource."""
    if output == "id":
        return name
    head, *rest = output.split(".")
    if head in inputs:
        value = inputs[head]
        for key in rest:
            value = value.get(key) if isinstance(value, dict) else None
        return value
    if head == "arn":
        return f"arn:mock:{urn}"
    return f"mock:{head}:{urn}"


def plain(value: Any) -> Any:
    """A protobuf Struct/Value (or its dict form) as plain JSON (see the module contract)."""
    if hasattr(value, "DESCRIPTOR"):
        value = json_format.MessageToDict(value)
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig == ARCHIVE_SIG and "assets" in value:
            return {"$archive": {k: v.get("text") for k, v in sorted(value["assets"].items())}}
        if sig == ASSET_SIG:
            return {"$asset": value.get("text", value.get("path", value.get("uri")))}
        if sig == SECRET_SIG:
            return {"$secret": plain(value.get("value"))}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def engine_urn(parent: str, type_: str, name: str, stack: str, project: str) -> str:
    """The URN the engine gives a resource (``parent`` is the parent's URN, "" for the root)."""
    chain = type_
    if parent:
        parent_chain = urn_type_chain(parent)
        if parent_chain != ROOT_STACK_TYPE:
            chain = f"{parent_chain}${type_}"
    return f"urn:pulumi:{stack}::{project}::{chain}::{name}"


class CapturingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor with engine URNs that records every resource registration."""

    _local = threading.local()

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.captured: dict[str, CapturedResource] = {}
        self._lock = threading.Lock()

    @classmethod
    def current_urn(cls) -> str:
        """The engine URN of the registration being mocked on this thread (for :class:`EchoMocks`)."""
        return cls._local.urn

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        from pulumi.runtime.settings import get_project, get_stack

        return engine_urn(parent, type_, name, get_stack(), get_project())

    def RegisterResource(self, request):  # the gRPC method name
        urn = self.make_urn(request.parent, request.type, request.name)
        CapturingMonitor._local.urn = urn
        response = super().RegisterResource(request)
        if request.type != ROOT_STACK_TYPE:
            with self._lock:
                if urn in self.captured:
                    raise AssertionError(f"{urn} registered twice")
                self.captured[urn] = self._record(urn, request)
        return response

    def _record(self, urn: str, request) -> CapturedResource:
        parent = request.parent if request.parent and urn_type_chain(request.parent) != ROOT_STACK_TYPE else None
        options = {
            "protect": bool(request.protect),
            "replaceOnChanges": list(request.replaceOnChanges),
            # tri-state as the engine reads it (source_eval.go: Defined, or true): None when the program left it unset
            "deleteBeforeReplace": (bool(request.deleteBeforeReplace)
                                    if request.deleteBeforeReplaceDefined or request.deleteBeforeReplace else None),
            "ignoreChanges": list(request.ignoreChanges),
            "additionalSecretOutputs": list(request.additionalSecretOutputs),
            "retainOnDelete": bool(request.retainOnDelete),
            # URN aliases: Alias{urn} specs when the monitor supports them, else aliasURNs (pulumi/runtime/resource.py)
            "aliases": [a.urn for a in request.aliases if a.urn] or list(request.aliasURNs),
            "deletedWith": request.deletedWith or None,  # the URN the SDK resolved (pulumi/runtime/resource.py)
        }
        return CapturedResource(
            urn=urn, type=request.type, name=request.name, custom=bool(request.custom), parent=parent,
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
            dependencies=tuple(sorted(set(request.dependencies))),
            property_dependencies={k: tuple(sorted(v.urns)) for k, v in request.propertyDependencies.items()},
            inputs=plain(request.object), options=options,
        )


class EchoMocks(pulumi_mocks.Mocks):
    """Deterministic mocks: id = name; outputs = inputs + :func:`mock_output` for referenced outputs."""

    def __init__(self, referenced: dict[str, set[str]] | None = None) -> None:
        self.referenced = referenced or {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn = CapturingMonitor.current_urn()
        outputs = dict(args.inputs)
        for path in self.referenced.get(urn, ()):
            head = path.split(".")[0]
            if head not in outputs and head not in ("id", "urn"):
                outputs[head] = mock_output(urn, args.name, {}, head)
        return args.name, outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list]:
        return {}, []


def referenced_outputs(graph: DesiredGraph) -> dict[str, set[str]]:
    """URN -> output paths other resources of ``graph`` refer to."""
    out: dict[str, set[str]] = {}
    for resource in graph.resources:
        for ref in iter_refs(resource.inputs):
            out.setdefault(ref["$ref"], set()).add(ref["output"])
    return out


def capture_program(program: Callable[[], Any], project: str, stack: str,
                    referenced: dict[str, set[str]] | None = None,
                    config: dict[str, str] | None = None) -> Capture:
    """Run ``program`` under capturing mocks (``preview=False``) and return what it registered.

    ``config`` is the stack configuration (``{"mlops:systemFile": ...}``) the program sees.
    """
    return contextvars.Context().run(_capture, program, project, stack, referenced, config or {})


def _capture(program, project, stack, referenced, config) -> Capture:
    from pulumi.runtime.config import set_all_config

    mocks = EchoMocks(referenced)
    monitor = CapturingMonitor(mocks)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    set_all_config(dict(config))
    capture = Capture()

    def body() -> None:
        capture.result = program()

    _sync_await(run_pulumi_func(body))
    capture.resources = dict(sorted(monitor.captured.items()))
    return capture


def expected_inputs(graph: DesiredGraph) -> dict[str, dict[str, Any]]:
    """URN -> the graph's inputs with sentinels resolved as :class:`EchoMocks` resolves them."""
    by_urn = graph.by_urn()
    resolved: dict[str, dict[str, Any]] = {}

    def inputs_of(urn: str) -> dict[str, Any]:
        if urn not in resolved:
            resolved[urn] = resolve(by_urn[urn].inputs, lookup)
        return resolved[urn]

    def lookup(urn: str, output: str) -> Any:
        return mock_output(urn, by_urn[urn].name, inputs_of(urn), output)

    return {r.urn: inputs_of(r.urn) for r in graph.resources}


def drop_top_level_nulls(inputs: dict[str, Any]) -> dict[str, Any]:
    """The SDK does not send top-level inputs whose value is None (nested nulls are kept)."""
    return {k: v for k, v in inputs.items() if v is not None}


PROVIDER_SDK_DEFAULTS: dict[str, dict[str, str]] = {
    f"pulumi:providers:{package}": dict(rule.sdk_filled) for package, rule in PROVIDERS.items() if rule.sdk_filled}
"""Inputs the typed provider classes add when the program leaves them unset (JSON-encoded): the plan's own table,
``ReplaceRule.sdk_filled`` (plan/rules.py), which tests/plan/test_provider_versions.py checks against the SDKs."""

PROVIDER_SDK_SECRET_OUTPUTS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("accessKey", "secretKey", "token"),
    "docker-build:index:Image": ("secrets",),
}
"""``additionalSecretOutputs`` the typed classes always add."""


def normalise_provider_inputs(type_: str, captured: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """Captured provider inputs in the graph's terms.

    The SDK JSON-encodes every non-string provider input (``allowedAccountIds`` becomes the string
    ``'["111111111111"]'``) and adds defaults (:data:`PROVIDER_SDK_DEFAULTS`); a real state file has
    them too. Decode strings the graph holds as non-strings, drop SDK defaults the graph leaves unset.
    """
    import json

    out = {}
    defaults = PROVIDER_SDK_DEFAULTS.get(type_, {})
    for key, value in captured.items():
        if key not in desired and defaults.get(key) == value:
            continue
        if isinstance(value, str) and key in desired and not isinstance(desired[key], str):
            value = plain(json.loads(value))
        out[key] = value
    return out


def sorted_urns(urns: Iterable[str]) -> list[str]:
    return sorted(set(urns))


def _options_json(type_: str, options: dict[str, Any]) -> dict[str, Any]:
    sdk_secrets = PROVIDER_SDK_SECRET_OUTPUTS.get(type_, ())
    options = {**options, "additionalSecretOutputs": [
        o for o in options.get("additionalSecretOutputs", []) if o not in sdk_secrets]}
    return {k: v for k, v in options.items() if v or (k == "deleteBeforeReplace" and v is False)}


def differences(graph: DesiredGraph, capture: Capture) -> list[str]:
    """Every way the captured registrations differ from ``graph`` (empty when they agree).

    Compares the set of URNs, then per resource: type, name, custom, parent, provider,
    dependencies, options and inputs (sentinels resolved with :func:`expected_inputs`; top-level
    nulls dropped; provider inputs normalised with :func:`normalise_provider_inputs` and their SDK-added
    secret outputs, :data:`PROVIDER_SDK_SECRET_OUTPUTS`, ignored).
    """
    problems: list[str] = []
    desired = graph.by_urn()
    missing, extra = sorted(set(desired) - set(capture.resources)), sorted(set(capture.resources) - set(desired))
    problems += [f"not registered: {u}" for u in missing] + [f"registered but not in the graph: {u}" for u in extra]
    expected = expected_inputs(graph)
    for urn in sorted(set(desired) & set(capture.resources)):
        want, got = desired[urn], capture.resources[urn]
        for attr in ("type", "name", "custom", "parent", "provider"):
            if getattr(want, attr) != getattr(got, attr):
                problems.append(f"{urn}: {attr} {getattr(got, attr)!r} != desired {getattr(want, attr)!r}")
        if tuple(want.dependencies) != got.dependencies:
            problems.append(f"{urn}: dependencies {list(got.dependencies)} != desired {list(want.dependencies)}")
        got_options = _options_json(want.type, got.options)
        if got_options != want.options.to_json():
            problems.append(f"{urn}: options {got_options} != desired {want.options.to_json()}")
        want_inputs = drop_top_level_nulls(expected[urn])
        got_inputs = got.inputs
        if want.type.startswith("pulumi:providers:"):
            got_inputs = normalise_provider_inputs(want.type, got_inputs, want_inputs)
        if got_inputs != want_inputs:
            problems.append(f"{urn}: inputs differ:\n  captured {got_inputs}\n  desired  {want_inputs}")
    return problems
