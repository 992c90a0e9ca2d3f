"""Secrets Manager secrets: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS`
entries.

Only metadata is read, never the secret value; a secret scheduled for deletion is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_secret(response: Mapping[str, Any]) -> Reading | None:
    """``DescribeSecret`` -> ``aws:secretsmanager/secret:Secret`` metadata; ``None`` (gone) when
    the secret is scheduled for deletion. The secret value is never read."""
    if response.get("DeletedDate"):
        return None
    inputs = drop_none({"name": response.get("Name"), "description": response.get("Description"),
                        "kmsKeyId": response.get("KmsKeyId"), "tags": tag_map(response.get("Tags"))})
    return Reading(inputs, drop_none({"arn": response.get("ARN")}))


def _read_secret(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_secret(client.describe_secret(SecretId=res.id))


READERS: dict[str, Reader] = {
    "aws:secretsmanager/secret:Secret": Reader("secretsmanager", Tracking("secret", (
        T("description", "description", computed=True), T("kmsKeyId", "KMS key", computed=True), TAGS,
    )), read_one=_read_secret),
}
