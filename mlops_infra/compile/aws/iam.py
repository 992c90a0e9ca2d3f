"""IAM roles with one inline least-privilege policy each.

Contract: :func:`add_role` adds an ``aws:iam/role:Role`` (explicit physical name, service trust
limited to this account where the service supports it) and, when given statements, one ``aws:iam/rolePolicy:RolePolicy`` holding
them; it returns the role URN. No managed policies are attached (AWS managed policies such as
AmazonSageMakerFullAccess grant ``"*"`` resources). Role names are at most 64 characters.

**The policy always fits IAM's quota.** "Role policy size cannot exceed 10,240 characters", the sum of
a role's inline policies, and "IAM doesn't count white space" (IAM User Guide, "IAM and AWS STS
quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html); ``PutRolePolicy``
over it fails with ``LimitExceeded`` ("Maximum policy size of 10240 bytes exceeded for role <name>",
the wording AWS's knowledge-center article "iam-increase-policy-size" quotes). Policies that list one
ARN per endpoint, monitor or job (the rollout runner's, the pipelines' and the scheduler's roles) pass
it at a few dozen items, and the first ``pulumi up`` would fail. So :func:`add_role` counts the
policy as IAM does (:func:`policy_characters`: the JSON without white space, each ref counted as the
ARN it resolves to, :func:`mlops_infra.compile.aws.arns.resource_arn`) and, only when it is over
:data:`ROLE_POLICY_CHARACTERS`, widens it (:func:`widened`): in each statement, two or more resources
whose ARNs name this environment's resources (physical names start with ``<system>-<env>-``,
:meth:`AwsContext.name`) become one ARN ending in that prefix and ``*``
(``arn:aws:sagemaker:<r>:<a>:endpoint/<system>-<env>-*``). The widened policy grants the same actions
on this environment's resources of the same kind; it never reaches another environment's or
another system's resources, unless their names start with the same prefix (a system named
``<system>-<env>...``). A policy still over the quota is a :class:`UserError` naming the role. A
policy under the quota is left exactly as given: least privilege where it fits. (No role reads the
images of many repositories any more: the pipelines role's image read was not needed by the
RegisterModel step, ``CreateModelPackage``, and named the training images, not the registered ones,
audit iam-3; so there is no image-repository widening.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from sys import intern
from typing import Any

import orjson

from mlops_infra.compile.aws import arns, policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.errors import UserError
from mlops_infra.graph import is_ref, json_of, ref

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SAGEMAKER = "sagemaker.amazonaws.com"
ROLE_POLICY_CHARACTERS = 10_240
"""IAM's quota on the characters of a role's inline policies, white space not counted (module contract)."""
UNKNOWN_ARN_CHARACTERS = 2_048
"""What a ref to a resource whose ARN :func:`arns.resource_arn` cannot spell counts for: the longest
ARN IAM takes (botocore ``iam`` ``arnType``: at most 2,048 characters), so also a bound on any ARN a
ref resolves to (tests/compile/aws/test_aws_iam_size.py checks that every ref in the examples' and
generated specs' role policies is spelled, so none counts this much in practice)."""
SHORTEST_ARN_CHARACTERS = 20
"""The shortest ARN IAM takes (botocore ``iam`` ``arnType``: at least 20 characters)."""
SOURCE_ACCOUNT_SERVICES = frozenset({SAGEMAKER, "events.amazonaws.com", "scheduler.amazonaws.com"})
"""Services that send ``aws:SourceAccount`` when assuming a role (their confused-deputy guidance
says to check it). Lambda does not: a ``StringEquals`` on a missing key denies, so a Lambda
execution role conditioned on it could never be assumed."""


@dataclass(frozen=True)
class RoleSpec:
    """A role to add: logical name, physical name parts, trusted services, description."""

    logical: str
    name_parts: tuple[str, ...]
    services: tuple[str, ...]
    description: str


def role_urn(aws: AwsContext, spec: RoleSpec, parent: str) -> str:
    return aws.urn(ROLE, spec.logical, parent)


def policy_urn(aws: AwsContext, spec: RoleSpec, parent: str) -> str:
    return aws.urn(ROLE_POLICY, f"{spec.logical}-policy", parent)


def add_role(aws: AwsContext, spec: RoleSpec, statements: list, *, parent: str, address: str) -> str:
    """Add the role and its inline policy (when ``statements`` has any); return the role URN.

    ``statements`` are :func:`policies.allow`'s (or None): their refs are in ``Resource`` and
    ``Condition`` only (``Sid``, ``Effect`` and ``Action`` are text), so only those are searched
    for the policy's dependencies (``refs_in``, :meth:`GraphBuilder.add`)."""
    role = aws.add(ROLE, spec.logical, {
        "name": aws.name(*spec.name_parts, max_len=64),
        "description": spec.description,
        "assumeRolePolicy": aws.once((ROLE, spec.services), lambda: _trust_policy(aws, spec.services)),
        "maxSessionDuration": 3600,
    }, parent=parent, address=address, role="role", refs_in=())  # names and a trust policy: no refs
    granted = [s for s in statements if s]
    if granted:
        role_id = ref(role, "id")
        document, text, refs = _fitted(aws, spec, policies.document(*granted))
        found = _text_ref_urns(text, refs)
        aws.add(ROLE_POLICY, f"{spec.logical}-policy", {
            "name": "least-privilege",
            "role": role_id,
            "policy": json_of(document),
        }, parent=parent, address=address, role="role-policy",
            refs_in=role_id if found is not None else [
                role_id, *[s["Resource"] for s in document["Statement"]],
                *[s["Condition"] for s in document["Statement"] if "Condition" in s]],
            depends_on=found or ())
    return role


def _text_ref_urns(text: bytes, refs: int) -> list[str] | None:
    """The URN of every ref in the policy document whose compact JSON (orjson's) is ``text``, read from that
    text, which :func:`fits` writes anyway (the document's refs, made by :func:`~mlops_infra.graph.ref`, are the
    dependencies of its RolePolicy: given as its ``depends_on``, they make the dependencies that searching the
    document for refs makes, without a search through every statement); ``refs`` is how many ``"$ref"`` the text
    holds (:func:`fits` counts them). None when one of them is not a ref as :data:`_URN_REF_TEXT` reads one
    (another object or text holding ``$ref``), or the text has an escaped character (a backslash: in a URN it
    would end the reading early): then the document is searched."""
    if text.find(b"\\") >= 0:  # not ``in``: bytes containment first tries its operand as an integer (graph.canonical_json)
        return None
    found = _URN_REF_TEXT.findall(text)
    if len(found) != refs:
        return None
    return [intern(urn.decode()) for urn in found]


_URN_REF_TEXT = re.compile(rb'\{"\$ref":"([^"]*)","output":"[^"]*"\}')
"""A ref as orjson writes :func:`mlops_infra.graph.ref`'s dict (:data:`_REF_TEXT`), in a text without an escaped
character: its URN, as the text's bytes (UTF-8)."""


def _trust_policy(aws: AwsContext, services: tuple[str, ...]) -> dict[str, Any]:
    """The ``assumeRolePolicy`` of a role trusting ``services``, limited to this account when every one
    sends ``aws:SourceAccount`` (:data:`SOURCE_ACCOUNT_SERVICES`); made once per compile and services
    (:meth:`AwsContext.once`)."""
    return json_of(policies.trust(*services, account=aws.account if set(services) <= SOURCE_ACCOUNT_SERVICES else None))


def _ref_arn(aws: AwsContext, value: Any) -> tuple[str, bool] | None:
    """``(ARN, exact)`` a ref resolves to (:func:`arns.resource_arn`), None when not an ARN ref of a
    resource already in the graph whose ARN the compiler can spell; once per URN."""
    if not (is_ref(value) and value["output"] == "arn"):
        return None
    urn, memo = value["$ref"], aws.ref_arns
    if urn not in memo:
        resource = aws.ctx.builder.resource(urn)
        if resource is None:
            return None  # not in the graph yet: not remembered, it may be added later
        memo[urn] = arns.resource_arn(aws.region, aws.account, resource.type, resource.inputs)
    return memo[urn]


_REF_TEXT = re.compile(rb'\{"\$ref":"([^"]*)","output":"([^"]*)"\}')
"""A ref as orjson writes :func:`mlops_infra.graph.ref`'s dict (keys in that order, compact)."""


def policy_characters(aws: AwsContext, document: dict[str, Any]) -> int:
    """At least the characters IAM counts in ``document`` (module contract): the bytes of its compact
    JSON, each ARN ref counted as the ARN it resolves to (:data:`UNKNOWN_ARN_CHARACTERS` when it cannot
    be spelled; a ref to another output, e.g. a name, counts as many). White space, which IAM does
    not count, is counted here: compiled policies hold none outside condition values, so this errs
    only by a few characters, on the safe side; so do UTF-8 bytes against characters."""
    return _counted(aws, orjson.dumps(document))


def _counted(aws: AwsContext, text: bytes) -> int:
    """:func:`policy_characters` of the document whose compact JSON is ``text``."""
    size = len(text)
    if b'"$ref"' not in text:
        return size
    deltas = aws.ref_deltas
    for found in _REF_TEXT.finditer(text):
        delta = deltas.get(found[0])
        if delta is None:
            known = _ref_arn(aws, orjson.loads(found[0]))
            # the ref's object becomes a JSON string: the ARN in quotes
            delta = deltas[found[0]] = (len(known[0]) if known else UNKNOWN_ARN_CHARACTERS) + 2 - len(found[0])
        size += delta
    return size


def fits(aws: AwsContext, document: dict[str, Any]) -> bool:
    """Whether ``document`` is within :data:`ROLE_POLICY_CHARACTERS` (:func:`policy_characters`). A
    document within it even if each of its refs were the longest ARN (:data:`UNKNOWN_ARN_CHARACTERS`),
    or over it even if each were the shortest (:data:`SHORTEST_ARN_CHARACTERS`), is answered without
    resolving them: most roles have a few refs in a short policy, and the ones that list a ref per
    item are far over it before they are widened."""
    text = orjson.dumps(document)
    return _text_fits(aws, text, text.count(b'"$ref"'))


def _text_fits(aws: AwsContext, text: bytes, refs: int) -> bool:
    """:func:`fits` of the document whose compact JSON is ``text``, holding ``refs`` ``"$ref"``."""
    if len(text) + refs * (UNKNOWN_ARN_CHARACTERS + 2) <= ROLE_POLICY_CHARACTERS:
        return True
    if refs and len(_REF_TEXT.sub(b'""', text)) + refs * SHORTEST_ARN_CHARACTERS > ROLE_POLICY_CHARACTERS:
        return False  # over the quota whatever its refs resolve to (each in quotes, at least the shortest ARN)
    return _counted(aws, text) <= ROLE_POLICY_CHARACTERS


def _resource_part(text: str) -> int:
    """Where an ARN's resource part starts (after ``arn:<partition>:<service>:<region>:<account>:``; the
    text's end when it has fewer than five colons)."""
    parts = text.split(":", 5)
    return len(text) - len(parts[5]) if len(parts) == 6 else len(text)


def _collapsed(statement: dict[str, Any], groups: list[str | None], pattern: Any) -> dict[str, Any]:
    """``statement`` with each group of two or more of its resources (``groups``: one key per resource,
    None for a resource in no group) replaced, where its first member was, by ``pattern(key,
    members)``; a resource text already placed is not repeated; other resources unchanged."""
    members: dict[str, list[Any]] = {}
    for item, group in zip(statement["Resource"], groups, strict=True):
        if group is not None:
            members.setdefault(group, []).append(item)
    resources: list[Any] = []
    placed: set[str] = set()
    for item, group in zip(statement["Resource"], groups, strict=True):
        text = item if group is None or len(members[group]) < 2 else pattern(group, members[group])
        if not isinstance(text, str):
            resources.append(text)
        elif text not in placed:
            resources.append(text)
            placed.add(text)
    return {**statement, "Resource": resources}


def widened(aws: AwsContext, statement: dict[str, Any]) -> dict[str, Any]:
    """``statement`` with each group of two or more of its resources whose ARNs name this environment's
    resources of one kind (the same text up to the environment's name prefix, found in the ARN's
    resource part) replaced, where its first member was, by that text, the prefix and ``*``; other
    resources unchanged (module contract)."""
    prefix = f"{aws.name()}-"
    scopes: list[str | None] = []
    for item in statement["Resource"]:
        if isinstance(item, str):
            text: str | None = item
        else:
            known = _ref_arn(aws, item)
            text = known[0] if known and known[1] else None
        at = -1 if text is None else text.find(prefix, _resource_part(text))
        scopes.append(None if text is None or at < 0 else text[:at + len(prefix)] + "*")
    return _collapsed(statement, scopes, lambda scope, _: scope)


def _fitted(aws: AwsContext, spec: RoleSpec, document: dict[str, Any]) -> tuple[dict[str, Any], bytes, int]:
    """``document`` when IAM's quota holds it, else its :func:`widened` statements, with its compact JSON
    (orjson's) and how many ``"$ref"`` that holds; a :class:`UserError` when even those do not fit (module
    contract)."""
    text = orjson.dumps(document)
    refs = text.count(b'"$ref"')
    if _text_fits(aws, text, refs):
        return document, text, refs
    widest = policies.document(*[widened(aws, statement) for statement in document["Statement"]])
    text = orjson.dumps(widest)
    refs = text.count(b'"$ref"')
    if _text_fits(aws, text, refs):
        return widest, text, refs
    size = policy_characters(aws, widest)
    raise UserError(
        f"environment {aws.ctx.env}: the IAM role {aws.name(*spec.name_parts, max_len=64)} needs a policy of "
        f"{size:,} characters, over IAM's {ROLE_POLICY_CHARACTERS:,} for a role's inline policies",
        "Even with the resources of each statement widened to this environment's name prefix, the policy "
        "names too many resources that do not share it (IAM User Guide, \"IAM and AWS STS quotas\"). "
        "Fix: split the system into smaller ones (fewer endpoints, monitors or training jobs per "
        "environment).")
