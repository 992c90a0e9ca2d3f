"""A bounded moto server for tests and benchmarks, plus the in-process patches it needs.

Contract:
- :func:`running_moto_server` starts ``moto.server.ThreadedMotoServer`` on ``127.0.0.1`` with a
  port the OS picks (``port=0``, so no race on a "free" port), yields its endpoint URL
  (``http://127.0.0.1:<port>``) and always stops the server on exit. Nothing listens on another
  interface and no thread outlives the context.
- The patches below are applied before ``start()`` and removed when the last running server stops
  (reference counted, thread safe). They only widen what moto accepts; they never change a
  response moto already produced correctly:

  1. **Modern SageMaker instance types.** moto validates endpoint-config variants against an old
     instance list that lacks ``ml.g5``, ``ml.g6``, ``ml.g6e``, ``ml.p4d``, ``ml.p4de``, ``ml.p5``,
     ``ml.inf2``, ``ml.trn1``... The patch accepts any well-formed ``ml.<family>.<size>`` and keeps
     moto's own message for malformed values.
  2. **``UpdateEndpoint``.** moto does not implement it. The patch adds a small handler that
     points the endpoint at another existing endpoint config and rebuilds its variants from it
     (like a completed update). ``RetainAllVariantProperties`` keeps the current weights and counts
     of variants whose name exists in both configs, except the properties listed in
     ``ExcludeRetainedVariantProperties`` (``DesiredWeight``, ``DesiredInstanceCount``), which come
     from the new config (botocore ``UpdateEndpointInput``).

  3. **Endpoint updates take time** (for the rollout driver's concurrency tests). AWS puts an
     endpoint in ``Updating`` on ``UpdateEndpoint`` and ``UpdateEndpointWeightsAndCapacities``
     (botocore documentation of both) and refuses another update until it is ``InService`` again
     (a ValidationException; the exact AWS wording is inferred: "Cannot update in-progress
     endpoint"). moto completes both at once and accepts anything. With
     :func:`endpoint_updates_take` ``(seconds)``, an update leaves the endpoint ``Updating`` for that
     long (``DescribeEndpoint`` shows it; it turns ``InService`` on the first describe after), and an
     update within that window is refused. The default, 0 seconds, keeps moto's instant updates:
     nothing changes for tests that do not ask.

  4. **``Search`` pages.** moto answers every match at once, ignoring ``MaxResults``, and never
     gives a ``NextToken``; AWS returns at most ``MaxResults`` (1-100) records and a ``NextToken``
     when more match (botocore ``SearchRequest``/``SearchResponse``). With ``MaxResults`` the patch
     pages moto's answer that way (the token is an offset); without it, moto's answer is unchanged.
     For ``Resource=Endpoint`` it first settles endpoints as ``DescribeEndpoint`` does (patch 3), so
     both report the same status.

- :func:`client` builds a boto3 client for a running server with dummy credentials and
  ``Config(retries={"max_attempts": 1})`` so a test never waits on retries.
- The werkzeug request log is quietened to warnings while a server runs.
- :func:`reset` clears every moto backend (moto's ``/moto-api/reset``), for test isolation.

moto keeps its backends in process memory: every server started in one process shares them.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_ML_INSTANCE = re.compile(r"^ml\.[a-z0-9-]+\.[0-9]*[a-z0-9]+$")

_lock = threading.Lock()
_users = 0
_saved: list[tuple[type, str, Any]] = []


def _accept_modern_instance_types(original: Any) -> Any:
    def validate_instance_type(self: Any, instance_type: str) -> None:
        if _ML_INSTANCE.match(instance_type or ""):
            return
        original(self, instance_type)

    return validate_instance_type


_settle = {"seconds": 0.0}
_update_lock = threading.Lock()


@contextlib.contextmanager
def endpoint_updates_take(seconds: float) -> Iterator[None]:
    """Endpoint updates stay ``Updating`` for ``seconds`` (patch 3 of the module docstring)."""
    previous = _settle["seconds"]
    _settle["seconds"] = seconds
    try:
        yield
    finally:
        _settle["seconds"] = previous


def _settled(endpoint: Any) -> bool:
    started = getattr(endpoint, "_mlops_update_started", None)
    return started is None or time.monotonic() - started >= _settle["seconds"]


def _begin_update(endpoint: Any) -> None:
    """Refuse an update while one is in progress; otherwise mark the endpoint Updating (patch 3)."""
    from moto.sagemaker.exceptions import ValidationError

    if not _settled(endpoint):
        raise ValidationError(message=f"Cannot update in-progress endpoint \"{endpoint.arn}\".")
    endpoint._mlops_update_started = time.monotonic()


def _end_update(endpoint: Any) -> None:
    endpoint.endpoint_status = "Updating" if _settle["seconds"] > 0 else "InService"


def _weights_with_progress(original: Any) -> Any:
    def update_endpoint_weights_and_capacities(self: Any, endpoint_name: str, **kwargs: Any) -> str:
        with _update_lock:
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is not None:
                _begin_update(endpoint)
            arn = original(self, endpoint_name, **kwargs)
            _end_update(self.endpoints[endpoint_name])
            return arn
    return update_endpoint_weights_and_capacities


def _describe_settles(original: Any) -> Any:
    def describe_endpoint(self: Any, endpoint_name: str) -> Any:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is not None and endpoint.endpoint_status == "Updating" and _settled(endpoint):
            endpoint.endpoint_status = "InService"
        return original(self, endpoint_name)
    return describe_endpoint


def _update_endpoint(self: Any) -> Any:
    """``UpdateEndpoint``: move the endpoint to another config (completes at once, or per patch 3)."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.exceptions import ValidationError

    backend = self.sagemaker_backend
    name = self._get_param("EndpointName")
    endpoint = backend.endpoints.get(name)
    if endpoint is None:
        raise ValidationError(message=f"Could not find endpoint '{name}'.")
    with _update_lock:
        _begin_update(endpoint)
    config = backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
    previous = {v["VariantName"]: v for v in endpoint.production_variants}
    variants = endpoint._process_production_variants(config["ProductionVariants"])
    if self._get_param("RetainAllVariantProperties"):
        excluded = {e.get("VariantPropertyType") for e in self._get_param("ExcludeRetainedVariantProperties") or []}
        keep = {"DesiredWeight": ("CurrentWeight", "DesiredWeight"),
                "DesiredInstanceCount": ("CurrentInstanceCount", "DesiredInstanceCount")}
        dropped = {key for prop in excluded for key in keep.get(prop, ())}
        variants = [{**v, **{k: x for k, x in previous.get(v["VariantName"], {}).items() if k not in dropped}}
                    for v in variants]
    endpoint.endpoint_config_name = config["EndpointConfigName"]
    endpoint.production_variants = variants
    _end_update(endpoint)
    return ActionResult({"EndpointArn": endpoint.arn})


