"""``facts.endpoint_instance`` (an endpoint's instance type alone, for the training compilers) is
``endpoint_facts(...)["instanceType"]`` for every endpoint of every environment of the reference and the
examples, of the benchmark system, and of mutated documents, on both targets."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_infra.compile import facts
from mlops_infra.spec import load_system, parse_system
from tests.compile.aws import cases
from tests.spec.test_mutations import mutated

ROOT = Path(__file__).resolve().parents[2]


def _same_instance(system) -> int:
    for endpoint in system.endpoints:
        for target in ("aws", "kubernetes"):
            assert facts.endpoint_instance(endpoint, target) == facts.endpoint_facts(endpoint, target)["instanceType"]
    return len(system.endpoints)


def test_the_instance_is_the_facts_instance_for_every_document_and_the_benchmark_system() -> None:
    compared = 0
    for _, path in cases._documents():
        loaded = load_system(path)
        assert loaded.system is not None
        for env in loaded.system.environments:
            compared += _same_instance(cases.system(path, env))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    for env in ("dev", "prod"):
        loaded = parse_system(generate(12), "bench.yaml", env)
        assert loaded.system is not None
        compared += _same_instance(loaded.system)
    assert compared > 24


_DOCUMENTS = [yaml.safe_load(path.read_text()) for _, path in cases._documents()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_instance_is_the_facts_instance_for_mutated_documents(data) -> None:
    document = data.draw(mutated(data.draw(st.sampled_from(_DOCUMENTS))))
    loaded = parse_system(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "mutated.yaml")
    if loaded.system is not None:
        _same_instance(loaded.system)


def test_the_instance_is_the_facts_instance_for_every_accelerator_and_instance_type() -> None:
    """Every GPU type of the catalog (and one it does not know) with 1-16 GPUs, and every instance type
    of the catalog (and none), on an example endpoint."""
    from mlops_infra import catalog
    from mlops_infra.spec.base import Accelerator

    endpoint = next(cases.system(path, env).endpoints[0] for _, path, env in cases.CASES)
    variants = [endpoint.model_copy(update={"accelerator": Accelerator(type=gpu, count=count), "instance_type": None})
                for gpu in [*catalog.ACCELERATOR_SHAPES, "B200"] for count in range(1, 17)]
    variants += [endpoint.model_copy(update={"accelerator": None, "instance_type": instance})
                 for instance in [*sorted(catalog._hardware()), *(f"ml.{s}" for s in sorted(catalog._hardware())), None]]
    for variant in variants:
        for target in ("aws", "kubernetes"):
            assert facts.endpoint_instance(variant, target) == facts.endpoint_facts(variant, target)["instanceType"]
