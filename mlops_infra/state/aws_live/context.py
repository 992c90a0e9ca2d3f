"""What the readers of one scan share across worker threads: :class:`ScanContext` (boto3 clients
per service and region, per-scan memos, the retry policy) and the client helpers
:func:`paginate` and :func:`region_of`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mlops_infra.state.aws_live.retry import RetryPolicy


class _Once:
    """A value computed once, by the first caller; concurrent callers wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None

    def get(self, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._done:
                self._value = compute()
                self._done = True
            return self._value


class ScanContext:
    """Per-scan shared state: boto3 clients per (service, region), each created once, lazily (boto3
    clients are thread safe, sessions are not: clients are made one at a time, while workers whose
    client exists go on reading; all threads share one session and its clients), memos for list
    calls that serve many resources (KMS aliases, IAM role listings), and :meth:`calls`: the API
    calls made so far by its clients (botocore's ``before-call`` event; 0 for clients without
    ``meta.events``), which the scan's concurrency limit measures."""

    def __init__(self, session_factory: Callable[[], Any], endpoint_url: str | None, config: Any,
                 retry: RetryPolicy) -> None:
        self._session_factory = session_factory
        self._session: Any = None
        self._endpoint_url = endpoint_url
        self._config = config
        self.retry = retry
        self._lock = threading.Lock()
        self._session_lock = threading.Lock()
        self._clients: dict[tuple[str, str], _Once] = {}
        self._memos: dict[Any, _Once] = {}
        self._calls = 0
        self._calls_lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            once = self._clients.setdefault((service, region), _Once())
        return once.get(lambda: self._new_client(service, region))

    def _new_client(self, service: str, region: str) -> Any:
        with self._session_lock:
            if self._session is None:
                self._session = self._session_factory()
            client = self._session.client(service, region_name=region, endpoint_url=self._endpoint_url,
                                          config=self._config)
        events = getattr(getattr(client, "meta", None), "events", None)
        if events is not None and hasattr(events, "register"):
            events.register("before-call", self._count_call)
        return client

    def _count_call(self, **_: Any) -> None:
        with self._calls_lock:
            self._calls += 1

    def calls(self) -> int:
        """API calls made so far through this context's clients."""
        return self._calls

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        with self._lock:
            once = self._memos.setdefault(key, _Once())
        return once.get(compute)


def region_of(client: Any) -> str:
    """The region a boto3 client was made for (``""`` when it has none)."""
    return str(getattr(getattr(client, "meta", None), "region_name", "") or "")


def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across the pages of ``operation``."""
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**kwargs):
        items.extend(page.get(key, []))
    return items
