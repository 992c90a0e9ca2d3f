"""AWS errors: classify them (throttling, not found), describe them without secrets, and retry
throttled calls with bounded exponential backoff and jitter (:class:`RetryPolicy`).

Contract: :func:`call_with_retry` retries only throttling errors, ``policy.attempts`` tries in
all, then re-raises; :func:`describe_error` returns at most 500 characters with access key ids,
signatures, tokens and secrets scrubbed; :func:`classify` says why a read failed (a cause of
``state.model.READ_FAILURE_CAUSES`` and the AWS error code or exception class), never quoting
the message.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries of one read on throttling: ``attempts`` tries in all, sleeping
    ``min(max_delay, base_delay * 2**n)`` scaled by a jitter in [0.5, 1) between tries.
    ``botocore_max_attempts`` configures botocore's own ``standard`` retry mode."""

    attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0
    botocore_max_attempts: int = 2
    sleep: Callable[[float], None] = time.sleep


THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
     "ThrottledException", "SlowDown"}
)

NOT_FOUND_CODES = frozenset(
    {"NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException", "ResourceNotFoundException",
     "ResourceNotFound", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
     "ServerSideEncryptionConfigurationNotFoundError", "NoSuchLifecycleConfiguration",
     "RepositoryNotFoundException", "ObjectNotFoundException", "404",
     "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "LifecyclePolicyNotFoundException"}
)
"""Error codes that say the resource is gone. SQS's deleted queue answers ``QueueDoesNotExist`` (botocore
``sqs``), coded ``AWS.SimpleQueueService.NonExistentQueue`` for its query-compatible clients (:mod:`.sqs`);
ECR's ``GetLifecyclePolicy`` answers ``LifecyclePolicyNotFoundException`` for a deleted policy, CloudWatch's
``GetDashboard`` ``DashboardNotFoundError``, coded ``ResourceNotFound`` (botocore ``ecr``, ``cloudwatch``)."""

_NOT_FOUND_MESSAGE = re.compile(r"could not find|does not exist|not found", re.IGNORECASE)

_SCRUB = (
    (re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "<access-key-id>"),
    (re.compile(r"(?i)(signature|credential|x-amz-security-token|token)=[^&\s,]+"), r"\1=<redacted>"),
    (re.compile(r"(?i)(aws_secret_access_key|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',]+"), r"\1\2<redacted>"),
)


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` (``""`` for anything else)."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_throttling(error: BaseException) -> bool:
    return error_code(error) in THROTTLING_CODES


def is_not_found(error: BaseException) -> bool:
    """A not-found answer: a known code, or SageMaker's ValidationException "Could not find".

    Errors without a response (botocore's ``ConnectionClosedError`` has ``response = None``) are
    never a not-found answer."""
    code = error_code(error)
    if code in NOT_FOUND_CODES:
        return True
    response = getattr(error, "response", None)
    message = str((response or {}).get("Error", {}).get("Message", "")) if isinstance(response, dict) else ""
    return code == "ValidationException" and bool(_NOT_FOUND_MESSAGE.search(message))


ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "Forbidden", "403",
     "AuthorizationError", "NotAuthorized"})
CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
     "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidSignatureException", "IncompleteSignature",
     "AuthFailure", "InvalidToken", "TokenRefreshRequired"})
SERVER_ERROR_CODES = frozenset(
    {"InternalError", "InternalFailure", "InternalServerError", "InternalServiceError", "ServiceUnavailable",
     "ServiceUnavailableException", "ServiceFailure", "500", "502", "503", "504"})


_BOTOCORE_CAUSES = {
    "NoCredentialsError": "no-credentials", "PartialCredentialsError": "no-credentials",
    "CredentialRetrievalError": "no-credentials", "NoRegionError": "bad-endpoint",
    "EndpointConnectionError": "connection-failed", "ConnectionClosedError": "connection-failed",
    "ProxyConnectionError": "connection-failed", "ConnectionError": "connection-failed",
    "SSLError": "connection-failed", "ReadTimeoutError": "timeout", "ConnectTimeoutError": "timeout",
    "DeadlineExceeded": "timeout",
}


def classify(error: BaseException) -> tuple[str, str]:
    """(cause, code) of a failed read: the cause is a key of ``state.model.READ_FAILURE_CAUSES``; the code is the AWS
    error code (``AccessDenied``) or the exception class (``EndpointConnectionError``). Never the
    error's message, which may quote a key."""
    code = error_code(error)
    if code:
        if code in THROTTLING_CODES:
            return "throttled", code
        if code in ACCESS_DENIED_CODES:
            return "access-denied", code
        if code in CREDENTIAL_CODES:
            return "credentials-rejected", code
        status = (getattr(error, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in SERVER_ERROR_CODES or (isinstance(status, int) and status >= 500):
            return "server-error", code
        if isinstance(status, int) and status == 403:
            return "access-denied", code
        return "other", code
    name = type(error).__name__
    if name in _BOTOCORE_CAUSES:
        return _BOTOCORE_CAUSES[name], name
    if isinstance(error, ValueError) and "endpoint" in str(error).lower():
        return "bad-endpoint", name
    for base in type(error).__mro__:
        if base.__name__ in _BOTOCORE_CAUSES:
            return _BOTOCORE_CAUSES[base.__name__], name
    return "other", name


def describe_error(error: BaseException) -> str:
    """A short, secret-free message for ``LiveState.errors``."""
    code = error_code(error)
    if code:
        message = str(error.response.get("Error", {}).get("Message", ""))  # type: ignore[attr-defined]
        text = f"{code}: {message}" if message else code
    else:
        text = f"{type(error).__name__}: {error}"
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text[:500]


def call_with_retry(call: Callable[[], Any], policy: RetryPolicy, stop: Callable[[], bool] = lambda: False) -> Any:
    """``call()``, retried on throttling errors up to ``policy.attempts`` tries in all (no retry
    once ``stop()`` says the scan's deadline passed)."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as error:
            if not is_throttling(error) or attempt == policy.attempts - 1 or stop():
                raise
            delay = min(policy.max_delay, policy.base_delay * 2**attempt)
            policy.sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable (this is a bug in mlops-infra)")
