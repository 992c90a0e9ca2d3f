"""Lambda functions: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS` entries.

Environment variables are never read (they may hold secrets). The trailing underscore keeps
the module name off the ``lambda`` keyword.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.aws_live.tracking import Tracking
from mlops_infra.state.model import StateResource


def map_lambda_function(response: Mapping[str, Any]) -> Reading:
    """``GetFunction`` -> ``aws:lambda/function:Function`` without ``environment`` (may hold secrets)."""
    conf = response.get("Configuration", {})
    inputs = drop_none({
        "name": conf.get("FunctionName"),
        "role": conf.get("Role"),
        "runtime": conf.get("Runtime"),
        "handler": conf.get("Handler"),
        "memorySize": conf.get("MemorySize"),
        "timeout": conf.get("Timeout"),
        "packageType": conf.get("PackageType"),
        "architectures": conf.get("Architectures"),
        "imageUri": response.get("Code", {}).get("ImageUri"),
        "kmsKeyArn": conf.get("KMSKeyArn"),
    })
    return Reading(inputs, drop_none({"arn": conf.get("FunctionArn"), "version": conf.get("Version")}))


def _read_lambda_function(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_lambda_function(client.get_function(FunctionName=res.id))


READERS: dict[str, Reader] = {
    "aws:lambda/function:Function": Reader("lambda", Tracking("function", (
        T("runtime", "runtime"), T("handler", "handler"), T("memorySize", "memory", default=128),
        T("timeout", "timeout", default=3), T("role", "role"), T("imageUri", "image"),
        T("packageType", "package type", default="Zip"), T("architectures", "architectures", "set", computed=True),
    )), read_one=_read_lambda_function),
}
