"""A bounded moto server for tests and benchmarks, plus the in-process patches it needs.

Contract:
- :func:`running_moto_server` serves moto's application as ``moto.server.ThreadedMotoServer`` does
  (werkzeug ``make_server(..., threaded=True, request_handler=MotoRequestHandler)`` of
  ``DomainDispatcherApplication(create_backend_app)``, moto ``moto_server/threaded_moto_server.py``)
  on ``127.0.0.1`` with a port the OS picks (``port=0``, so no race on a "free" port), yields its
  endpoint URL (``http://127.0.0.1:<port>``) and always stops the server on exit. Nothing listens on
  another interface and no thread outlives the context. Its accept loop polls for the stop request
  every :data:`STOP_POLL` seconds (``socketserver.BaseServer.serve_forever(poll_interval)``; moto's
  own server keeps the 0.5 s default, so each stop waited about half a second).
- ``running_moto_server(keep_alive=True)`` serves the same moto application (moto's
  ``DomainDispatcherApplication`` and request handler: the same routing, handlers and responses)
  on connections that stay open between requests, as AWS endpoints and botocore's connection pool
  do (botocore ``Config.max_pool_connections``: connections are pooled and reused). moto's werkzeug
  server ends every connection after one response (werkzeug ``WSGIRequestHandler.run_wsgi``:
  "Always close the connection"), so each call there also pays a TCP connect and a server thread
  started for it, a cost of the stand-in, not of the calls: benchmarks that time many calls use
  this (:class:`_KeepAliveHandler`). The request body is read whole before the application runs
  (so the connection is at the next request whatever the application read), the response is sent
  with its ``Content-Length`` and no ``Connection: close``, with ``TCP_NODELAY`` on the server's
  sockets (headers and body are written separately: without it a kept connection waits on the
  client's delayed ACK). Its connection threads end when the context exits.
- The patches below are applied before ``start()`` and removed when the last running server stops
  (reference counted, thread safe). They widen what moto accepts (or, patches 5 and 6, what its
  server spends routing a request), or make it do what AWS documents where it does not (the refusal
  in patch 2, patch 7, patch 22); they never change a response moto already produced correctly:

  1. **Modern SageMaker instance types.** moto validates endpoint-config variants against an old
     instance list that lacks ``ml.g5``, ``ml.g6``, ``ml.g6e``, ``ml.p4d``, ``ml.p4de``, ``ml.p5``,
     ``ml.inf2``, ``ml.trn1``... The patch accepts any well-formed ``ml.<family>.<size>`` and keeps
     moto's own message for malformed values.
  2. **``UpdateEndpoint``.** moto does not implement it. The patch adds a small handler that
     points the endpoint at another existing endpoint config and rebuilds its variants from it
     (like a completed update). ``RetainAllVariantProperties`` keeps the current weights and counts
     of variants whose name exists in both configs, except the properties listed in
     ``ExcludeRetainedVariantProperties`` (``DesiredWeight``, ``DesiredInstanceCount``), which come
     from the new config (botocore ``UpdateEndpointInput``). Like AWS, it refuses (ValidationException)
     an update that changes the instance type of a variant registered as an Application Auto Scaling
     target (AWS "Update endpoints that use auto scaling",
     https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html: "If the update
     would change the instance type for any model that is a target for auto scaling, the update
     fails"; the exact AWS message is not documented).

  3. **Endpoint updates take time** (for the rollout driver's concurrency tests). AWS puts an
     endpoint in ``Updating`` on ``UpdateEndpoint`` and ``UpdateEndpointWeightsAndCapacities``
     (botocore documentation of both) and refuses another update until it is ``InService`` again
     (a ValidationException; the exact AWS wording is inferred: "Cannot update in-progress
     endpoint"). moto completes both at once and accepts anything. With
     :func:`endpoint_updates_take` ``(seconds)``, an update leaves the endpoint ``Updating`` for that
     long (``DescribeEndpoint`` shows it; it turns ``InService`` on the first describe after), and an
     update within that window is refused. The default, 0 seconds, keeps moto's instant updates:
     nothing changes for tests that do not ask. With :func:`endpoint_updates_held` an update instead
     stays ``Updating`` (and refuses another) until the test calls the ``settle`` it yields, however
     long that takes: a race test then meets the same endpoint state on a slow machine as on a fast
     one (a wall-clock window can run out under load before the losing pass's call).

  4. **``Search`` pages.** moto answers every match at once, ignoring ``MaxResults``, and never
     gives a ``NextToken``; AWS returns at most ``MaxResults`` (1-100) records and a ``NextToken``
     when more match (botocore ``SearchRequest``/``SearchResponse``). With ``MaxResults`` the patch
     pages moto's answer that way (the token is an offset); without it, moto's answer is unchanged.
     For ``Resource=Endpoint`` it first settles endpoints as ``DescribeEndpoint`` does (patch 3), so
     both report the same status.

  5. **Request routing, once per host.** moto's server finds the backend of each request under one
     lock shared by all requests: it lists moto's package directory and stats every entry
     (``moto.backends.list_of_moto_modules``), then tries each service's URL pattern
     (``DomainDispatcherApplication.get_backend_for_host``). The answer depends only on the host
     name (the installed moto does not change while it runs), so the patch remembers it per host.
     Routing only: every request still reaches moto's handler for its service.
  6. **A handler's action names, once per class.** Before each action moto lists the methods of
     the service's response class (``moto.core.utils.method_names_from_class``: an
     ``inspect.getmembers`` walk, per request) to check that the action exists. The patch
     remembers the list per class; classes gain methods only when these patches are applied or
     removed (patches 2 and 19 add ``update_endpoint``, ``delete_model_package``), which empties
     what it remembers.
  7. **``DeregisterScalableTarget`` deletes the target's scaling policies.** moto keeps them; AWS
     deletes them (botocore ``DeregisterScalableTarget``: "Deregistering a scalable target deletes
     the scaling policies and the scheduled actions that are associated with it"). The patch deletes
     the policies and scheduled actions of the deregistered target, after moto deregistered it.
  8. **SageMaker ``AddTags`` overwrites, and stops at 50 tags.** moto appends every tag, so a key
     added twice is listed twice and a resource takes any number of tags. AWS "Adds or overwrites one
     or more tags" (SageMaker API reference, ``AddTags``) and a resource holds at most 50 (botocore
     ``TagList`` max 50; "Tagging your AWS resources": "Maximum tags per resource - 50"). The patch
     replaces the value of a key already there and refuses (ValidationException, the whole call) a
     call that would leave more than 50 tags (the exact AWS message is not documented).

  9. **IAM counts a role's inline policies.** moto accepts any ``PutRolePolicy``; AWS refuses one
     that would leave a role's inline policies over 10,240 characters in total, white space not
     counted (IAM User Guide, "IAM and AWS STS quotas": "Role policy size cannot exceed 10,240
     characters", "IAM doesn't count white space when calculating the size of a policy against
     these limits"). The patch refuses such a call with ``LimitExceeded`` (HTTP 409, botocore
     ``iam`` ``LimitExceededException``), "Maximum policy size of 10240 bytes exceeded for role
     <name>" (the wording AWS's knowledge-center article "iam-increase-policy-size" quotes), and
     stores nothing. The policy being replaced (same name) does not count.

  10. **Lambda caps a function's resource-based policy.** moto adds any number of ``AddPermission``
     statements; Lambda refuses one that would make the function's policy larger than 20 KB ("Lambda
     quotas", https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: "Function
     resource-based policy: 20 KB"), with ``PolicyLengthExceededException`` (HTTP 400, botocore
     ``lambda``: "The permissions policy for the resource is too large"; the message's wording, "The
     final policy size (N) is bigger than the limit (20480).", is inferred from users' reports). The
     patch measures the policy as ``GetPolicy`` returns it, compact JSON, and on refusal leaves it as
     it was.

  11. **``ListPipelineExecutions`` sorts and pages.** moto lists a pipeline's executions in the order
     they were started, all at once, ignoring ``SortBy``, ``SortOrder`` and ``MaxResults``. AWS sorts
     by ``SortBy`` ("The default is ``CreatedTime``", botocore ``ListPipelineExecutionsRequest``;
     ``CreationTime`` or ``PipelineExecutionArn``), in ``SortOrder`` (its default is not documented;
     the patch takes ``Descending``, newest first, as the console lists them) and returns at most
     ``MaxResults`` (1-100) with a ``NextToken`` when more remain. The patch does that (the token is
     an offset; executions started in the same instant keep their starting order); the summaries
     are moto's own.
  12. **``StartPipelineExecution`` is idempotent.** moto starts a new execution for every call and
     only stores the ``ClientRequestToken``. AWS: "A unique, case-sensitive identifier that you
     provide to ensure the idempotency of the operation. An idempotent operation completes no more
     than once" (SageMaker API reference, ``StartPipelineExecution``). The patch answers a call whose
     token an execution of the same pipeline was started with by that execution's ARN, and starts
     nothing (one lock for the check and the start: concurrent calls with one token start one
     execution). How long AWS remembers a token, and what it answers the same token with other
     parameters, is not documented; the patch remembers it as long as the execution exists and
     ignores the parameters.

  13. **Service Quotas for SageMaker.** moto's Service Quotas answers AWS's default quotas of ``vpc``
     only and lacks ``ListServiceQuotas``. With :func:`sagemaker_quotas` ``(applied, defaults)``
     (quota name -> value), ``ListServiceQuotas`` and ``ListAWSDefaultServiceQuotas`` for service code
     ``sagemaker`` answer those values (botocore ``service-quotas`` ``ServiceQuota``: name, code, ARN,
     value, unit ``None``, adjustable), ``MaxResults`` (1-100) at a time with a ``NextToken`` (an
     offset). ``ListServiceQuotas`` lists the applied values only, as AWS does ("If the applied quota
     value is not available for a quota, the quota is not retrieved"). Nothing set: both answer no
     SageMaker quota; other service codes keep moto's answers (``ListServiceQuotas``: none).
  14. **Every S3 bucket has default encryption.** moto answers ``GetBucketEncryption`` on a bucket
     without an encryption configuration (never set, or after ``DeleteBucketEncryption``) with
     ``ServerSideEncryptionConfigurationNotFoundError``. AWS: "By default, all buckets have a default
     encryption configuration that uses server-side encryption with Amazon S3 managed keys (SSE-S3)"
     (botocore ``s3`` ``GetBucketEncryption``), and ``DeleteBucketEncryption`` "resets the default
     encryption for the bucket as server-side encryption with Amazon S3 managed keys (SSE-S3)". The
     patch answers such a bucket with one rule, ``SSEAlgorithm`` ``AES256`` and ``BucketKeyEnabled``
     false (that a reset bucket's Bucket Key is off is inferred, not documented); a bucket that is
     gone is still ``NoSuchBucket``, and a configuration put on the bucket is answered as before.
  15. **The Resource Groups Tagging API lists SageMaker endpoint configs.** moto's
     ``FakeEndpointConfig`` keeps its ARN in ``arn`` as a one-element tuple (``self.arn =
     (self.endpoint_config_arn,)``, ``moto/sagemaker/models.py``) and ``iter_tagged_resources``
     yields ``TaggedResource(arn=resource.arn)``, so ``GetResources`` never matches an endpoint
     config's ARN (``ResourceARNList``) and lists it, if at all, with a tuple for an ARN. AWS lists
     ``sagemaker:endpoint-config`` there like models and endpoints. The patch sets ``arn`` to the
     ARN string after moto's ``__init__``; ``DescribeEndpointConfig`` and tag calls use
     ``endpoint_config_arn`` and the config's name, unchanged.
  16. **SageMaker refuses a model or endpoint config name that exists.** moto's ``create_model`` and
     ``create_endpoint_config`` replace an existing entry of the same name. AWS refuses the call
     with a ValidationException, "Cannot create already existing model "<arn>"." or "Cannot create
     already existing endpoint configuration "<arn>"." (AWS's answers as quoted in
     awslabs/spot-tagging-bot-for-digital-assets#2 and astronomer/astronomer-providers#1055; the
     rollout driver relies on it, ``rollout/drivers/sagemaker.py``: "already exist"). Inside
     :func:`existing_names_refused` the patch refuses such a call, with that message, and leaves the
     existing entry as it was. Outside it (the default) moto's behaviour is kept: tests that seed a
     model or config again "as an apply leaves it" are unchanged.
  17. **Lambda ``GetFunction`` shows a reserved concurrency of 0.** moto adds ``Concurrency`` to the
     answer only when the reservation is truthy (``LambdaFunction.get_code``: ``if
     self.reserved_concurrency``), so a function throttled to 0 (the console's "Throttle",
     ``PutFunctionConcurrency`` with 0) reads as unreserved. AWS answers the reservation whatever its
     value (botocore ``GetFunctionResponse.Concurrency``: "The function's reserved concurrency"; the
     ``PutFunctionConcurrency`` page: "Use GetFunction to see the current setting for a function").
     The patch adds ``Concurrency`` when a reservation is set (0 included), after moto's answer.
  18. **CloudWatch keeps an alarm's warm-up.** moto's ``PutMetricAlarm`` drops ``WarmUpConfiguration``
     and ``DescribeAlarms`` never answers one, so the drift monitors' silence alarm
     (``compile/aws/monitoring.silence_alarms``) read back without the warm-up it was put with. AWS
     keeps it with the alarm (botocore ``cloudwatch`` ``PutMetricAlarmInput.WarmUpConfiguration``;
     ``MetricAlarm.WarmUpConfiguration``, what ``DescribeAlarms`` answers) and ``PutMetricAlarm``
     replaces the whole alarm, so an alarm put again without it has none. The patch stores the
     argument as sent on the alarm (``warm_up_configuration``, the attribute moto's serializer reads
     for the member: ``botocore.xform_name``), after moto's put; absent, it stores nothing.
  19. **``DeleteModelPackage``.** moto does not implement it. The patch adds a handler that removes
     the package (botocore ``sagemaker`` ``DeleteModelPackage``: "Deletes a model package"; its
     input ``ModelPackageName`` takes a name or an ARN, a versioned package by its ARN), so
     ``DescribeModelPackage`` and ``ListModelPackages`` no longer show it; an unknown package is a
     ValidationException (moto's own not-found wording for model packages; AWS's is not
     documented). moto numbers a group's next version by counting the group's packages, so after
     deleting any but the newest version it may give a number again, which AWS does not: tests
     delete the newest version only.
  20. **A failed endpoint update** (for the rollout driver's failed-update tests). moto's updates always
     succeed. AWS may fail one (the new fleet's container fails its ping health check, no capacity for
     the instance type): the endpoint stays, or goes back, InService on the configuration and weights it
     had, and ``DescribeEndpoint`` gives the reason (botocore sagemaker ``EndpointMetadata.FailureReason``:
     "If the status of the endpoint is Failed, or the status is InService but update operation fails,
     this provides the reason why it failed"; ``EndpointStatus`` ``RollingBack``: "Once the rollback
     completes, endpoint returns to an InService status"). Inside :func:`endpoint_updates_fail`
     ``(reason)`` every ``UpdateEndpoint`` and ``UpdateEndpointWeightsAndCapacities`` (of an endpoint not
     busy: patch 3 still refuses one while another is in progress) is accepted and then leaves the
     endpoint as it was, ``InService``, with ``FailureReason`` ``reason`` and ``LastModifiedTime`` the
     time of the call (``clock()``, epoch seconds, when given: a test's simulated time; the stand-in plays the whole failed update at once: no ``Updating`` or
     ``RollingBack`` in between). Outside it (the default) updates succeed as before; a reason set
     stays on the endpoint, as AWS keeps it (nothing documents when it clears).
  21. **``DeleteEndpoint`` deregisters the endpoint's scalable targets.** moto keeps them; AWS: "If you
     delete an endpoint, Application Auto Scaling checks to see whether any of the models on that
     endpoint are targets for auto scaling. If any are and you have permission to deregister the model,
     Application Auto Scaling deregisters those models as scalable targets without notifying you"
     ("Delete endpoints configured for auto scaling",
     https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-delete-with-scaling.html). After moto
     deleted the endpoint, the patch deregisters every ``sagemaker`` target whose resource id is
     ``endpoint/<name>/variant/<any>`` in the endpoint's account and region, through patch 7 (so their
     policies and scheduled actions go too).

  22. **``UpdateEndpointWeightsAndCapacities`` sets the capacity of one variant.** moto applies any list: each
     entry's ``DesiredWeight`` and ``DesiredInstanceCount`` (None when left out). AWS documents the call as
     "Updates variant weight of one or more variants associated with an existing endpoint, or capacity of one
     variant associated with an existing endpoint" (botocore sagemaker 2017-07-24 service-2.json, the
     operation's documentation; the API reference says the same), and both members of an entry are optional
     (botocore ``DesiredWeightAndCapacity``: only ``VariantName`` is required). A stand-in rule, as the
     documentation reads: the patch refuses (ValidationException, the whole call, nothing applied; the exact
     AWS message, and whether AWS refuses at all, are not documented) a call whose entries carry
     ``DesiredInstanceCount`` for more than one variant, and keeps a variant's weight or count that its entry
     leaves out (a weights-only call changes no capacity; inferred from the same sentence, not documented
     further). Refused before patch 3 marks the endpoint ``Updating``.

- :func:`client` builds a boto3 client for a running server with dummy credentials and
  ``Config(retries={"max_attempts": 1})`` so a test never waits on retries.
- The werkzeug request log is quietened to warnings while a server runs.
- :func:`reset` clears every moto backend (moto's ``/moto-api/reset``), for test isolation.
- :func:`moto_server_process` runs the same patched server in a child process of its own (forked, so
  a ``seed`` callable, run there before the server is announced, can write straight into the
  child's backends; its return value is handed back), so the caller's CPU time and interpreter lock
  are not shared with the stand-in (benchmarks: the client's cost is the client's). Readiness comes
  through a pipe within ``timeout`` seconds (an error in the child is raised in the caller with the
  child's traceback); :meth:`ServerProcess.cpu_seconds` asks the child for its own CPU time
  (``resource.getrusage(RUSAGE_SELF)``: user + system, all its threads, from the fork). On exit the
  child is told to stop, stops its server and is joined; if it has not ended within 10 s it is
  terminated, then killed: no process outlives the context. Fork: start it before threads.

moto keeps its backends in process memory: every server started in one process shares them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import multiprocessing
import re
import resource
import socket
import threading
import time
import traceback
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
STOP_POLL = 0.05
"""Seconds between the accept loop's checks for a stop request (see the module contract)."""
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_ML_INSTANCE = re.compile(r"^ml\.[a-z0-9-]+\.[0-9]*[a-z0-9]+$")

