"""Lambda functions: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS` entries.

Environment variables are never read (they may hold secrets). The trailing underscore keeps
the module name off the ``lambda`` keyword.

The code is compared by its hash: ``CodeSha256`` (botocore ``lambda`` ``FunctionConfiguration.CodeSha256``:
"The SHA256 hash of the function's deployment package"), which ``UpdateFunctionCode`` (a console
"Deploy", a zip uploaded by hand) changes. Pulumi keeps the hash it read after its own create or
update in the state's ``outputs.codeSha256`` (the provider's computed attribute, e.g. the
``docsHandler`` function of ``/work/shared/fixtures/pulumi/stratify_sample-export.json``), and ``pulumi
up`` does not put the code back unless the program's code changes, so a hash other than the state's
is drift. The output is computed: a state without it (never applied by the provider, or a hand-made
state) compares nothing, never a false drift.
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
    """``GetFunction`` -> ``aws:lambda/function:Function`` without ``environment`` (may hold secrets);
    ``codeSha256`` is the deployment package's hash (see the module docstring)."""
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
        "codeSha256": conf.get("CodeSha256"),
    })
    return Reading(inputs, drop_none({"arn": conf.get("FunctionArn"), "version": conf.get("Version")}))


def _read_lambda_function(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_lambda_function(client.get_function(FunctionName=res.id))


READERS: dict[str, Reader] = {
    "aws:lambda/function:Function": Reader("lambda", Tracking("function", (
        T("runtime", "runtime"), T("handler", "handler"), T("memorySize", "memory", default=128),
        T("timeout", "timeout", default=3), T("role", "role"), T("imageUri", "image"),
        T("packageType", "package type", default="Zip"), T("architectures", "architectures", "set", computed=True),
        T("codeSha256", "code", prior_output="codeSha256", computed=True),
    )), read_one=_read_lambda_function),
}
