"""What the plan renderers share: value formatting, money, targets, grouping by ML item, drift access.

Contract: pure functions of plan data, no I/O and no colour. Values print as JSON (strings quoted),
except the plan's own markers (:data:`~mlops_infra.plan.model.REDACTED`, known after apply),
which print bare. A sensitive :class:`AttributeChange` prints ``(sensitive)`` on both sides
whatever it holds, so a renderer can never show a secret that slipped past redaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import urn_name
from mlops_infra.plan import init_errors
from mlops_infra.plan.model import (
    ML_KINDS,
    REDACTED,
    UNKNOWN_AFTER_APPLY,
    Action,
    AttributeChange,
    CostLine,
    MLChange,
    ResourceChange,
    is_not_ready,
)
from mlops_infra.spec.system import SECTIONS

SHARED_GROUP = "(shared)"
"""Group title for changes that belong to no single ML item (providers, the platform)."""

ACTION_ORDER = (Action.DELETE, Action.REPLACE, Action.UPDATE, Action.CREATE, Action.READ, Action.NOOP)

_BARE = (REDACTED, UNKNOWN_AFTER_APPLY)


_TEXT = json.encoder.encode_basestring
"""``json.dumps(text, ensure_ascii=False)`` of a string: what ``JSONEncoder.encode`` returns for one
without ``ensure_ascii`` (``json/encoder.py``), without making an encoder per call."""
_INLINE = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
"""The encoder ``json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))`` makes
for each call (``json/__init__.py``: any argument but the defaults makes a new one), made once: an
encoder keeps nothing between calls of ``encode``."""
_DOCUMENT = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False)
"""Likewise ``json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)``'s encoder."""
_DOCUMENT_HEAD = json.JSONEncoder(indent=2, sort_keys=True, ensure_ascii=False, check_circular=False)
""":data:`_DOCUMENT` for an encoding stopped part-way (:func:`_document_head`): the same text for a
parsed JSON document, which holds no cycle, without the circular-reference ``markers``. Those are
removed only once a container is written to its end (``json/encoder.py``, ``_iterencode_dict`` and
``_iterencode_list``: ``markers[markerid] = dct`` ... ``del markers[markerid]`` after the loop), and
the ``markers`` dict is held by the encoder's closures, which refer to each other (a reference cycle):
a stopped encoding would keep the document's open containers until a cyclic collection, which batch
commands do not run (``mlops_infra.cli.main.BATCH_COMMANDS``)."""


def fmt_value(value: Any) -> str:
    """A JSON value as it reads in a plan: ``"text"``, ``3``, ``{"a": 1}``; markers bare."""
    if isinstance(value, str):
        return value if value in _BARE else _TEXT(value)
    return _INLINE.encode(value)


INLINE_MAX = 80
"""A dict or list whose compact JSON is longer than this is shown as an indented block."""
BLOCK_MAX_LINES = 60
"""A created or destroyed value shows at most this many block lines (the JSON format has all)."""
TEXT_PREVIEW_LINES = 3
"""A multi-line text inside a created or destroyed value shows this many lines."""
DIFF_MAX_LINES = 60
"""A line diff of a changed text or document shows at most this many lines."""

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_./-]+$")


@dataclass(frozen=True, slots=True)
class AttrLine:
    """One property change ready to print.

    ``symbol`` is ``+`` (added), ``-`` (removed) or ``~`` (changed); ``text`` is the first line
    without the symbol; ``more`` holds continuation lines as (marker, text) with marker ``" "``
    (context), ``+`` or ``-`` (a line diff of a text or document, or a whole added/removed block).
    """

    symbol: str
    text: str
    forces_replacement: bool
    more: tuple[tuple[str, str], ...] = ()


def _json_document(text: str) -> Any:
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict | list) and value else None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and "\n" in value.rstrip("\n")


def _key(key: Any) -> str:
    key = str(key)
    return key if _PLAIN_KEY.match(key) else _TEXT(key)


def _text_lines(text: str, full: bool) -> list[str]:
    lines = text.rstrip("\n").split("\n")
    if full or len(lines) <= TEXT_PREVIEW_LINES + 1:
        return lines
    return [*lines[:TEXT_PREVIEW_LINES], f"... ({len(lines) - TEXT_PREVIEW_LINES} more lines)"]