_lock = threading.Lock()
_users = 0
_saved: list[tuple[type, str, Any]] = []
"""Routes the patches added to a moto ``urls`` module (patch 11), removed with the patches."""


def _accept_modern_instance_types(original: Any) -> Any:
    def validate_instance_type(self: Any, instance_type: str) -> None:
        if _ML_INSTANCE.match(instance_type or ""):
            return
        original(self, instance_type)

    return validate_instance_type


_settle = {"seconds": 0.0}
_update_lock = threading.Lock()
_held = {"on": False, "round": 0}
"""Patch 3, held (:func:`endpoint_updates_held`): whether updates wait for ``settle``, and how many times it was
called (an update made in an earlier round is settled)."""


@contextlib.contextmanager
def endpoint_updates_take(seconds: float) -> Iterator[None]:
    """Endpoint updates stay ``Updating`` for ``seconds`` (patch 3 of the module docstring)."""
    previous = _settle["seconds"]
    _settle["seconds"] = seconds
    try:
        yield
    finally:
        _settle["seconds"] = previous


@contextlib.contextmanager
def endpoint_updates_held() -> Iterator[Callable[[], None]]:
    """Endpoint updates stay ``Updating`` until the caller settles them (patch 3, held): yields ``settle``, which
    completes every update made so far (each endpoint turns ``InService`` on its next describe, and takes an update
    again). No wall clock: what a racing pass meets does not depend on how fast the machine runs it."""
    previous = dict(_held)

    def settle() -> None:
        with _update_lock:
            _held["round"] += 1

    settle()  # an update made before is not held
    _held["on"] = True
    try:
        yield settle
    finally:
        _held["on"] = previous["on"]
        settle()


