"""Property: validation never crashes on a mutated reference document, and every finding has a place.

Mutations (hypothesis): delete a key, change a scalar's type, replace a value with a random string,
number or list, duplicate a list item, rename a key. The mutated data is written back as YAML and
validated as a whole (all environments) and for a random environment.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_infra.spec import parse_system
from tests.support.shared_files import REFERENCE as REFERENCE_PATH

Path = tuple[Any, ...]

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**13), st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(["", "0", "100%", "250ms", "10m", "A10G", "scorer", "dev", "ml.g5.xlarge",
                                           "mlops-infra/v1", "prod", "canary", "all_at_once", "0 3 * * 1"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(st.text(max_size=8), SCALARS, max_size=3))


def _paths(node: Any, path: Path = ()) -> list[Path]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _paths(value, (*path, index))
    return out


def _parent(data: Any, path: Path) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


def _mutate(data: Any, draw) -> Any:
    paths = [p for p in _paths(data) if p]
    path = draw(st.sampled_from(paths))
    parent, last = _parent(data, path), path[-1]
    kind = draw(st.sampled_from(["delete", "retype", "replace", "duplicate", "rename"]))
    if kind == "delete":
        del parent[last]
    elif kind == "retype":
        value = parent[last]
        parent[last] = [value] if not isinstance(value, list) else {"x": value}
        if isinstance(value, str | int | float | bool) and draw(st.booleans()):
            parent[last] = str(value) if not isinstance(value, str) else draw(st.integers(-5, 5))
    elif kind == "replace":
        parent[last] = draw(VALUES)
    elif kind == "duplicate" and isinstance(parent, list):
        parent.insert(last, copy.deepcopy(parent[last]))
    elif kind == "rename" and isinstance(parent, dict):
        value = parent.pop(last)
        parent[draw(st.text(min_size=1, max_size=12)) + "_"] = value
    else:
        parent[last] = draw(VALUES)
    return data


@st.composite
def mutated(draw, base: dict) -> dict:
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        if not isinstance(data, dict) or not data:
            break
        data = _mutate(data, draw)
    return data


REFERENCE: dict = {}


def _reference() -> dict:
    if not REFERENCE:
        text = REFERENCE_PATH.read_text()
        REFERENCE.update(yaml.safe_load(text))
    return REFERENCE


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_validation_never_crashes_and_always_locates(data) -> None:
    document = data.draw(mutated(_reference()))
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    env = data.draw(st.sampled_from([None, "dev", "staging", "prod", "qa"]))
    result = parse_system(text, "mutated.yaml", env=env)
    for d in result.diagnostics:
        assert d.location is not None, d
        assert d.location.file == "mutated.yaml"
        assert d.location.line >= 1 and d.location.column >= 1
        assert d.summary and d.code
        if d.is_error:
            assert d.detail, d
    if result.ok:
        assert result.system is not None
    else:
        assert any(d.is_error for d in result.diagnostics)
