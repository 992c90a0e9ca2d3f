"""The live endpoint read of a registry read (closing-33d-3, -4 and -2), against a real moto server.

:func:`~mlops_infra.state.aws_live.model_registry.read_registry` reads which versions each live endpoint's
config variants run (``DescribeEndpoint`` -> ``DescribeEndpointConfig`` -> ``DescribeModel``). A promotion
uses nothing it gives, and docs/promote.md's roles need those actions only for an applied state, so a
promotion does not make the read (-3). The read makes three calls per single-variant endpoint, so it runs
the endpoints concurrently to fit ``plan --refresh``'s registry deadline (-4). One endpoint whose read fails
is named in a warning without losing the others' reads.
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse

import mlops_infra.state.aws_live.model_registry as model_registry
from mlops_infra.compile.naming import physical_name
from mlops_infra.spec import parse_system
from mlops_infra.state.model_registry import group_of
from tests.state.test_registry_served_images import (
    ENV,
    OLD,
    REGION,
    ROLE,
    SCENARIO,
    _prior,
    _register,
    _system,
)
from tests.support.moto_server import client, reset, running_moto_server, session

LATENCY = 0.1
"""Seconds added to every SageMaker call: a stand-in for the network to AWS (an assumption)."""


def _denied(code: str, operation: str) -> Any:
    def answer(**_: Any) -> Any:
        return (AWSResponse("x", 400, {}, None),
                {"Error": {"Code": code, "Message": f"not authorized to perform: sagemaker:{operation}"},
                 "ResponseMetadata": {"HTTPStatusCode": 400}})
    return answer


def _patched_client(monkeypatch: Any, url: str, hook: Any) -> None:
    made = model_registry._client

    def patched(factory: Any, region: str, endpoint_url: str | None) -> Any:
        sagemaker = made(lambda: session(REGION), region, url)
        hook(sagemaker)
        return sagemaker
    monkeypatch.setattr(model_registry, "_client", patched)


@contextlib.contextmanager
def _every_endpoint_serving(system: Any, index: int, monkeypatch: Any, hook: Any) -> Iterator[str]:
    """A moto server (its URL) whose registry holds the fraud model's approved versions and where every
    endpoint of ``system`` runs the version registered ``index``-th, with the readers' clients
    patched by ``hook``; the server's state is reset before and after."""
    with running_moto_server() as url:
        reset(url)
        try:
            sagemaker = client("sagemaker", url, REGION)
            arns = _register(sagemaker, group_of(system, ENV, "fraud-model"), "Approved", OLD)
            for endpoint in system.endpoints:
                _live(sagemaker, system, endpoint.name, arns[index])
            _patched_client(monkeypatch, url, hook)
            yield url
        finally:
            reset(url)


def _many_endpoints(count: int) -> Any:
    """The scenario's system with ``count`` copies of its endpoint ``scorer``."""
    text = (SCENARIO / "mlsystem.yaml").read_text(encoding="utf-8")
    block = text[text.index("  - name: scorer\n"):text.index("\nmonitors:")]
    copies = "".join("\n" + block.replace("name: scorer\n", f"name: scorer{i}\n", 1).rstrip("\n")
                     .replace("rollback_on: [scorer-latency, scorer-errors]", "rollback_on: []")
                     for i in range(2, count + 1))
    loaded = parse_system(text.replace(block, block.rstrip("\n") + copies + "\n", 1), "mlsystem.yaml", ENV)
    assert loaded.system is not None
    return loaded.system


def _live(sagemaker: Any, system: Any, endpoint: str, package: str) -> None:
    name = physical_name(system.metadata.name, ENV, endpoint)
    sagemaker.create_model(ModelName=f"{name}-m", ExecutionRoleArn=ROLE, PrimaryContainer={"ModelPackageName": package})
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-cfg", ProductionVariants=[{
        "VariantName": "primary", "ModelName": f"{name}-m", "InitialInstanceCount": 1,
        "InstanceType": "ml.g5.xlarge"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-cfg")


