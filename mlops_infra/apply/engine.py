"""Run the Pulumi program of a stack directory through the Automation API (needs the Pulumi CLI).

Contract:
- Every operation opens ``stacks/<env>``-style directories (``Pulumi.yaml`` + ``__main__.py``) with a
  ``LocalWorkspace`` (``work_dir`` = the stack directory) and creates the stack if it is missing.
- Backend: ``backend_url`` if given, else the backend ``plan`` reads the prior state from
  (:func:`mlops_infra.state.backends.choose_backend`: ``PULUMI_BACKEND_URL``, else the stack
  directory's ``Pulumi.yaml`` ``backend.url``, else the current ``pulumi login``), else the file
  backend ``file://<stack_dir>`` (state in ``<stack_dir>/.pulumi/``). The Pulumi CLI gets it as
  ``PULUMI_BACKEND_URL``, which overrides both the project's ``backend.url`` and the stored login
  (pulumi/pulumi ``sdk/go/common/workspace/creds.go`` ``GetCurrentCloudURLWithSource``: "if
  PULUMI_BACKEND_URL is set, the corresponding value is returned instead irrespective of the backend
  for current project or stored credentials"): defaulting it to the stack directory whenever the
  variable was unset made ``pulumi up`` run on another, empty stack than the one planned and checked
  for freshness (a ``pulumi login --local`` user's state in ``~/.pulumi``), creating everything
  again. A self-managed backend (``file``, ``s3``, ``gs``, ``azblob``: Pulumi's "DIY backends", whose
  default secrets provider is a passphrase) needs a passphrase for the stack's secrets:
  ``passphrase``, else ``PULUMI_CONFIG_PASSPHRASE`` or ``PULUMI_CONFIG_PASSPHRASE_FILE`` from the
  environment, else a :class:`UserError` says so.
- ``aws_endpoint`` (for example a moto server) points every AWS service the compilers use at that
  URL: stack config ``aws:endpoints``, ``aws:skipCredentialsValidation``,
  ``aws:skipRequestingAccountId``, ``aws:skipMetadataApiCheck``, ``aws:s3UsePathStyle`` (the program
  copies them into its explicit providers) and dummy credentials unless AWS credentials are set.
- ``system_file`` overrides the stack's ``mlops:systemFile`` config (relative to the stack dir).
- A missing ``pulumi`` binary raises :class:`UserError` (never ``FileNotFoundError``); a failed
  Pulumi command raises :class:`UserError` with Pulumi's own message.
- :func:`preview`, :func:`up`, :func:`refresh` return a :class:`RunResult`; :func:`export_state`
  returns the ``pulumi stack export`` JSON (``{"version": 3|4, "deployment": {...}}``), which
  :mod:`mlops_infra.state.pulumi_state` parses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_infra.errors import UserError

AWS_SERVICES = ("appautoscaling", "cloudwatch", "ec2", "ecr", "eks", "events", "iam", "kms", "lambda", "logs",
                "s3", "sagemaker", "scheduler", "secretsmanager", "sns", "sqs", "ssm", "sts")
"""AWS services given the endpoint override (canonical pulumi-aws ``endpoints`` keys)."""

INSTALL_HINT = ("Install the Pulumi CLI (https://www.pulumi.com/docs/install/) and put `pulumi` on PATH. "
                "`mlops-infra validate` and `mlops-infra plan` work without it.")


@dataclass(frozen=True)
class StackOptions:
    """Where and how to run one stack. See the module contract for defaults."""

    stack_dir: Path
    env: str
    backend_url: str | None = None
    aws_endpoint: str | None = None
    system_file: str | None = None
    passphrase: str | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    """The outcome of a Pulumi operation: resource change counts by op, stack outputs, CLI output."""

    operation: str
    changes: dict[str, int]
    outputs: dict[str, Any]
    stdout: str


SELF_MANAGED = frozenset({"file", "s3", "gs", "azblob"})
"""Backend kinds whose stacks encrypt secrets with a passphrase by default (Pulumi "DIY backends")."""


def backend_url(options: StackOptions, environ: Mapping[str, str] = os.environ) -> str:
    """The backend the stack uses (see the module contract)."""
    from mlops_infra.state.backends import choose_backend

    stack_dir = Path(options.stack_dir).resolve()
    return options.backend_url or choose_backend(stack_dir, environ).url or f"file://{stack_dir}"


def workspace_env(options: StackOptions, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Environment variables for the Pulumi CLI process."""
    from mlops_infra.state.backends import Backend

    url = backend_url(options, environ)
    env = {"PULUMI_BACKEND_URL": url, **options.extra_env}
    if options.passphrase is not None:
        env["PULUMI_CONFIG_PASSPHRASE"] = options.passphrase
    elif (Backend(url, "").kind in SELF_MANAGED
          and not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(environ)):
        kind = Backend(url, "").kind
        raise UserError(f"No passphrase for the {'local' if kind == 'file' else kind} state backend",
                        f"A {kind} backend encrypts stack secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE "
                        "(it may be empty for local experiments) or PULUMI_CONFIG_PASSPHRASE_FILE.")
    if options.aws_endpoint and not {"AWS_ACCESS_KEY_ID", "AWS_PROFILE"} & set(environ):
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    return env