_failing: dict[str, Any] = {"reason": None, "clock": None}
"""Patch 20 (:func:`endpoint_updates_fail`): the ``FailureReason`` every endpoint update fails with (None: they
succeed) and the clock of its ``LastModifiedTime`` (None: the real one)."""


@contextlib.contextmanager
def endpoint_updates_fail(reason: str, clock: Callable[[], float] | None = None) -> Iterator[None]:
    """Endpoint updates fail with ``reason``, leaving the endpoint InService as it was, modified at ``clock()``
    (epoch seconds; default now) (patch 20)."""
    previous = dict(_failing)
    _failing.update(reason=reason, clock=clock)
    try:
        yield
    finally:
        _failing.update(previous)


def _fails(endpoint: Any) -> bool:
    """Patch 20: with a failure set, play the update accepted by :func:`_begin_update` failed (the endpoint as it
    was, InService, with the reason and the time) and say so; else False."""
    reason = _failing["reason"]
    if reason is None:
        return False
    import datetime

    from moto.core.utils import utcnow

    clock = _failing["clock"]
    endpoint._mlops_update_started = endpoint._mlops_update_round = None  # nothing in progress any more
    endpoint.endpoint_status = "InService"
    endpoint.failure_reason = reason
    endpoint.last_modified_time = utcnow() if clock is None else \
        datetime.datetime.fromtimestamp(clock(), datetime.UTC).replace(tzinfo=None)
    return True


