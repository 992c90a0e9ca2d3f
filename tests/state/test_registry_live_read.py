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
