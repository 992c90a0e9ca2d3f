"""KubeClient: every Kubernetes API request of mlops-infra, with bounded retries and typed errors.

Contract:
- Requests go through the ``kubernetes`` Python client's ``ApiClient.call_api`` (its authentication
  from kubeconfig or the service account, TLS and connection pool), on the REST paths of
  :mod:`mlops_infra.kube.resources`, as plain JSON dicts (no generated model classes, so custom
  resources and built-in kinds are handled alike).
- Every request has a (connect, read) timeout and is retried at most ``RetryPolicy.attempts`` times in
  all, with capped exponential backoff and jitter (``Retry-After`` honoured up to the cap), on: no
  answer (connection refused, reset, timeout) and 429/500/502/503/504. A POST is not retried once the
  request may have reached the server (a reset or read timeout), so a create never runs twice. What
  still fails raises a :class:`~mlops_infra.kube.errors.KubeError` subclass.
- Optimistic concurrency: :meth:`KubeClient.patch` with ``resource_version`` puts that version into
  the patch (``metadata.resourceVersion``; for a JSON patch a ``replace`` of that path), which the
  apiserver treats as a precondition: 409 Conflict -> :class:`KubeConflict` when the object moved on
  ("Concurrency control and consistency", https://kubernetes.io/docs/reference/using-api/api-concepts/
  and ``staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go``). :meth:`KubeClient.update`
  is the read-modify-write loop that retries on Conflict; a level-triggered controller that must not
  act on a stale observation uses :meth:`patch` with ``resource_version`` and re-observes instead.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.kube import errors
from mlops_infra.kube.config import ConnectOptions, configuration, kubernetes_module
from mlops_infra.kube.resources import ResourceType
from mlops_infra.kube.resources import of as type_of

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """At most ``attempts`` tries per request; waits ``base_delay * 2**n`` (jittered, at most ``max_delay``)."""

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(float(retry_after), self.max_delay)
        return min(self.max_delay, self.base_delay * 2 ** attempt) * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)


class KubeClient:
    """One cluster's API. Build it with :meth:`connect` (kubeconfig/in-cluster) or :meth:`from_url`."""

    def __init__(self, api_client: Any, *, retry: RetryPolicy = RetryPolicy(),
                 timeout: tuple[float, float] = (5.0, 30.0), sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_client = api_client
        self.host = api_client.configuration.host
        self.retry, self.timeout, self._sleep = retry, timeout, sleep
        self._kubernetes = kubernetes_module()
        import urllib3

        self._urllib3 = urllib3

    @classmethod
    def connect(cls, options: ConnectOptions = ConnectOptions(), **kwargs: Any) -> KubeClient:
        """A client for the cluster ``options`` names (see :mod:`mlops_infra.kube.config`)."""
        kubernetes = kubernetes_module()
        return cls(kubernetes.client.ApiClient(configuration(options)), timeout=options.timeout, **kwargs)

    @classmethod
    def from_url(cls, url: str, token: str | None = None, **kwargs: Any) -> KubeClient:
        """A client for the API server at ``url`` (bearer ``token`` if given); reads no kubeconfig."""
        timeout = kwargs.pop("timeout", (5.0, 30.0))
        return cls.connect(ConnectOptions(url=url, token=token, timeout=timeout), **kwargs)

    def close(self) -> None:
        self.api_client.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request path ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, what: str, query: Iterable[tuple[str, str]] = (),
                body: Any = None, content_type: str = "application/json",
                headers: Mapping[str, str] | None = None) -> Any:
        """One API request with retries; returns the parsed JSON answer. ``what`` names it in errors;
        ``headers`` are sent as well (a service proxy request's ``Host``: ``state/mlflow_registry.py``)."""
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            try:
                response = self.api_client.call_api(
                    path, method, query_params=list(query), body=body, auth_settings=["BearerToken"],
                    header_params={"Content-Type": content_type, "Accept": "application/json", **(headers or {})},
                    _preload_content=False, _return_http_data_only=True, _request_timeout=self.timeout)
                return _json(response.data)
            except self._kubernetes.client.ApiException as exc:
                if exc.status in RETRY_STATUSES and not last:
                    self._sleep(self.retry.delay(attempt, (exc.headers or {}).get("Retry-After")))
                    continue
                if not exc.status:  # rest.py wraps TLS errors as status 0
                    raise errors.unreachable(self.host, what, exc) from exc
                raise errors.from_status(exc.status, _json(exc.body, lenient=True), what) from exc
            except self._urllib3.exceptions.HTTPError as exc:
                may_have_arrived = not isinstance(exc, self._urllib3.exceptions.NewConnectionError |
                                                  self._urllib3.exceptions.ConnectTimeoutError)
                if last or (method == "POST" and may_have_arrived):
                    raise errors.unreachable(self.host, what, exc) from exc
                self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable: the retry loop always returns or raises")  # pragma: no cover

    def version(self) -> dict[str, Any]:
        """``GET /version``: the server's version (a cheap reachability check)."""
        return self.request("GET", "/version", what="read the server version")

    # -- verbs ---------------------------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.request("GET", rtype.path(namespace, name), what=f"get {rtype.describe(name, namespace)}")

    def get_or_none(self, rtype: ResourceType, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The object, or None when it does not exist (a missing resource type still raises)."""
        try:
            return self.get(rtype, name, namespace)
        except errors.KubeNotFound as exc:
            if exc.type_missing:
                raise
            return None

    def list(self, rtype: ResourceType, namespace: str | None = None, *, label_selector: str | None = None,
             field_selector: str | None = None) -> list[dict[str, Any]]:
        """Every object of ``rtype`` (in ``namespace``, or all namespaces when None) matching the selectors."""
        query = [(k, v) for k, v in (("labelSelector", label_selector), ("fieldSelector", field_selector)) if v]
        answer = self.request("GET", rtype.path(namespace), query=query, what=f"list {rtype.describe(None, namespace)}")
        items = answer.get("items") or []
        for item in items:  # list items omit apiVersion/kind on a real server
            item.setdefault("apiVersion", rtype.api_version)
            item.setdefault("kind", rtype.kind)
        return items

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        rtype = type_of(obj)
        namespace = namespace or (obj.get("metadata") or {}).get("namespace")
        name = (obj.get("metadata") or {}).get("name") or (obj.get("metadata") or {}).get("generateName", "")
        return self.request("POST", rtype.path(namespace), body=obj, what=f"create {rtype.describe(name, namespace)}")

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """PUT the whole object; its ``metadata.resourceVersion`` (if set) guards the write."""
        rtype, meta = type_of(obj), obj.get("metadata") or {}
        return self.request("PUT", rtype.path(meta.get("namespace"), meta["name"]), body=obj,
                            what=f"replace {rtype.describe(meta['name'], meta.get('namespace'))}")

    def patch(self, rtype: ResourceType, name: str, namespace: str | None, patch: dict[str, Any] | list[dict[str, Any]],
              *, resource_version: str | None = None, subresource: str | None = None,
              field_manager: str | None = None) -> dict[str, Any]:
        """Merge-patch (a dict, RFC 7386) or JSON-patch (a list of operations, RFC 6902) one object.

        With ``resource_version`` the write applies only if the object still has that version, else
        :class:`~mlops_infra.kube.errors.KubeConflict` (see the module contract). ``field_manager``
        names the writer in the object's ``managedFields`` (the ``fieldManager`` query parameter,
        optional for a non-apply patch; without it the API server takes the client's user agent)."""
        if isinstance(patch, list):
            content, body = JSON_PATCH, list(patch)
            if resource_version is not None:
                body.append({"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version})
        else:
            content, body = MERGE_PATCH, dict(patch)
            if resource_version is not None:
                body["metadata"] = {**(body.get("metadata") or {}), "resourceVersion": resource_version}
        return self.request("PATCH", rtype.path(namespace, name, subresource), body=body, content_type=content,
                            query=[("fieldManager", field_manager)] if field_manager else (),
                            what=f"patch {rtype.describe(name, namespace)}")

    def delete(self, rtype: ResourceType, name: str, namespace: str | None = None, *,
               resource_version: str | None = None) -> None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version is not None:
            body["preconditions"] = {"resourceVersion": resource_version}
        self.request("DELETE", rtype.path(namespace, name), body=body, what=f"delete {rtype.describe(name, namespace)}")

    def update(self, rtype: ResourceType, name: str, namespace: str | None,
               mutate: Callable[[dict[str, Any]], dict[str, Any] | None], *, attempts: int = 5) -> dict[str, Any] | None:
        """Read-modify-write: ``mutate(current)`` returns a merge patch (None: nothing to do), applied with
        the read ``resourceVersion``; on Conflict, read again and retry (at most ``attempts`` times).
        Returns the written object, or None when ``mutate`` had nothing to do."""
        for attempt in range(attempts):
            current = self.get(rtype, name, namespace)
            change = mutate(current)
            if change is None:
                return None
            try:
                return self.patch(rtype, name, namespace, change,
                                  resource_version=current["metadata"]["resourceVersion"])
            except errors.KubeConflict:
                if attempt == attempts - 1:
                    raise
        return None  # pragma: no cover


def _json(data: Any, *, lenient: bool = False) -> Any:
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8", errors="replace")
    if not data:
        return {}
    if not isinstance(data, str):
        return data
    try:
        return json.loads(data)
    except ValueError:
        if lenient:
            return data
        raise