def _nested(value: Any, full: bool) -> list[str]:
    """``value`` as indented YAML-like lines (keys sorted; scalars as JSON; texts as <<EOT blocks)."""
    if isinstance(value, dict):
        out: list[str] = []
        for key in sorted(value, key=str):
            out += _entry(f"{_key(key)}:", value[key], full)
        return out or ["{}"]
    if isinstance(value, list):
        out = []
        for item in value:
            lines = _entry("-", item, full)
            out += lines
        return out or ["[]"]
    return [fmt_value(value)]


def _entry(label: str, value: Any, full: bool) -> list[str]:
    """``label value`` on one line when short, else ``label`` and the value indented below."""
    if _is_text(value):
        return [f"{label} <<EOT", *(f"  {line}" for line in _text_lines(value, full)), "  EOT"]
    if isinstance(value, str) and (document := _json_document(value)) is not None:
        return [f"{label} <<JSON", *(f"  {line}" for line in _DOCUMENT.encode(document).splitlines()), "  JSON"]
    if not isinstance(value, dict | list) or not value:
        return [f"{label} {fmt_value(value)}"]
    if not _longer(value, INLINE_MAX - len(label)):
        inline = fmt_value(value)
        if len(inline) + len(label) <= INLINE_MAX:
            return [f"{label} {inline}"]
    nested = _nested(value, full)
    if label == "-" and isinstance(value, dict):
        return [f"- {nested[0]}", *(f"  {line}" for line in nested[1:])]
    return [label, *(f"  {line}" for line in nested)]


def _block(value: Any, full: bool = False) -> tuple[str, list[str], str, int] | None:
    """(opening, lines, closing, number of lines) when ``value`` reads better on several lines, else
    None. Not ``full``, a JSON document's lines may stop after the first :data:`BLOCK_MAX_LINES`
    (all that :func:`_whole` shows); the number counts them all."""
    if isinstance(value, str):
        if value in _BARE:
            return None
        document = _json_document(value)
        if document is not None:
            if not full and (head := _document_head(document, BLOCK_MAX_LINES)) is not None:
                return "<<JSON", head, "JSON", _document_lines(document)
            lines = _DOCUMENT.encode(document).splitlines()
            return "<<JSON", lines, "JSON", len(lines)
        if _is_text(value):
            lines = value.rstrip("\n").split("\n")
            return "<<EOT", lines, "EOT", len(lines)
        return None
    if isinstance(value, dict | list) and (_longer(value, INLINE_MAX) or len(fmt_value(value)) > INLINE_MAX):
        lines = _nested(value, full)
        return "", lines, "", len(lines)
    return None


_BREAKS_KEPT = ("\x85", "\u2028", "\u2029")
"""The line boundaries of ``str.splitlines`` (Python docs, ``str.splitlines``) that
``json.encoder.encode_basestring`` leaves as they are (it escapes ``\\x00``-``\\x1f``, ``"`` and
``\\``: ``json/encoder.py``, ``ESCAPE``): in a string of a document they split its lines too."""


def _document_head(document: Any, count: int) -> list[str] | None:
    """The first ``count`` lines of ``_DOCUMENT.encode(document).splitlines()``, encoding no further
    than they reach: with an indent, ``JSONEncoder.iterencode`` yields the text in pieces, in order,
    from a generator (``json/encoder.py``, ``_make_iterencode``; ``encode`` joins the same pieces).
    Once the pieces hold ``count`` newlines the first ``count`` lines are whole."""
    pieces = []
    newlines = 0
    encoding = _DOCUMENT_HEAD.iterencode(document)
    try:
        for piece in encoding:
            pieces.append(piece)
            newlines += piece.count("\n")
            if newlines >= count:
                break
    finally:
        encoding.close()  # its frames let go of the document now (see _DOCUMENT_HEAD)
    return "".join(pieces).splitlines()[:count]


def _document_lines(value: Any) -> int:
    """``len(_DOCUMENT.encode(value).splitlines())`` for a parsed JSON document, counted from its
    shape: indented, a scalar or an empty container is one line, a container two (its brackets)
    and its items' lines (an item's key opens its value's first line), and a string as many more as
    it holds :data:`_BREAKS_KEPT`."""
    if isinstance(value, dict):
        if not value:
            return 1
        return 2 + sum([_document_lines(item) + (0 if key.isprintable() else _kept_breaks(key))
                        for key, item in value.items()])
    if isinstance(value, list):
        return 2 + sum([_document_lines(item) for item in value]) if value else 1
    if isinstance(value, str) and not value.isprintable():
        return 1 + _kept_breaks(value)
    return 1


