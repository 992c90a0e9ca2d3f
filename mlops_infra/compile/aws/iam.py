"""IAM roles with one inline least-privilege policy each.

Contract: :func:`add_role` adds an ``aws:iam/role:Role`` (explicit physical name, service trust
limited to this account where the service supports it) and, when given statements, one ``aws:iam/rolePolicy:RolePolicy`` holding
them; it returns the role URN. No managed policies are attached (AWS managed policies such as
AmazonSageMakerFullAccess grant ``"*"`` resources). Role names are at most 64 characters.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_infra.compile.aws import policies
from mlops_infra.compile.aws.context import AwsContext
from mlops_infra.graph import json_of, ref

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SAGEMAKER = "sagemaker.amazonaws.com"
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
        "assumeRolePolicy": json_of(policies.trust(
            *spec.services, account=aws.account if set(spec.services) <= SOURCE_ACCOUNT_SERVICES else None)),
        "maxSessionDuration": 3600,
    }, parent=parent, address=address, role="role", refs_in=())  # names and a trust policy: no refs
    granted = [s for s in statements if s]
    if granted:
        role_id = ref(role, "id")
        aws.add(ROLE_POLICY, f"{spec.logical}-policy", {
            "name": "least-privilege",
            "role": role_id,
            "policy": json_of(policies.document(*granted)),
        }, parent=parent, address=address, role="role-policy",
            refs_in=[role_id, *[s["Resource"] for s in granted],
                     *[s["Condition"] for s in granted if "Condition" in s]])
    return role
