"""How a message writes a list of names: the first few, then how many more.

Contract:
- A diagnostic, warning or plan note that names the items of a user's system (endpoints, models, training jobs,
  repositories, addresses) names at most :data:`NAMES_SHOWN` of them by default, then ``and N more``, so a
  system of a thousand endpoints gets a message readable at a glance instead of a wall of names. A caller that
  needs every name (a script, a fix to paste) gets them somewhere else: the item list it is given, or a
  ``--format json`` field that carries them whole.
- At most ``most`` names, and ``most + 1`` too, are written whole: ``and 1 more`` would be no shorter than the
  name it hides. So a list of up to six names reads exactly as a plain join of them.
- The names are written in the order given (callers sort when the order means nothing) and never changed:
  quoting, sorting or deduplication is the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence

NAMES_SHOWN = 6
"""How many names a message shows before ``and N more``, unless its caller chose otherwise."""


def join_names(names: Sequence[str], most: int = NAMES_SHOWN, *, last: str | None = None, sep: str = ", ") -> str:
    """``names`` joined by ``sep`` (``, ``; ``; `` for names that hold commas), the last two by ``last`` (``" and "``,
    ``" or "``; ``sep`` by default); past ``most + 1`` names, the first ``most`` joined by ``sep`` then
    `` and N more`` (module contract).

    ``join_names(["a", "b", "c"], last=" and ")`` is ``a, b and c``; with 100 names and the defaults it is the first
    six, then ``and 94 more``."""
    if len(names) > most + 1:
        return f"{sep.join(names[:most])} and {len(names) - most} more"
    if len(names) < 2:
        return "".join(names)
    return f"{sep.join(names[:-1])}{sep if last is None else last}{names[-1]}"
