"""The desired resource graph: plain data, the single source of truth.

The compiler produces a :class:`DesiredGraph`; the Pulumi program registers exactly it; the planner
diffs it against prior state. No Pulumi import here.

Conventions:
- ``urn`` follows the engine's rule:
  ``urn:pulumi:<stack>::<project>::<parent type chain joined by $ (root Stack excluded)>$<type>::<name>``.
- ``inputs`` use Pulumi's engine property names (camelCase, as in state files and ``pulumi preview
  --json``), with JSON values only, plus two sentinels for values known only after apply:
  ``{"$ref": <urn>, "output": <property>}`` (another resource's output, ``"id"`` for its id) and
  ``{"$json": <value>}`` (a JSON-encoded string of a value that may contain refs, e.g. IAM policies)
  and ``{"$archive": {<file name>: <text>}}`` (a code archive, e.g. a Lambda's source; the program
  turns it into ``pulumi.AssetArchive`` of ``StringAsset`` files).
- ``dependencies`` are URNs: every ref inside ``inputs`` plus explicit ordering edges; sorted.
- ``parent`` is the URN of the parent component, or None for children of the root stack.
- A component resource (``custom=False``) carries as ``inputs`` a small dict of ML facts (model
  version, instance type, replicas, ...). The program passes it as the component's props, so it is
  in state too and the planner can summarise changes in ML terms from both sides.
- ``provider`` is the URN of the explicit provider resource for custom resources.
- A graph is sorted by URN and serialises to byte-identical JSON for equal input.
- Each ``urn`` is the interpreter's interned string (``sys.intern``), as is each URN of a state read
  as Pulumi writes it (``mlops_infra.state.pulumi_state``): a plan holds one string per URN, not one
  for the graph and one for the state (memory of issue 14's 10,000-endpoint plan, ``benchmarks/bench_cli.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from sys import intern
from typing import Any

import orjson

from mlops_infra.frozen import fillable, new
from mlops_infra.jsoncodec import spelled_otherwise

REF = "$ref"
JSON = "$json"
ARCHIVE = "$archive"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def ref(urn: str, output: str = "id") -> dict[str, str]:
    """An input value that is another resource's output (``id``, ``arn``, ``name``, ...)."""
    return {REF: urn, "output": output}


def json_of(value: Any) -> dict[str, Any]:
    """An input value that is ``json.dumps(value)`` once refs inside it are resolved."""
    return {JSON: value}


