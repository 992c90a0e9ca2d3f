"""mlops_infra/frozen: an object filled through ``fillable(cls)`` and given ``cls`` is what ``cls(...)`` makes."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from mlops_infra.frozen import fillable, new


@dataclasses.dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: tuple[str, ...]
    label: str = ""


def _filled(x: int, y: tuple[str, ...], label: str) -> Point:
    point = new(fillable(Point))
    point.x, point.y, point.label = x, y, label
    point.__class__ = Point
    return point


def test_the_filled_object_is_the_constructors() -> None:
    made, expected = _filled(1, ("a",), "p"), Point(1, ("a",), "p")
    assert type(made) is Point and made == expected and repr(made) == repr(expected)
    assert hash(made) == hash(expected)
    assert pickle.loads(pickle.dumps(made)) == expected
    assert copy.copy(made) == expected and dataclasses.replace(made, x=2) == Point(2, ("a",), "p")
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 3  # type: ignore[misc]


def test_one_twin_per_class_and_its_slots_are_the_classs() -> None:
    assert fillable(Point) is fillable(Point)
    assert fillable(Point).__slots__ == Point.__slots__


def test_a_field_left_unset_is_missing_so_callers_must_set_every_field() -> None:
    point = new(fillable(Point))
    point.x, point.y = 1, ()
    point.__class__ = Point
    with pytest.raises(AttributeError):
        _ = point.label


@dataclasses.dataclass(frozen=True, slots=True)
class Other:
    x: int
    z: int


def test_a_class_of_other_slots_cannot_be_given() -> None:
    point = new(fillable(Point))
    with pytest.raises(TypeError, match="layout differs"):
        point.__class__ = Other


@dataclasses.dataclass(slots=True)
class Mutable:
    x: int


@dataclasses.dataclass(frozen=True)
class NoSlots:
    x: int


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    x: int

    def __post_init__(self) -> None:
        raise ValueError


@dataclasses.dataclass(frozen=True, slots=True)
class Derived(Point):
    z: int = 0


class MutableSlots:
    __slots__ = ("x",)


class OwnFrozen:
    __slots__ = ("x",)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(name)


def test_a_class_frozen_by_its_own_setattr_is_accepted() -> None:
    made = new(fillable(OwnFrozen))
    made.x = 1
    made.__class__ = OwnFrozen
    assert type(made) is OwnFrozen and made.x == 1
    with pytest.raises(AttributeError):
        made.x = 2


@pytest.mark.parametrize("cls", [Mutable, NoSlots, Checked, Derived, MutableSlots, int])
def test_only_frozen_slotted_dataclasses_on_object_alone(cls: type) -> None:
    with pytest.raises(TypeError, match="not a frozen class"):
        fillable(cls)