def stack_config(options: StackOptions) -> dict[str, str]:
    """Stack config (key -> string value) the operation sets before running."""
    config: dict[str, str] = {}
    if options.system_file:
        config["mlops:systemFile"] = str(options.system_file)
    if options.aws_endpoint:
        config.update({
            "aws:endpoints": json.dumps([{service: options.aws_endpoint for service in AWS_SERVICES}]),
            "aws:skipCredentialsValidation": "true",
            "aws:skipRequestingAccountId": "true",
            "aws:skipMetadataApiCheck": "true",
            "aws:s3UsePathStyle": "true",
        })
    return config


def open_stack(options: StackOptions):
    """The ``pulumi.automation.Stack`` of ``options``, created if missing, config applied."""
    import pulumi.automation as auto

    stack_dir = Path(options.stack_dir)
    if not (stack_dir / "Pulumi.yaml").is_file():
        raise UserError(f"{stack_dir} is not a Pulumi project", "Expected a Pulumi.yaml there (see docs/pulumi.md).")
    workspace = auto.LocalWorkspaceOptions(work_dir=str(stack_dir), env_vars=workspace_env(options))
    stack = _pulumi(lambda: auto.create_or_select_stack(options.env, work_dir=str(stack_dir), opts=workspace))
    config = stack_config(options)
    if config:
        _pulumi(lambda: stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in config.items()}))
    return stack


def _pulumi(operation: Callable[[], Any]) -> Any:
    """Run an Automation API call, turning a missing CLI or a failed command into a UserError."""
    import pulumi.automation as auto

    try:
        return operation()
    except FileNotFoundError as exc:
        if "pulumi" in str(exc.filename or exc):
            raise UserError("The Pulumi CLI is not installed (no `pulumi` on PATH)", INSTALL_HINT) from exc
        raise
    except auto.errors.CommandError as exc:
        raise UserError("Pulumi failed", str(exc).strip()) from exc


def _counts(summary: Any) -> dict[str, int]:
    return {str(getattr(op, "value", op)): int(n) for op, n in (summary or {}).items()}


def preview(stack_dir: Path | str, env: str, **options: Any) -> RunResult:
    """``pulumi preview`` of the stack (no changes made)."""
    stack = open_stack(StackOptions(Path(stack_dir), env, **options))
    result = _pulumi(lambda: stack.preview(diff=True))
    return RunResult("preview", _counts(result.change_summary), {}, result.stdout)


def up(stack_dir: Path | str, env: str, *, on_event: Callable[[dict[str, Any]], None] | None = None,
       targets: Sequence[str] = (), **options: Any) -> RunResult:
    """``pulumi up --yes``: create, update and delete resources to match the desired graph. ``on_event``
    receives each engine event in its JSON form (:func:`mlops_infra.apply.events.from_engine_event`);
    ``targets`` limits the update to those URNs (``pulumi up --target``: a target the program no
    longer registers is deleted)."""
    from mlops_infra.apply.events import from_engine_event

    stack = open_stack(StackOptions(Path(stack_dir), env, **options))
    forward = (lambda event: on_event(from_engine_event(event))) if on_event else None
    limit = {"target": list(targets)} if targets else {}
    result = _pulumi(lambda: stack.up(diff=True, on_event=forward, **limit))
    outputs = {k: v.value for k, v in (result.outputs or {}).items()}
    return RunResult("up", _counts(result.summary.resource_changes), outputs, result.stdout)


def refresh(stack_dir: Path | str, env: str, **options: Any) -> RunResult:
    """``pulumi refresh --yes``: read every resource from the cloud into the state."""
    stack = open_stack(StackOptions(Path(stack_dir), env, **options))
    result = _pulumi(lambda: stack.refresh())
    return RunResult("refresh", _counts(result.summary.resource_changes), {}, result.stdout)


def export_state(stack_dir: Path | str, env: str, **options: Any) -> dict[str, Any]:
    """``pulumi stack export``: ``{"version": ..., "deployment": {...}}``."""
    stack = open_stack(StackOptions(Path(stack_dir), env, **options))
    deployment = _pulumi(stack.export_stack)
    return {"version": deployment.version, "deployment": deployment.deployment}