def _kept_breaks(text: str) -> int:
    return sum([text.count(mark) for mark in _BREAKS_KEPT])


class _NoBound(Exception):
    """A value :func:`_spend` does not bound (a key that is not a string, a type JSON has no form for)."""


def _spend(value: Any, budget: int) -> int:
    """``budget`` less at most ``len(fmt_value(value))`` inside a container (strings quoted): a string
    takes its length and two quotes (escapes only lengthen it), any other scalar a character, a
    container its brackets and separators (``", "``, ``": "``, as :data:`_INLINE` writes them) and
    its items. Stops adding as soon as the budget is below zero."""
    if isinstance(value, str):
        return budget - len(value) - 2
    if isinstance(value, dict):
        budget -= 2 * len(value) or 2
        for key, item in value.items():
            if budget < 0:
                return budget
            if not isinstance(key, str):
                raise _NoBound
            budget = _spend(item, budget - len(key) - 4)
        return budget
    if isinstance(value, list | tuple):
        budget -= 2 * len(value) or 2
        for item in value:
            if budget < 0:
                return budget
            budget = _spend(item, budget)
        return budget
    if value is None or isinstance(value, int | float):
        return budget - 1
    raise _NoBound


def _longer(value: dict | list, budget: int) -> bool:
    """True only when ``fmt_value(value)`` is longer than ``budget`` characters, proved from a lower
    bound of its length that stops counting past the budget, so deciding whether a container fits
    on its line costs at most a line's worth of its items, not an encoding of the whole container
    at each level it sits under. False proves nothing (the caller encodes). ``value`` is JSON data
    (no cycles)."""
    try:
        return _spend(value, budget) < 0
    except _NoBound:
        return False


def _opening(block: tuple[str, list[str], str, int]) -> str:
    return f" {block[0]}" if block[0] else ""


def _whole(marker: str, block: tuple[str, list[str], str, int]) -> tuple[tuple[str, str], ...]:
    _, lines, closing, total = block
    shown = lines[:BLOCK_MAX_LINES]
    more = [(marker, f"  {line}") for line in shown]
    if total > len(shown):
        more.append((marker, f"  ... ({total - len(shown)} more lines; see --format json)"))
    if closing:
        more.append((marker, closing))
    return tuple(more)


def _line_diff(before: list[str], after: list[str], closing: str) -> tuple[tuple[str, str], ...]:
    import difflib

    out: list[tuple[str, str]] = []
    for line in list(difflib.unified_diff(before, after, lineterm="", n=2))[2:]:
        if line.startswith("@@"):
            if out:
                out.append((" ", "  ..."))
            continue
        marker = line[:1] if line[:1] in "+-" else " "
        out.append((marker, f"  {line[1:]}"))
    if len(out) > DIFF_MAX_LINES:
        hidden = len(out) - DIFF_MAX_LINES
        out = [*out[:DIFF_MAX_LINES], (" ", f"  ... ({hidden} more diff lines; see --format json)")]
    return (*out, (" ", closing)) if closing else tuple(out)


def attr_line(change: AttributeChange) -> AttrLine:
    """``~ path: before -> after``, ``+ path: after`` (added) or ``- path: before`` (removed);
    large documents and multi-line texts as blocks, changed ones as a line diff."""
    before, after = change.before, change.after
    if change.sensitive:
        before = None if before is None else REDACTED
        after = None if after is None else REDACTED
    forces = change.forces_replacement
    if before is None and after is not None:
        block = _block(after)
        if block:
            return AttrLine("+", f"{change.path}:{_opening(block)}", forces, _whole("+", block))
        return AttrLine("+", f"{change.path}: {fmt_value(after)}", forces)
    if after is None and before is not None:
        block = _block(before)
        if block:
            return AttrLine("-", f"{change.path}:{_opening(block)}", forces, _whole("-", block))
        return AttrLine("-", f"{change.path}: {fmt_value(before)}", forces)
    old, new = _block(before, full=True), _block(after, full=True)
    if old and new and (old[0], old[2]) == (new[0], new[2]):
        return AttrLine("~", f"{change.path}:{_opening(new)}", forces, _line_diff(old[1], new[1], new[2]))
    if old or new:
        old_lines = [*([old[0]] if old[0] else []), *(f"  {x}" for x in old[1]), *([old[2]] if old[2] else [])] \
            if old else [fmt_value(before)]
        new_lines = [*([new[0]] if new[0] else []), *(f"  {x}" for x in new[1]), *([new[2]] if new[2] else [])] \
            if new else [fmt_value(after)]
        diff = [(m, t[2:]) for m, t in _line_diff(old_lines, new_lines, "")]
        return AttrLine("~", f"{change.path}:", forces, tuple(diff))
    return AttrLine("~", f"{change.path}: {fmt_value(before)} -> {fmt_value(after)}", forces)


