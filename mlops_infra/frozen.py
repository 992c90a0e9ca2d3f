"""Making instances of frozen, slotted classes without their ``__init__``: for the objects made once
per resource (a compiled resource, a state file's record, a plan's change).

Why: a frozen class refuses assignment, so its ``__init__`` (a frozen dataclass's generated one, or
:class:`~mlops_infra.state.model.StateResource`'s) sets each field with an ``object.__setattr__``
call, most of what making one costs.

Contract of :func:`fillable`: ``fillable(cls)`` is a plain class with ``cls``'s slots and no
``__setattr__`` of its own. The caller makes ``obj = object.__new__(fillable(cls))``, assigns
*every* field, then sets ``obj.__class__ = cls``. CPython allows that assignment between classes
whose instances have the same layout, the same slots on the same base (``object_set_class`` and
``compatible_for_assignment`` in Objects/typeobject.c; ``TypeError: ... object layout differs``
otherwise), so the object is then what ``cls(...)`` makes: of type ``cls``, every field set, frozen
from then on (equal, hashed, copied and pickled as ``cls``). Each caller's tests compare its object
with the constructor's, field by field. Only for a class with its own ``__slots__``, whose only
base is ``object``, that refuses assignment (a frozen dataclass, or its own ``__setattr__``) and has
no ``__post_init__`` (nothing would run it); anything else is refused.
"""

from __future__ import annotations

from functools import cache
from typing import Any

new = object.__new__
"""``object.__new__``, bound once: ``new(fillable(cls))`` is the empty object to fill."""


@cache
def fillable(cls: type) -> type:
    """The plain twin of ``cls`` (see the module contract); one per class."""
    slots = cls.__dict__.get("__slots__")
    params: Any = getattr(cls, "__dataclass_params__", None)
    frozen = params.frozen if params is not None else cls.__setattr__ is not object.__setattr__
    if slots is None or cls.__bases__ != (object,) or not frozen or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} is not a frozen class with slots on object alone")
    return type(f"_{cls.__name__}Fields", (), {"__slots__": slots, "__module__": cls.__module__})