def test_a_promotion_does_not_read_the_live_endpoints(monkeypatch: Any) -> None:
    """A role scoped as docs/promote.md's table says (no ``sagemaker:DescribeEndpoint``) still promotes."""
    from mlops_infra.promote import registries

    system, prior = _system(13), _prior()
    calls: collections.Counter[str] = collections.Counter()
    with running_moto_server() as url:
        reset(url)
        try:
            _register(client("sagemaker", url, REGION), group_of(system, ENV, "fraud-model"), "Approved", OLD)

            def hook(sagemaker: Any) -> None:
                sagemaker.meta.events.register("before-call.sagemaker.DescribeEndpoint",
                                               _denied("AccessDeniedException", "DescribeEndpoint"))
                sagemaker.meta.events.register("before-call.sagemaker",
                                               lambda model, **_: calls.update([model.name]))
            _patched_client(monkeypatch, url, hook)
            view = registries._read_aws(system, ENV, prior, None)
        finally:
            reset(url)
    assert view.warnings == ()
    assert sorted(view.models["fraud-model"].versions) == list(range(1, 14))
    assert not {"DescribeEndpoint", "DescribeEndpointConfig", "DescribeModel"} & set(calls)


def test_sixty_endpoints_are_read_within_the_refresh_deadline(monkeypatch: Any) -> None:
    """60 live endpoints, 100 ms per call: 180 endpoint calls one after another (18 s) missed the 15 s
    registry deadline of ``plan --refresh`` (its view fell back on the prior state); read
    ``ENDPOINT_WORKERS`` at a time they take a few seconds and the view is the registry's."""
    from mlops_infra.cli.commands.plan import registry_view

    system = _many_endpoints(60)
    calls: collections.Counter[str] = collections.Counter()
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(model: Any, **_: Any) -> None:
        with lock:
            calls[model.name] += 1
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(LATENCY)
        with lock:
            in_flight[0] -= 1

    with _every_endpoint_serving(system, 11, monkeypatch,
                                 lambda c: c.meta.events.register("before-call.sagemaker", slow)) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        started = time.monotonic()
        view = registry_view(system, ENV, _prior(), refresh=True)
        took = time.monotonic() - started
    assert view.warnings == ()
    assert view.models["fraud-model"].basis == "registry"
    assert view.running == {e.name: (12,) for e in system.endpoints}
    assert (calls["DescribeEndpoint"], calls["DescribeEndpointConfig"], calls["DescribeModel"]) == (60, 60, 60)
    assert 1 < peak[0] <= model_registry.ENDPOINT_WORKERS
    assert took < 15, took


def test_one_endpoints_failed_read_is_named_and_the_others_are_kept(monkeypatch: Any) -> None:
    system = _many_endpoints(3)
    failing = physical_name(system.metadata.name, ENV, "scorer2")

    def hook(sagemaker: Any) -> None:
        throttled = _denied("ThrottlingException", "DescribeEndpoint")

        def answer(params: Any, **kwargs: Any) -> Any:  # params: the serialized request (its JSON body)
            return throttled() if f'"{failing}"' in str(params.get("body")) else None
        sagemaker.meta.events.register("before-call.sagemaker.DescribeEndpoint", answer)

    with _every_endpoint_serving(system, 10, monkeypatch, hook):
        view = model_registry.read_registry(system, ENV, _prior(), retry=model_registry.RetryPolicy(attempts=1))
    assert view.running == {"scorer": (11,), "scorer3": (11,)}
    [warning] = view.warnings
    assert warning.startswith("could not read which model versions endpoint scorer2 serves: ThrottlingException")
    assert view.models["fraud-model"].versions[11].image == OLD  # the others' runs are described


