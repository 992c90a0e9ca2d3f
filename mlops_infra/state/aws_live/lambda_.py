"""Lambda functions and their event invoke configs: pure ``map_*`` mappers, ``_read_*`` readers and
their :data:`READERS` entries.

The trailing underscore keeps the module name off the ``lambda`` keyword.

A function's environment variables are read (``environment.variables``: botocore ``lambda``
``FunctionConfiguration.Environment``, an ``EnvironmentResponse`` whose ``Variables`` map is
``sensitive``) and compared variable by variable, every name counting: terraform-provider-aws
``internal/service/lambda/function.go`` ``resourceFunctionRead``: ``d.Set("environment",
flattenEnvironment(function.Environment))`` (so Pulumi's refresh sees an edit), and pulumi-aws ``lambda_.Function``
``environment.variables`` is "Map of environment variables available to your Lambda function during
execution". The compiled functions keep their whole configuration there: a channel forwarder the names
of its secrets (``SECRET_ID``, ``TOKEN_SECRET_ID``; ``compile/aws/forwarder.py``), a webhook's URL,
a retrain gate its pipeline and freshness inputs (``compile/aws/gates.py``), so a console edit of one
re-routes alerts or retrains unseen unless it is drift. A live value is never shown: botocore ``lambda``
``EnvironmentVariables`` is ``"sensitive": true`` and ``EnvironmentResponse.Variables`` is "Omitted from
CloudTrail logs", so Lambda treats every value as possibly secret, and a key typed in the console under a
harmless name has no name or shape a detector knows (audit closing-34b-1). The property's kind is
``env``: :mod:`mlops_infra.plan.drift` names each variable and what happened and shows only the state's
value, and only when it is the compiled graph's own (a Pulumi secret in the state is compared by presence
only). When Lambda could not
apply the variables (``EnvironmentResponse.Error``: "If it fails, the response contains details about
the error") the answer carries no ``Variables``; the reading then holds the unknown sentinel there,
which drift never compares, rather than an empty map read as every variable removed.

The code is compared by its hash: ``CodeSha256`` (botocore ``lambda`` ``FunctionConfiguration.CodeSha256``:
"The SHA256 hash of the function's deployment package"), which ``UpdateFunctionCode`` (a console
"Deploy", a zip uploaded by hand) changes. Pulumi keeps the hash it read after its own create or
update in the state's ``outputs.codeSha256`` (the provider's computed attribute, e.g. the
``docsHandler`` function of ``tests/shared/fixtures/pulumi/stratify_sample-export.json``), and ``pulumi
up`` does not put the code back unless the program's code changes, so a hash other than the state's
is drift. The output is computed: a state without it (never applied by the provider, or a hand-made
state) compares nothing, never a false drift.

A function's tags come from the Resource Groups Tagging API by its ARN (:mod:`.tagging`), not from
``GetFunction``'s ``Tags``: "Lambda returns tag data only if you have explicit allow permissions for
lambda:ListTags" (botocore ``lambda`` ``GetFunctionResponse.Tags``), so a role without it would read
every function's tags as removed.

An event invoke config (``aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig``, the
retries and failure queue of ``compile/aws/lambda_failures.py``) is read with one
``GetFunctionEventInvokeConfig`` whose ``FunctionName`` is the resource's id: pulumi-aws keeps the
function name or ARN, with ``:<qualifier>`` when one is set (its import forms, pulumi-aws 7
``lambda_/function_event_invoke_config.py``), and the API takes "the name or ARN of the Lambda
function, version, or alias ... You can append a version number or alias to any of the formats"
(botocore ``GetFunctionEventInvokeConfigRequest.FunctionName``). A config deleted by hand (Lambda is
back to 2 retries and no destination: failed events are discarded again) answers
``ResourceNotFoundException``: gone. Drift compares ``maximumRetryAttempts`` (pulumi-aws: "Defaults
to 2"), ``maximumEventAgeInSeconds`` (when the state sets it) and both destinations.

A function's reserved concurrency is read too (``reservedConcurrentExecutions``): botocore ``lambda``
``GetFunctionResponse.Concurrency`` is "The function's reserved concurrency", and the
``PutFunctionConcurrency`` page says "Use GetFunction to see the current setting for a function"
(https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html). terraform-provider-aws
``internal/service/lambda/function.go`` ``resourceFunctionRead`` sets ``reserved_concurrent_executions``
from ``Concurrency``, else -1 (pulumi-aws's default: no reservation). The compiled functions reserve
none, so a reservation made by hand is drift; a reservation of 0 (the console's "Throttle") stops the
function altogether: the rollout runner, a channel's forwarder, a retrain gate. No call of its own: the
same ``GetFunction`` (tests/support/moto_server.py patches moto, which leaves out a reservation of 0).

A permission (``aws:lambda/permission:Permission``: SNS or EventBridge allowed to invoke a forwarder or
a gate) is a statement of the function's resource-based policy (AWS Lambda guide, "Granting Lambda
function access to AWS services": "you grant permission in a statement on a resource-based policy").
pulumi-aws keeps the statement id as the resource's id (terraform-provider-aws
``internal/service/lambda/permission.go``: ``d.SetId(statementID)``), and its read looks the statement
up by that Sid in ``GetPolicy`` of the ``function`` input (with its ``qualifier``), logging "Lambda
Permission (%s/%s) not found, removing from state" when it is absent. So here: ``GetPolicy``
(``ResourceNotFoundException`` when the function has no policy left: gone), the statement found by
Sid (absent: gone; SNS can no longer invoke the forwarder and no alert is delivered). Drift compares
the action, the principal (a service name, ``*``, or an account id: the policy spells an account
``arn:aws:iam::<id>:root``, read back as the id) and the source ARN (the statement's
``ArnLike`` ``AWS:SourceArn`` condition, as AddPermission writes it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import UNKNOWN, StateResource


def map_lambda_function(response: Mapping[str, Any]) -> Reading:
    """``GetFunction`` -> ``aws:lambda/function:Function``; ``codeSha256`` is the deployment package's
    hash, ``environment.variables`` the function's variables (see the module docstring)."""
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
        "reservedConcurrentExecutions": reserved_concurrency(response.get("Concurrency")),
        "environment": environment(conf.get("Environment")),
    })
    return Reading(inputs, drop_none({"arn": conf.get("FunctionArn"), "version": conf.get("Version")}))


