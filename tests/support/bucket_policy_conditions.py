"""A test-only evaluator of this project's bucket-policy Deny statements against one S3 request (audit datasources-4).

Why it exists: moto stores a bucket policy but does not evaluate it (moto 5.2 ``moto/iam/access_control.py``:
"TODO add support for resource-based policies"; its request condition values hold only ``sts:ExternalId``,
``moto/iam/utils.py`` ``format_incoming_conditional_values``), and no IAM policy simulator is installed. So this
module decides, for the statements :mod:`mlops_infra.compile.aws.policies` writes and nothing more, which Deny
statements match a request. It is not an IAM engine: Deny statements only; ``Principal: "*"``; ``Action`` and
``Resource`` matched with ``*`` wildcards, ``NotResource`` as every resource that matches none of its patterns
("explicitly matches every resource except those specified", IAM User Guide, "IAM JSON policy elements:
NotResource"); operators ``Null``, ``Bool``, ``StringEquals``, ``StringNotEquals``,
``NumericLessThan`` on single-valued keys; an unknown operator raises.

Semantics (IAM User Guide, "IAM JSON policy elements: Condition operators"): every operator of a statement's
``Condition`` must hold (AND); a key absent from the request makes a positive operator false and a negated one
(``StringNotEquals``) true ("If the policy condition requires that the key is not matched ... and the right key is
not present, the condition is true"); ``Null: "true"`` holds when the key is absent, ``"false"`` when present.

Identity policies (audit iam): :func:`allowed_by` answers which Allow statements of a compiled role policy
allow one request, for the operators those policies use (``StringEquals``, ``StringLike``, ``ArnLike``,
``Bool``, ``Null``; a value list matches when any value does), by the same rule: a key absent from the request
context makes a positive operator false (moto does not enforce IAM either). Resources that are refs (the
compiler's ``{"$ref": urn, "output": ...}``) are matched as the text :func:`ref_text` gives them.

The request context of a PutObject comes from its botocore parameters, mapped through the botocore ``s3``
``PutObjectRequest`` shape's header names (``ServerSideEncryption`` -> ``x-amz-server-side-encryption`` ->
condition key ``s3:x-amz-server-side-encryption``), or from the HTTP headers a real boto3 call sent.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import botocore.session

_HEADERS = ("ServerSideEncryption", "SSEKMSKeyId", "SSECustomerAlgorithm")


def _header_names() -> dict[str, str]:
    shape = botocore.session.get_session().get_service_model("s3").shape_for("PutObjectRequest")
    return {name: shape.members[name].serialization["name"].lower() for name in _HEADERS}


HEADER_OF = _header_names()
"""PutObject parameter -> its HTTP header (lowercase), from the botocore shape."""


def put_context(params: dict[str, Any] | None = None, *, tls: str = "1.3", secure: bool = True) -> dict[str, str]:
    """The condition keys of a PutObject with botocore ``params`` over TLS ``tls``."""
    headers = {HEADER_OF[name]: value for name, value in (params or {}).items() if name in HEADER_OF}
    return headers_context(headers, tls=tls, secure=secure)


def headers_context(headers: dict[str, str], *, tls: str = "1.3", secure: bool = True) -> dict[str, str]:
    """The condition keys of a request that sent ``headers`` (names any case): each ``x-amz-server-side-*``
    header as ``s3:<header>``, plus ``aws:SecureTransport`` and ``s3:TlsVersion``."""
    context = {f"s3:{name.lower()}": value.decode() if isinstance(value, bytes) else str(value)
               for name, value in headers.items()
               if name.lower().startswith("x-amz-server-side-encryption")}
    context.update({"aws:SecureTransport": "true" if secure else "false", "s3:TlsVersion": tls})
    return context


def denied_by(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> list[str]:
    """The Sids of the Deny statements of ``policy`` that match ``action`` on ``resource`` with ``context``."""
    return [s.get("Sid", "") for s in policy["Statement"]
            if s["Effect"] == "Deny" and s.get("Principal") == "*" and _matches(s["Action"], action)
            and (_matches(s["Resource"], resource) if "Resource" in s else not _matches(s["NotResource"], resource))
            and _holds(s.get("Condition", {}), context)]


def _matches(patterns: str | list[str], value: str) -> bool:
    return any(fnmatchcase(value, p) for p in ([patterns] if isinstance(patterns, str) else patterns))


def _holds(condition: dict[str, dict[str, str]], context: dict[str, str]) -> bool:
    return all(_operator(op, key, expected, context.get(key))
               for op, tests in condition.items() for key, expected in tests.items())


def _operator(op: str, key: str, expected: str, actual: str | None) -> bool:
    if op == "Null":
        return (actual is None) == (expected == "true")
    if op == "StringNotEquals":
        return actual is None or actual != expected
    if actual is None:
        return False  # a positive operator on an absent key
    if op in ("StringEquals", "Bool"):
        return actual == expected
    if op == "NumericLessThan":
        return float(actual) < float(expected)
    raise AssertionError(f"{op} ({key}) is outside what this test evaluator models")


def ref_text(value: Any) -> str:
    """A policy value as text: a string as is, a compiler ref as ``ref:<urn>:<output>``."""
    return value if isinstance(value, str) else f"ref:{value['$ref']}:{value['output']}"


def allowed_by(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> list[str]:
    """The Sids of the Allow statements of the identity ``policy`` that allow ``action`` on ``resource`` with the
    request ``context`` (module docstring)."""
    return [s.get("Sid", "") for s in policy["Statement"]
            if s["Effect"] == "Allow" and _matches(s["Action"], action)
            and _matches([ref_text(r) for r in s["Resource"]], resource)
            and all(_allow_operator(op, key, expected, context.get(key))
                    for op, tests in s.get("Condition", {}).items() for key, expected in tests.items())]


def _allow_operator(op: str, key: str, expected: Any, actual: str | None) -> bool:
    values = [ref_text(v) for v in (expected if isinstance(expected, list) else [expected])]
    if op == "Null":
        return (actual is None) == (values[0] == "true")
    if actual is None:
        return False  # a positive operator on an absent key
    if op in ("StringEquals", "Bool"):
        return actual in values
    if op in ("StringLike", "ArnLike"):
        return _matches(values, actual)
    raise AssertionError(f"{op} ({key}) is outside what this test evaluator models")