def _settled(endpoint: Any) -> bool:
    if _held["on"]:
        made_in = getattr(endpoint, "_mlops_update_round", None)
        return made_in is None or made_in < _held["round"]
    started = getattr(endpoint, "_mlops_update_started", None)
    return started is None or time.monotonic() - started >= _settle["seconds"]


def _begin_update(endpoint: Any) -> None:
    """Refuse an update while one is in progress; otherwise mark the endpoint Updating (patch 3)."""
    from moto.sagemaker.exceptions import ValidationError

    if not _settled(endpoint):
        raise ValidationError(message=f"Cannot update in-progress endpoint \"{endpoint.arn}\".")
    endpoint._mlops_update_started = time.monotonic()
    endpoint._mlops_update_round = _held["round"]


def _end_update(endpoint: Any) -> None:
    endpoint.endpoint_status = "Updating" if _settle["seconds"] > 0 or _held["on"] else "InService"


def _weights_with_progress(original: Any) -> Any:
    def update_endpoint_weights_and_capacities(self: Any, endpoint_name: str, **kwargs: Any) -> str:
        with _update_lock:
            endpoint = self.endpoints.get(endpoint_name)
            if endpoint is not None:
                _begin_update(endpoint)
                if _fails(endpoint):  # patch 20
                    return endpoint.arn
            arn = original(self, endpoint_name, **kwargs)
            _end_update(self.endpoints[endpoint_name])
            return arn
    return update_endpoint_weights_and_capacities