def archive(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """An input value that is a code archive holding ``files`` (name -> text)."""
    return {ARCHIVE: dict(sorted(files.items()))}


def is_archive(value: Any) -> bool:
    return isinstance(value, dict) and ARCHIVE in value and len(value) == 1


def is_ref(value: Any) -> bool:
    """Exactly ``{"$ref": <urn>, "output": <property>}``; any other object is plain data."""
    return isinstance(value, dict) and len(value) == 2 and REF in value and "output" in value


def is_json(value: Any) -> bool:
    return isinstance(value, dict) and JSON in value and len(value) == 1


def iter_refs(value: Any) -> Iterator[dict[str, str]]:
    """Every ref sentinel inside ``value`` (depth first)."""
    stack = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        current = pop()
        kind = type(current)
        if kind is dict:
            if REF in current and len(current) == 2 and "output" in current:
                yield current
                continue
            for item in current.values():
                if type(item) in _CONTAINERS:
                    push(item)
        elif kind is list:
            extend(item for item in current if type(item) in _CONTAINERS)


_CONTAINERS = frozenset({dict, list})


def ref_urns(value: Any) -> list[str]:
    """The URN of every ref sentinel inside ``value`` (what :func:`iter_refs` finds, in no
    particular order): for the dependencies of every resource compiled."""
    if type(value) is dict and REF in value and len(value) == 2 and "output" in value:
        return [value[REF]]
    found: list[str] = []
    if type(value) is dict or type(value) is list:
        _add_ref_urns(value, found)
    return found


def _add_ref_urns(container: dict[str, Any] | list[Any], found: list[str]) -> None:
    """Append to ``found`` the URN of every ref inside ``container`` (not itself a ref). Recursive:
    a call per nested container is cheaper than a stack of pending ones."""
    for item in container.values() if type(container) is dict else container:
        kind = type(item)
        if kind is dict:
            if REF in item and len(item) == 2 and "output" in item:
                found.append(item[REF])
            else:
                _add_ref_urns(item, found)
        elif kind is list:
            _add_ref_urns(item, found)


def resolve(value: Any, lookup: Callable[[str, str], Any]) -> Any:
    """Replace sentinels: refs by ``lookup(urn, output)``, ``$json`` by the encoded string.

    ``lookup`` may return any value; when it returns an object that is not JSON (for example a
    Pulumi Output), ``$json`` cannot be encoded here and the caller must resolve it itself.
    """
    if isinstance(value, dict):
        if is_ref(value):
            return lookup(value[REF], value["output"])
        if is_json(value):
            return canonical_json(resolve(value[JSON], lookup))
        return {k: resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, lookup) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """The JSON text used for ``$json`` values (sorted keys, compact): one encoding everywhere,
    ``json.dumps(value, sort_keys=True, separators=(",", ":"))``'s text. orjson writes it when its
    bytes are provably the same: ASCII only, no ``null`` (None is ``null`` in both, but NaN and
    infinity would be ``null`` in orjson only) and nothing it spells otherwise
    (:func:`mlops_infra.jsoncodec.spelled_otherwise`); else the standard library does.
    ``spelled_otherwise`` is asked only of a text holding DEL, ``e-`` or ``.0000``: every text it answers
    True for holds one (DEL, or the literal start of its patterns ``e-[1-9]`` and ``\\.0000``), and most
    texts here (names, dimensions, widgets) hold none (tests/test_graph.py compares the text with the
    standard library's, small floats and DEL included). The checks read the decoded text (returned as it
    is): ``bytes in bytes`` first tries its operand as an integer, and the exception it raises and clears
    costs more than the search (CPython 3.11 ``Objects/bytes_methods.c`` ``_Py_bytes_contains``:
    ``PyNumber_AsSsize_t`` before the buffer search), ``str in str`` searches at once."""
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = data.decode()
    if (not text.isascii() or "null" in text
            or (("e-" in text or ".0000" in text or "\x7f" in text) and spelled_otherwise(data))):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text


def make_urn(stack: str, project: str, type_chain: Iterable[str], name: str) -> str:
    """An engine-accurate URN; ``type_chain`` lists parent types (outermost first) then the type."""
    return f"urn:pulumi:{stack}::{project}::{'$'.join(type_chain)}::{name}"


def urn_type_chain(urn: str) -> str:
    """The qualified type part of a URN (``parent$type``)."""
    return urn.split("::", 3)[2]


def urn_name(urn: str) -> str:
    return urn.split("::", 3)[3]


@dataclass(frozen=True, slots=True)
class ResourceOptions:
    """Pulumi resource options the compiler decides.

    ``replace_on_changes`` lists input property paths whose change forces replacement (beyond the
    provider's own rules); ``delete_before_replace`` is tri-state, as Pulumi's option is: ``None``
    leaves the order of a replace to the provider (``Diff``'s ``deleteBeforeReplace``), ``True`` deletes
    first (a physical name that must be reused), ``False`` creates first whatever the provider answers
    (the engine takes the option over the provider's answer when the program defines it:
    pkg/resource/deploy/step_generator.go, the replace step; the Python SDK sends
    ``deleteBeforeReplaceDefined``); ``ignore_changes`` lists inputs left to the cloud (e.g. autoscaled counts);
    ``retain_on_delete`` keeps the cloud resource when Pulumi deletes or replaces it (Pulumi "retainOnDelete":
    the provider's Delete is not called; the resource leaves the state and stays in the cloud);
    ``aliases`` lists full URNs this resource had in stacks applied by earlier versions of mlops-infra
    (Pulumi "aliases", passed as URN strings): the engine looks the resource up by its URN, then by each
    alias, takes a prior resource found under an alias as this one's (diffed by this resource's provider
    type, so updated or left alone, never deleted and created for the move) and keeps the aliased URN
    out of the deletes (pkg/resource/deploy/step_generator.go ``getOldResource``, ``isOperatedOn``);
    a type change is allowed (``collapseAliasToUrn`` keeps the alias's own type);
    ``deleted_with`` is the URN of a resource whose deletion deletes this one in the cloud (Pulumi
    "deletedWith", passed as that resource): the engine skips this resource's Delete when that one is
    deleted in the same update (pkg/resource/deploy/step.go ``DeleteStep.Apply``, ``isDeletedWith``) and
    replaces this resource whenever that one is replaced ("A resource deleted with a replaced resource is
    destroyed by that delete, so it must be replaced regardless of property diffs",
    pkg/resource/deploy/step_generator.go ``calculateDependentReplacements``; for a prior without the option
    the goal's ``DeletedWith`` in ``diff``) -- e.g. an endpoint's scalable target, which AWS deregisters with
    the endpoint.
    """

    protect: bool = False
    replace_on_changes: tuple[str, ...] = ()
    delete_before_replace: bool | None = None
    ignore_changes: tuple[str, ...] = ()
    additional_secret_outputs: tuple[str, ...] = ()
    retain_on_delete: bool = False
    aliases: tuple[str, ...] = ()
    deleted_with: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.protect:
            out["protect"] = True
        if self.replace_on_changes:
            out["replaceOnChanges"] = list(self.replace_on_changes)
        if self.delete_before_replace is not None:
            out["deleteBeforeReplace"] = self.delete_before_replace
        if self.ignore_changes:
            out["ignoreChanges"] = list(self.ignore_changes)
        if self.additional_secret_outputs:
            out["additionalSecretOutputs"] = list(self.additional_secret_outputs)
        if self.retain_on_delete:
            out["retainOnDelete"] = True
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.deleted_with:
            out["deletedWith"] = self.deleted_with
        return out


_NO_OPTIONS = ResourceOptions()
"""The options of every resource added without any (immutable, so one object for all of them)."""


@dataclass(frozen=True, slots=True)
class DesiredResource:
    """One resource the system needs. See the module docstring for conventions.

    ``address`` is the ML item this resource belongs to (``endpoints.scorer``), for summaries.
    ``role`` is a short word for what it is within that item (``endpoint-config``, ``bucket``).
    """

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    provider: str | None = None
    options: ResourceOptions = field(default_factory=ResourceOptions)
    address: str = ""
    role: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "provider": self.provider,
            "dependencies": list(self.dependencies),
            "inputs": self.inputs,
            "options": self.options.to_json(),
            "address": self.address,
            "role": self.role,
        }