def _search_pages(self: Any) -> Any:
    """``Search`` that honours ``MaxResults``/``NextToken`` and settles endpoints (patch 4)."""
    from moto.core.responses import ActionResult

    backend = self.sagemaker_backend
    resource = self._get_param("Resource")
    if resource == "Endpoint":
        for endpoint in list(backend.endpoints.values()):
            if endpoint.endpoint_status == "Updating" and _settled(endpoint):
                endpoint.endpoint_status = "InService"
    answer = backend.search(resource=resource, search_expression=self._get_param("SearchExpression"))
    size = self._get_param("MaxResults")
    if size:
        start = int(self._get_param("NextToken") or 0)
        results = answer["Results"]
        answer = {"Results": results[start:start + int(size)]}
        if start + int(size) < len(results):
            answer["NextToken"] = str(start + int(size))
    return ActionResult(answer)


def _apply_patches() -> None:
    from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    for name, wrap in (("update_endpoint_weights_and_capacities", _weights_with_progress),
                       ("describe_endpoint", _describe_settles)):
        original_method = getattr(SageMakerModelBackend, name)
        _saved.append((SageMakerModelBackend, name, original_method))
        setattr(SageMakerModelBackend, name, wrap(original_method))

    original = FakeEndpointConfig.validate_instance_type
    _saved.append((FakeEndpointConfig, "validate_instance_type", original))
    FakeEndpointConfig.validate_instance_type = _accept_modern_instance_types(original)
    _saved.append((SageMakerResponse, "update_endpoint", SageMakerResponse.__dict__.get("update_endpoint")))
    SageMakerResponse.update_endpoint = _update_endpoint
    _saved.append((SageMakerResponse, "search", SageMakerResponse.__dict__.get("search")))
    SageMakerResponse.search = _search_pages


def _remove_patches() -> None:
    while _saved:
        owner, name, original = _saved.pop()
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)


@contextlib.contextmanager
def moto_patches() -> Iterator[None]:
    """Apply the documented moto patches for the duration of the context (reference counted)."""
    global _users
    with _lock:
        if _users == 0:
            _apply_patches()
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _remove_patches()


@contextlib.contextmanager
def running_moto_server() -> Iterator[str]:
    """Start a patched moto server on 127.0.0.1 (OS-chosen port), yield its URL, stop it."""
    from moto.server import ThreadedMotoServer

    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # one line per request otherwise
    with moto_patches():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            access_log.setLevel(level)


def reset(endpoint_url: str) -> None:
    """Forget every resource the (in-process) moto backends hold."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def session(region: str = REGION) -> boto3.Session:
    """A new boto3 session with dummy credentials (never real ones)."""
    return boto3.Session(region_name=region, **DUMMY_CREDENTIALS)


@functools.cache
def shared_session(region: str = REGION) -> boto3.Session:
    """One cached dummy-credential session per region: clients made from it reuse its loaded
    service models (a fresh session pays ~70 ms per service). Not for concurrent use."""
    return session(region)


_client_lock = threading.Lock()


@functools.cache
def _cached_client(service: str, endpoint_url: str, region: str) -> Any:
    config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
    with _client_lock:  # sessions are not thread safe; the clients they make are
        return shared_session(region).client(service, endpoint_url=endpoint_url, config=config)


def client(service: str, endpoint_url: str, region: str = REGION) -> Any:
    """A boto3 client for the moto server: dummy credentials, no retries, path-style S3.

    Clients are cached per (service, URL, region): creating one costs ~100 ms of model loading.
    """
    return _cached_client(service, endpoint_url, region)
