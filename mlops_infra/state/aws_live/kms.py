"""KMS keys and aliases: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS` entries.

A key pending deletion is gone. Keys have no batch read (``DescribeKey``, ``GetKeyRotationStatus``
and ``GetKeyPolicy`` take one ``KeyId`` each). Aliases are read in one batch per region: one paged
``ListAliases`` (AWS KMS API Reference, ListAliases: every alias of the account and region with its
``TargetKeyId``; ``Limit`` 1-100 per page, default 50, pages joined by ``NextMarker``/``Truncated``),
listed once per region per scan (a memo on the
:class:`~mlops_infra.state.aws_live.context.ScanContext`) and looked up by name; an alias
without a target key, or not listed, is gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext, paginate, region_of
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_kms_key(metadata: Mapping[str, Any], rotation_enabled: bool | None, policy: str | None) -> Reading:
    """``DescribeKey.KeyMetadata`` + rotation status + key policy -> ``aws:kms/key:Key``."""
    inputs = drop_none({
        "description": metadata.get("Description", ""),
        "isEnabled": metadata.get("Enabled"),
        "keyUsage": metadata.get("KeyUsage"),
        "customerMasterKeySpec": metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec"),
        "multiRegion": metadata.get("MultiRegion"),
        "enableKeyRotation": rotation_enabled,
        "policy": policy,
    })
    outputs = drop_none({"arn": metadata.get("Arn"), "keyId": metadata.get("KeyId"),
                         "keyState": metadata.get("KeyState")})
    return Reading(inputs, outputs)


def _read_kms_key(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    metadata = client.describe_key(KeyId=res.id)["KeyMetadata"]
    if metadata.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
        return None
    rotation = client.get_key_rotation_status(KeyId=res.id).get("KeyRotationEnabled")
    policy = client.get_key_policy(KeyId=res.id, PolicyName="default").get("Policy")
    return map_kms_key(metadata, rotation, policy)


ALIASES_PER_PAGE = 100
"""``ListAliases`` ``Limit``: its maximum (AWS KMS API Reference, ListAliases)."""


def _read_kms_aliases(client: Any, resources: Sequence[StateResource], ctx: ScanContext) -> dict[str, Reading | None]:
    aliases = ctx.memo(("kms-aliases", region_of(client)), lambda: {
        a["AliasName"]: a for a in paginate(client, "list_aliases", "Aliases",
                                            PaginationConfig={"PageSize": ALIASES_PER_PAGE})})
    return {res.urn: _alias_reading(aliases.get(res.id)) for res in resources}


def _alias_reading(alias: Mapping[str, Any] | None) -> Reading | None:
    if alias is None or not alias.get("TargetKeyId"):
        return None
    return Reading({"name": alias["AliasName"], "targetKeyId": alias["TargetKeyId"]},
                   {"arn": alias.get("AliasArn")})


READERS: dict[str, Reader] = {
    "aws:kms/key:Key": Reader("kms", Tracking("KMS key", (
        T("isEnabled", "enabled", default=True), T("enableKeyRotation", "key rotation", default=False),
        T("description", "description", computed=True), T("keyUsage", "key usage", computed=True),
        T("customerMasterKeySpec", "key spec", computed=True), T("policy", "key policy", "policy", computed=True),
        TAGS,
    )), read_one=_read_kms_key, tags=True),
    "aws:kms/alias:Alias": Reader("kms", Tracking("KMS alias", (
        T("targetKeyId", "target key"),
    )), read_many=_read_kms_aliases, batch_size=1000),
}
