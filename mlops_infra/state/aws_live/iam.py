"""IAM roles and inline role policies: pure ``map_*`` mappers, ``_read_*`` readers and their
:data:`READERS` entries.

Policy documents are stored as JSON strings, as Pulumi stores them.

Batch reads. Roles and inline policies are read in batches (``read_many``, one batch per type and
region up to :data:`PAGE_SIZE`). When a batch holds at least :data:`LISTING_MIN` resources, its
roles and inline policies come from two paged account-wide listings made once per scan (a memo on
the :class:`~mlops_infra.state.aws_live.context.ScanContext`), instead of one ``GetRole`` or
``GetRolePolicy`` per resource:

- ``ListRoles`` (IAM API Reference, ListRoles; botocore ``ListRolesRequest.MaxItems``, shape
  ``maxItemsType``: 1-1000 per page, pages joined by ``Marker``/``IsTruncated``): each ``Role``
  with ``Path``, ``Arn``, ``RoleId``, ``AssumeRolePolicyDocument``, ``Description`` and
  ``MaxSessionDuration``. AWS documents that ListRoles does *not* return ``PermissionsBoundary``,
  ``RoleLastUsed`` or ``Tags``, so those come from the next listing.
- ``GetAccountAuthorizationDetails`` with ``Filter=["Role"]`` (IAM API Reference,
  GetAccountAuthorizationDetails; botocore ``GetAccountAuthorizationDetailsRequest``, same
  ``MaxItems`` 1-1000 and ``Marker``): each ``RoleDetail`` with ``Tags``, ``PermissionsBoundary``
  and ``RolePolicyList`` (every inline policy, ``PolicyName`` + ``PolicyDocument``). It has no
  ``Description`` or ``MaxSessionDuration``, hence the two listings.

Both documents are botocore ``policyDocumentType`` (URL-encoded JSON on the wire, decoded by
botocore as for ``GetRole``/``GetRolePolicy``), so a listed role or policy maps to exactly the
:class:`Reading` the per-resource read gives (``tests/state/test_aws_live_batches.py`` checks it
on a moto server). A role in one listing but not the other (changed between the two calls) is read
with ``GetRole``. When either listing is refused (``access-denied``: a user with only
``iam:GetRole``/``iam:GetRolePolicy``), every resource is read one by one, as below the threshold.
The listings cover the whole account, so small stacks keep the per-resource reads (one by one in
their batch; a resource not found is gone, as for a single read).

**A role's permissions policies.** A role's permissions are its attached managed policies and its
inline policies (botocore ``iam`` ``RoleDetail.AttachedManagedPolicies``: "A list of managed
policies attached to the role. These policies are the role's access (permissions) policies";
``RoleDetail.RolePolicyList``: "A list of inline policies embedded in the role. These policies are
the role's access (permissions) policies"). ``GetRole`` returns neither (botocore ``Role`` has no
such member), so a role's reading also holds every attached policy's ARN (``managedPolicyArns``,
sorted) and every inline policy's name (``inlinePolicies``: ``[{name}]``, sorted; Pulumi's names
for the role's own inputs): from the ``RoleDetail`` of the listing, else from
``ListAttachedRolePolicies`` (``AttachedPolicies``) and ``ListRolePolicies`` (``PolicyNames``),
each paged by ``Marker``/``IsTruncated`` (botocore paginators of both). Drift reports the ones the
state does not hold (:mod:`mlops_infra.plan.drift`): an ``AdministratorAccess`` attached, or an
inline policy added, in the console is otherwise invisible, and ``pulumi up`` leaves it (the
compiled graph declares no attachments: ``compile/aws/iam.py``). A user with only ``iam:GetRole``
then gets ``access-denied`` on the roles: the refresh is incomplete, never silently partial.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext, paginate, region_of
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.retry import classify, is_not_found
from mlops_infra.state.aws_live.shapes import drop_none, policy_text, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource

LISTING_MIN = 5
"""Resources of one IAM type in a batch from which the account-wide listings replace the
per-resource reads: two listing calls (one page each up to 1,000 roles) against at least this many
``GetRole``/``GetRolePolicy`` calls."""

PAGE_SIZE = 1000
"""``MaxItems`` of both listings: the maximum (botocore ``maxItemsType``: 1-1000)."""


def map_role(role: Mapping[str, Any]) -> Reading:
    """``GetRole.Role`` -> ``aws:iam/role:Role``; with ``RoleDetail``'s ``AttachedManagedPolicies``
    and ``RolePolicyList`` (entries need only ``PolicyArn``, ``PolicyName``), also the sorted
    ``managedPolicyArns`` and ``inlinePolicies`` (``[{name}]``) the role holds (module docstring)."""
    attached, inline = role.get("AttachedManagedPolicies"), role.get("RolePolicyList")
    inputs = drop_none({
        "name": role.get("RoleName"),
        "assumeRolePolicy": policy_text(role.get("AssumeRolePolicyDocument")),
        "description": role.get("Description"),
        "maxSessionDuration": role.get("MaxSessionDuration"),
        "path": role.get("Path"),
        "permissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        "tags": tag_map(role.get("Tags")),
        "managedPolicyArns": None if attached is None else sorted(str(p["PolicyArn"]) for p in attached),
        "inlinePolicies": None if inline is None else [{"name": n} for n in sorted(str(p["PolicyName"]) for p in inline)],
    })
    return Reading(inputs, drop_none({"arn": role.get("Arn"), "uniqueId": role.get("RoleId")}))


def map_role_policy(role_name: str | None, policy_name: str | None, document: Any) -> Reading:
    """``GetRolePolicy`` (or one ``RoleDetail.RolePolicyList`` entry) -> ``aws:iam/rolePolicy:RolePolicy``."""
    return Reading({"role": role_name, "name": policy_name, "policy": policy_text(document)})


def _role_policy_key(res: StateResource) -> tuple[Any, Any]:
    """(role name, policy name) of a role policy: its inputs, else its id ``role:name``."""
    role, _, name = (res.id or "").partition(":")
    return res.inputs.get("role", role), res.inputs.get("name", name)


def _read_role(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    role = client.get_role(RoleName=res.id)["Role"]
    attached = paginate(client, "list_attached_role_policies", "AttachedPolicies", RoleName=res.id)
    names = paginate(client, "list_role_policies", "PolicyNames", RoleName=res.id)
    return map_role({**role, "AttachedManagedPolicies": attached,
                     "RolePolicyList": [{"PolicyName": name} for name in names]})


def _read_role_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    role, name = _role_policy_key(res)
    response = client.get_role_policy(RoleName=role, PolicyName=name)
    return map_role_policy(response.get("RoleName"), response.get("PolicyName"), response.get("PolicyDocument"))


def _one_by_one(read: Any, client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    """``read(client, res, ctx)`` with a not-found answer as ``None`` (gone), inside a batch."""
    try:
        return read(client, res, ctx)  # type: ignore[no-any-return]
    except Exception as error:
        if is_not_found(error):
            return None
        raise


_Listing = tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]


def _listing(client: Any, resources: Sequence[StateResource], ctx: ScanContext) -> _Listing | None:
    """(ListRoles roles, GetAccountAuthorizationDetails role details), both by role name, listed
    once per scan and region; ``None`` below :data:`LISTING_MIN` resources or when either listing
    is refused (access denied)."""
    if len(resources) < LISTING_MIN:
        return None

    def compute() -> _Listing | None:
        config = {"PageSize": PAGE_SIZE}
        try:
            roles = paginate(client, "list_roles", "Roles", PaginationConfig=config)
            details = paginate(client, "get_account_authorization_details", "RoleDetailList", Filter=["Role"],
                               PaginationConfig=config)
        except Exception as error:
            if classify(error)[0] == "access-denied":
                return None
            raise
        return {r["RoleName"]: r for r in roles}, {d["RoleName"]: d for d in details}

    return ctx.memo(("iam-role-listing", region_of(client)), compute)  # type: ignore[no-any-return]


def _read_roles(client: Any, resources: Sequence[StateResource], ctx: ScanContext) -> dict[str, Reading | None]:
    listing = _listing(client, resources, ctx)
    if listing is None:
        return {r.urn: _one_by_one(_read_role, client, r, ctx) for r in resources}
    roles, details = listing
    out: dict[str, Reading | None] = {}
    for res in resources:
        role, detail = roles.get(res.id or ""), details.get(res.id or "")
        if role is None and detail is None:
            out[res.urn] = None
        elif role is None or detail is None:
            out[res.urn] = _one_by_one(_read_role, client, res, ctx)
        else:
            out[res.urn] = map_role({**role, "Tags": detail.get("Tags"),
                                     "PermissionsBoundary": detail.get("PermissionsBoundary"),
                                     "AttachedManagedPolicies": detail.get("AttachedManagedPolicies", []),
                                     "RolePolicyList": detail.get("RolePolicyList", [])})
    return out


def _read_role_policies(client: Any, resources: Sequence[StateResource],
                        ctx: ScanContext) -> dict[str, Reading | None]:
    listing = _listing(client, resources, ctx)
    if listing is None:
        return {r.urn: _one_by_one(_read_role_policy, client, r, ctx) for r in resources}
    details = listing[1]
    out: dict[str, Reading | None] = {}
    for res in resources:
        role_name, policy_name = _role_policy_key(res)
        detail = details.get(role_name)
        policies = {p.get("PolicyName"): p for p in (detail or {}).get("RolePolicyList", [])}
        policy = policies.get(policy_name)
        out[res.urn] = None if detail is None or policy is None else map_role_policy(
            detail.get("RoleName"), policy.get("PolicyName"), policy.get("PolicyDocument"))
    return out


READERS: dict[str, Reader] = {
    "aws:iam/role:Role": Reader("iam", Tracking("IAM role", (
        T("assumeRolePolicy", "trust policy", "policy"), T("maxSessionDuration", "max session", default=3600),
        T("path", "path", default="/"), T("permissionsBoundary", "permissions boundary"),
        T("description", "description", computed=True), TAGS,
    )), read_many=_read_roles, batch_size=PAGE_SIZE),
    "aws:iam/rolePolicy:RolePolicy": Reader("iam", Tracking("IAM role policy", (
        T("policy", "permissions", "policy"),
    ), gone="removed"), read_many=_read_role_policies, batch_size=PAGE_SIZE),
}
