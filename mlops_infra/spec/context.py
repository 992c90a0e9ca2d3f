"""What every semantic check reads: the validated system and a name index.

Contract: a :class:`CheckContext` is built once per (effective) system and never mutated. Item
``i`` of a section in the system is item ``i`` of the same list in ``data`` (the models keep list
order), so a check reports on ``(section, i, field)`` and positions attach to that path. When the
system is the valid part of an invalid document (partial checks), ``data`` is a pruned copy: the
document translates such paths back to raw indexes, and :attr:`CheckContext.known_elsewhere` says
which items were left out, so that nothing left out is reported as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_infra.spec.system import MLSystem


@dataclass(frozen=True)
class KnownElsewhere:
    """Items that exist in the raw document but are not in the checked system (left out as invalid).

    Fields:
        names: section (or ``"environments"``) -> names of the left-out items. A reference to one of
            them resolves: the item exists, its own errors are reported by validation.
        unnamed: sections (or ``"environments"``) with a left-out item whose name cannot be read
            (missing or not text). Any reference into them might be to that item, so every reference
            into them resolves.
        raw_indexes: section -> the raw index of each item kept in the system, for sections that lost
            items; item ``i`` of the system is item ``raw_indexes[section][i]`` of the raw document.
    """

    names: Mapping[str, frozenset[str]] = field(default_factory=dict)
    unnamed: frozenset[str] = frozenset()
    raw_indexes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def resolves(self, section: str, name: str) -> bool:
        """Whether ``name`` may be a left-out item of ``section``."""
        return section in self.unnamed or name in self.names.get(section, ())

    def raw_index(self, section: str, index: int) -> int:
        """The raw-document index of item ``index`` of ``section`` in the checked system."""
        kept = self.raw_indexes.get(section)
        return index if kept is None else kept[index]


NOTHING_ELSEWHERE = KnownElsewhere()
"""A whole, valid document: every item is in the system."""


@dataclass(frozen=True)
class CheckContext:
    """A validated system with, per section, the index of the first item of each name.

    Fields:
        system: the (effective) system being checked.
        env: the environment name when checking an environment's effective system, else None.
        names: section -> item name -> index of its first occurrence.
        known_elsewhere: items of the raw document left out of ``system`` because they are invalid
            (empty unless this is a partial check of an invalid document).
        source_dir: the folder of the document's file, against which relative paths in it (model
            artifacts) resolve; None for a document not read from a file (the working directory).
    """

    system: MLSystem
    env: str | None
    names: dict[str, dict[str, int]]
    known_elsewhere: KnownElsewhere = NOTHING_ELSEWHERE
    source_dir: Path | None = None

    @classmethod
    def build(cls, system: MLSystem, env: str | None = None,
              known_elsewhere: KnownElsewhere = NOTHING_ELSEWHERE, source_dir: Path | None = None) -> CheckContext:
        return cls(system, env, system.positions, known_elsewhere, source_dir)

    def item(self, section: str, name: str) -> Any:
        """The first item called ``name`` in ``section``, or None."""
        i = self.names[section].get(name)
        return None if i is None else getattr(self.system, section)[i]
