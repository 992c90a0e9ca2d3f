"""AWS errors: classify them (throttling, not found), describe them without secrets, and retry
throttled calls with bounded exponential backoff and jitter (:class:`RetryPolicy`).

Contract: :func:`call_with_retry` retries only throttling errors, ``policy.attempts`` tries in
all, then re-raises; :func:`describe_error` returns at most 500 characters with access key ids,
signatures, tokens and secrets scrubbed.
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

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 8.0
    botocore_max_attempts: int = 3
    sleep: Callable[[float], None] = time.sleep


THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
     "ThrottledException", "SlowDown"}
)

NOT_FOUND_CODES = frozenset(
    {"NoSuchBucket", "NoSuchEntity", "NotFound", "NotFoundException", "ResourceNotFoundException",
     "ResourceNotFound", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
     "ServerSideEncryptionConfigurationNotFoundError", "NoSuchLifecycleConfiguration",
     "RepositoryNotFoundException", "ObjectNotFoundException", "404"}
)

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
    """A not-found answer: a known code, or SageMaker's ValidationException "Could not find"."""
    code = error_code(error)
    if code in NOT_FOUND_CODES:
        return True
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return code == "ValidationException" and bool(_NOT_FOUND_MESSAGE.search(message))


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


def call_with_retry(call: Callable[[], Any], policy: RetryPolicy) -> Any:
    """``call()``, retried on throttling errors up to ``policy.attempts`` tries in all."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as error:
            if not is_throttling(error) or attempt == policy.attempts - 1:
                raise
            delay = min(policy.max_delay, policy.base_delay * 2**attempt)
            policy.sleep(delay * (0.5 + random.random() / 2))
    raise AssertionError("unreachable (this is a bug in mlops-infra)")