def _one_capacity_per_call(original: Any) -> Any:
    """Patch 22: refuse ``DesiredInstanceCount`` for more than one variant in one call; keep what an entry leaves
    out (the variant's current ``DesiredWeight``/``DesiredInstanceCount``) instead of moto's None."""
    def update_endpoint_weights_and_capacities(self: Any, endpoint_name: str,
                                               desired_weights_and_capacities: list[dict[str, Any]]) -> str:
        from moto.sagemaker.exceptions import ValidationError

        counted = [e.get("VariantName") for e in desired_weights_and_capacities
                   if e.get("DesiredInstanceCount") is not None]
        if len(counted) > 1:
            raise ValidationError(message=(
                f"UpdateEndpointWeightsAndCapacities updates the capacity of one variant; the request sets "
                f"DesiredInstanceCount for {len(counted)} variants ({', '.join(map(str, counted))})."))
        endpoint = self.endpoints.get(endpoint_name)
        live = {v.get("VariantName"): v for v in (endpoint.production_variants if endpoint is not None else [])}
        filled = []
        for entry in desired_weights_and_capacities:
            variant = live.get(entry.get("VariantName")) or {}
            kept = {key: variant[key] for key in ("DesiredWeight", "DesiredInstanceCount")
                    if entry.get(key) is None and variant.get(key) is not None}
            filled.append({**entry, **kept})
        return original(self, endpoint_name=endpoint_name, desired_weights_and_capacities=filled)
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
        if _fails(endpoint):  # patch 20
            return ActionResult({"EndpointArn": endpoint.arn})
    config = backend.describe_endpoint_config(self._get_param("EndpointConfigName"))
    previous = {v["VariantName"]: v for v in endpoint.production_variants}
    _refuse_autoscaled_type_change(backend, endpoint, config["ProductionVariants"])
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


def _delete_model_package(self: Any) -> Any:
    """``DeleteModelPackage``: remove the package named (by name or ARN) (patch 19)."""
    from moto.core.responses import ActionResult

    backend = self.sagemaker_backend
    package = backend.describe_model_package(self._get_param("ModelPackageName"))  # ValidationError if unknown
    del backend.model_packages[package.arn]
    for name in [n for n, arn in backend.model_package_name_mapping.items() if arn == package.arn]:
        del backend.model_package_name_mapping[name]
    return ActionResult({})


