"""The AWS compiler's per-compile memos give what computing every time gives: the graph compiled with
each memo emptied before every use equals the one compiled with it (every AWS case and the benchmark
system, whose endpoints share models). Memos: what a model's serving roles read
(``serving._model_reads``), registry decisions (``serving.registry_decision``: ``CompileContext.version_decision``'s memo),
physical names (``AwsContext.name``), drift jobs' contract files (``monitoring._contract_source``) and the input values
made once per compile (``AwsContext.once``: trust policies, the statements every drift job's or every serving role
of a model holds alike). Each memo is also shown to be used: what it remembers is computed once per compile."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system, drift_job
from mlops_infra.compile.aws import context, monitoring, serving
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import CASES, system

ROOT = Path(__file__).resolve().parents[3]


@contextlib.contextmanager
def memos_forgotten() -> Iterator[None]:
    """Every memo emptied before each use: each answer is computed again."""
    reads, decision = serving._model_reads, serving.registry_decision

    def fresh_reads(aws, model):
        aws.model_reads.clear()
        return reads(aws, model)

    def fresh_decision(aws, item):
        aws.ctx._decisions.clear()
        return decision(aws, item)

    name, contract, once = context.AwsContext.name, monitoring._contract_source, context.AwsContext.once

    def fresh_name(aws, *parts, max_len=63):
        aws._names.clear()
        return name(aws, *parts, max_len=max_len)

    def fresh_once(aws, key, make):
        aws._made.clear()
        return once(aws, key, make)

    def fresh_contract(aws, monitor):
        aws.contract_files.clear()
        return contract(aws, monitor)

    serving._model_reads, serving.registry_decision = fresh_reads, fresh_decision
    context.AwsContext.name, monitoring._contract_source = fresh_name, fresh_contract
    context.AwsContext.once = fresh_once
    try:
        yield
    finally:
        serving._model_reads, serving.registry_decision = reads, decision
        context.AwsContext.name, monitoring._contract_source = name, contract
        context.AwsContext.once = once


def _same_both_ways(spec, env: str) -> None:
    remembered = compile_system(spec, env)
    with memos_forgotten():
        computed = compile_system(spec, env)
    assert remembered == computed and remembered.dumps_bytes() == computed.dumps_bytes()


@pytest.mark.parametrize(("path", "env"), [(p, e) for _, p, e in CASES], ids=[c[0] for c in CASES])
def test_memos_give_what_computing_every_time_gives(path: Path, env: str) -> None:
    _same_both_ways(system(path, env), env)


def _benchmark_system(endpoints: int):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    loaded = parse_system(generate(endpoints), "bench.yaml", "prod")
    assert loaded.system is not None
    return loaded.system


def test_memos_give_the_same_graph_for_the_benchmark_system() -> None:
    _same_both_ways(_benchmark_system(30), "prod")


def test_each_physical_name_and_contract_file_is_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AwsContext.name`` makes each name once per compile (``physical_name`` is not called again for a
    name asked before), and a drift job's contract file is written once per baseline, not once per ask
    (a drift job asks four times)."""
    spec = _benchmark_system(30)
    names: list[tuple] = []
    contracts: list[object] = []
    real_name, real_contract = context.physical_name, drift_job.contract_file

    def counted_name(*parts, max_len=63):
        names.append((parts, max_len))
        return real_name(*parts, max_len=max_len)

    def counted_contract(source):
        contracts.append(source.name if source is not None else None)
        return real_contract(source)

    monkeypatch.setattr(context, "physical_name", counted_name)
    monkeypatch.setattr(drift_job, "contract_file", counted_contract)
    compile_system(spec, "prod")
    baselines = {m.baseline for m in spec.monitors if m.baseline and m.metric in monitoring.DRIFT_METRICS}
    assert baselines and len(names) > 100
    assert len(names) == len(set(names))
    assert sorted(contracts) == sorted(baselines)


def test_the_switch_computes_again() -> None:
    """Inside memos_forgotten the memos hold one entry at most (so the comparison above compares)."""
    _, path, env = CASES[0]
    seen = []
    real = serving._model_reads

    def spy(aws, model):
        seen.append(len(aws.model_reads))
        return real(aws, model)

    serving._model_reads = spy
    try:
        with memos_forgotten():
            compile_system(system(path, env), env)
    finally:
        serving._model_reads = real
    assert seen and set(seen) <= {0, 1}


def test_roles_share_what_is_made_once_per_compile() -> None:
    """The roles trusting the same services hold one trust policy object; the drift jobs' roles hold one
    object of each statement naming no monitor (the platform key, the drift image, job logs, metrics), and
    the serving roles of one model one object of each of its statements (artifacts, key): made once per
    compile (``AwsContext.once``), not once per role. Inside ``memos_forgotten`` each is made again."""
    from mlops_infra.compile.aws.iam import ROLE, ROLE_POLICY

    def shared(graph) -> tuple[int, int, int, int]:
        roles = [r for r in graph.resources if r.type == ROLE and r.role == "role"]
        policies = {r.name: r.inputs["policy"]["$json"]["Statement"] for r in graph.resources if r.type == ROLE_POLICY}
        drift = [policies[f"{r.name}-policy"] for r in roles if r.name.endswith("-drift-job")]
        serving = [policies[f"{r.name}-policy"] for r in roles if r.name.endswith("-serving")]
        by_sid = lambda statements, sid: next(s for s in statements if s["Sid"] == sid)  # noqa: E731
        return (len({id(r.inputs["assumeRolePolicy"]) for r in roles}),
                len({id(by_sid(s, "EncryptJobVolume")) for s in drift}),
                len({id(by_sid(s, "PublishEndpointMetrics")) for s in serving}),
                len({id(by_sid(s, "UseDataKey")) for s in serving}))

    spec = _benchmark_system(30)
    models = {e.model.name for e in spec.endpoints}
    graph = compile_system(spec, "prod")
    roles, drift, metrics, keys = shared(graph)
    assert drift == 1 and metrics == 1 and keys == len(models) < 30
    assert roles <= 4  # SageMaker, Lambda, EventBridge + Scheduler, Scheduler alone
    with memos_forgotten():
        apart = shared(compile_system(spec, "prod"))
    assert apart[1] > 1 and apart[2] > 1 and apart[3] > len(models) and apart[0] > roles
