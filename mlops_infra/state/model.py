"""What we know about resources that exist: from a Pulumi state file (prior) or the cloud (live).

Contract:
- :class:`StateResource` mirrors a resource in a Pulumi checkpoint, leniently: unknown fields are
  ignored, missing ones default. ``inputs``/``outputs`` are as Pulumi stored them (camelCase names,
  secrets as ``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ...}``).
- :class:`PriorState` is a whole stack's last applied state. ``serial`` identifies that exact state
  (a SHA-256 of its canonical JSON) so a saved plan can refuse to apply after it moved.
- :class:`LiveState` is what the cloud says now, in the same shape, keyed by the same URNs; a URN in
  ``missing`` was looked for and is gone; ``errors`` are reads that failed (permission, throttling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARKER = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True, slots=True)
class StateResource:
    """One resource as recorded in state (or read live)."""

    urn: str
    type: str
    custom: bool = True
    id: str | None = None
    parent: str | None = None
    provider: str | None = None
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    protect: bool = False


@dataclass(frozen=True, slots=True)
class PriorState:
    """A stack's last applied state."""

    source: str
    version: int
    serial: str
    project: str | None
    stack: str | None
    resources: dict[str, StateResource]
    secrets_provider: str | None = None
    pending_operations: int = 0
    malformed_urns: tuple[str, ...] = ()
    """``resources[i] "urn"``/``"parent"`` entries that are not engine URNs (see ``check_integrity``)."""

    @classmethod
    def empty(cls, project: str | None = None, stack: str | None = None) -> PriorState:
        """No state yet (a stack never applied)."""
        return cls("(no state)", 3, "0" * 64, project, stack, {})


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the cloud says now, for the resources that were looked for."""

    resources: dict[str, StateResource]
    missing: frozenset[str] = frozenset()
    errors: dict[str, str] = field(default_factory=dict)
    failures: dict[str, tuple[str, str]] = field(default_factory=dict)
    """URN -> (cause, code) of each failed read (``state.aws_live.retry.classify``): the plan
    groups unread resources by cause. ``errors`` keeps the scrubbed message for logs."""


READ_FAILURE_CAUSES: dict[str, str] = {
    "access-denied": "access denied: grant the credentials the read actions of these types (docs/plan.md, section Refresh)",
    "credentials-rejected": "the credentials were rejected (expired, revoked or for another partition): "
                            "refresh them (`aws sts get-caller-identity` shows which are used)",
    "no-credentials": "no AWS credentials were found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                      "AWS_SECRET_ACCESS_KEY, or run where an instance or task role applies",
    "throttled": "throttled by AWS past the retries: run again later, or lower the request rate",
    "server-error": "AWS answered with a server error: run again later (https://health.aws.amazon.com)",
    "connection-failed": "the connection failed (refused, reset or closed without an answer): check the "
                         "network, a proxy, and AWS_ENDPOINT_URL",
    "timeout": "no answer in time: check the network, a proxy, and AWS_ENDPOINT_URL; "
               "--refresh-timeout sets the deadline",
    "bad-endpoint": "the endpoint URL is not a URL: check AWS_ENDPOINT_URL",
    "other": "the read failed: run again with MLOPS_INFRA_DEBUG=1 for details",
    "kubernetes-forbidden": "the Kubernetes API refused the read (401/403): give the kubeconfig context's user "
                            "get on these kinds in the namespace (`kubectl auth can-i get <kind> -n <namespace>`)",
    "kubernetes-unreachable": "the Kubernetes API server did not answer, or there is no usable kubeconfig context: "
                              "check the environment's context (`kubectl --context <context> get ns`), the network "
                              "and a proxy; --refresh-timeout sets the deadline",
    "kubernetes-type-missing": "the cluster no longer serves these kinds (their CRD is not installed): install the "
                               "operator that provides them (the cluster preflight above names it)",
    "kubernetes-server-error": "the Kubernetes API server answered with a server error: run again later",
}
"""Why a live read failed -> what to do. The plan groups unread resources by these causes."""