ACTION_WORDS = {Action.CREATE: "will be created", Action.UPDATE: "will be updated in place",
                Action.REPLACE: "must be replaced", Action.DELETE: "will be destroyed", Action.READ: "will be read"}
_SELF_EXPLAINING = ("will be ", "be updated in place", "blocked", "must be replaced", "this resource is ",
                    "adopted, not created")
"""Phrases of a reason message that say what happens: :func:`explain` shows such a message alone (an adopted
model or config, reason ``adopted``: ``plan/adopted.py``, says it is imported, not created)."""


def explain(change: ResourceChange) -> str:
    """Why, in one line: the planner's reason, prefixed with what happens unless it says so itself."""
    words = ACTION_WORDS.get(change.action, str(change.action))
    message = change.reason.message.strip()
    if not message:
        return words
    if any(phrase in message for phrase in _SELF_EXPLAINING):
        return message
    return f"{words}: {message}"


def delete_first_note(change: ResourceChange) -> str | None:
    """The line under a delete-before-replace: the outage it means, or for autoscaling deregistered
    around an endpoint update (``deregister-first``) that scaling pauses meanwhile, for autoscaling replaced with its
    endpoint (``deleted-with-replaced``) that it is registered again on the new one, or for a Failed SageMaker
    endpoint that it serves nothing (:func:`mlops_infra.plan.init_errors.delete_first_note`); None otherwise."""
    if change.action is not Action.REPLACE or not change.delete_before_replace:
        return None
    if change.reason.code == "deregister-first":
        return "removed before the endpoint update and created again after it: autoscaling pauses meanwhile"
    if change.reason.code == "deleted-with-replaced":  # deletedWith its endpoint: AWS deregisters it with it
        return "removed with the old endpoint: autoscaling is registered again on the new endpoint"
    if failed := init_errors.delete_first_note(change):  # a Failed SageMaker endpoint serves nothing: no outage
        return failed
    return "deleted before the new one is created: it is unavailable until the new one is ready (an outage)"


def money(amount: float, *, sign: bool = False) -> str:
    """``$1,234.50``; with ``sign`` a change: ``+$12.00``, ``-$3.10``, ``$0.00``."""
    amount = round(amount, 2)
    text = f"${abs(amount):,.2f}"
    if amount < 0:
        return f"-{text}"
    return f"+{text}" if sign and amount > 0 else text


def money_range(low: float, high: float, *, sign: bool = False) -> str:
    """One amount when the range is a point, else ``low to high``."""
    if round(low, 2) == round(high, 2):
        return money(low, sign=sign)
    return f"{money(low, sign=sign)} to {money(high, sign=sign)}"


def target_text(target: dict[str, Any]) -> str:
    """``aws us-east-1, account 111111111111`` / ``kubernetes context kind-mlops, namespace fraud-dev``; a
    ``contextSource`` (the stack config overriding the spec's context, :mod:`mlops_infra.kube.effective_context`)
    follows the context in brackets: ``context prod (stacks/prod/Pulumi.prod.yaml)``."""
    kind_key = "kind" if "kind" in target else "cloud"
    kind = target.get(kind_key, "?")
    if kind == "aws":
        parts = [f"{kind} {target.get('region', '?')}"]
        if target.get("account"):
            parts.append(f"account {target['account']}")
        return ", ".join(parts)
    source = target.get("contextSource")
    rest = [f"{k} {v}" + (f" ({source})" if k == "context" and source else "") for k, v in sorted(target.items())
            if k not in (kind_key, "contextSource") and isinstance(v, str | int | float) and v not in (None, "")]
    return f"{kind} {', '.join(rest)}".strip()


