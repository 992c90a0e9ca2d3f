"""The error vocabulary of the Kubernetes client layer.

Callers branch on the type, never on a message: a rollout driver treats :class:`KubeConflict` as
"another reconciler acted first; observe again", live state treats :class:`KubeNotFound` as
"deleted", a preflight reports :class:`KubeUnreachable` and :class:`KubeForbidden` as setup problems.
Every class is a :class:`~mlops_infra.errors.UserError`, so one that escapes to the CLI prints a clear
message (what was asked, what the server said, how to fix it) and exits 1.

The mapping follows the apiserver's ``Status`` reasons ("API Concepts",
https://kubernetes.io/docs/reference/using-api/api-concepts/, and ``k8s.io/apimachinery/pkg/api/errors``):
401/403 Forbidden, 404 NotFound, 409 with reason ``AlreadyExists`` vs ``Conflict`` (a stale
``resourceVersion``), 400/415/422 Invalid, 429 and 5xx server errors (retried first), and no HTTP
answer at all (connection refused, DNS, TLS, timeout) Unreachable.
"""

from __future__ import annotations

from typing import Any

from mlops_infra.errors import UserError


class KubeError(UserError):
    """A Kubernetes API request failed. ``status`` is the HTTP code (None: no answer), ``reason`` the
    Status reason, ``message`` the server's message, ``request`` what was asked (``"patch
    inferenceservices/scorer in fraud-dev"``)."""

    def __init__(self, summary: str, detail: str = "", *, status: int | None = None, reason: str = "",
                 message: str = "", request: str = "") -> None:
        super().__init__(summary, detail)
        self.status, self.reason, self.message, self.request = status, reason, message, request


class KubeUnreachable(KubeError):
    """No answer from the API server (refused, unresolvable, TLS failure, timeout), after retries."""


class KubeForbidden(KubeError):
    """401 (credentials not accepted) or 403 (RBAC does not allow the verb)."""


class KubeNotFound(KubeError):
    """404: the object does not exist, or (``type_missing``) the API server does not serve the resource
    type at all (its CRD is not installed)."""

    @property
    def type_missing(self) -> bool:
        return self.message == "the server could not find the requested resource"


class KubeConflict(KubeError):
    """409 Conflict: the object changed since the ``resourceVersion`` the write was based on."""


class KubeAlreadyExists(KubeError):
    """409 AlreadyExists: a create found an object of that name."""


class KubeInvalid(KubeError):
    """400, 415 or 422: the server refused the request itself (a bad body, field or patch)."""


class KubeServerError(KubeError):
    """429 or 5xx that persisted through the retries."""


_FIXES: dict[type[KubeError], str] = {
    KubeUnreachable: "Check that the cluster is running and that the kubeconfig context points at it "
                     "(`kubectl --context <context> version`).",
    KubeForbidden: "Check the credentials of the kubeconfig context (or the pod's service account) and that "
                   "their RBAC Role allows this verb on this resource.",
    KubeNotFound: "",
    KubeConflict: "Another writer changed the object first; read it again and retry.",
    KubeAlreadyExists: "",
    KubeInvalid: "This is likely a bug in mlops-infra if the object came from the compiler; please report it.",
    KubeServerError: "The API server kept failing; try again later.",
}


def from_status(status: int, body: Any, request: str) -> KubeError:
    """The :class:`KubeError` for an HTTP error answer whose body is (usually) a ``Status`` object."""
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    message = body.get("message", "") if isinstance(body, dict) else str(body or "")[:300]
    kind: type[KubeError]
    if status in (401, 403):
        kind = KubeForbidden
    elif status == 404:
        kind = KubeNotFound
        if message == "the server could not find the requested resource":
            message_fix = "The API server does not serve this resource type: install its CRD (or the operator that "
            return KubeNotFound(f"Kubernetes API: cannot {request}: the resource type is not served", message_fix
                                + "provides it) in the cluster.", status=status, reason=reason, message=message,
                                request=request)
    elif status == 409:
        kind = KubeAlreadyExists if reason == "AlreadyExists" else KubeConflict
    elif status in (400, 415, 422):
        kind = KubeInvalid
    else:
        kind = KubeServerError
    detail = "\n".join(part for part in (f"The server answered {status} {reason}: {message}".rstrip(": "),
                                         _FIXES[kind]) if part)
    return kind(f"Kubernetes API: cannot {request}", detail, status=status, reason=reason, message=message,
                request=request)


def unreachable(host: str, request: str, cause: BaseException) -> KubeUnreachable:
    reason = type(cause).__name__
    text = str(cause).splitlines()[0][:300] if str(cause) else reason
    return KubeUnreachable(f"Kubernetes API at {host} is not reachable (cannot {request})",
                           f"{reason}: {text}\n{_FIXES[KubeUnreachable]}", reason=reason, message=text,
                           request=request)