@dataclass(frozen=True)
class DesiredGraph:
    """All desired resources of one stack (project + environment), sorted by URN.

    ``rollouts`` records, per endpoint address, the staged rollout plan a controller will drive
    (strategy, steps, bake seconds, rollback alarms); ``metadata`` holds target facts (cloud,
    region, account, namespace) used by renderers and the live scanner; ``model_versions`` holds,
    per endpoint address, the registry decision the graph was compiled with
    (:class:`mlops_infra.model_versions.Decision` as JSON: ready, holding or waiting, and why), when
    the compiler was given a registry view.
    """

    project: str
    stack: str
    resources: tuple[DesiredResource, ...]
    rollouts: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    model_versions: dict[str, Any] = field(default_factory=dict)

    @property
    def root_urn(self) -> str:
        return make_urn(self.stack, self.project, [ROOT_STACK_TYPE], f"{self.project}-{self.stack}")

    def without(self, urns: Iterable[str]) -> DesiredGraph:
        """This graph without ``urns`` (a phase of an ordered apply); raises if a kept resource depends
        on a dropped one (a bug in the caller)."""
        drop = set(urns)
        kept = tuple(r for r in self.resources if r.urn not in drop)
        broken = [r.urn for r in kept if drop.intersection(r.dependencies) or r.parent in drop]
        if broken:
            raise ValueError(f"{broken[0]} depends on a resource left out (this is a bug in mlops-infra)")
        return DesiredGraph(self.project, self.stack, kept, dict(self.rollouts), dict(self.metadata),
                            dict(self.model_versions))

    def by_urn(self) -> dict[str, DesiredResource]:
        return {r.urn: r for r in self.resources}

    def _envelope(self) -> dict[str, Any]:
        """:meth:`to_json` without ``resources`` and ``modelVersions``."""
        return {"version": 1, "project": self.project, "stack": self.stack, "metadata": self.metadata,
                "rollouts": self.rollouts}

    def to_json(self) -> dict[str, Any]:
        out = {**self._envelope(), "resources": [r.to_json() for r in self.resources]}
        if self.model_versions:
            out["modelVersions"] = self.model_versions
        return out

    def written_json(self) -> dict[str, Any]:
        """What :meth:`to_json` is written as (by orjson or ``json``: the same text, keys sorted or
        not), made with less work: its resources' rows are :func:`_json_rows`' (dependencies the
        tuples themselves, one shared empty ``options`` object), as the digest's are. For writing
        only (the rows share parts; ``graph --format json`` prints it); :data:`REF_HINTS` off makes it
        ``to_json()`` (a test compares the texts)."""
        rows = _json_rows if REF_HINTS else _to_json_rows
        out = {**self._envelope(), "resources": rows(self.resources)}
        if self.model_versions:
            out["modelVersions"] = self.model_versions
        return out

    def dumps(self) -> str:
        """Byte-stable JSON text of the graph: ``json.dumps(indent=2, sort_keys=True)``'s bytes,
        written by orjson (:func:`mlops_infra.jsoncodec.stdlib_pretty`)."""
        from mlops_infra.jsoncodec import stdlib_pretty

        return stdlib_pretty(self.to_json())

    def dumps_bytes(self) -> bytes:
        """:meth:`dumps`'s text as the (ASCII) bytes it is written as, never decoded."""
        from mlops_infra.jsoncodec import stdlib_pretty_bytes

        return stdlib_pretty_bytes(self.to_json())

    @cached_property
    def _digest(self) -> str:
        import hashlib

        from mlops_infra.jsoncodec import ItemsDigest, canonical_bytes

        try:  # the same bytes, a batch of resources at a time: no whole copy of the graph as JSON
            items = ItemsDigest(self._envelope(), "resources")  # to_json() without modelVersions (see digest())
            resources = self.resources
            rows = _json_rows if REF_HINTS else _to_json_rows
            for start in range(0, len(resources), _DIGEST_BATCH):
                items.add_many(rows(resources[start:start + _DIGEST_BATCH]))
            return items.hexdigest()
        except (TypeError, ValueError):  # what orjson cannot write: canonical_bytes' own fallback
            data = self.to_json()
            data.pop("modelVersions", None)
            return hashlib.sha256(canonical_bytes(data)).hexdigest()

    def digest(self) -> str:
        """SHA-256 of the canonical JSON: identifies the desired graph in a saved plan.

        ``model_versions`` is left out: how a registry decision was reached (offline or read) does
        not change what is applied, and whether an endpoint waits shows in its resources.

        Computed once per graph (a graph is immutable): it serialises every resource.
        """
        return self._digest