def resource_label(change: ResourceChange) -> str:
    """``role name (type)``, or ``name (type)`` when the change has no role."""
    role = f"{change.role} " if change.role and change.role != change.name else ""
    return f"{role}{change.name} ({change.type})"


def _address_key(address: str) -> tuple[int, int, str]:
    section = address.split(".", 1)[0]
    if address == SHARED_GROUP:
        return (0, 0, address)
    if section in SECTIONS:
        return (2, SECTIONS.index(section), address)
    return (1, 0, address)


@dataclass(frozen=True, slots=True)
class Group:
    """The changes of one ML item (``endpoints.scorer``), component first, then by role and name."""

    address: str
    changes: tuple[ResourceChange, ...]

    @property
    def resources(self) -> tuple[ResourceChange, ...]:
        """The cloud resources (``custom``); the item's component only carries its ML facts,
        which the ML changes section tells."""
        return tuple(c for c in self.changes if c.custom)

    def tally(self) -> str:
        """``1 to replace, 2 to change`` (custom resources only; a blocked change counts as ``N blocked``,
        not under its action, as in ``Plan.counts``), or ``no resource changes``."""
        counts: dict[Action, int] = {}
        blocked = 0
        for change in self.changes:
            if change.custom and change.blocked:
                blocked += 1
            elif change.custom and change.action.is_change and (change.destroys or change.action is not Action.DELETE):
                counts[change.action] = counts.get(change.action, 0) + 1
        words = {Action.CREATE: "to add", Action.UPDATE: "to change", Action.REPLACE: "to replace",
                 Action.DELETE: "to destroy"}
        parts = [f"{counts[a]} {words[a]}" for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
                 if counts.get(a)] + ([f"{blocked} blocked"] if blocked else [])
        if parts:
            return ", ".join(parts)
        actions = {c.action for c in self.changes}
        return "new" if Action.CREATE in actions else "removed" if Action.DELETE in actions else "ML facts change"

    def facts_only_note(self) -> str:
        """What a reader needs when the item changes no cloud resource (only its component)."""
        actions = {c.action for c in self.changes}
        if actions & {Action.CREATE, Action.DELETE}:
            return "no cloud resources of its own (see ML changes)"
        return "only its ML facts change, no cloud resource (see ML changes)"


def group_changes(changes: Iterable[ResourceChange]) -> list[Group]:
    """Changes that do something, grouped by ML item; shared resources first, then spec order."""
    groups: dict[str, list[ResourceChange]] = {}
    for change in changes:
        if change.action.is_change:
            groups.setdefault(change.address or SHARED_GROUP, []).append(change)
    out = []
    for address in sorted(groups, key=_address_key):
        items = sorted(groups[address], key=lambda c: (c.custom, c.role, c.name, c.urn))
        out.append(Group(address, tuple(items)))
    return out


# -- not ready ---------------------------------------------------------------------------------


def not_ready_changes(changes: Iterable[ResourceChange]) -> list[ResourceChange]:
    """The changes of resources a refreshed plan read live that are not ready (:mod:`mlops_infra.plan.readiness`;
    reason ``not-ready``, or a planned change that says it, :func:`~mlops_infra.plan.model.is_not_ready`),
    by ML item (spec order) then URN."""
    found = [c for c in changes if is_not_ready(c)]
    return sorted(found, key=lambda c: (_address_key(c.address or SHARED_GROUP), c.urn))


def not_ready_heading(count: int) -> str:
    """The sentence that opens the "Not ready" section of a plan."""
    return f"{plural(count, 'resource')} read live {'is' if count == 1 else 'are'} not ready; what to do is under each"


def no_changes_but_not_ready(count: int) -> str:
    """The closing line of a plan with nothing to apply and ``count`` (> 0) resources not ready."""
    return (f"No changes to apply, but {plural(count, 'resource')} {'is' if count == 1 else 'are'} not ready "
            "(see Not ready above).")


# -- drift -------------------------------------------------------------------------------------

_DRIFT_SYMBOLS = {"modified": "~", "changed": "~", "updated": "~", "deleted": "-", "missing": "-",
                  "gone": "-", "created": "+", "added": "+", "unmanaged": "+", "error": "!", "unreadable": "!"}