def _canary_after_the_bump(monkeypatch: Any, hook: Any, then: Any = None) -> tuple[Any, Any, Any]:
    """(system pinning v13, prior state, registry view): the prior is the bump's apply, compiled with a
    registry read while the canary ran v12 (primary) beside v13 (its role pulls fraud-serve and
    fraud-train); the view is read again with the readers' clients patched by ``hook``; ``then(system,
    prior)``, if given, runs after that read, while the moto world still stands."""
    from mlops_infra.compile import compile_system
    from mlops_infra.state.pulumi_state import parse_state
    from tests.state.test_registry_served_images import NEW, _live_endpoint
    from tests.support.applied_state import applied_state, dumps

    system = _system(13)
    with running_moto_server() as url:
        reset(url)
        try:
            sagemaker = client("sagemaker", url, REGION)
            arns = _register(sagemaker, group_of(system, ENV, "fraud-model"), "Approved", NEW)
            _live_endpoint(sagemaker, system, {"primary": arns[11], "canary": arns[12]})
            _patched_client(monkeypatch, url, lambda c: None)
            bump = model_registry.read_registry(system, ENV, _prior(), retry=model_registry.RetryPolicy(attempts=1))
            assert bump.running == {"scorer": (12, 13)} and not bump.warnings
            prior = parse_state(dumps(applied_state(compile_system(system, ENV, registry=bump))).encode(), "prior.json")
            _patched_client(monkeypatch, url, hook)
            view = model_registry.read_registry(system, ENV, prior, retry=model_registry.RetryPolicy(attempts=1))
            if then is not None:
                then(system, prior)
        finally:
            reset(url)
    return system, prior, view


def test_a_failed_endpoint_read_lets_the_serving_pull_warning_fire(monkeypatch: Any) -> None:
    """closing-33d-2 (the audit's repro_unread): after the bump's apply the canary still runs v12 beside
    v13; DescribeEndpointConfig is throttled, so the read cannot tell. The role's fraud-train pull is
    dropped, and the plan now says so, naming the endpoint; the fact is in the decision, which the graph
    digest leaves out (2403e4b put it in the endpoint component: an apply whose read failed then no longer
    matched the reviewed plan)."""
    import dataclasses

    from mlops_infra.compile import compile_system
    from mlops_infra.model_versions import RUNNING_UNREAD_KEY
    from tests.state.test_registry_served_images import OLD_REPO, _pulls, _warnings

    system, prior, view = _canary_after_the_bump(monkeypatch, lambda c: c.meta.events.register(
        "before-call.sagemaker.DescribeEndpointConfig", _denied("ThrottlingException", "DescribeEndpointConfig")))
    assert view.running_unread == ("scorer",) and view.running == {}
    [read_warning] = view.warnings
    assert read_warning.startswith("could not read which model versions endpoint scorer serves: ThrottlingException")
    graph = compile_system(system, ENV, registry=view)
    decision = graph.model_versions["endpoints.scorer"]
    assert (decision["basis"], decision[RUNNING_UNREAD_KEY]) == ("registry", True)
    assert OLD_REPO not in _pulls(graph)  # the pull is not kept: the compiler cannot know v12 runs
    [warning] = _warnings(graph, prior)
    assert warning.startswith("endpoints.scorer: its serving role (scorer-serving-policy) loses the ECR pull of "
                              + OLD_REPO)
    assert "could not read which versions the live endpoint runs" in warning
    assert "offline plan" not in warning  # the registry was read: no advice to read it
    # the flag itself is not in the digest (the same view without it gives the same graph); a read that
    # succeeded gives another graph here (test_a_canary_read_and_unread_give_two_graphs_and_a_stale_plan)
    assert graph.digest() == compile_system(system, ENV, registry=dataclasses.replace(view, running_unread=())).digest()
    assert type(view).from_json(view.to_json()) == view  # what apply hands the Pulumi program


def test_a_read_endpoint_gives_no_unread_flag(monkeypatch: Any) -> None:
    """The same canary read in full: v12's pull is kept, nothing is flagged, no warning."""
    from mlops_infra.compile import compile_system
    from mlops_infra.model_versions import RUNNING_UNREAD_KEY
    from tests.state.test_registry_served_images import OLD_REPO, _pulls, _warnings

    system, prior, view = _canary_after_the_bump(monkeypatch, lambda c: None)
    assert view.running_unread == () and "runningUnread" not in view.to_json()
    graph = compile_system(system, ENV, registry=view)
    assert RUNNING_UNREAD_KEY not in graph.model_versions["endpoints.scorer"]
    assert OLD_REPO in _pulls(graph) and _warnings(graph, prior) == []


