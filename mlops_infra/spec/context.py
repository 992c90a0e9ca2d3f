"""What every semantic check reads: the validated system and a name index.

Contract: a :class:`CheckContext` is built once per (effective) system and never mutated. Item
``i`` of a section in the system is item ``i`` of the same list in the raw document (the models
keep list order), so a check reports on ``(section, i, field)`` and positions attach to that path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_infra.spec.system import SECTIONS, MLSystem


@dataclass(frozen=True)
class CheckContext:
    """A validated system with, per section, the index of the first item of each name.

    Fields:
        system: the (effective) system being checked.
        env: the environment name when checking an environment's effective system, else None.
        names: section -> item name -> index of its first occurrence.
    """

    system: MLSystem
    env: str | None
    names: dict[str, dict[str, int]]

    @classmethod
    def build(cls, system: MLSystem, env: str | None = None) -> CheckContext:
        names: dict[str, dict[str, int]] = {}
        for section in SECTIONS:
            index: dict[str, int] = {}
            for i, item in enumerate(getattr(system, section)):
                index.setdefault(item.name, i)
            names[section] = index
        return cls(system, env, names)

    def item(self, section: str, name: str) -> Any:
        """The first item called ``name`` in ``section``, or None."""
        i = self.names[section].get(name)
        return None if i is None else getattr(self.system, section)[i]
