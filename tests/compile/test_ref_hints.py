"""The compilers' ref hints (``refs_in`` of ``GraphBuilder.add``: where an input's refs are, so only
that part is searched) give the graph that searching every input gives: the same resources in the
same order, dependencies included, the same digest.

:func:`search_every_input` is the shortcut's off switch (``graph.REF_HINTS``): every ref hint a
compiler adds is turned off by it, so these comparisons check all of them. It turns the compilers'
other shortcuts off too (endpoint dashboard bodies written once per place,
``compile/aws/dashboards.endpoint_body``), so the same comparisons check those.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import mlops_infra.graph as graph_module
from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system, parse_system
from tests.compile.aws import cases
from tests.spec.test_mutations import mutated

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def search_every_input() -> Iterator[None]:
    """Ref hints off: ``GraphBuilder.add`` searches every input for refs."""
    real = graph_module.REF_HINTS
    graph_module.REF_HINTS = False
    try:
        yield
    finally:
        graph_module.REF_HINTS = real


def _same_both_ways(system, env: str) -> None:
    fast = compile_system(system, env)
    with search_every_input():
        slow = compile_system(system, env)
    assert [r.urn for r in fast.resources] == [r.urn for r in slow.resources]
    for made, searched in zip(fast.resources, slow.resources, strict=True):
        assert made.dependencies == searched.dependencies, made.urn
    assert fast == slow and fast.dumps_bytes() == slow.dumps_bytes() and fast.digest() == slow.digest()


def _every_env() -> list[tuple[str, Path, str]]:
    """(id, path, env) for every environment (AWS and Kubernetes) of the reference and the examples."""
    out = []
    for name, path in cases._documents():
        loaded = load_system(path)
        out += [(f"{name}-{env}", path, env) for env in sorted(loaded.system.environments if loaded.system else ())]
    return out


EVERY_ENV = _every_env()


@pytest.mark.parametrize(("path", "env"), [(p, e) for _, p, e in EVERY_ENV], ids=[c[0] for c in EVERY_ENV])
def test_hints_give_the_graph_of_searching_every_input(path: Path, env: str) -> None:
    _same_both_ways(cases.system(path, env), env)


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_hints_give_the_same_graph_for_the_benchmark_system(env: str) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    loaded = parse_system(generate(12), "bench.yaml", env)
    assert loaded.system is not None
    _same_both_ways(loaded.system, env)


_DOCUMENTS = [yaml.safe_load(path.read_text()) for _, path in cases._documents()]
"""The reference document (when present) and every example."""


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hints_give_the_same_graph_for_mutated_documents(data) -> None:
    """Mutated documents (the mutations of tests/spec/test_mutations.py) that still load, in every
    environment: valid ones (``ok``), as every command compiles only those (a document with an
    error, such as a repeated reference, is refused before compiling)."""
    document = data.draw(mutated(data.draw(st.sampled_from(_DOCUMENTS))))
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    env = data.draw(st.sampled_from(["dev", "staging", "prod"]))
    loaded = parse_system(text, "mutated.yaml", env)
    if not loaded.ok or env not in loaded.system.environments:
        return
    event("compiled")
    _same_both_ways(loaded.system, env)


def test_the_switch_turns_the_hints_off() -> None:
    """With the switch off, a wrong hint is ignored; with it on, it is trusted (so the comparisons
    above compare two different searches)."""
    from mlops_infra.graph import GraphBuilder, ref

    def build() -> tuple[str, ...]:
        builder = GraphBuilder("proj", "dev")
        key = builder.add("aws:kms/key:Key", "key", {})
        urn = builder.add("aws:s3/bucket:Bucket", "b", {"k": ref(key, "arn"), "tags": {"a": "b"}}, refs_in=())
        return builder.build().by_urn()[urn].dependencies

    assert build() == ()
    with search_every_input():
        assert len(build()) == 1
