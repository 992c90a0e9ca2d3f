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
- ``system_file`` overrides the stack's ``mlops:systemFile`` config (absolute or relative to the stack
  dir, as the program reads it). It is written only when the stack does not already name that file:
  ``pulumi config set-all`` saves the stack settings file ``Pulumi.<env>.yaml``
  (``pkg/cmd/pulumi/config/config.go`` ``newConfigSetAllCmd`` -> ``SaveProjectStack``), which is
  committed, so rewriting it on every apply (with this machine's absolute path, as apply did) broke
  ``plan`` and a bare ``pulumi up`` on every other checkout (audit applypath-5). ``apply`` passes it
  relative to the stack directory.
- ``project`` (what ``mlops-infra apply`` passes: the system's ``metadata.name``): before anything is
  written (no ``pulumi stack select``, no ``config set-all``, no ``up``), :func:`check_stack_dir`
  refuses a stack directory of another system. Pulumi's project is the ``name:`` of the
  ``Pulumi.yaml`` in the work directory (pulumi/pulumi ``sdk/go/common/workspace/paths.go``
  ``DetectProjectPathFrom``; the Automation API runs every command with ``cwd=work_dir``,
  ``pulumi/automation/_cmd.py`` ``run``), and the stack is ``<project>/<env>``; ``pulumi up``
  deletes every resource of that stack the program does not register
  (``pkg/resource/deploy/step_generator.go`` ``GenerateDeletes``) and ``config set-all`` rewrites its
  ``Pulumi.<env>.yaml`` (``pkg/cmd/pulumi/config/config.go`` ``newConfigSetAllCmd``). So a project
  name other than ``project``, an ``mlops:systemFile`` naming another file that exists (a stored path
  that no longer exists, such as the absolute path another checkout's apply wrote, names none: audit
  closing-33a-1; the project name still decides), or an
  ``mlops:environment`` naming another environment (stack config over project config, as
  :mod:`mlops_infra.program.entry` reads them) is refused, naming the directory and the fix (audit
  applypath-1: apply of the quickstart ran ``up`` on fraud-detection/prod, which would delete its 40
  resources).
- ``expected_serial`` (:func:`up`): the serial of the state the shown or saved plan was made against
  (:attr:`mlops_infra.state.model.PriorState.serial`). The stack's state is read again where ``plan``
  reads it (:func:`mlops_infra.state.backends.read_stack_state`, the same backend the CLI is given)
  before the stack is opened and once more right before ``up``; a serial that moved is refused as a
  stale plan, nothing applied (audit applypath-2: the state was read once, before the confirmation
  prompt and the queue drain, and ``up`` then diffed the program against whatever state it found
  when it took the stack's lock, ``pkg/backend/diy/backend.go`` ``Lock``; applypath-1: ``apply
  --state`` checked freshness against the file). The window left is the second it takes ``pulumi``
  to start and lock: closing it needs a Pulumi update plan (``Stack.up(plan=...)``,
  ``pulumi/automation/_stack.py`` ``up``; ``--plan`` is hidden and ignored unless
  ``PULUMI_EXPERIMENTAL`` is set, ``pkg/cmd/pulumi/operations/up.go`` lines 944-950), which
  mlops-infra does not make. A backend mlops-infra cannot read (``gs``, ``azblob``) cannot be
  checked: refused with the reader's message.
- A missing ``pulumi`` binary raises :class:`UserError` (never ``FileNotFoundError``); a failed
  Pulumi command raises :class:`UserError` with Pulumi's own error lines and never its ``--diff`` output, which
  holds the resources' old property values (:func:`pulumi_failure`, audit closing-34g-3); a CLI version the Automation API
  refuses (``InvalidVersionError``, raised before any command runs) too (:func:`version_refusal`; it was
  reported as a bug in mlops-infra).
- A stack a ``pulumi`` process holds locked (a file backend's lock file: another ``up`` running, or crashed) is
  refused by :func:`preflight` and :func:`up` before anything runs, naming who holds it; ``pulumi cancel`` is
  advised only once no ``pulumi`` runs on it (:func:`check_unlocked`, audit concurrency-3).
- :func:`preflight` (``apply --drain-queues``, before a ClusterQueue is held) ends with :func:`check_cli`:
  ``pulumi version`` judged by the Automation API's own minimum-version rule and ``pulumi whoami`` with
  ``up``'s environment (login, backend reachable), each bounded by :data:`CLI_CHECK_SECONDS`. An apply
  that drains nothing does not run them: its ``up`` fails at the same point with nothing changed.
- SIGINT and SIGTERM during :func:`up` (audit applypath-3): every Pulumi command of the operation runs under
  a :class:`~mlops_infra.apply.pulumi_process.SignalGuard`, which passes each request on to Pulumi once
  (the first cancels ``up`` gracefully, a second terminates it: ``pkg/backend/cancellation_scope.go``; the
  same signal twice at once, as ``timeout`` sends it, is one request),
  reads its output until it exits and starts no further command. Then :func:`up` raises the
  :class:`UserError` of :func:`interrupted`: what happened to ``up``, the pending operations the state now
  records (``pulumi refresh``) and the lock left in a file backend (``pulumi cancel``), exit 130 after SIGINT and
  143 after SIGTERM (:func:`interrupt_exit_code`). It says "terminated"
  only when a second request was passed on and the stack shows it (pending operations, a lock, or a state it
  could not read), and "unlocked" only when it read the lock (a file backend; audit closing-34a-1).
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
from mlops_infra.name_lists import join_names
from mlops_infra.stacks import read_pulumi_yaml, stands_for

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
    project: str | None = None
    """The system's name: the directory's Pulumi project must be it (:func:`check_stack_dir`)."""
    expected_serial: str | None = None
    """The state serial the plan was made against (:func:`up` refuses another)."""


@dataclass(frozen=True)
class RunResult:
    """The outcome of a Pulumi operation: resource change counts by op, stack outputs, CLI output. ``stdout`` of
    ``preview`` and ``up`` is Pulumi's ``--diff`` display, which prints resources' old property values (secrets
    among them: :func:`pulumi_failure`): keep it from logs and the screen."""

    operation: str
    changes: dict[str, int]
    outputs: dict[str, Any]
    stdout: str


SELF_MANAGED = frozenset({"file", "s3", "gs", "azblob"})
"""Backend kinds whose stacks encrypt secrets with a passphrase by default (Pulumi "DIY backends")."""


def backend_url(options: StackOptions, environ: Mapping[str, str] = os.environ) -> str:
    """The backend the stack uses (see the module contract). The stack directory only when there is no login: a
    credentials file ``pulumi`` reads but mlops-infra cannot (encrypted, audit stateformats-4) raises the
    reader's :class:`~mlops_infra.state.pulumi_state.StateError`, never ``file://<stack dir>``."""
    from mlops_infra.state.backends import choose_backend
    from mlops_infra.state.pulumi_state import file_backend_url

    stack_dir = Path(options.stack_dir).resolve()
    return options.backend_url or choose_backend(stack_dir, environ).url or file_backend_url(stack_dir)


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


CONFIG_KEYS = ("mlops:systemFile", "mlops:environment")


def program_config(stack_dir: Path, env: str) -> tuple[str | None, dict[str, tuple[str, Path]]]:
    """The ``name:`` of ``stack_dir``'s ``Pulumi.yaml`` (None without one) and, for each of
    :data:`CONFIG_KEYS` set for stack ``env``, its value and the file that sets it: stack config
    ``Pulumi.<env>.yaml`` over the project's ``config:`` (plain or ``{value:}``/``{default:}``)."""
    project_file = Path(stack_dir) / "Pulumi.yaml"
    if not project_file.is_file():
        return None, {}
    project = read_pulumi_yaml(project_file)
    found: dict[str, tuple[str, Path]] = {}
    stack_file = Path(stack_dir) / f"Pulumi.{env}.yaml"
    sources = [(stack_file, read_pulumi_yaml(stack_file))] if stack_file.is_file() else []
    for source, data in [*sources, (project_file, project)]:
        config = data.get("config")
        for key in CONFIG_KEYS:
            value = config.get(key) if isinstance(config, dict) else None
            if isinstance(value, dict):
                value = value.get("value", value.get("default"))
            if isinstance(value, str) and key not in found:
                found[key] = (value, source)
    name = project.get("name")
    return (name if isinstance(name, str) else ""), found


def check_stack_dir(stack_dir: Path | str, project: str, system_file: Path | str | None, env: str) -> None:
    """Refuse a stack directory that deploys another system or environment (see the module contract).
    ``system_file``: absolute, or relative to ``stack_dir``.

    A directory without ``Pulumi.yaml`` passes: :func:`open_stack` refuses it."""
    stack_dir = Path(stack_dir)
    name, config = program_config(stack_dir, env)
    if name is None:
        return
    fix = (f"Apply from a stack directory of {project} (`mlops-infra init` next to the system file makes "
           f"stacks/<env>/ there) or name one with --stack-dir. Nothing was changed.")
    if name != project:
        raise UserError(f"the stack directory {stack_dir} is Pulumi project {name!r}, not this system {project!r}",
                        f"`pulumi up` there would run on stack {name}/{env}: it would delete the resources of "
                        f"{name} that {project} does not declare and rewrite its Pulumi.{env}.yaml. {fix}",
                        source=str(stack_dir / "Pulumi.yaml"))
    if "mlops:systemFile" in config and system_file is not None:
        named, source = config["mlops:systemFile"]
        if not stands_for(stack_dir / named, stack_dir / system_file):  # a path that no longer exists names none
            raise UserError(f"the stack directory {stack_dir} deploys {named}, not {system_file}",
                            f"Its mlops:systemFile (in {source.name}) names another system file. {fix} If the "
                            f"system file moved, set mlops:systemFile in {source} to it.", source=str(source))
    if "mlops:environment" in config and config["mlops:environment"][0] != env:
        named, source = config["mlops:environment"]
        raise UserError(f"the stack directory {stack_dir} deploys environment {named!r}, not {env!r}",
                        f"Its mlops:environment (in {source.name}) is {named!r}: the program would compile "
                        f"{named} into stack {env}. Use the stack directory of {env} (--stack-dir). Nothing "
                        "was changed.", source=str(source))


def _read_state(options: StackOptions, environ: Mapping[str, str] = os.environ):
    """The :class:`~mlops_infra.state.backends.LocatedState` of the stack, read where ``plan`` reads it, from
    the backend the CLI is given."""
    from mlops_infra.state.backends import read_stack_state

    stack_dir = Path(options.stack_dir)
    project = options.project or program_config(stack_dir, options.env)[0] or ""
    if options.backend_url:  # as workspace_env gives it to the CLI; else both choose it the same way
        environ = {**environ, "PULUMI_BACKEND_URL": options.backend_url}
    return read_stack_state(project, options.env, stack_dir, environ)


def check_unmoved(options: StackOptions, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse when the stack's state is no longer the one of ``options.expected_serial`` (module contract)."""
    if options.expected_serial is None:
        return
    stack_dir = Path(options.stack_dir)
    project = options.project or program_config(stack_dir, options.env)[0] or ""
    located = _read_state(options, environ)
    serial = located.state.serial
    if serial != options.expected_serial:
        raise UserError(
            f"stale plan: the state moved since the plan was made (serial {options.expected_serial[:12]} -> "
            f"{serial[:12]}); re-run plan",
            f"Nothing was applied. {project}/{options.env} in {located.describe()} is not the state the plan "
            "shown was made against (another apply, a `pulumi` command, or a --state file that is not the "
            "stack's current state). `pulumi up` would undo or repeat what changed. Re-run `mlops-infra plan` "
            "(without --state), review it and apply again.")


def preflight(options: StackOptions, environ: Mapping[str, str] = os.environ) -> None:
    """What :func:`up` refuses before Pulumi runs, checked without running it: a directory without
    ``Pulumi.yaml``, another system's directory (``options.project``), a self-managed backend without a
    passphrase (:func:`workspace_env`), and, with ``options.expected_serial``, a state that is not the one
    the plan was made against (:func:`check_unmoved`: a ``--state`` file that is not the stack's current
    state is refused by ``up`` every time, audit closing-33b-2). ``mlops-infra apply --drain-queues`` calls
    it before it holds a ClusterQueue (audit applypath-4: the drain evicted the runs, then ``up`` could not
    start); ``up`` checks the state again, since it can still move during the prompt and the drain. Then,
    last, :func:`check_cli` runs the Pulumi CLI the way ``up`` will: its version against the Automation API's
    minimum, and ``pulumi whoami`` (the login and the backend's reachability, for the CLI). Before the state,
    :func:`check_unlocked`: a stack another ``pulumi`` holds locked (audit concurrency-3)."""
    stack_dir = Path(options.stack_dir)
    if not (stack_dir / "Pulumi.yaml").is_file():
        raise UserError(f"{stack_dir} is not a Pulumi project", "Expected a Pulumi.yaml there (see docs/pulumi.md).")
    if options.project is not None:
        check_stack_dir(stack_dir, options.project, options.system_file, options.env)
    workspace_env(options, environ)
    check_unlocked(options, environ)
    check_not_stranded(options, environ)
    check_unmoved(options, environ)
    check_cli(options, environ)


CLI_CHECK_SECONDS = 60.0
"""How long each command of :func:`check_cli` may run before it is killed and the apply refused."""

NOTHING_DONE = "no ClusterQueue was held and nothing was applied"


def check_cli(options: StackOptions, environ: Mapping[str, str] = os.environ) -> None:
    """Refuse, before anything changes, a Pulumi CLI that ``up`` could not use: each refusal is one
    :class:`UserError` saying :data:`NOTHING_DONE` and the fix. Two commands, each killed after
    :data:`CLI_CHECK_SECONDS` (a refusal too), run as the Automation API runs them for ``up``:

    1. ``pulumi version``, judged by the Automation API's own rule: ``PulumiCommand.__init__``
       (``pulumi/automation/_cmd.py``, which every ``LocalWorkspace`` and :class:`SignalGuard` command
       constructs) runs ``pulumi version`` with ``PULUMI_SKIP_UPDATE_CHECK=true`` and refuses, through
       ``_parse_and_validate_pulumi_version`` (``InvalidVersionError``), a version below
       ``_minimum_version._MINIMUM_VERSION`` (3.1.0 in the installed SDK) or, above it, this project's
       :data:`mlops_infra.apply.cli_version.MINIMUM_CLI` (what the compiled graph needs), a major version above it
       ("Please update the SDK") and one that does not parse, unless
       ``PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK`` is set (``_env._SKIP_VERSION_CHECK_VAR``).
    2. ``pulumi --non-interactive whoami`` with ``up``'s environment (:func:`workspace_env`, hence its
       ``PULUMI_BACKEND_URL``, plus ``PULUMI_AUTOMATION_API=true``) in the stack directory: it logs in to
       the backend as every stack command does, which is what proves login and reachability
       (pulumi/pulumi ``pkg/cmd/pulumi/whoami/whoami.go`` ``NewWhoAmICmd`` -> ``cmdBackend.CurrentBackend``
       -> ``LoginManager.Login``). A self-managed backend is opened and read: ``diy.New``
       (``pkg/backend/diy/backend.go``) opens the bucket (``blobmux.OpenBucket``) and reads
       ``.pulumi/meta.yaml`` (``meta.go`` ``ensurePulumiMeta`` -> ``readPulumiMeta``: a missing file is
       fine, an unreadable bucket an error). Pulumi Cloud needs a valid login: without a stored token or
       ``PULUMI_ACCESS_TOKEN``, a non-interactive login fails with "PULUMI_ACCESS_TOKEN must be set for
       login during non-interactive CLI sessions" (``pkg/backend/httpstate/backend.go``
       ``defaultLoginManager.Login``, ``backenderr.MissingEnvVarForNonInteractiveError``), and ``whoami``
       then asks the service for the user (``cloudBackend.CurrentUser``). Not chosen: ``stack select``
       (what ``up`` runs first) writes the workspace's selected stack and fails on a stack ``up`` would
       create; ``stack ls`` lists (and, on a diy backend, reads) every stack of the backend.

    Not proven: that the stack's own files can be written, and the passphrase's correctness (``up``
    meets those first). The caller runs it only when a failure of ``up`` would cost something
    (``apply --drain-queues``); otherwise ``up`` itself fails at the same commands with nothing changed."""
    _check_version(environ)
    _check_backend(options, environ)


def _check_version(environ: Mapping[str, str]) -> None:
    from pulumi.automation._cmd import _parse_and_validate_pulumi_version
    from pulumi.automation._env import _SKIP_VERSION_CHECK_VAR
    from pulumi.automation._minimum_version import _MINIMUM_VERSION
    from pulumi.automation.errors import InvalidVersionError

    from mlops_infra.apply.cli_version import MINIMUM_CLI

    printed = _run_cli(["version"], {**environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}, None, "the CLI did not start")
    try:
        _parse_and_validate_pulumi_version(max(_MINIMUM_VERSION, MINIMUM_CLI), printed.strip().removeprefix("v"),
                                           environ.get(_SKIP_VERSION_CHECK_VAR) is not None)
    except InvalidVersionError as exc:
        raise version_refusal(exc) from exc


def version_refusal(exc: Exception, done: str = NOTHING_DONE) -> UserError:
    """The :class:`UserError` of a CLI version the Automation API refuses (``InvalidVersionError``); ``done``
    says what did not happen."""
    said = _pulumi_says(str(exc))
    return UserError(f"the Pulumi CLI on PATH cannot run `pulumi up` through the Automation API ({said}); {done}",
                     "Install a current Pulumi CLI (https://www.pulumi.com/docs/install/; `pulumi version` shows "
                     "which one is on PATH) and apply again; a CLI of a newer major version needs a newer `pulumi` "
                     "Python package beside mlops-infra.")


def _check_backend(options: StackOptions, environ: Mapping[str, str]) -> None:
    from mlops_infra.secrets.urls import redact_url
    from mlops_infra.state.backends import Backend

    url = backend_url(options, environ)
    env = {**environ, **workspace_env(options, environ), "PULUMI_AUTOMATION_API": "true"}
    kind, shown = Backend(url, "").kind, redact_url(url)
    what = f"the {'local' if kind == 'file' else kind} backend {shown}"
    try:
        _run_cli(["--non-interactive", "whoami"], env, Path(options.stack_dir), f"{what} may be unreachable")
    except _Failed as failed:
        said = failed.said
        if any(sign in said for sign in ("must be set for login", "pulumi login", "Unauthorized")):
            fix = (f"Log in where this apply's state lives: `pulumi login {shown}` (or set PULUMI_ACCESS_TOKEN), "
                   "check it with `pulumi whoami`, and apply again.")
            summary = f"the Pulumi CLI is not logged in to {what}"
        else:
            fix = {"s3": "Give the Pulumi CLI the AWS credentials and region that can read the bucket (AWS_PROFILE, "
                         "AWS_REGION, or the URL's ?region=&profile=); `pulumi whoami` shows when it can open it.",
                   "file": "Check that the directory exists and can be read and written.",
                   }.get(kind, f"Check that it can be reached from here and that you are logged in (`pulumi login "
                               f"{shown}`); `pulumi whoami` shows when it can open it.")
            summary = f"the Pulumi CLI cannot open {what}"
        raise UserError(f"{summary} (`pulumi whoami`: {said}); {NOTHING_DONE}", f"{fix} Then apply again.") from None


class _Failed(Exception):
    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


def _pulumi_says(text: str) -> str:
    """The first line of ``text`` that says something (Pulumi's ``error: ...``), URLs and secrets redacted."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = next((line for line in lines if line.lower().startswith("error:")), lines[0] if lines else "")
    return _redacted(first.removeprefix("error: "))[:300] or "no message"


def _run_cli(args: list[str], env: Mapping[str, str], cwd: Path | None, why_slow: str) -> str:
    """Run ``pulumi <args>`` (stdin the null device, its own process group: ``start_flags``, as
    :class:`~mlops_infra.apply.pulumi_process.SignalGuard` runs ``up``); its stdout, decoded as UTF-8 (what Go
    writes; ``text=True`` would use the locale's code page, Windows' ANSI one, in which a DIY backend's
    ``whoami``, the OS account ``PC\\Łukasz``, is undecodable: audit portab45-8), a byte that is not UTF-8 replaced.
    A missing CLI, a timeout (:data:`CLI_CHECK_SECONDS`) or an exit code other than 0 raises (:class:`UserError`,
    :class:`_Failed`)."""
    import subprocess

    from mlops_infra.apply.pulumi_process import start_flags

    try:
        done = subprocess.run(["pulumi", *args], stdin=subprocess.DEVNULL, capture_output=True, encoding="utf-8",
                              errors="replace", cwd=cwd, env=dict(env), timeout=CLI_CHECK_SECONDS, check=False,
                              **start_flags())
    except FileNotFoundError as exc:
        raise UserError(f"The Pulumi CLI is not installed (no `pulumi` on PATH); {NOTHING_DONE}",
                        INSTALL_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        raise UserError(f"`pulumi {' '.join(a for a in args if a != '--non-interactive')}` did not answer within "
                        f"{CLI_CHECK_SECONDS:.0f} s ({why_slow}); {NOTHING_DONE}",
                        "Check the network path to the backend and the Pulumi CLI (`pulumi whoami` should answer at "
                        "once), then apply again.") from exc
    if done.returncode != 0:
        if args == ["version"]:
            raise UserError(f"`pulumi version` failed: {_pulumi_says(done.stderr or done.stdout)}; {NOTHING_DONE}",
                            INSTALL_HINT)
        raise _Failed(_pulumi_says(done.stderr or done.stdout))
    return done.stdout


def open_stack(options: StackOptions, pulumi_command: Callable[[], Any] | None = None):
    """The ``pulumi.automation.Stack`` of ``options``, created if missing, config applied; refused first when
    the directory is another system's (``options.project``, :func:`check_stack_dir`). ``pulumi_command``
    makes the ``PulumiCommand`` every command of the stack runs with (:func:`up`: a
    :class:`~mlops_infra.apply.pulumi_process.SignalGuard`'s); default: the Automation API's own."""
    import pulumi.automation as auto

    stack_dir = Path(options.stack_dir)
    if not (stack_dir / "Pulumi.yaml").is_file():
        raise UserError(f"{stack_dir} is not a Pulumi project", "Expected a Pulumi.yaml there (see docs/pulumi.md).")
    if options.project is not None:
        check_stack_dir(stack_dir, options.project, options.system_file, options.env)
    command = _pulumi(pulumi_command) if pulumi_command else None
    workspace = auto.LocalWorkspaceOptions(work_dir=str(stack_dir), env_vars=workspace_env(options),
                                           pulumi_command=command)
    stack = _pulumi(lambda: auto.create_or_select_stack(options.env, work_dir=str(stack_dir), opts=workspace),
                    options)
    config = stack_config(options)
    named = program_config(stack_dir, options.env)[1].get("mlops:systemFile")
    if named and options.system_file and (stack_dir / named[0]).is_file() and stands_for(
            stack_dir / named[0], stack_dir / options.system_file):  # the same file, in any case (portab45-6)
        del config["mlops:systemFile"]  # already names it: the committed Pulumi.<env>.yaml is left alone
    if config:
        _pulumi(lambda: stack.set_all_config({k: auto.ConfigValue(value=v) for k, v in config.items()}), options)
    return stack


def _pulumi(operation: Callable[[], Any], options: StackOptions | None = None) -> Any:
    """Run an Automation API call, turning a missing CLI or a failed command into a UserError (a failed command:
    :func:`pulumi_failure`; ``options`` names the stack in its hint).

    A ``pulumi`` that cannot run is the same error as :func:`_run_cli`'s "`pulumi version` failed" (audit
    robust-2): ``PulumiCommand.__init__`` (``pulumi/automation/_cmd.py``) runs
    ``subprocess.check_output([command, "version"])`` first, which raises ``CalledProcessError`` when it exits
    non-zero and ``OSError`` when the file is no program of this machine (``ENOEXEC``, Linux's "Exec format
    error": another platform's binary; ``execve(2)``)."""
    import subprocess

    import pulumi.automation as auto

    try:
        return operation()
    except FileNotFoundError as exc:
        if "pulumi" in str(exc.filename or exc):
            raise UserError("The Pulumi CLI is not installed (no `pulumi` on PATH)", INSTALL_HINT) from exc
        raise
    except subprocess.CalledProcessError as exc:
        if list(exc.cmd)[1:] != ["version"] or Path(str(exc.cmd[0])).name != "pulumi":
            raise
        out = exc.output.decode("utf-8", "replace") if isinstance(exc.output, bytes) else str(exc.output or "")
        said = _pulumi_says(out) if out.strip() else f"it exited with status {exc.returncode}"
        raise UserError(f"`pulumi version` failed: {said}; nothing was applied", INSTALL_HINT) from None
    except OSError as exc:
        if Path(str(exc.filename or "")).name != "pulumi":
            raise
        raise UserError(f"`pulumi version` failed: the `pulumi` on PATH ({exc.filename}) cannot run "
                        f"({exc.strerror or exc}); nothing was applied", INSTALL_HINT) from None
    except auto.errors.CommandError as exc:
        # from None: a debug traceback (MLOPS_INFRA_DEBUG=1) would print the CommandError, all of Pulumi's stdout
        raise pulumi_failure(exc, options) from None
    except auto.errors.InvalidVersionError as exc:  # PulumiCommand.__init__ (_cmd.py): before any command ran
        raise version_refusal(exc, "nothing was applied") from exc


FAILURE_LINES = 40
"""At most this many lines of Pulumi's stderr in the error of a failed command (the rest are counted)."""


def pulumi_failure(exc: Exception, options: StackOptions | None = None) -> UserError:
    """The :class:`UserError` of a failed Pulumi command (``pulumi.automation.errors.CommandError``): Pulumi's
    stderr and its stdout's ``error:`` lines, each redacted as :func:`_pulumi_says` redacts, and never the rest
    of its stdout (audit closing-34g-3).

    Why. ``CommandError.__init__`` (``pulumi/automation/errors.py``) keeps only ``str(command_result)``, and
    ``CommandResult.__str__`` (``pulumi/automation/_cmd.py``) is ``"\n code: ...\n stdout: ...\n stderr: ..."``:
    the whole stdout of ``pulumi up --diff``/``preview --diff``. That is the diff display, which prints the old
    value of every deleted or updated property (pulumi/pulumi ``pkg/backend/display/object_diff.go``
    ``printObjectPropertyDiff``: ``printDelete``, ``printPropertyValueDiff``); only Pulumi secrets print as
    ``[secret]``, and a Lambda's ``environment.variables`` or a container's ``env`` values are not. The plan shows
    those as ``(sensitive)``; the error printed them, and CI keeps the log. Pulumi's diagnostics (``error: ...``)
    go to stderr in the diff display (``pkg/backend/display/diff.go`` ``ShowDiffEvents``: ``if event.Type ==
    engine.DiagEvent { out = stderr }``), as do the CLI's own errors; the progress display (``refresh``) puts
    them under ``Diagnostics:`` on stdout, whence only the ``error:`` lines are taken. The stdout is not kept
    anywhere (the Automation API holds it in memory only): the message says so and how to see the diff."""
    import re

    text = str(exc)
    head, marker, stderr = text.rpartition("\n stderr: ")  # the last one: stderr comes after stdout
    stdout = head.partition("\n stdout: ")[2] if marker else text
    code = re.match(r"\s*code: (-?\d+)", head)
    said = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    said += [line.strip() for line in stdout.splitlines()
             if line.strip().lower().startswith("error:") and line.strip() not in {s.strip() for s in said}]
    first = _pulumi_says("\n".join(said)) if said else f"exit code {code.group(1) if code else '?'}, no error message"
    headline = next((n for n, line in enumerate(said) if line.strip().lower().startswith("error:")), 0)
    rest = said[:headline] + said[headline + 1:]  # the summary's line is not repeated
    shown = [_redacted(line) for line in rest[:FAILURE_LINES]]
    if len(rest) > FAILURE_LINES:
        shown.append(f"({len(rest) - FAILURE_LINES} more lines of Pulumi's errors left out)")
    where = (f" (`pulumi preview --diff --stack {options.env}` in {_shown(Path(options.stack_dir))})"
             if options is not None else " (`pulumi preview --diff` in the stack directory)")
    out = [line for line in stdout.splitlines() if line.strip()]
    if out:
        shown.append(f"Pulumi's progress output ({len(out)} lines) is left out and not kept: its diff prints the "
                     "resources' old property values, secrets among them (environment variables). To see the diff, "
                     f"run it yourself{where}.")
    if "currently locked" in text:  # pkg/backend/diy/lock.go checkForLock: its hint is unqualified (concurrency-3)
        cancel = f"`{_cancel(options)}` (in {_shown(Path(options.stack_dir))})" if options is not None \
            else "`pulumi cancel`"
        shown.append(f"Another `pulumi` holds the stack's lock: wait for it to end. Run {cancel} only once you "
                     "know no `pulumi` runs on the stack: removing a live lock lets two updates run on one state.")
    return UserError(f"Pulumi failed: {first}", "\n".join(shown))


def _redacted(line: str) -> str:
    """``line`` with URLs' credentials and secret-shaped values redacted (as :func:`_pulumi_says`)."""
    import re

    from mlops_infra.secrets.scan import redact
    from mlops_infra.secrets.urls import redact_url

    return redact(re.sub(r"\b[a-z][a-z0-9+.-]*://\S+", lambda m: redact_url(m.group(0)), line))


def _counts(summary: Any) -> dict[str, int]:
    return {str(getattr(op, "value", op)): int(n) for op, n in (summary or {}).items()}


def preview(stack_dir: Path | str, env: str, **options: Any) -> RunResult:
    """``pulumi preview`` of the stack (no changes made)."""
    stack_options = StackOptions(Path(stack_dir), env, **options)
    stack = open_stack(stack_options)
    result = _pulumi(lambda: stack.preview(diff=True), stack_options)
    return RunResult("preview", _counts(result.change_summary), {}, result.stdout)


def up(stack_dir: Path | str, env: str, *, on_event: Callable[[dict[str, Any]], None] | None = None,
       targets: Sequence[str] = (), replace: Sequence[str] = (), guard: Any = None, next_phase: str | None = None,
       exclude: Sequence[str] = (), refresh: bool = False, **options: Any) -> RunResult:
    """``pulumi up --yes``: create, update and delete resources to match the desired graph. ``on_event``
    receives each engine event in its JSON form (:func:`mlops_infra.apply.events.from_engine_event`);
    ``targets`` limits the update to those URNs (``pulumi up --target``: a target the program no
    longer registers is deleted). ``replace``: URNs Pulumi replaces whatever their diff (``pulumi up
    --replace``, ``Stack.up(replace=...)``; :func:`mlops_infra.plan.init_errors.forced_replaces`); with
    ``targets`` only those among them (the engine leaves an untargeted resource as it is,
    ``step_generator.go`` ``isTargetedForUpdate``). ``exclude``: URNs left out of the update with their
    dependents, each keeping its state record as it is (``Stack.up(exclude=..., exclude_dependents=True)``,
    ``--exclude``/``--exclude-dependents``; :mod:`mlops_infra.apply.failed_endpoints`), none of them replaced;
    with ``targets`` not passed (the CLI refuses ``--target`` with ``--exclude``, ``pkg/cmd/pulumi/operations/
    up.go`` ``MarkFlagsMutuallyExclusive``; an untargeted resource is left as it is anyway) and none of them may
    be a target (refused: a caller's bug). ``refresh``: ``pulumi up --refresh`` (``Stack.up(refresh=True)``, pulumi
    3.272.0 ``automation/_stack.py``: ``if refresh: extra_args.extend(["--refresh"])``): the engine reads every resource
    first, drops the records of those gone (terraform-provider-aws ``Read``: "not found, removing from state") and puts
    changed values back; without it the engine diffs against the state alone and re-creates nothing (audit
    autoscale-6). apply passes it for a plan made with ``--refresh`` (what that plan shows: ``missing-in-cloud``
    creates, drift put back). With ``expected_serial``, a state that moved is refused
    before the stack is opened and again right before ``up`` (:func:`check_unmoved`). ``guard``: the
    :class:`~mlops_infra.apply.pulumi_process.SignalGuard` the caller installed before (``apply
    --drain-queues``: a signal during the drain then starts no Pulumi command); default a new one.
    ``next_phase``: what the ``up`` after this one does (phase 1 of an ordered apply,
    :mod:`mlops_infra.apply.sequences`); an interruption of this one says that it did not run (audit
    closing-35c-2: a signal once phase 1's ``pulumi up`` process has ended, while the Automation API's
    ``Stack.up`` still runs ``stack output`` and ``stack history`` - pulumi/automation/_stack.py ``up``:
    ``outputs = self.outputs()``, ``summary = self.info()`` - stops those, and phase 2 never starts)."""
    from mlops_infra.apply.events import from_engine_event
    from mlops_infra.apply.pulumi_process import SignalGuard

    if both := sorted(set(targets) & set(exclude)):
        raise ValueError(f"targeted and excluded at once: {', '.join(both)}")
    stack_options = StackOptions(Path(stack_dir), env, **options)
    if stack_options.project is not None:  # nothing is read or written in another system's directory
        check_stack_dir(stack_options.stack_dir, stack_options.project, stack_options.system_file, env)
    check_unlocked(stack_options, done="nothing was applied")  # concurrency-3: no `stack select` on a locked stack
    check_not_stranded(stack_options, done="nothing was applied")  # closing-37b-5: not beside the stack directory's state
    check_unmoved(stack_options)
    guard = SignalGuard() if guard is None else guard  # applypath-3: signals cancel Pulumi as at its terminal
    earlier = guard.started.count("up")  # an ordered apply's first phase ran under the same guard
    with guard.installed():
        try:
            stack = open_stack(stack_options, guard.command)
            forward = (lambda event: on_event(from_engine_event(event))) if on_event else None
            limit = {"target": list(targets)} if targets else {}
            forced = [urn for urn in replace if (not targets or urn in targets) and urn not in exclude]
            limit |= {"replace": forced} if forced else {}
            limit |= {"refresh": True} if refresh else {}  # autoscale-6: what a refreshed plan shows
            if exclude and not targets:
                limit |= {"exclude": list(exclude), "exclude_dependents": True}
            check_unmoved(stack_options)
            result = _pulumi(lambda: stack.up(diff=True, on_event=forward, **limit), stack_options)
        except Exception as exc:
            if guard.signals:
                raise interrupted(stack_options, guard, started=guard.started.count("up") > earlier,
                                  next_phase=next_phase) from exc
            raise
        if guard.signals:
            raise interrupted(stack_options, guard, next_phase=next_phase)
    outputs = {k: v.value for k, v in (result.outputs or {}).items()}
    return RunResult("up", _counts(result.summary.resource_changes), outputs, result.stdout)


def stack_locks(options: StackOptions, environ: Mapping[str, str] = os.environ) -> list[Path]:
    """The lock files of the stack in a file backend (pulumi/pulumi ``pkg/backend/diy/lock.go`` ``lockPath``:
    ``.pulumi/locks/<fully qualified stack name>/<lock id>.json``; ``backend.go`` ``FullyQualifiedName``:
    ``organization/<project>/<stack>``, or ``<stack>`` in the legacy layout). Other backends: none seen."""
    from mlops_infra.state.backends import Backend
    from mlops_infra.state.stack_lock import lock_files

    url = backend_url(options, environ)
    if Backend(url, "").kind != "file":
        return []
    project = options.project or program_config(Path(options.stack_dir), options.env)[0] or ""
    return lock_files(project, options.env, Path(options.stack_dir), url)


def lock_holders(locks: Sequence[Path]) -> list[str]:
    """``<user>@<host> (pid N) since <time>`` of each lock file (:func:`mlops_infra.state.stack_lock.holders`, the
    one reader of lock files, which ``plan`` uses too)."""
    from mlops_infra.state.stack_lock import holders

    return holders(locks)


def check_unlocked(options: StackOptions, environ: Mapping[str, str] = os.environ, *,
                   done: str = NOTHING_DONE) -> None:
    """Refuse a stack that a ``pulumi`` process holds locked, naming who holds it (audit concurrency-3).

    Why: the diy backend takes the stack's lock first thing in ``Update`` (pulumi/pulumi
    ``pkg/backend/diy/backend.go``: ``b.Lock`` then ``defer b.Unlock``) and ``checkForLock``
    (``pkg/backend/diy/lock.go``) refuses an update while any lock file is there ("the stack is currently locked
    by N lock(s)"). A running ``up`` holds it, and so does one that crashed (killed CI runner, OOM), whose
    state may be the very one planned against, so the serial check (:func:`check_unmoved`) passes. Checked
    by :func:`preflight` before ``apply --drain-queues`` holds a ClusterQueue (the drain evicted runs for an
    ``up`` that then met the lock), and by :func:`up` before ``pulumi stack select``/``config set-all``. Lock
    files are read in a file backend (:func:`stack_locks`); elsewhere ``up`` meets the lock itself and
    :func:`pulumi_failure` words Pulumi's hint. The message says to wait, and ``pulumi cancel`` only once no
    ``pulumi`` runs on the stack: removing a live lock lets two updates run on one state."""
    locks = stack_locks(options, environ)
    if not locks:
        return
    where, stack = _shown(Path(options.stack_dir)), options.env
    raise UserError(
        f"the stack {stack} is locked by {', '.join(lock_holders(locks))}: another `pulumi up` is running on it, "
        f"or one crashed; {done}",
        f"Pulumi refuses an update while the lock is there ({', '.join(_shown(lock) for lock in locks)}). Wait for "
        "that apply to end, then plan and apply again. If it crashed: once you know no `pulumi` runs on the stack "
        f"(the process named above has ended), remove the lock with `{_cancel(options, environ)}` in {where}.")


def _cancel(options: StackOptions, environ: Mapping[str, str] = os.environ) -> str:
    """The ``pulumi cancel`` to run in the stack directory for apply's backend
    (:func:`mlops_infra.state.stack_lock.cancel_command`: the URL in front when plain ``pulumi`` would not use it)."""
    from mlops_infra.state.backends import choose_backend
    from mlops_infra.state.stack_lock import cancel_command

    try:
        chosen = choose_backend(Path(options.stack_dir), environ).url
    except (UserError, OSError, ValueError):
        chosen = ""
    own = options.backend_url or (None if chosen else backend_url(options, environ))
    return cancel_command(options.env, own)


def check_not_stranded(options: StackOptions, environ: Mapping[str, str] = os.environ, *,
                  done: str = NOTHING_DONE) -> None:
    """Refuse to run ``pulumi up`` on a backend other than the stack directory while the stack directory holds
    this stack's state (audit closing-37b-5; :func:`mlops_infra.state.backends.stranded_warning`): that state
    was written by an apply made while mlops-infra kept it there, and ``up`` elsewhere would create again every
    resource it holds. Not with ``options.backend_url`` given explicitly."""
    from mlops_infra.state.backends import stranded_warning

    if options.backend_url:
        return
    project = options.project or program_config(Path(options.stack_dir), options.env)[0] or ""
    warning = stranded_warning(project, options.env, Path(options.stack_dir), environ)
    if warning:
        raise UserError(f"the stack's state is in two places; {done}", warning[0].upper() + warning[1:] + ".")


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def interrupted(options: StackOptions, guard: Any, environ: Mapping[str, str] = os.environ, *,
                started: bool = True, next_phase: str | None = None) -> UserError:
    """The error of an ``up`` that a SIGINT or SIGTERM interrupted (audit applypath-3), once Pulumi has exited:
    what happened to ``pulumi up`` (never started; cancelled - Pulumi finished the operations in flight,
    wrote the state and unlocked; terminated by a second request; or already over), then what it left, read
    again: the state's pending operations (``pkg/backend/snapshot.go`` ``BeginMutation`` records each step
    before it runs), named by operation, type and name (the first :data:`PENDING_NAMED`, then a count), for which ``pulumi refresh`` asks, per pending create, whether to import or clear it
    (``pkg/cmd/pulumi/operations/refresh.go``; ``--import-pending-creates``/``--clear-pending-creates``
    without a terminal), and the stack's lock, which ``pulumi cancel`` removes (``pkg/backend/diy/lock.go``
    ``checkForLock``: "delete the lock file with `pulumi cancel`"); the next ``plan`` warns of pending
    operations too (:mod:`mlops_infra.plan.planner`). The lock is read in a file backend only: elsewhere the
    summary does not say the stack was unlocked (the diy backend takes its lock before Pulumi handles signals,
    ``pkg/backend/diy/backend.go`` ``Update``: ``b.Lock`` before ``op.Scopes.NewScope``, so even one signal can
    leave it) and a line says what to do if Pulumi reports it. Two requests passed on read as "terminated"
    only when the stack shows it (pending operations, a lock, an unreadable state): Pulumi may have finished
    its cancel before the second came. ``started`` False: this ``up`` never started though an earlier one of the
    same guard did (the second ``up`` of an ordered apply, :mod:`mlops_infra.apply.sequences`), which is said.
    ``next_phase``: this ``up`` is phase 1 of 2, and the summary says what phase 2 does and that it did not run.
    Its exit code is :func:`interrupt_exit_code`'s."""
    from mlops_infra.apply.pulumi_process import signal_name

    where, stack = _shown(Path(options.stack_dir)), options.env
    sent = guard.passed.get("up", 0)
    lines, clean = [], True
    try:
        state = _read_state(options, environ).state
    except (UserError, OSError, ValueError) as exc:
        state, clean = None, False
        lines.append(f"The stack's state could not be read afterwards ({getattr(exc, 'summary', exc)}): check it "
                     f"with `pulumi stack --stack {stack}` in {where}.")
    if state is not None and state.pending_operations:
        clean = False
        lines.append(f"The state records {state.pending_operations} pending operation(s){_named(state.pending)}: "
                     "resources Pulumi was creating, updating or deleting may exist without being in the state. "
                     "Run `pulumi refresh "
                     f"--stack {stack}` in {where}: it asks what to do with each pending create (without a terminal: "
                     "--import-pending-creates or --clear-pending-creates).")
    locks = stack_locks(options, environ)
    lock_read = _backend_kind(options, environ) == "file"
    if locks:
        clean = False
        lines.append(f"The stack is still locked ({', '.join(_shown(lock) for lock in locks)}). Once no `pulumi` "
                     f"runs on it, run `{_cancel(options, environ)}` in {where} to remove the lock.")
    elif sent and not lock_read:
        lines.append(f"The stack's lock is not read in this backend: if Pulumi then says the stack is locked, run "
                     f"`{_cancel(options, environ)}` in {where} once no `pulumi` runs on it.")
    lines.append(f"{'Then run' if lines else 'Run'} `mlops-infra plan` to see what is left to apply, and apply again.")
    if next_phase and sent and "up" in guard.started:
        lines.insert(0, f"Phase 2 of 2 ({next_phase}) did not run.")
    signals = ", ".join(signal_name(s) for s in guard.signals)
    if "up" not in guard.started:
        summary = f"interrupted ({signals}) before `pulumi up` started: nothing was applied"
    elif not started:
        summary = (f"interrupted ({signals}) before the next `pulumi up` started: the `pulumi up` before it was "
                   "applied, this one was not")
    elif sent == 0 and next_phase:
        summary = (f"interrupted ({signals}) after phase 1's `pulumi up` ended: phase 1 was applied, phase 2 "
                   f"({next_phase}) did not run; apply again to run it")
    elif sent == 0:
        summary = f"interrupted ({signals}) after `pulumi up` ended: the checks and rollouts after it did not run"
    elif sent == 1 or (clean and lock_read):  # no pending operation, no lock: what a finished cancel leaves
        summary = "interrupted: `pulumi up` was cancelled" + (
            f"; Pulumi finished the operations in flight, saved the state{' and unlocked the stack' * lock_read}"
            if clean else "")
    elif clean:
        summary = "interrupted: `pulumi up` was stopped by a second signal; the state records no pending operation"
    else:
        summary = "interrupted: `pulumi up` was terminated before it finished"
    return UserError(summary, "\n".join(lines), exit_code=interrupt_exit_code(guard.signals))


PENDING_NAMED = 5
"""How many pending operations :func:`interrupted` names (the rest are counted)."""


def _named(pending: Sequence[tuple[str, str, str]]) -> str:
    """`` (creating aws:s3/bucket:Bucket fraud-dev-data, ... and N more)`` of the state's pending operations
    (:attr:`~mlops_infra.state.model.PriorState.pending`); "" for none."""
    if not pending:
        return ""
    names = [f"{op} {rtype} {urn.rsplit('::', 1)[-1]}" for rtype, urn, op in pending]
    return f" ({join_names(names, PENDING_NAMED)})"


def interrupt_exit_code(signals: Sequence[int]) -> int:
    """128 + the number of the first signal that stopped the apply (SIGINT: 130, SIGTERM: 143): what a shell
    reports for a command a signal ended (Bash Reference Manual 3.7.5 "Exit Status": "When a command terminates
    on a fatal signal whose number is N, Bash uses the value 128+N as the exit status"), so a CI step or a
    script sees the interruption as one; 1 without a signal."""
    return 128 + int(signals[0]) if signals else 1


def _backend_kind(options: StackOptions, environ: Mapping[str, str]) -> str:
    from mlops_infra.state.backends import Backend

    return Backend(backend_url(options, environ), "").kind


def refresh(stack_dir: Path | str, env: str, **options: Any) -> RunResult:
    """``pulumi refresh --yes``: read every resource from the cloud into the state."""
    stack_options = StackOptions(Path(stack_dir), env, **options)
    stack = open_stack(stack_options)
    result = _pulumi(lambda: stack.refresh(), stack_options)
    return RunResult("refresh", _counts(result.summary.resource_changes), {}, result.stdout)


def export_state(stack_dir: Path | str, env: str, **options: Any) -> dict[str, Any]:
    """``pulumi stack export``: ``{"version": ..., "deployment": {...}}``."""
    stack_options = StackOptions(Path(stack_dir), env, **options)
    stack = open_stack(stack_options)
    deployment = _pulumi(stack.export_stack, stack_options)
    return {"version": deployment.version, "deployment": deployment.deployment}