def _refuse_autoscaled_type_change(backend: Any, endpoint: Any, new: list[Any]) -> None:
    """A ValidationException if a variant registered for autoscaling changes instance type (patch 2)."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends
    from moto.sagemaker.exceptions import ValidationError

    name = endpoint.endpoint_name
    current = backend.describe_endpoint_config(endpoint.endpoint_config_name)["ProductionVariants"]
    types = {v["VariantName"]: v.get("InstanceType") for v in current}
    targets = applicationautoscaling_backends[backend.account_id][backend.region_name].targets
    registered = targets.get("sagemaker:variant:DesiredInstanceCount", {})
    for variant in new:
        old = types.get(variant["VariantName"])
        if old and old != variant.get("InstanceType") and f"endpoint/{name}/variant/{variant['VariantName']}" in registered:
            raise ValidationError(message=f"The variant {variant['VariantName']} of endpoint {name} is registered for "
                                  "autoscaling: deregister it before changing its instance type.")


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


def _route_once_per_host(original: Any) -> Any:
    """``get_backend_for_host`` remembered per host (patch 5)."""
    routes: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in routes:
            routes[host] = original(self, host)
        return routes[host]
    return get_backend_for_host


_action_names: dict[type, list[str]] = {}


def _names_once_per_class(original: Any) -> Any:
    """``method_names_from_class`` remembered per class (patch 6)."""
    def method_names_from_class(clazz: type) -> list[str]:
        names = _action_names.get(clazz)
        if names is None:
            names = _action_names[clazz] = original(clazz)
        return names
    return method_names_from_class


def _deregister_deletes_policies(original: Any) -> Any:
    def deregister_scalable_target(self: Any, namespace: str, r_id: str, dimension: str) -> None:
        original(self, namespace, r_id, dimension)  # raises when there is no such target
        for key, policy in list(self.policies.items()):
            if (policy.service_namespace, policy.resource_id, policy.scalable_dimension) == (namespace, r_id, dimension):
                policy.delete_alarms(self.account_id, self.region_name)
                del self.policies[key]
        self.scheduled_actions[:] = [a for a in self.scheduled_actions
                                     if (a.resource_id, a.scalable_dimension) != (r_id, dimension)]
    return deregister_scalable_target


def _delete_endpoint_deregisters(original: Any) -> Any:
    def delete_endpoint(self: Any, endpoint_name: str) -> None:
        original(self, endpoint_name)  # raises when there is no such endpoint
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        scaling = applicationautoscaling_backends[self.account_id][self.region_name]
        prefix = f"endpoint/{endpoint_name}/variant/"
        for dimension, targets in list(scaling.targets.items()):
            for r_id, target in list(targets.items()):
                if r_id.startswith(prefix) and target.service_namespace == "sagemaker":
                    scaling.deregister_scalable_target("sagemaker", r_id, dimension)
    return delete_endpoint


MAX_TAGS = 50
"""Tags per resource, not counting the keys AWS reserves (``aws:``, any case): "Tags with this prefix do
not count against your tags-per-resource limit" (AWS docs, Tag restrictions, e.g.
https://docs.aws.amazon.com/batch/latest/userguide/tag-restrictions.html). A test adding ``aws:`` keys
stands for the tags AWS itself puts on a resource (CloudFormation's ``aws:cloudformation:*``)."""


def _add_tags_overwrites(self: Any, arn: str, tags: list[dict[str, str]]) -> list[dict[str, str]]:
    from moto.sagemaker.exceptions import ValidationError

    resource = self._get_resource_from_arn(arn)
    merged = {t["Key"]: t for t in resource.tags}
    merged.update({t["Key"]: t for t in tags})
    counted = sum(not key.lower().startswith("aws:") for key in merged)
    if counted > MAX_TAGS:
        raise ValidationError(message=f"Cannot add tags: a resource can have at most {MAX_TAGS} tags "
                              f"({counted} requested)")
    resource.tags = list(merged.values())
    return resource.tags


ROLE_POLICY_CHARACTERS = 10_240
"""Patch 9: IAM's quota on a role's inline policies, white space not counted."""


def _policy_characters(text: str) -> int:
    """The characters IAM counts in a policy: all but white space (patch 9)."""
    return sum(not character.isspace() for character in text)


def _put_role_policy_counts(original: Any) -> Any:
    def put_role_policy(self: Any, role_name: str, policy_name: str, policy_json: str) -> None:
        from moto.iam.exceptions import LimitExceededException

        role = self.get_role(role_name)
        others = sum(_policy_characters(text) for name, text in role.policies.items() if name != policy_name)
        if others + _policy_characters(policy_json) > ROLE_POLICY_CHARACTERS:
            raise LimitExceededException(
                f"Maximum policy size of {ROLE_POLICY_CHARACTERS} bytes exceeded for role {role_name}")
        original(self, role_name, policy_name, policy_json)
    return put_role_policy


LAMBDA_POLICY_BYTES = 20 * 1024
"""Patch 10: Lambda's cap on a function's resource-based policy."""


def _add_permission_measures(original: Any) -> Any:
    def add_permission(self: Any, function_name: str, qualifier: str, raw: str) -> dict[str, Any]:
        from moto.awslambda.exceptions import LambdaClientError

        statement = original(self, function_name, qualifier, raw)
        policy = self.get_function(function_name, qualifier).policy
        text = json.dumps(policy.get_policy()["Policy"], separators=(",", ":"))
        if len(text.encode()) > LAMBDA_POLICY_BYTES:
            policy.statements.remove(statement)
            raise LambdaClientError("PolicyLengthExceededException", f"The final policy size ({len(text.encode())}) "
                                    f"is bigger than the limit ({LAMBDA_POLICY_BYTES}).")
        return statement
    return add_permission


def _concurrency_of_zero(original: Any) -> Any:
    def get_code(self: Any) -> dict[str, Any]:
        answer = original(self)
        if self.reserved_concurrency is not None and "Concurrency" not in answer:
            answer["Concurrency"] = {"ReservedConcurrentExecutions": int(self.reserved_concurrency)}
        return answer
    return get_code


def _put_alarm_keeps_warm_up(original: Any) -> Any:
    def put_metric_alarm(self: Any) -> Any:
        answer = original(self)
        name = self._get_param("AlarmName")
        alarm = self.cloudwatch_backend.alarms.get(name)
        if alarm is not None:
            alarm.warm_up_configuration = self._get_param("WarmUpConfiguration")
        return answer
    return put_metric_alarm


def _list_executions_sorted(self: Any) -> Any:
    """``ListPipelineExecutions`` that honours ``SortBy``, ``SortOrder``, ``MaxResults`` and
    ``NextToken`` (patch 11)."""
    from moto.core.responses import ActionResult
    from moto.sagemaker.utils import get_pipeline_from_name

    backend = self.sagemaker_backend
    name = self._get_param("PipelineName")
    answer = backend.list_pipeline_executions(name)
    executions = get_pipeline_from_name(backend.pipelines, name).pipeline_executions
    by_arn = self._get_param("SortBy") == "PipelineExecutionArn"
    started = {arn: position for position, arn in enumerate(executions)}  # start order, for equal times
    summaries = sorted(answer["PipelineExecutionSummaries"],
                       key=lambda s: ((s["PipelineExecutionArn"],) if by_arn else
                                      (executions[s["PipelineExecutionArn"]].creation_time,
                                       started[s["PipelineExecutionArn"]])),
                       reverse=self._get_param("SortOrder") != "Ascending")
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or len(summaries) or 1)
    answer = {"PipelineExecutionSummaries": summaries[start:start + size]}
    if start + size < len(summaries):
        answer["NextToken"] = str(start + size)
    return ActionResult(answer)


_starts = threading.Lock()
"""Patch 12: the check for an execution with the token and the start are one step."""


def _start_once_per_token(original: Any) -> Any:
    def start_pipeline_execution(self: Any, pipeline_name: str, *args: Any) -> dict[str, str]:
        from moto.sagemaker.utils import get_pipeline_from_name

        token = args[-1]
        with _starts:
            executions = get_pipeline_from_name(self.pipelines, pipeline_name).pipeline_executions
            for arn, execution in executions.items():
                if token and execution.client_request_token == token:
                    return {"PipelineExecutionArn": arn}
            return original(self, pipeline_name, *args)
    return start_pipeline_execution


_quotas: dict[str, dict[str, float]] = {"applied": {}, "defaults": {}}
"""Patch 13: the SageMaker quota values Service Quotas answers (quota name -> value)."""


@contextlib.contextmanager
def sagemaker_quotas(applied: dict[str, float], defaults: dict[str, float] | None = None) -> Iterator[None]:
    """Service Quotas answers these SageMaker quota values (patch 13 of the module docstring)."""
    previous = dict(_quotas)
    _quotas.update(applied=dict(applied), defaults=dict(defaults or {}))
    try:
        yield
    finally:
        _quotas.update(previous)