_RESOURCE_FIELDS = fillable(DesiredResource)


def _to_json_rows(resources: Iterable[DesiredResource]) -> list[dict[str, Any]]:
    """``to_json()`` of each resource (the digest's slow path: :data:`REF_HINTS` off)."""
    return [resource.to_json() for resource in resources]


def _json_rows(resources: Iterable[DesiredResource]) -> list[dict[str, Any]]:
    """What orjson writes as :func:`_to_json_rows` of ``resources``, made with less work: each
    resource's object built here, not by a method call; its dependencies the tuple itself (orjson
    writes a tuple as an array, as it writes the list ``to_json`` makes: orjson 3.13's README,
    ``dumps``: "It natively serializes ... tuple"); the options of every resource added without
    any (:data:`_NO_OPTIONS`) one shared empty object. For hashing only (the objects share parts); a
    test compares the digests."""
    empty: dict[str, Any] = {}
    return [{"urn": r.urn, "type": r.type, "name": r.name, "custom": r.custom, "parent": r.parent,
             "provider": r.provider, "dependencies": r.dependencies, "inputs": r.inputs,
             "options": empty if r.options is _NO_OPTIONS else r.options.to_json(), "address": r.address,
             "role": r.role} for r in resources]


_INPUTS: Any = object()
"""``GraphBuilder.add``'s default ``refs_in``: search ``inputs`` itself."""

REF_HINTS = True
"""Whether ``GraphBuilder.add`` trusts a caller's ``refs_in`` (the shortcut), and whether the compilers
take their other shortcuts (:func:`mlops_infra.compile.aws.dashboards.endpoint_body`), and whether a graph's
digest writes its resources with :func:`_json_rows`; tests turn it off to compare the graph with the one
found by searching every input and writing every widget, and the digest with the one of ``to_json``."""

_DIGEST_BATCH = 500
"""Resources serialised per call while hashing a graph: few calls, and a batch's text stays small."""