def environment(answer: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``FunctionConfiguration.Environment`` -> pulumi-aws ``environment``: ``{"variables": {...}}``,
    None without variables, the unknown sentinel when Lambda reports an ``Error`` without them (see the
    module docstring). The names keep their spelling (user data, never renamed)."""
    if not answer:
        return None
    variables = answer.get("Variables")
    if variables is None:
        return {"variables": UNKNOWN} if answer.get("Error") else None
    return {"variables": dict(variables)} if variables else None


def _read_lambda_function(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_lambda_function(client.get_function(FunctionName=res.id))


def reserved_concurrency(concurrency: Mapping[str, Any] | None) -> int:
    """A function's reserved concurrency as pulumi-aws holds it: ``ReservedConcurrentExecutions``, -1 when
    none is reserved (see the module docstring)."""
    value = (concurrency or {}).get("ReservedConcurrentExecutions")
    return -1 if value is None else int(value)


_ACCOUNT_ROOT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def map_permission(policy: str | None, statement_id: str) -> Reading | None:
    """The statement ``statement_id`` of a ``GetPolicy`` answer's ``Policy`` document ->
    ``aws:lambda/permission:Permission``; None when the policy has no such statement (gone)."""
    try:
        statements = json.loads(policy or "{}").get("Statement") or []
    except ValueError:
        return None
    found = next((s for s in statements if isinstance(s, dict) and s.get("Sid") == statement_id), None)
    if found is None:
        return None
    principal = found.get("Principal")
    if isinstance(principal, dict):
        principal = next(iter(principal.values()), None)
    account = _ACCOUNT_ROOT.match(str(principal or ""))
    if account:  # AddPermission's account principal, as the policy spells it
        principal = account.group(1)
    condition = found.get("Condition") or {}
    source_arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
    inputs = drop_none({"statementId": found.get("Sid"), "action": found.get("Action"), "principal": principal,
                        "sourceArn": source_arn})
    return Reading(inputs, drop_none({"resource": found.get("Resource")}))


def _read_permission(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    function = res.inputs.get("function") or res.outputs.get("function")
    qualifier = res.inputs.get("qualifier") or res.outputs.get("qualifier")
    response = client.get_policy(FunctionName=str(function), **({"Qualifier": str(qualifier)} if qualifier else {}))
    return map_permission(response.get("Policy"), str(res.inputs.get("statementId") or res.id))


def map_event_invoke_config(response: Mapping[str, Any]) -> Reading:
    """``GetFunctionEventInvokeConfig`` -> ``aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig``
    (``DestinationConfig.OnFailure.Destination`` -> ``destinationConfig.onFailure.destination``)."""
    destinations = response.get("DestinationConfig") or {}
    config = drop_none({
        side: drop_none({"destination": (destinations.get(key) or {}).get("Destination")}) or None
        for key, side in (("OnFailure", "onFailure"), ("OnSuccess", "onSuccess"))
    })
    inputs = drop_none({
        "functionName": str(response.get("FunctionArn", "")).split(":function:", 1)[-1].split(":", 1)[0] or None,
        "maximumRetryAttempts": response.get("MaximumRetryAttempts"),
        "maximumEventAgeInSeconds": response.get("MaximumEventAgeInSeconds"),
        "destinationConfig": config or None,
    })
    return Reading(inputs, drop_none({"functionArn": response.get("FunctionArn")}))


def _read_event_invoke_config(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_event_invoke_config(client.get_function_event_invoke_config(FunctionName=res.id))


READERS: dict[str, Reader] = {
    "aws:lambda/function:Function": Reader("lambda", Tracking("function", (
        T("runtime", "runtime"), T("handler", "handler"), T("memorySize", "memory", default=128),
        T("timeout", "timeout", default=3), T("role", "role"), T("imageUri", "image"),
        T("packageType", "package type", default="Zip"), T("architectures", "architectures", "set", computed=True),
        T("codeSha256", "code", prior_output="codeSha256", computed=True),
        T("reservedConcurrentExecutions", "reserved concurrency", default=-1),
        T("environment.variables", "environment", "env"), TAGS,
    )), read_one=_read_lambda_function, tags=True),
    "aws:lambda/permission:Permission": Reader("lambda", Tracking("invoke permission", (
        T("action", "action"), T("principal", "principal"), T("sourceArn", "source", computed=True),
    )), read_one=_read_permission),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": Reader("lambda", Tracking(
        "async invocation config", (
            T("maximumRetryAttempts", "retries", default=2),
            T("maximumEventAgeInSeconds", "maximum event age", computed=True),
            T("destinationConfig.onFailure.destination", "on-failure destination"),
            T("destinationConfig.onSuccess.destination", "on-success destination"),
        )), read_one=_read_event_invoke_config),
}
