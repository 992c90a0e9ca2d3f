"""What the plan renderers share: value formatting, money, targets, grouping by ML item, drift access.

Contract: pure functions of plan data, no I/O and no colour. Values print as JSON (strings quoted),
except the plan's own markers (:data:`~mlops_infra.plan.model.REDACTED`, known after apply),
which print bare. A sensitive :class:`AttributeChange` prints ``(sensitive)`` on both sides
whatever it holds, so a renderer can never show a secret that slipped past redaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import urn_name
from mlops_infra.plan.model import (
    ML_KINDS,
    REDACTED,
    UNKNOWN_AFTER_APPLY,
    Action,
    AttributeChange,
    CostLine,
    MLChange,
    ResourceChange,
)
from mlops_infra.spec.system import SECTIONS

SHARED_GROUP = "(shared)"
"""Group title for changes that belong to no single ML item (providers, the platform)."""

ACTION_ORDER = (Action.DELETE, Action.REPLACE, Action.UPDATE, Action.CREATE, Action.READ, Action.NOOP)

_BARE = (REDACTED, UNKNOWN_AFTER_APPLY)


def fmt_value(value: Any) -> str:
    """A JSON value as it reads in a plan: ``"text"``, ``3``, ``{"a": 1}``; markers bare."""
    if isinstance(value, str) and value in _BARE:
        return value
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


@dataclass(frozen=True, slots=True)
class AttrLine:
    """One property change ready to print: its symbol (``+ ~ -``) and text without the symbol."""

    symbol: str
    text: str
    forces_replacement: bool


def attr_line(change: AttributeChange) -> AttrLine:
    """``~ path: before -> after``, ``+ path: after`` (added) or ``- path: before`` (removed)."""
    before, after = change.before, change.after
    if change.sensitive:
        before = None if before is None else REDACTED
        after = None if after is None else REDACTED
    if before is None and after is not None:
        return AttrLine("+", f"{change.path}: {fmt_value(after)}", change.forces_replacement)
    if after is None and before is not None:
        return AttrLine("-", f"{change.path}: {fmt_value(before)}", change.forces_replacement)
    return AttrLine("~", f"{change.path}: {fmt_value(before)} -> {fmt_value(after)}", change.forces_replacement)


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
    """``aws us-east-1, account 111111111111`` / ``kubernetes context kind-mlops, namespace fraud-dev``."""
    kind = target.get("kind", "?")
    if kind == "aws":
        parts = [f"{kind} {target.get('region', '?')}"]
        if target.get("account"):
            parts.append(f"account {target['account']}")
        return ", ".join(parts)
    rest = [f"{k} {v}" for k, v in sorted(target.items()) if k != "kind" and v not in (None, "")]
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

    def tally(self) -> str:
        """``1 to replace, 2 to change`` (custom resources only), or ``no resource changes``."""
        counts: dict[Action, int] = {}
        for change in self.changes:
            if change.custom and change.action.is_change:
                counts[change.action] = counts.get(change.action, 0) + 1
        words = {Action.CREATE: "to add", Action.UPDATE: "to change", Action.REPLACE: "to replace",
                 Action.DELETE: "to destroy"}
        parts = [f"{counts[a]} {words[a]}" for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
                 if counts.get(a)]
        return ", ".join(parts) or "no resource changes"


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


def drift_views(items: Sequence[Any]) -> list[DriftView]:
    return sorted((drift_view(d) for d in items), key=lambda d: d.urn)


def line_range(line: CostLine, side: str) -> str:
    """One side (``before``/``after``) of a cost line: ``-`` when absent, else the floor-to-ceiling range."""
    ceiling = line.before_usd if side == "before" else line.after_usd
    if ceiling is None:
        return "-"
    floor = getattr(line, f"{side}_min_usd", None)
    return money_range(ceiling if floor is None else floor, ceiling)


def ml_sorted(items: Iterable[MLChange]) -> list[MLChange]:
    """ML changes by item (``system`` totals first, then spec order) and kind (:data:`ML_KINDS` order)."""
    def key(item: MLChange) -> tuple:
        kind = ML_KINDS.index(item.kind) if item.kind in ML_KINDS else len(ML_KINDS)
        return (item.address != "system", _address_key(item.address), kind, item.summary)
    return sorted(items, key=key)


def plural(count: int, word: str, plural_word: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_word or word + 's')}"