def _quota_page(self: Any, table: str) -> str:
    """One page of the SageMaker quotas in ``_quotas[table]`` (patch 13)."""
    import hashlib

    params = json.loads(self.body or "{}")
    names = sorted(_quotas[table]) if params.get("ServiceCode") == "sagemaker" else []
    start, size = int(params.get("NextToken") or 0), int(params.get("MaxResults") or 100)
    quotas = []
    for name in names[start:start + size]:
        code = "L-" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()
        quotas.append({"ServiceCode": "sagemaker", "ServiceName": "Amazon SageMaker", "QuotaCode": code,
                       "QuotaArn": f"arn:aws:servicequotas:{self.region}:{self.current_account}:sagemaker/{code}",
                       "QuotaName": name, "Value": _quotas[table][name], "Unit": "None", "Adjustable": True,
                       "GlobalQuota": False})
    body: dict[str, Any] = {"Quotas": quotas}
    if start + size < len(names):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _default_quotas(original: Any) -> Any:
    def list_aws_default_service_quotas(self: Any) -> str:
        if json.loads(self.body or "{}").get("ServiceCode") != "sagemaker":
            return original(self)
        return _quota_page(self, "defaults")
    return list_aws_default_service_quotas


def _applied_quotas(self: Any) -> str:
    return _quota_page(self, "applied")


def _endpoint_config_arn_a_string(original: Any) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.arn = self.endpoint_config_arn  # patch 15
    return __init__


SSE_S3_DEFAULT = {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                           "BucketKeyEnabled": "false"}}
"""What ``GetBucketEncryption`` answers for a bucket without its own configuration (patch 14), in
moto's stored form (the parsed ``PutBucketEncryption`` body)."""


def _default_encryption(original: Any) -> Any:
    def get_bucket_encryption(self: Any, bucket_name: str) -> Any:
        return original(self, bucket_name) or SSE_S3_DEFAULT  # get_bucket raises NoSuchBucket first
    return get_bucket_encryption


_unique_names = {"refused": False}


@contextlib.contextmanager
def existing_names_refused() -> Iterator[None]:
    """SageMaker ``CreateModel``/``CreateEndpointConfig`` refuse a name that exists (patch 16)."""
    previous = _unique_names["refused"]
    _unique_names["refused"] = True
    try:
        yield
    finally:
        _unique_names["refused"] = previous


def _refuse_existing(original: Any, key: str, store: str, what: str, arn: str) -> Any:
    """``original`` (a SageMaker backend ``create_*`` taking the name as ``key``, first) refusing a name
    ``store`` holds (patch 16)."""
    from moto.sagemaker.exceptions import ValidationError

    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        existing = getattr(self, store).get(kwargs[key] if key in kwargs else args[0])
        if existing is not None and _unique_names["refused"]:
            raise ValidationError(message=f'Cannot create already existing {what} "{getattr(existing, arn)}".')
        return original(self, *args, **kwargs)
    return create


def _patch(owner: Any, name: str, replacement: Any) -> None:
    """Set ``owner.<name>`` to ``replacement`` until :func:`_remove_patches`, which puts back what
    ``owner`` itself held (``vars(owner)``; none: the attribute is deleted again, so an inherited one
    shows through as before)."""
    _saved.append((owner, name, vars(owner).get(name)))
    setattr(owner, name, replacement)


def _apply_patches() -> None:
    import moto.core.responses as moto_responses
    from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.iam.models import IAMBackend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.s3.models import S3Backend
    from moto.sagemaker.models import FakeEndpointConfig, SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.servicequotas.responses import ServiceQuotasResponse

    _patch(DomainDispatcherApplication, "get_backend_for_host",
           _route_once_per_host(DomainDispatcherApplication.get_backend_for_host))
    _patch(moto_responses, "method_names_from_class", _names_once_per_class(moto_responses.method_names_from_class))
    for name, wrap in (("update_endpoint_weights_and_capacities",
                        lambda original: _one_capacity_per_call(_weights_with_progress(original))),
                       ("describe_endpoint", _describe_settles),
                       ("start_pipeline_execution", _start_once_per_token)):
        _patch(SageMakerModelBackend, name, wrap(getattr(SageMakerModelBackend, name)))
    _patch(SageMakerModelBackend, "add_tags", _add_tags_overwrites)
    _patch(FakeEndpointConfig, "validate_instance_type",
           _accept_modern_instance_types(FakeEndpointConfig.validate_instance_type))
    _patch(SageMakerResponse, "update_endpoint", _update_endpoint)
    _patch(SageMakerResponse, "delete_model_package", _delete_model_package)
    _patch(SageMakerResponse, "search", _search_pages)
    _patch(SageMakerResponse, "list_pipeline_executions", _list_executions_sorted)
    _patch(ApplicationAutoscalingBackend, "deregister_scalable_target",
           _deregister_deletes_policies(ApplicationAutoscalingBackend.deregister_scalable_target))
    _patch(SageMakerModelBackend, "delete_endpoint", _delete_endpoint_deregisters(SageMakerModelBackend.delete_endpoint))
    _patch(LambdaBackend, "add_permission", _add_permission_measures(LambdaBackend.add_permission))
    _patch(LambdaFunction, "get_code", _concurrency_of_zero(LambdaFunction.get_code))
    _patch(CloudWatchResponse, "put_metric_alarm", _put_alarm_keeps_warm_up(CloudWatchResponse.put_metric_alarm))
    _patch(IAMBackend, "put_role_policy", _put_role_policy_counts(IAMBackend.put_role_policy))
    _patch(ServiceQuotasResponse, "list_aws_default_service_quotas",
           _default_quotas(ServiceQuotasResponse.list_aws_default_service_quotas))
    _patch(ServiceQuotasResponse, "list_service_quotas", _applied_quotas)
    _patch(S3Backend, "get_bucket_encryption", _default_encryption(S3Backend.get_bucket_encryption))
    _patch(FakeEndpointConfig, "__init__", _endpoint_config_arn_a_string(FakeEndpointConfig.__init__))
    _patch(SageMakerModelBackend, "create_model",
           _refuse_existing(SageMakerModelBackend.create_model, "model_name", "_models", "model", "arn"))
    _patch(SageMakerModelBackend, "create_endpoint_config",
           _refuse_existing(SageMakerModelBackend.create_endpoint_config, "endpoint_config_name", "endpoint_configs",
                            "endpoint configuration", "endpoint_config_arn"))
    _action_names.clear()  # classes changed (patch 6)