def test_an_unreadable_registry_flags_the_endpoint_and_keeps_the_offline_graph(monkeypatch: Any) -> None:
    """The registry cannot be read at all (every SageMaker call denied): the models fall back on the
    prior state and the endpoint is unread too. The graph is the offline plan's (what a plan without
    --refresh showed, so apply is not refused as stale); the offline warning also says the live endpoint
    could not be read."""
    from mlops_infra.compile import compile_system
    from mlops_infra.model_versions import RUNNING_UNREAD_KEY
    from mlops_infra.state.model_registry import offline_registry_view
    from tests.state.test_registry_served_images import OLD_REPO, _warnings

    def every_call_denied(sagemaker: Any) -> None:
        sagemaker.meta.events.register("before-call.sagemaker.*", _denied("AccessDeniedException", "*"))

    system, prior, view = _canary_after_the_bump(monkeypatch, every_call_denied)
    assert view.running_unread == ("scorer",) and view.models["fraud-model"].basis != "registry"
    graph = compile_system(system, ENV, registry=view)
    assert graph.model_versions["endpoints.scorer"][RUNNING_UNREAD_KEY] is True
    assert graph.digest() == compile_system(system, ENV, registry=offline_registry_view(system, ENV, prior)).digest()
    [warning] = _warnings(graph, prior)
    assert "loses the ECR pull of " in warning and OLD_REPO in warning and "An offline plan cannot tell" in warning
    assert "could not read which versions the live endpoint runs" in warning


def test_an_endpoint_read_that_fails_once_does_not_change_the_graph(monkeypatch: Any) -> None:
    """`plan --refresh` could not read the endpoint (throttled), apply could: it runs only the version the
    graph serves, so both graphs are one and the saved plan is not stale (with 2403e4b's component fact
    the digests differed)."""
    from mlops_infra.compile import compile_system

    system = _system(13)
    throttled, denied = [True], _denied("ThrottlingException", "DescribeEndpointConfig")
    with _every_endpoint_serving(system, 12, monkeypatch, lambda c: c.meta.events.register(
            "before-call.sagemaker.DescribeEndpointConfig", lambda **kw: denied() if throttled[0] else None)):
        planned = model_registry.read_registry(system, ENV, _prior(), retry=model_registry.RetryPolicy(attempts=1))
        throttled[0] = False
        applied = model_registry.read_registry(system, ENV, _prior(), retry=model_registry.RetryPolicy(attempts=1))
    assert (planned.running_unread, planned.running) == (("scorer",), {})
    assert (applied.running_unread, applied.running) == ((), {"scorer": (13,)})
    assert (compile_system(system, ENV, registry=planned).digest()
            == compile_system(system, ENV, registry=applied).digest())


def test_a_canary_read_and_unread_give_two_graphs_and_a_stale_plan(monkeypatch: Any) -> None:
    """Audit closing-34b-3: the canary still runs v12 (image in another repository) beside v13. A read
    that succeeds keeps v12's pull; one that fails cannot. So a `plan --refresh` and an apply whose
    endpoint reads went differently compile different serving-role policies, and apply refuses the
    saved plan as stale, as docs/plan.md now says (the safe outcome: the graphs really differ). Both
    reads are of one moto world; the first is throttled."""
    from mlops_infra.compile import compile_system
    from tests.state.test_registry_served_images import OLD_REPO, _pulls

    throttled, denied = [True], _denied("ThrottlingException", "DescribeEndpointConfig")
    reads = []

    def hook(c: Any) -> None:
        c.meta.events.register("before-call.sagemaker.DescribeEndpointConfig",
                               lambda **kw: denied() if throttled[0] else None)

    def read_twice(system: Any, prior: Any) -> None:
        for flag in (True, False):
            throttled[0] = flag
            reads.append(model_registry.read_registry(system, ENV, prior, retry=model_registry.RetryPolicy(attempts=1)))

    system, _, _ = _canary_after_the_bump(monkeypatch, hook, then=read_twice)
    unread, read = reads
    assert (unread.running_unread, read.running_unread, read.running) == (("scorer",), (), {"scorer": (12, 13)})
    failed, succeeded = compile_system(system, ENV, registry=unread), compile_system(system, ENV, registry=read)
    assert OLD_REPO in _pulls(succeeded) and OLD_REPO not in _pulls(failed)
    assert failed.digest() != succeeded.digest()
