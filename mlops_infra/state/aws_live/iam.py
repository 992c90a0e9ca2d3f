"""IAM roles and inline role policies: pure ``map_*`` mappers, ``_read_*`` readers and their
:data:`READERS` entries.

Policy documents are stored as JSON strings, as Pulumi stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, policy_text, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_role(role: Mapping[str, Any]) -> Reading:
    """``GetRole.Role`` -> ``aws:iam/role:Role``."""
    inputs = drop_none({
        "name": role.get("RoleName"),
        "assumeRolePolicy": policy_text(role.get("AssumeRolePolicyDocument")),
        "description": role.get("Description"),
        "maxSessionDuration": role.get("MaxSessionDuration"),
        "path": role.get("Path"),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "tags": tag_map(role.get("Tags")),
    })
    return Reading(inputs, drop_none({"arn": role.get("Arn"), "uniqueId": role.get("RoleId")}))


def _read_role(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_role(client.get_role(RoleName=res.id)["Role"])


def _read_role_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    role, _, name = (res.id or "").partition(":")
    response = client.get_role_policy(RoleName=res.inputs.get("role", role), PolicyName=res.inputs.get("name", name))
    return Reading({"role": response.get("RoleName"), "name": response.get("PolicyName"),
                    "policy": policy_text(response.get("PolicyDocument"))})


READERS: dict[str, Reader] = {
    "aws:iam/role:Role": Reader("iam", Tracking("IAM role", (
        T("assumeRolePolicy", "trust policy", "policy"), T("maxSessionDuration", "max session", default=3600),
        T("path", "path", default="/"), T("permissionsBoundary", "permissions boundary"),
        T("description", "description", computed=True), TAGS,
    )), read_one=_read_role),
    "aws:iam/rolePolicy:RolePolicy": Reader("iam", Tracking("IAM role policy", (
        T("policy", "permissions", "policy"),
    ), gone="removed"), read_one=_read_role_policy),
}
