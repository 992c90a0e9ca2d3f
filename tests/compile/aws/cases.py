"""The documents the AWS compiler is tested on: the reference and every example, per AWS env.

``CASES`` lists ``(id, path, env)`` for each AWS environment; examples under ``examples/*/`` are
picked up when present (others create them), so new examples are covered without editing tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.compile import compile_system
from mlops_infra.graph import DesiredGraph, DesiredResource, is_json, is_ref
from mlops_infra.spec import load_system, parse_system
from mlops_infra.spec.system import MLSystem
from tests.support.shared_files import REFERENCE

REPO = Path(__file__).resolve().parents[3]

PLACEHOLDER_ARN = "arn:aws:placeholder:us-east-1:123456789012:resolved-at-apply"


def _documents() -> list[tuple[str, Path]]:
    docs = [("reference", REFERENCE)] if REFERENCE.exists() else []
    docs += [(p.parent.name, p) for p in sorted(REPO.glob("examples/*/mlsystem.yaml"))]
    return docs


def _aws_envs(path: Path) -> list[str]:
    loaded = load_system(path)
    if loaded.system is None:
        return []
    return sorted(n for n, e in loaded.system.environments.items() if e.target.kind == "aws")


CASES: list[tuple[str, Path, str]] = [(f"{name}-{env}", path, env) for name, path in _documents()
                                      for env in _aws_envs(path)]


@cache
def system(path: Path, env: str) -> MLSystem:
    loaded = load_system(path, env)
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics]
    return loaded.system


@cache
def compiled(path: Path, env: str) -> DesiredGraph:
    return compile_system(system(path, env), env)


def compile_text(text: str, env: str = "prod") -> DesiredGraph:
    """Compile a YAML document held in a string (for focused cases)."""
    loaded = parse_system(text, "case.yaml", env)
    assert loaded.system is not None, [(d.summary, d.detail) for d in loaded.diagnostics]
    return compile_system(loaded.system, env)


def of_type(graph: DesiredGraph, type_: str) -> list[DesiredResource]:
    return [r for r in graph.resources if r.type == type_]


def one(graph: DesiredGraph, type_: str, address: str | None = None) -> DesiredResource:
    found = [r for r in of_type(graph, type_) if address is None or r.address == address]
    assert len(found) == 1, (type_, address, [r.urn for r in found])
    return found[0]


def placeholder(value: Any, refs: dict[str, str] | None = None) -> Any:
    """``value`` with refs replaced by strings and ``$json`` unwrapped (refs by name when known)."""
    if isinstance(value, dict):
        if is_ref(value):
            if value["$ref"] in (refs or {}):
                return refs[value["$ref"]]
            return PLACEHOLDER_ARN if value["output"] == "arn" else f"ref-{value['output']}"
        if is_json(value):
            return placeholder(value["$json"], refs)
        return {k: placeholder(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [placeholder(v, refs) for v in value]
    return value


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in ``value`` (depth first), sentinels included as dicts."""
    stack = [value]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def policy_statements(resource: DesiredResource) -> list[dict[str, Any]]:
    """Statements of an IAM role policy (refs left as sentinels)."""
    return resource.inputs["policy"]["$json"]["Statement"]