def _remove_patches() -> None:
    while _saved:
        owner, name, original = _saved.pop()
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _action_names.clear()  # classes changed (patch 6)


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
def running_moto_server(*, keep_alive: bool = False) -> Iterator[str]:
    """Start a patched moto server on 127.0.0.1 (OS-chosen port), yield its URL, stop it.

    ``keep_alive``: connections stay open between requests (see the module contract)."""
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # one line per request otherwise
    with moto_patches():
        try:
            if keep_alive:
                with _keep_alive_server() as url:
                    yield url
            else:
                from moto.moto_server.werkzeug_app import MotoRequestHandler

                with _served(MotoRequestHandler, "moto-server") as (url, _):
                    yield url
        finally:
            access_log.setLevel(level)


def _keep_alive_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class _KeepAliveHandler(MotoRequestHandler):
        """moto's request handler on a connection kept open between requests (module contract)."""

        disable_nagle_algorithm = True  # socketserver.StreamRequestHandler: TCP_NODELAY
        timeout = 60  # an idle connection is closed after this long

        def setup(self) -> None:
            super().setup()
            with self.server.open_lock:
                self.server.open_connections[self.connection] = threading.current_thread()

        def finish(self) -> None:
            with self.server.open_lock:
                self.server.open_connections.pop(self.connection, None)
            super().finish()

        def run_wsgi(self) -> None:
            self.environ = environ = self.make_environ()  # moto's and werkzeug's (chunked bodies de-chunked)
            if environ.get("wsgi.input_terminated"):
                body = environ["wsgi.input"].read()
            else:
                body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            started: list[Any] = []
            chunks: list[bytes] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                started[:] = [status, headers]
                return chunks.append

            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception:  # moto answers its own errors; this is the server's last resort
                logging.getLogger(__name__).exception("moto raised on %s %s", self.command, self.path)
                started[:] = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain")]]
                chunks[:] = [b"moto raised; see the log"]
                self.close_connection = True
            status, headers = started
            code, _, reason = status.partition(" ")
            payload = b"".join(chunks)
            self.send_response(int(code), reason)
            length = None
            for key, value in headers:
                if key.lower() in ("connection", "transfer-encoding"):
                    continue
                if key.lower() == "content-length":
                    length = value
                self.send_header(key, value)
            if length is None:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)

    return _KeepAliveHandler


@contextlib.contextmanager
def _served(handler: type, name: str) -> Iterator[tuple[str, Any]]:
    """moto's application served on 127.0.0.1 (an OS-chosen port) by werkzeug's threaded server with
    ``handler``, as ``ThreadedMotoServer._server_entry`` serves it, polling for the stop request every
    :data:`STOP_POLL` seconds; yields the URL and the server, and stops and joins its thread on exit."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True,
                         request_handler=handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": STOP_POLL}, name=name,
                              daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}", server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextlib.contextmanager
def _keep_alive_server() -> Iterator[str]:
    with _served(_keep_alive_handler(), "moto-keep-alive") as (url, server):
        server.open_connections, server.open_lock = {}, threading.Lock()  # connection -> the thread serving it
        try:
            yield url
        finally:
            server.shutdown()  # no new connection from here (the second shutdown, on exit, returns at once)
            with server.open_lock:
                kept = list(server.open_connections.items())
            for connection, _ in kept:  # wake the threads waiting on idle kept connections: they end
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            for _, serving in kept:
                serving.join(timeout=10)


@dataclass(frozen=True)
class ServerProcess:
    """A moto server in a child process (:func:`moto_server_process`): its URL, its process id and
    what the ``seed`` callable returned there."""

    url: str
    pid: int
    seeded: Any
    _pipe: Any

    def cpu_seconds(self) -> float:
        """The child's CPU time so far (user + system, every thread), as it measures it."""
        self._pipe.send("cpu")
        return float(self._pipe.recv())


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve_in_child(pipe: Any, seed: Callable[[], Any] | None, keep_alive: bool) -> None:
    try:
        with running_moto_server(keep_alive=keep_alive) as url:
            pipe.send(("ready", url, seed() if seed is not None else None))
            while pipe.recv() == "cpu":  # EOFError: the caller is gone
                pipe.send(_own_cpu_seconds())
    except EOFError:
        pass
    except BaseException:
        with contextlib.suppress(OSError):
            pipe.send(("error", traceback.format_exc(), None))


@contextlib.contextmanager
def moto_server_process(seed: Callable[[], Any] | None = None, *, keep_alive: bool = True,
                        timeout: float = 120.0) -> Iterator[ServerProcess]:
    """A patched moto server in a forked child process (see the module contract)."""
    fork = multiprocessing.get_context("fork")
    mine, theirs = fork.Pipe()
    child = fork.Process(target=_serve_in_child, args=(theirs, seed, keep_alive), name="moto-server", daemon=True)
    child.start()
    theirs.close()
    try:
        if not mine.poll(timeout):
            raise TimeoutError(f"the moto server process did not start within {timeout:g}s")
        try:
            kind, detail, seeded = mine.recv()
        except EOFError:
            child.join(timeout=10)
            kind, detail, seeded = "exit", f"it exited before it was ready (exit code {child.exitcode})", None
        if kind != "ready":
            raise RuntimeError(f"the moto server process failed:\n{detail}")
        yield ServerProcess(detail, child.pid, seeded, mine)
    finally:
        with contextlib.suppress(OSError):
            mine.send("stop")
        child.join(timeout=10)
        for end in (child.terminate, child.kill):
            if child.is_alive():
                end()
                child.join(timeout=5)
        mine.close()


def handler_zip() -> bytes:
    """A Lambda code archive of one module, ``h.py``, whose ``handler`` returns None: what
    ``CreateFunction`` needs on the moto server (which never runs it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


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