@dataclass(frozen=True, slots=True)
class DriftView:
    """A drift item as renderers need it, whatever shape it came in (DriftItem or its JSON)."""

    urn: str
    type: str
    kind: str
    summary: str
    changes: tuple[AttributeChange, ...]
    address: str = ""

    @property
    def symbol(self) -> str:
        return _DRIFT_SYMBOLS.get(self.kind, "!")

    @property
    def name(self) -> str:
        try:
            return urn_name(self.urn)
        except IndexError:
            return self.urn


def drift_view(item: Any) -> DriftView:
    """Read a drift item by attribute (``DriftItem``) or key (its JSON dict); its changes may be
    ``AttributeChange``s, ``(path, last applied, live)`` triples or their JSON dicts."""
    def get(key: str, default: Any = "") -> Any:
        if isinstance(item, dict):
            return item.get(key, default)
        return getattr(item, key, default)

    changes = []
    for change in get("changes", ()) or ():
        if isinstance(change, AttributeChange):
            changes.append(change)
        elif isinstance(change, (tuple, list)) and len(change) == 3:  # DriftItem: (path, prior, live)
            changes.append(AttributeChange(str(change[0]), change[1], change[2]))
        elif isinstance(change, dict):
            changes.append(AttributeChange(
                str(change.get("path", "")), change.get("before", change.get("prior")),
                change.get("after", change.get("live")),
                bool(change.get("forcesReplacement", change.get("forces_replacement", False))),
                bool(change.get("sensitive", False))))
    kind = get("kind", "")
    return DriftView(str(get("urn", "")), str(get("type", "")), str(getattr(kind, "value", kind)),
                     str(get("summary", "") or ""), tuple(changes))


def drift_views(items: Sequence[Any], changes: Iterable[ResourceChange] = ()) -> list[DriftView]:
    """Drift items sorted by ML item (spec order) then URN, each with its ML item's address taken
    from the plan's resource changes (no-ops included) when it has one."""
    import dataclasses

    addresses = {c.urn: c.address for c in changes if c.address}
    views = [dataclasses.replace(v, address=addresses.get(v.urn, "")) for v in map(drift_view, items)]
    return sorted(views, key=lambda d: (_address_key(d.address or SHARED_GROUP), d.urn))


def line_range(line: CostLine, side: str) -> str:
    """One side (``before``/``after``) of a cost line: ``-`` when absent, else the floor-to-ceiling range."""
    ceiling = line.before_usd if side == "before" else line.after_usd
    if ceiling is None:
        return "-"
    floor = getattr(line, f"{side}_min_usd", None)
    return money_range(ceiling if floor is None else floor, ceiling)


def line_delta(line: CostLine) -> str:
    """The change of a cost line, floor and ceiling: ``+$3.00 to +$20.00`` (absent sides count 0)."""
    def side(name: str) -> tuple[float, float]:
        ceiling = getattr(line, f"{name}_usd")
        if ceiling is None:
            return 0.0, 0.0
        floor = getattr(line, f"{name}_min_usd", None)
        return (ceiling if floor is None else floor), ceiling

    (before_low, before_high), (after_low, after_high) = side("before"), side("after")
    return money_range(after_low - before_low, after_high - before_high, sign=True)


def ml_sorted(items: Iterable[MLChange]) -> list[MLChange]:
    """ML changes by item (``system`` totals first, then spec order) and kind (:data:`ML_KINDS` order)."""
    def key(item: MLChange) -> tuple:
        kind = ML_KINDS.index(item.kind) if item.kind in ML_KINDS else len(ML_KINDS)
        return (item.address != "system", _address_key(item.address), kind, item.summary)
    return sorted(items, key=key)


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"


def guardrails_sentence(results: Sequence[Any]) -> str:
    """``1 mandatory rule fails (the plan cannot be applied), 2 advisory rules warn``."""
    blocking = sum(1 for r in results if r.blocks)
    advisory = len(results) - blocking
    parts = []
    if blocking:
        parts.append(f"{plural(blocking, 'mandatory rule')} fail{'s' if blocking == 1 else ''} (exit 1: fix before applying)")
    if advisory:
        parts.append(f"{plural(advisory, 'advisory rule')} warn{'s' if advisory == 1 else ''}")
    return ", ".join(parts)