class GraphBuilder:
    """Collects resources while compiling; computes URNs and dependencies; sorts on ``build``.

    Usage: ``component(...)`` for an ML item, then ``resource(...)`` for its children with
    ``parent=`` the component's URN. Dependencies are every ref in the inputs plus ``depends_on``.
    """

    def __init__(self, project: str, stack: str) -> None:
        self.project = project
        self.stack = stack
        self._resources: dict[str, DesiredResource] = {}
        self._chains: dict[str, str] = {}
        """URN -> its qualified type chain (``parent$type``, :func:`urn_type_chain`), for its children."""
        self._child_chains: dict[str, dict[str, str]] = {}
        """A parent's type chain -> a child's type -> the child's type chain (the interned ``parent$type``),
        made once per distinct chain (a few dozen), then read for each child, not written and interned
        again (:meth:`_chain`)."""
        self._urn_prefix = make_urn(stack, project, [], "")[: -len("::")]
        """Every URN of this stack is ``<prefix><type chain>::<name>`` (:func:`make_urn`)."""
        self.rollouts: dict[str, Any] = {}
        self.metadata: dict[str, Any] = {}
        self.model_versions: dict[str, Any] = {}

    def _chain(self, type_: str, parent: str | None) -> str:
        """The type chain of a resource of ``type_`` under ``parent``; raises if ``parent`` is not
        in the graph (a compiler bug)."""
        if parent is None:
            return type_
        above = self._chains.get(parent)
        if above is None:
            raise ValueError(f"parent {parent} is not in the graph (this is a bug in mlops-infra)")
        children = self._child_chains.get(above)
        if children is None:
            children = self._child_chains[above] = {}
        chain = children.get(type_)
        if chain is None:  # a few dozen chains, each kept for thousands of resources
            chain = children[type_] = intern(f"{above}${type_}")
        return chain

    def urn_for(self, type_: str, name: str, parent: str | None) -> str:
        """The URN a resource will have (no parent, or an empty one: a child of the root stack)."""
        return f"{self._urn_prefix}{self._chain(type_, parent or None)}::{name}"

    def add(self, type_: str, name: str, inputs: dict[str, Any], *, custom: bool = True,
            parent: str | None = None, depends_on: Iterable[str] = (), provider: str | None = None,
            options: ResourceOptions | None = None, address: str = "", role: str = "",
            refs_in: Any = _INPUTS) -> str:
        """Add a resource and return its URN. Raises on a duplicate URN (a compiler bug).

        ``refs_in``, when the caller gives it, is a value holding every ref that ``inputs`` holds
        (``inputs`` without parts that provably hold none, e.g. tags: strings only); only it is
        searched for the refs that become dependencies. :data:`REF_HINTS` off searches ``inputs``."""
        chain = self._chain(type_, parent)
        urn = intern(f"{self._urn_prefix}{chain}::{name}")  # urn_for's; interned (module docstring)
        resources = self._resources
        if urn in resources:
            raise ValueError(f"duplicate URN {urn} (this is a bug in mlops-infra)")
        searched = inputs if refs_in is _INPUTS or not REF_HINTS else refs_in
        kind = type(searched)  # ref_urns(searched), without its call
        if kind is dict and REF in searched and len(searched) == 2 and "output" in searched:
            deps = [searched[REF]]
        else:
            deps = []
            if kind is dict or kind is list:
                _add_ref_urns(searched, deps)
        if depends_on:
            deps.extend(depends_on)
        if not deps:
            dependencies = ()
        elif len(deps) == 1:  # the set and sort below, for one
            dependencies = () if deps[0] == urn else (deps[0],)
        else:
            unique = set(deps)
            unique.discard(urn)
            dependencies = tuple(sorted(unique))
        self._chains[urn] = chain
        # DesiredResource(urn, type_, ...), the same object, made as mlops_infra.frozen says (without the
        # frozen dataclass's per-field object.__setattr__): every field is set (a test compares the two)
        resource = new(_RESOURCE_FIELDS)
        resource.urn, resource.type, resource.name, resource.custom, resource.parent = urn, type_, name, custom, parent
        resource.inputs, resource.dependencies = inputs, dependencies
        resource.provider = provider if custom else None
        resource.options, resource.address, resource.role = options or _NO_OPTIONS, address, role
        resource.__class__ = DesiredResource
        resources[urn] = resource
        return urn

    def resource(self, urn: str) -> DesiredResource | None:
        """The resource added under ``urn`` so far, or None."""
        return self._resources.get(urn)

    def build(self) -> DesiredGraph:
        missing = set().union(*[r.dependencies for r in self._resources.values()]).difference(self._resources)
        if missing:
            raise ValueError(f"dependencies on unknown resources {sorted(missing)[:3]} (this is a bug in mlops-infra)")
        resources = tuple(map(self._resources.__getitem__, sorted(self._resources)))
        return DesiredGraph(self.project, self.stack, resources, dict(self.rollouts), dict(self.metadata),
                            dict(sorted(self.model_versions.items())))
