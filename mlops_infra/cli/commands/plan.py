"""``mlops-infra plan [FILE] --env ENV [--state PATH] [--refresh] [--format text|markdown|json]
[--out plan.json] [--detailed-exitcode] [--color/--no-color]``.

Contract:
- Pipeline: load and validate ``FILE`` for ``ENV`` -> compile the desired graph -> read the prior
  state -> (``--refresh``) read live AWS resources and find drift -> ``make_plan`` -> render on
  stdout. Nothing is written except ``--out`` (atomically) and nothing in the cloud is changed.
- ``--out`` is checked before anything else (:func:`mlops_infra.fileio.output_file`): never the
  spec or the state file (paths and inodes), never a directory, device or FIFO; a symlink is
  written through. The plan file and the printed plan pass the redaction layer before the file is
  written, so a refused plan leaves no file behind.
- ``FILE`` defaults to ``./mlsystem.yaml`` when there is one, else the quickstart embedded in the
  package, so the README's first command plans something real on a fresh machine. ``ENV``
  defaults to the only environment, else ``dev`` when there is one, else the first in the file.
- Prior state: ``--state PATH`` (a stack file or ``pulumi stack export`` output, ``.json``,
  ``.json.gz`` or ``.json.zst``); else the file backend's stack file found from ``stacks/<ENV>`` (or the current
  directory) and ``PULUMI_BACKEND_URL``; else an empty state (a stack never applied). The output
  says which, in a line starting ``Prior state:`` (on stderr for ``--format json``).
- ``--refresh`` reads live AWS resources with the usual credential chain (``AWS_ENDPOINT_URL``
  honoured), each call bounded (connect 5 s, read 10 s) and the whole scan by ``--refresh-timeout``
  (default 30 s plus 20 ms per resource read, or ``MLOPS_INFRA_REFRESH_TIMEOUT``). Reads that fail are
  never "no drift": the plan says how many resources could not be read, by cause and AWS error code,
  in every format. On AWS it also asks whether each SageMaker model and endpoint config the plan creates
  already exists under its name (:func:`adoption_preflight`, audit rolloutaws-7: the previous version set back
  in the spec names the objects a rollout kept) and marks those adopted (reason ``adopted``, ``importId``):
  ``apply`` imports them instead of creating them. On a Kubernetes target it runs the cluster preflight (finding A5,
  :func:`cluster_preflight`: one warning per missing prerequisite, with how to enable it) and refuses
  (exit 1, nothing planned) a namespace whose labels say another system or environment applied there
  (:func:`namespace_owner_preflight`, finding collisions-2), then reads
  the objects of the prior state through the environment's kubeconfig context
  (:func:`refresh_kubernetes`, :mod:`mlops_infra.state.kube_live`), with the same drift vocabulary
  and unread causes of its own.
- Model versions (findings A1, firstapply-2; both targets): an endpoint whose pinned version is not
  in its registry (or not approved, when gated) waits, and the plan says why; ``--refresh`` decides
  from the registry itself (SageMaker, or the environment's MLflow), an offline plan from the prior
  state and from what this apply creates (:func:`registry_view`).
- Exit codes: 0 success (with ``--detailed-exitcode``: no changes), 2 changes present (only with
  ``--detailed-exitcode``), 1 an incomplete refresh (only with ``--detailed-exitcode``, unless
  ``--allow-partial``; the plan is printed first), 1 any error (invalid spec, unreadable state, ...), printed without a
  traceback.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mlops_infra.cli.inputs import load_environment, require_extra, resolve_target
from mlops_infra.cli.output import error_console, keep_for_exit, print_plain, write_stdout
from mlops_infra.cli.usage import exit_codes
from mlops_infra.errors import UserError
from mlops_infra.fileio import OutputFile, output_file
from mlops_infra.plan.model import Plan, amended
from mlops_infra.render.limits import GITHUB_COMMENT_LIMIT
from mlops_infra.state.model import LiveState, PriorState

if TYPE_CHECKING:
    from rich.console import Console


class Format(StrEnum):
    """Output formats of plan."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


EXIT_CODES = exit_codes("success (with --detailed-exitcode: no changes)",
                        error="an error in your input or environment (printed with the fix),\n"
                              "     or an incomplete --refresh (--detailed-exitcode without --allow-partial)",
                        usage="changes present (with --detailed-exitcode), or a usage error")


def register(app: typer.Typer) -> None:
    """Add the ``plan`` command to ``app``."""
    app.command("plan", epilog=EXIT_CODES)(plan)


def plan(
    file: Path | None = typer.Argument(
        None, help="The MLSystem YAML file (default: ./mlsystem.yaml, else the embedded quickstart).",
        show_default=False),
    env: str | None = typer.Option(
        None, "--env", "-e", help="Environment to plan (default: the only one, else dev, else the first)."),
    state: Path | None = typer.Option(
        None, "--state", help="Prior state: a Pulumi stack file or `pulumi stack export` output (.json, .json.gz, "
                                ".json.zst)."),
    refresh: bool = typer.Option(False, "--refresh", help="Read live AWS resources and report drift first."),
    output_format: Format = typer.Option(Format.TEXT, "--format", "-f", help="text, markdown (PR comment) or json."),
    # text, not Path: Path("plans/") drops the slash that says it names a directory (fileio.output_file)
    out: str | None = typer.Option(None, "--out", help="Also save the plan to this file (for a later apply)."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode",
        help="Exit 2 when there are changes, 0 when there are none, 1 when --refresh could not read everything."),
    allow_partial: bool = typer.Option(
        False, "--allow-partial", help="With --detailed-exitcode: an incomplete refresh does not exit 1."),
    refresh_timeout: float | None = typer.Option(
        None, "--refresh-timeout", min=1.0, max=3600.0,
        help="Seconds the live reads of --refresh may take in all (default 30 plus 0.02 per resource, or "
             "MLOPS_INFRA_REFRESH_TIMEOUT)."),
    color: bool | None = typer.Option(None, "--color/--no-color", help="Colour the text format (default: on a terminal)."),
    max_chars: int = typer.Option(
        GITHUB_COMMENT_LIMIT, "--max-chars", min=1000,
        help="Markdown only: the longest comment to write (GitHub's limit by default)."),
) -> None:
    """Show what applying the system would change: drift, ML changes, cost, then every resource."""
    err = error_console()
    if out is not None:  # refused before any work: the spec and --state are inputs
        output_file(out, inputs=(file, state), what="plan file")
    deadline = _refresh_deadline(refresh_timeout) if refresh else None
    started = time.monotonic()
    desired = desired_and_prior(file, env, state, err, refresh=refresh, deadline=deadline)
    target, system, env, prior, backend, registry, graph = (
        desired.target, desired.system, desired.env, desired.prior, desired.backend, desired.registry, desired.graph)
    destination = (output_file(out, inputs=(target.path, state, _state_path(prior)), what="plan file")
                   if out is not None else None)  # the spec found by default and the backend's state too
    notes = [n for n in (target.note, describe_prior(prior, backend)) if n]
    stack_dir = target.stack_dir(env)  # read once: each call reads the stack configs
    from mlops_infra.state.stack_lock import lock_warning

    # concurrency-4: the stack's lock says the state is another update's intermediate one (not with --state)
    locked = [w for w in [lock_warning(system.metadata.name, env, stack_dir)] if w] if state is None else []
    from mlops_infra.state.backends import legacy_layout_warning, stranded_warning

    # closing-37b-5: the state an earlier apply kept in the stack directory is not the backend's;
    # stateformats-8: a legacy DIY layout, which every supported `pulumi` refuses
    locked += [w for w in [stranded_warning(system.metadata.name, env, stack_dir),
                           legacy_layout_warning(env, stack_dir)] if w] if state is None else []
    from mlops_infra.stacks import pinned_version_warning

    # monorepo-3: `pulumi up` there installs the mlops-infra its requirements.txt pins, not this one
    locked += [w for w in [pinned_version_warning(stack_dir)] if w]
    env_target = kube_target(system.environments[env].target, stack_dir, env)
    from mlops_infra.spec.artifacts_region import artifacts_buckets

    live, drift, warnings = (refresh_live(env_target, graph, prior,
                                          live_progress=output_format is not Format.JSON,
                                          deadline=None if deadline is None
                                          else max(1.0, deadline - (time.monotonic() - started)),
                                          document=desired.loaded.document if desired.loaded else None,
                                          buckets=artifacts_buckets(system))
                             if refresh else (None, None, []))
    failed = failing_guardrails(graph, system, env)
    # The spec is not needed past this point unless a guardrail fails (its positions locate the
    # findings): released before planning, the plan's memory peak does not hold it too.
    loaded = desired.loaded if failed else None
    del desired, system
    result = with_target_source(make(graph, prior, live, drift, [*locked, *registry.warnings, *warnings],
                                     stack_dir), env_target)
    if refresh and getattr(env_target, "kind", None) == "aws":  # rolloutaws-7: kept objects planned again
        result = adoption_preflight(result, graph, EXISTING_READ_SECONDS)
    if failed:
        result = amended(result, guardrails=failed)
    print_guardrails(result, loaded, err)
    saved = saved_bytes(result, graph, destination) if destination is not None else None
    if destination is not None:
        notes.append(f"Saved the plan to {out}.")
    command = full_plan_command(file, env, state)
    text = render(result, output_format, notes, command, _use_color(color), err, max_chars)
    if destination is not None and saved is not None:
        destination.write_bytes(saved)  # only once every output passed the redaction layer
    write_stdout(text, _use_color(color) if output_format is Format.TEXT else None,
                 json_ascii=output_format is Format.JSON)
    keep_for_exit(result, graph, prior)
    refuse_blocked_guardrails(result, target.path)
    if detailed_exitcode and result.refreshed and result.unread and not allow_partial:
        total = sum(g.count for g in result.unread)
        causes = "\n".join(f"  {g.count} {g.cause} ({', '.join(g.codes)}): {g.advice}" for g in result.unread)
        raise UserError(f"the refresh is incomplete: {total} resource(s) could not be read",
                        f"{causes}\nDrift on them is unknown, so the plan may miss changes made outside mlops-infra. "
                        "Fix the cause and plan again, or pass --allow-partial to accept the plan as is.")
    if detailed_exitcode and result.has_changes:
        raise typer.Exit(2)


# -- inputs ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Desired:
    """What plan (and apply, which must make the very same graph) start from."""

    target: Any
    system: Any
    env: str
    prior: PriorState
    backend: str | None
    registry: Any
    graph: Any
    loaded: Any = None
    """The validated document (:class:`mlops_infra.spec.LoadedSystem`): positions for diagnostics."""


def desired_and_prior(file: Path | None, env: str | None, state: Path | None, err: Console, *,
                      refresh: bool = False, deadline: float | None = None, read_registry: bool = False,
                      stack_dir: Path | None = None) -> Desired:
    """Load ``FILE`` for ``ENV``, read the prior state and compile the desired graph against it.

    ``deadline`` bounds the registry read of ``refresh`` (seconds; None: the refresh's own default).
    ``read_registry`` reads the environment's model registry as ``refresh`` does, without the rest
    of a refresh (what ``apply`` decides its graph with). ``stack_dir``: read the state seen from
    there (apply's ``--stack-dir``) instead of the target's."""
    target = resolve_target(file, env)
    loaded = load_environment(target.path, target.env, err)
    system, env = loaded.system, loaded.env
    if (refresh or read_registry) and system.environments[env].target.kind == "aws":
        require_extra("boto3", "aws", "--refresh (reading live AWS resources)" if refresh
                      else "apply (reading the model registry)")
    if refresh and system.environments[env].target.kind == "kubernetes":
        require_extra("kubernetes", "kubernetes", "--refresh (the cluster preflight)")
    from mlops_infra.compile import compile_system

    stack_dir = stack_dir if stack_dir is not None else target.stack_dir(env)
    prior, backend = locate_prior(system.metadata.name, env, env, state, stack_dir)
    registry = registry_view(system, env, prior, refresh=refresh or read_registry, deadline=deadline,
                             stack_dir=stack_dir, strict=read_registry)
    return Desired(target, system, env, prior, backend, registry, compile_system(system, env, registry=registry),
                   loaded)


def read_prior(project: str, stack: str, env: str, state: Path | None, stack_dir: Path | None = None) -> PriorState:
    """The prior state (see :func:`locate_prior`)."""
    return locate_prior(project, stack, env, state, stack_dir)[0]


def locate_prior(project: str, stack: str, env: str, state: Path | None,
                 stack_dir: Path | None = None) -> tuple[PriorState, str | None]:
    """The prior state and, unless it came from ``--state``, which backend it came from and why.

    ``--state`` wins; else the stack's state where ``pulumi`` keeps it, seen from ``stack_dir``
    (:func:`mlops_infra.state.backends.read_stack_state`: ``PULUMI_BACKEND_URL``, the project's
    ``backend.url``, the current ``pulumi login``, else the stack directory); a stack that does not
    exist there is empty; a backend that cannot be read is an error. A state of another project or
    stack, a state mixing stacks, or one with malformed URNs is refused (``check_integrity``):
    planning against it would replace or delete what is not ours.
    """
    from mlops_infra.state.backends import read_stack_state
    from mlops_infra.state.pulumi_state import check_integrity, load_state

    backend = None
    if state is not None:
        prior = load_state(state)
    else:
        located = read_stack_state(project, stack, stack_dir if stack_dir is not None else Path.cwd())
        prior, backend = located.state, located.backend.chosen_by
    check_integrity(prior)
    _check_identity(prior, project, stack)
    return prior, backend


def _check_identity(prior: PriorState, project: str, stack: str) -> None:
    for label, theirs, ours in (("project", prior.project, project), ("stack", prior.stack, stack)):
        if theirs and theirs != ours:
            raise UserError(
                f"the prior state is for {label} {theirs!r}, not {ours!r}",
                f"Planning against another {label}'s state would replace every resource. Pass the state of "
                f"{project}/{stack} with --state (`pulumi stack export --stack {stack} --file state.json`), "
                f"or pick the matching environment with --env.", source=prior.source)


def describe_prior(prior: PriorState, backend: str | None = None) -> str:
    """The ``Prior state:`` line: where it came from, which backend and why (``backend``), and how
    many resources it holds (the renderers show its serial)."""
    via = f"; backend: {backend}" if backend else ""
    if not prior.resources and prior.serial == PriorState.empty().serial:
        where = "no stack file in the file backend" if prior.source == PriorState.empty().source else prior.source
        return (f"Prior state: none found ({where}{via}); planning as for a first apply. "
                "Use --state to plan against an exported state.")
    count = sum(1 for r in prior.resources.values() if r.type != "pulumi:pulumi:Stack")
    pending = f", {prior.pending_operations} pending operations" if prior.pending_operations else ""
    return f"Prior state: {prior.source} ({count} resources{pending}{via})"


# -- live state ------------------------------------------------------------------------------


def registry_view(system: Any, env: str, prior: PriorState, *, refresh: bool, deadline: float | None = None,
                  stack_dir: Path | None = None, strict: bool = False) -> Any:
    """What the environment's model registry holds (findings A1, firstapply-2): read from the registry
    with ``--refresh`` (AWS: SageMaker, ``AWS_ENDPOINT_URL`` honoured; Kubernetes: the MLflow registry
    at ``MLFLOW_TRACKING_URI``, else through the API server's service proxy of the cluster ``pulumi up``
    in ``stack_dir`` changes, ``strict`` as apply reads it: :mod:`mlops_infra.state.mlflow_registry`; AWS
    credentials of another account than the environment's are refused first, exit 1:
    :func:`mlops_infra.state.aws_live.model_registry.check_account`),
    within half the refresh deadline, else what the prior state proves and what this apply creates
    (:mod:`mlops_infra.state.model_registry`). The plan says which."""
    from mlops_infra.state.model_registry import offline_registry_view

    if not refresh:
        return offline_registry_view(system, env, prior)
    from mlops_infra.state.aws_live.scan import DEFAULT_DEADLINE

    deadline = (deadline if deadline is not None else DEFAULT_DEADLINE) / 2  # half for the scan
    if system.environments[env].target.kind == "aws":
        from mlops_infra.state.aws_live.model_registry import read_registry

        # credentials of another account than the environment's are refused first, as the scan refuses them
        view = _within(deadline, lambda: read_registry(system, env, prior,
                                                       endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                                                       account=system.environments[env].target.account))
    else:
        from mlops_infra.state.mlflow_registry import read_registry as read_mlflow_registry

        view = _within(deadline, lambda: read_mlflow_registry(system, env, prior, stack_dir=stack_dir, strict=strict))
    if view is not None:
        return view
    offline = offline_registry_view(system, env, prior)
    return dataclasses.replace(offline, warnings=(
        f"could not read the model registry within the {deadline:g} s refresh deadline; versions were "
        "decided from the prior state",))


BOUNDED_READ = "bounded-read"
"""The name prefix of :func:`_within`'s threads (tests wait for the reads a command gave up on)."""


def _within(seconds: float, call: Any, name: str = "registry") -> Any:
    """``call()`` on a daemon thread called ``bounded-read:<name>``; its result, or None when it did
    not finish in ``seconds`` (a read stuck on a silent server never holds the command or the process
    open). What ``call()`` raised is raised again here, in the caller's thread (audit robust-3: it was
    printed as the thread's traceback and then reported as "no answer")."""
    box: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            box.append((True, call()))
        except BaseException as exc:  # handed to the caller, which reports it as the command's error
            box.append((False, exc))

    thread = threading.Thread(target=run, name=f"{BOUNDED_READ}:{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if not box:
        return None
    done, value = box[0]
    if not done:
        raise value
    return value


def _unanswered(seconds: float) -> str:
    """Why a bounded read (:func:`_within`) has no result: the words every preflight warning uses."""
    return f"no answer within {seconds:.0f} s"


def _kube_within(target: Any, seconds: float | None, name: str, use: Callable[[Any], Any]) -> Any:
    """``use(kube)`` with a client of the target's kubeconfig context, within ``seconds`` (a bounded
    read, :func:`_within`; None: unbounded): its result, the :class:`UserError` that connecting or
    ``use`` raised (no kubeconfig, an unknown context, a refused or failed read), or None when no
    answer came in time. The Kubernetes preflights of ``plan --refresh`` read through it."""
    from mlops_infra.kube import KubeClient
    from mlops_infra.kube.effective_context import connect_options

    def read() -> Any:
        try:
            with KubeClient.connect(connect_options(target)) as kube:
                return use(kube)
        except UserError as exc:
            return exc

    return read() if seconds is None else _within(seconds, read, name)


def _unread_why(exc: UserError) -> str:
    """Why a Kubernetes read of a ``plan --refresh`` preflight failed, as its warning says it: a 403
    with the API server's own message (it names the verb, resource and namespace refused), else the
    error's summary."""
    from mlops_infra.kube.errors import KubeForbidden

    return f"403 Forbidden: {exc.message or exc.summary}" if isinstance(exc, KubeForbidden) else exc.summary


def _refresh_deadline(option: float | None) -> float | None:
    """``--refresh-timeout``, else ``MLOPS_INFRA_REFRESH_TIMEOUT``, else None: the scan's default
    (:func:`mlops_infra.state.aws_live.scan.default_deadline`, which grows with the stack)."""
    if option is not None:
        return option
    raw = os.environ.get("MLOPS_INFRA_REFRESH_TIMEOUT", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 1.0 <= value <= 3600.0:
        raise UserError(f"MLOPS_INFRA_REFRESH_TIMEOUT={raw!r} is not a number of seconds between 1 and 3600",
                        "Set it to the seconds the live reads may take in all (for example 60), or unset it.")
    return value


def refresh_live(target: Any, graph: Any, prior: PriorState, live_progress: bool | None = None,
                 deadline: float | None = None, document: Any = None,
                 buckets: dict[str, list[str]] | None = None) -> tuple[LiveState | None, Any, list[str]]:
    """Read live resources for an AWS or Kubernetes target and find drift; (None, None, [warning]) otherwise.
    ``document`` (the spec's :class:`~mlops_infra.spec.loader.LoadedDocument`) places a Kubernetes
    namespace refusal (:func:`namespace_owner_preflight`) at the line to change. On AWS, credentials of
    another account than the environment's ``target.account`` are refused before any read, exit 1
    (:func:`mlops_infra.state.aws_live.scan_aws` ``account=``; audit envs-7); ``buckets`` (the environment's
    ``artifacts_uri`` buckets, :func:`mlops_infra.spec.artifacts_region.artifacts_buckets`: the graph does not
    carry them) are checked in its region (:func:`bucket_region_preflight`).

    Progress goes to stderr (:func:`mlops_infra.cli.progress.progress_display`): live on a terminal
    unless ``live_progress`` is False (``--format json``), and one final line in every case.
    """
    if getattr(target, "kind", None) == "kubernetes":
        return refresh_kubernetes(target, graph, prior, live_progress, deadline, document)
    if getattr(target, "kind", None) != "aws":
        return None, None, [f"--refresh: live reads are not supported for {getattr(target, 'kind', '?')} targets "
                            "yet; the plan compares with the last applied state only."]
    from mlops_infra.cli.progress import progress_display
    from mlops_infra.plan.drift import find_drift, left_alone
    from mlops_infra.state.aws_live import scan_aws
    from mlops_infra.state.aws_live.scan import DEFAULT_DEADLINE

    region = graph.metadata.get("region") or target.region
    started = time.monotonic()
    with progress_display("Refresh (live AWS reads)", unit="resources read", live=live_progress) as progress:
        live = scan_aws(list(prior.resources.values()), region=region,
                        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, progress=progress,
                        account=graph.metadata.get("account") or target.account, environment=graph.stack,
                        **({"deadline": deadline} if deadline is not None else {}))
    budget = max(QUOTA_READ_FLOOR, deadline - (time.monotonic() - started) if deadline is not None
                 else DEFAULT_DEADLINE / 2)
    warnings = _together([lambda: instance_quota_preflight(graph, region, budget),
                          lambda: image_preflight(graph, budget),
                          lambda: bucket_region_preflight(buckets or {}, graph.stack, region, budget)])
    return live, find_drift(prior, live, left=left_alone(graph), desired=graph), warnings  # make_plan warns about failed reads


QUOTA_READ_FLOOR = 1.0
"""Seconds the instance-quota read may take when the scan left less of the refresh deadline."""


def instance_quota_preflight(graph: Any, region: str, seconds: float) -> list[str]:
    """With ``--refresh`` on AWS: the SageMaker instances the graph needs against the account's quotas
    (:mod:`mlops_infra.plan.instance_quotas`, read by :mod:`mlops_infra.state.aws_live.service_quotas`)
    within ``seconds`` (what the refresh deadline left, at least :data:`QUOTA_READ_FLOOR`); a warning
    when the read fails or does not finish in time, never an error (the plan stands without it). Only
    when the graph runs SageMaker instances at all. The same table judges the SageMaker run-time limits
    (:func:`mlops_infra.plan.quotas.sagemaker_limit_warnings`); a failed read judges them at AWS's defaults."""
    from mlops_infra.plan.instance_quotas import instance_needs, instance_quota_warnings

    needs = instance_needs(graph)
    if not needs:
        return []
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_infra.state.aws_live.service_quotas import sagemaker_quotas

    def read() -> tuple[dict[str, float] | None, str]:
        try:
            return sagemaker_quotas(region, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None), ""
        except (BotoCoreError, ClientError, ValueError) as exc:  # ValueError: a malformed endpoint URL
            return None, type(exc).__name__

    answer = _within(seconds, read, "instance-quotas")
    quotas, error = answer if answer is not None else (None, _unanswered(seconds))
    from mlops_infra.plan.quotas import sagemaker_limit_warnings  # scale45: the run-time limits, same table

    if quotas is None:
        return [f"instance quotas: could not read the SageMaker quotas in {region} ({error}); the instances this "
                "plan needs were not checked against the account (needs servicequotas:ListServiceQuotas and "
                "servicequotas:ListAWSDefaultServiceQuotas)", *sagemaker_limit_warnings(graph)]
    return instance_quota_warnings(graph, quotas, needs) + sagemaker_limit_warnings(graph, quotas)


def image_preflight(graph: Any, seconds: float) -> list[str]:
    """With ``--refresh`` on AWS: the private ECR images the graph runs (:mod:`mlops_infra.plan.images_present`),
    looked up with ``DescribeImages`` (:mod:`mlops_infra.state.aws_live.ecr_images`) within ``seconds``
    (beside the instance-quota read, the same share of the refresh deadline): one warning per image ECR
    does not have; a read refused or unanswered is a warning that those images were not checked, never an
    error (the plan stands without it)."""
    from mlops_infra.plan.images_present import graph_images, image_warnings

    images = graph_images(graph)
    if not images:
        return []
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_infra.state.aws_live.ecr_images import image_presence

    until = time.monotonic() + seconds

    def read() -> Any:
        try:
            return image_presence([i.image for i in images], until=until,
                                  endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        except (BotoCoreError, ClientError, ValueError) as exc:  # ValueError: a malformed endpoint URL
            return type(exc).__name__

    answer = _within(seconds, read, "ecr-images")
    why = answer if isinstance(answer, str) else _unanswered(seconds) if answer is None else ""
    return image_warnings(images, answer if isinstance(answer, dict) else {}, str(graph.metadata.get("account") or ""),
                          why)


def bucket_region_preflight(buckets: dict[str, list[str]], env: str, region: str, seconds: float) -> list[str]:
    """With ``--refresh`` on AWS: the Region of each ``artifacts_uri`` bucket (``buckets``: bucket -> models), asked
    of S3 with ``HeadBucket`` (:mod:`mlops_infra.state.aws_live.bucket_region`) within ``seconds`` (beside the
    image read): a warning per bucket in another Region than ``region`` or missing
    (:func:`mlops_infra.spec.artifacts_region.bucket_region_findings`, audit xregion-3); a read refused or
    unanswered is a warning that they were not checked, never an error. No call when there is no bucket."""
    if not buckets:
        return []
    from mlops_infra.spec.artifacts_region import bucket_region_findings
    from mlops_infra.state.aws_live.bucket_region import BucketRegion, bucket_regions

    until = time.monotonic() + seconds

    def read() -> Any:
        try:
            return bucket_regions(buckets, region, until=until, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
        except ValueError as exc:  # a malformed endpoint URL; no credentials: each answer says so
            return [BucketRegion(b, problem=type(exc).__name__) for b in buckets]

    answer = _within(seconds, read, "bucket-regions")
    answers = answer if answer is not None else [BucketRegion(b, problem=_unanswered(seconds)) for b in buckets]
    return bucket_region_findings(answers, buckets, env, region)


EXISTING_READ_SECONDS = 20.0
"""Seconds the read of :func:`adoption_preflight` may take (a few calls: one per model or config the plan creates)."""


def adoption_preflight(result: Plan, graph: Any, seconds: float) -> Plan:
    """With ``--refresh`` on AWS: the SageMaker models and endpoint configs the plan creates (or replaces) that
    already exist under the very name, marked adopted (:mod:`mlops_infra.plan.adopted`: Pulumi imports them, audit
    rolloutaws-7), read with ``DescribeModel``/``DescribeEndpointConfig`` and the endpoint's kept entries
    (:mod:`mlops_infra.state.aws_live.existing_objects`) within ``seconds``; a read refused or unanswered is a
    warning, never an error (the plan stands without it). No call when the plan creates none."""
    from mlops_infra.plan.adopted import WORDS, adoptable, item_endpoints, mark_adopted

    items = adoptable(result.changes, graph)
    if not items:
        return result
    from botocore.exceptions import BotoCoreError, ClientError

    from mlops_infra.state.aws_live.existing_objects import read_existing, sagemaker_client

    def read() -> Any:
        try:
            client = sagemaker_client(graph.metadata.get("region"), os.environ.get("AWS_ENDPOINT_URL") or None)
            endpoints = item_endpoints(graph)
            return read_existing(client, [(i.kind, i.name) for i in items],
                                 [endpoints[a] for a in {i.address for i in items} if a in endpoints])
        except (BotoCoreError, ClientError, ValueError) as exc:  # ValueError: a malformed endpoint URL
            return type(exc).__name__

    answer = _within(seconds, read, "existing-objects")
    if answer is None or isinstance(answer, str):
        why = answer or _unanswered(seconds)
        return amended(result, warnings=(*result.warnings, f"could not check whether the SageMaker models and "
                                         f"endpoint configs this plan creates already exist ({why}); apply checks "
                                         "again and adopts those that do"))
    marked = mark_adopted(result, graph, {i.urn: i.name for i in items if (i.kind, i.name) in answer.found},
                          answer.kept)
    unread = [f"{i.address}: could not check whether the {WORDS[i.kind]} {i.name} already exists "
              f"({answer.unread[(i.kind, i.name)]}); apply checks again and adopts it if it does"
              for i in items if (i.kind, i.name) in answer.unread]
    return amended(marked, warnings=(*marked.warnings, *unread)) if unread else marked


def refresh_kubernetes(target: Any, graph: Any, prior: PriorState, live_progress: bool | None = None,
                       deadline: float | None = None, document: Any = None) -> tuple[LiveState, Any, list[str]]:
    """The cluster preflight, the namespace's quotas (:func:`namespace_quota_preflight`), the
    monitoring selectors (:func:`monitoring_selector_preflight`), the Secrets the environment refers
    to (:func:`secret_reference_preflight`) and the namespace's owner (:func:`namespace_owner_preflight`:
    raises when another system or environment applied there), then the live objects of the prior
    state through the environment's kubeconfig context (:mod:`mlops_infra.state.kube_live`) and their
    drift. No usable context or no answer makes every object unread by that cause: never "no drift"
    when nothing was read.

    The namespace owner comes first, alone: its refusal is raised before anything else is sent, so a
    refused refresh makes GET requests only. The cluster preflight's Kueue check is a ``dryRun=All``
    create of a PyTorchJob in the namespace (:mod:`mlops_infra.kube.preflight`), which persists nothing
    ("modifications will not be persisted": Kubernetes "API Concepts", Dry-run) but still runs the
    admission chain, webhooks included, in a namespace another system owns; it was sent concurrently with
    the refusal before (stop 41, "Noticed and left").

    ``deadline`` (``--refresh-timeout``: what the live reads "may take in all") bounds the whole: the
    namespace owner check, then the four other preflights at once (:func:`_together`), each within a
    quarter of it (at least :data:`QUOTA_READ_FLOOR`), and the scan gets what they left (at least that
    floor too). One after the other, with the scan given the whole deadline again, a cluster that answers
    nothing held the command well past it (``benchmarks/bench_refresh_deadline.py`` times the whole
    process against one)."""
    from mlops_infra.cli.progress import progress_display
    from mlops_infra.kube import KubeClient
    from mlops_infra.kube.effective_context import connect_options
    from mlops_infra.plan.drift import find_drift, left_alone
    from mlops_infra.state import kube_live

    started = time.monotonic()
    seconds = PREFLIGHT_READ if deadline is None else max(QUOTA_READ_FLOOR, deadline / 4)
    owner = namespace_owner_preflight(target, graph, prior, seconds, document)  # raises before any non-GET
    warnings = _together([lambda: cluster_preflight(target, graph, seconds),
                          lambda: namespace_quota_preflight(target, graph, prior, seconds),
                          lambda: monitoring_selector_preflight(target, graph, seconds),
                          lambda: secret_reference_preflight(target, graph, seconds)]) + owner
    if deadline is not None:
        deadline = max(QUOTA_READ_FLOOR, deadline - (time.monotonic() - started))
    resources = list(prior.resources.values())
    try:
        kube = KubeClient.connect(connect_options(target))
    except UserError as exc:
        live = kube_live.unreadable(resources, "kubernetes-unreachable", type(exc).__name__, exc.summary)
    else:
        with kube, progress_display("Refresh (live Kubernetes reads)", unit="objects read",
                                    live=live_progress) as progress:
            live = kube_live.scan_kubernetes(resources, kube, progress=progress, deadline=deadline)
    return live, find_drift(prior, live, tracking=kube_live.TRACKING, left=left_alone(graph), desired=graph), warnings


def _together(checks: list[Callable[[], list[str]]]) -> list[str]:
    """The warnings of ``checks``, in their order, each run on its own thread at the same time (named
    ``bounded-read:preflight_<n>``): each bounds its own reads, so together they take as long as the
    slowest, not the sum. An exception one raises is raised here."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix=f"{BOUNDED_READ}:preflight") as pool:
        futures = [pool.submit(check) for check in checks]
        return [warning for future in futures for warning in future.result()]


def cluster_preflight(target: Any, graph: Any, seconds: float | None = None) -> list[str]:
    """Finding A5: check the cluster (the target's kubeconfig context) for what ``graph`` needs;
    one plan warning per prerequisite not met, with how to enable it (:mod:`mlops_infra.kube.preflight`).
    Within ``seconds`` when given (``plan --refresh``: the same share of the refresh deadline as the
    namespace quotas get): the client alone retries a silent server for minutes (4 tries, 30 s read
    timeout each); no answer in time is a warning that the prerequisites were not checked."""
    from mlops_infra.compile.kubernetes.prerequisites import cluster_prerequisites
    from mlops_infra.kube.preflight import preflight

    needed = cluster_prerequisites(graph)
    if not needed:
        return []
    # no kubeconfig, an unknown context, no answer: say so and plan on (as a failed AWS read does)
    results = _kube_within(target, seconds, "cluster-preflight", lambda kube: preflight(kube, needed, graph))
    if results is None or isinstance(results, UserError):
        why = results.summary if results is not None else _unanswered(seconds)
        return [f"cluster preflight: not run for context {target.context}: {why}; {len(needed)} "
                "prerequisites were not checked (docs/compile-kubernetes.md section 4 lists them)"]
    return [w for w in (r.warning() for r in results) if w]


PREFLIGHT_READ = 10.0
"""Seconds each Kubernetes preflight of ``plan --refresh`` (cluster, namespace quotas, monitoring
selectors) may take without ``--refresh-timeout`` (with it: a quarter of it, at least
:data:`QUOTA_READ_FLOOR`). The client alone would retry a silent server for minutes."""


def namespace_quota_preflight(target: Any, graph: Any, prior: PriorState, seconds: float) -> list[str]:
    """With ``--refresh`` on Kubernetes: the ResourceQuotas of the graph's namespace (``GET
    /api/v1/namespaces/<ns>/resourcequotas``, :mod:`mlops_infra.kube.quotas`) against what the graph's
    objects need there (:mod:`mlops_infra.plan.namespace_quotas`), and, when the graph runs pods there,
    its LimitRanges (``GET .../limitranges``: their defaults, and the bounds every container and pod must
    keep). With Serverless endpoints, Knative's ``knative-serving/config-deployment`` and
    ``config-features`` say what the queue-proxy in each endpoint pod asks (unreadable: Knative's
    defaults, and the warning naming it says so). A prior state without Kubernetes objects is a first
    apply, so the quotas' ``status.used`` is other use and counts too. A quota read that fails or does
    not finish in ``seconds`` is a warning saying the check was not made (a 403 names the permission),
    never an error: the plan stands without it; so is a LimitRange read that fails."""
    from mlops_infra.kube.errors import KubeForbidden, KubeUnreachable
    from mlops_infra.kube.quotas import PERMISSION, read_limit_ranges, read_queue_sidecar, read_quotas
    from mlops_infra.plan.namespace_quotas import (
        limit_range_warnings,
        namespace_quota_warnings,
        queue_proxy,
        runs_pods,
        serverless_endpoints,
    )

    namespace = graph.metadata.get("namespace")
    if not namespace:
        return []
    not_checked = f"namespace quotas: could not read the ResourceQuotas of namespace {namespace}"
    pods, endpoints = runs_pods(graph), serverless_endpoints(graph)

    def attempt(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except KubeUnreachable:
            raise
        except UserError as exc:  # refused or failed: said below, the other reads still judged
            return exc

    def read(kube: Any) -> tuple[Any, Any, Any]:
        quotas = attempt(lambda: read_quotas(kube, namespace))
        ranges = attempt(lambda: read_limit_ranges(kube, namespace)) if pods else []
        judged = any(isinstance(found, list) and found for found in (quotas, ranges))
        sidecar = attempt(lambda: queue_proxy(*read_queue_sidecar(kube))) if endpoints and judged else queue_proxy()
        if isinstance(sidecar, UserError):
            sidecar = queue_proxy(unread=_unread_why(sidecar))
        return quotas, ranges, sidecar

    answer = _kube_within(target, seconds, "namespace-quotas", read)
    if not isinstance(answer, tuple):
        why = answer.summary if answer is not None else _unanswered(seconds)
        return [f"{not_checked} through context {target.context} ({why}); what this environment needs there "
                "was not checked against them" + (" nor against its LimitRanges" if pods else "")]
    quotas, ranges, sidecar = answer
    out: list[str] = []
    if isinstance(ranges, UserError):
        out.append(f"namespace limits: could not read the LimitRanges of namespace {namespace} "
                   f"({_unread_why(ranges)}); the containers of this environment's pods were not checked "
                   f"against them (needs RBAC permission to list limitranges (apiGroups [\"\"]) in namespace "
                   f"{namespace})")
        ranges = []
    if isinstance(quotas, KubeForbidden):
        out.insert(0, f"{not_checked} ({_unread_why(quotas)}); what this environment needs "
                   f"there was not checked against them (needs RBAC permission to {PERMISSION} in namespace "
                   f"{namespace}; check with `kubectl auth can-i list resourcequotas -n {namespace}`)")
    elif isinstance(quotas, UserError):
        out.insert(0, f"{not_checked} through context {target.context} ({quotas.summary}); what this "
                   "environment needs there was not checked against them")
    else:
        first_apply = not any(r.custom and r.type.startswith("kubernetes:") for r in prior.resources.values())
        out[:0] = namespace_quota_warnings(graph, quotas, first_apply=first_apply, limit_ranges=ranges,
                                           sidecar=sidecar)
    return out + limit_range_warnings(graph, ranges, sidecar)


def monitoring_selector_preflight(target: Any, graph: Any, seconds: float) -> list[str]:
    """With ``--refresh`` on Kubernetes, when the graph has PrometheusRules, ServiceMonitors, PodMonitors
    or AlertmanagerConfigs: the cluster's Prometheus and Alertmanager objects (all namespaces) and the
    labels of the namespaces of those objects (:mod:`mlops_infra.kube.monitoring_stack`), judged by
    :mod:`mlops_infra.plan.monitoring_selectors`: a warning per kind of object no Prometheus
    (Alertmanager) loads. A list the cluster refuses, or no answer within ``seconds``, is a warning that
    the check was not made (a 403 names the permission), never an error; a type not served (no
    prometheus-operator CRDs) is left to the cluster preflight, which reports the missing CRDs. When the
    graph emails (:mod:`mlops_infra.plan.alertmanager_smtp`) or routes ``severity: info`` alerts
    (:mod:`mlops_infra.plan.alertmanager_inhibit`), the same read also gets, once each, the configuration
    Secret of each Alertmanager that loads those AlertmanagerConfigs (:mod:`mlops_infra.kube.alertmanager_secrets`):
    a warning names one without the SMTP smarthost and sender the email channels need, and one whose
    inhibit rules mute the info alerts for good (kube-prometheus-stack's InfoInhibitor). With the same list of
    Prometheus objects, the discovery rights and NetworkPolicies of those that load the graph's monitors
    (:mod:`mlops_infra.kube.prometheus_access`, audit k8srbac-3; worded as the cluster preflight's warnings)."""
    from mlops_infra.kube.errors import KubeForbidden, KubeNotFound
    from mlops_infra.kube.monitoring_stack import (
        ALERTMANAGER,
        CAN_I,
        PERMISSIONS,
        PROMETHEUS,
        read_namespace,
        read_owners,
    )
    from mlops_infra.kube.prometheus_access import access_warnings
    from mlops_infra.plan import alertmanager_inhibit as inhibit
    from mlops_infra.plan.alertmanager_smtp import email_objects, secrets_to_read, smtp_warnings
    from mlops_infra.plan.monitoring_selectors import (
        BY_KIND,
        has_alerts,
        monitoring_objects,
        namespace_labels,
        pushed_alerts,
        selector_warnings,
    )

    objects = monitoring_objects(graph)
    if not objects:
        return []
    emails, info = email_objects(graph), inhibit.info_alerts(graph)
    owners_needed = [t for t, owner in ((PROMETHEUS, "Prometheus"), (ALERTMANAGER, "Alertmanager"))
                     if any(BY_KIND[o.kind].owner == owner for o in objects)]
    namespaces = sorted({o.namespace for o in objects})

    def read(kube: Any) -> dict[Any, Any]:
        answers: dict[Any, Any] = {}
        for rtype in owners_needed:
            try:
                answers[rtype] = read_owners(kube, rtype)
            except UserError as exc:
                answers[rtype] = exc
        for namespace in namespaces:
            try:
                answers[namespace] = read_namespace(kube, namespace)
            except UserError as exc:
                answers[namespace] = exc
        prometheuses = answers.get(PROMETHEUS)
        if isinstance(prometheuses, list):  # the same list: its loaders' discovery rights and NetworkPolicies
            answers["access"] = access_warnings(kube, graph, prometheuses, labels_of(answers))
        alertmanagers = answers.get(ALERTMANAGER)
        alertmanagers = alertmanagers if isinstance(alertmanagers, list) else None
        refs = {*secrets_to_read(emails, alertmanagers, labels_of(answers)),
                *inhibit.secrets_to_read(info, alertmanagers, labels_of(answers))}
        answers["config_secrets"] = {ref: _config_secret(kube, ref) for ref in sorted(refs)}
        return answers

    def labels_of(answers: dict[Any, Any]) -> dict[str, dict[str, str]]:
        return {n: namespace_labels(graph, n, None if isinstance(answers[n], UserError) else answers[n])
                for n in namespaces}

    answer = _kube_within(target, seconds, "monitoring-selectors", read)
    if answer is None or isinstance(answer, UserError):
        why = answer.summary if answer is not None else _unanswered(seconds)
        return [f"monitoring selectors: could not read the cluster's Prometheus and Alertmanager objects through "
                f"context {target.context} ({why}); whether they load this system's monitoring objects (its "
                "alerts, scrapes and notifications) was not checked"]
    warnings: list[str] = []
    owners: dict[str, Any] = {"Prometheus": None, "Alertmanager": None}
    for rtype in owners_needed:
        got = answer[rtype]
        if isinstance(got, KubeNotFound) and got.type_missing:
            continue  # no prometheus-operator: the cluster preflight names the missing CRDs
        if isinstance(got, UserError):
            why = _unread_why(got)
            needs = (f"; needs RBAC permission to {PERMISSIONS[rtype]}; check with `{CAN_I[rtype]}`"
                     if isinstance(got, KubeForbidden) else "")
            warnings.append(f"monitoring selectors: could not list the cluster's {rtype.kind} objects ({why}); "
                            f"whether one loads this system's monitoring objects was not checked{needs}")
            continue
        owners[rtype.kind] = got
    unread = [n for n in namespaces if isinstance(answer[n], UserError)]
    labels = labels_of(answer)
    secrets = answer["config_secrets"]
    return (warnings + selector_warnings(objects, owners["Prometheus"], owners["Alertmanager"], labels,
                                         alerts=has_alerts(graph), unread_namespaces=unread,
                                         pushed=pushed_alerts(graph))
            + smtp_warnings(emails, owners["Alertmanager"], labels, secrets)
            + inhibit.inhibit_warnings(info, owners["Alertmanager"], labels, secrets) + answer.get("access", []))


def _config_secret(kube: Any, ref: tuple[str, str]) -> Any:
    """What reading an Alertmanager's configuration Secret ``ref`` (namespace, name) gave, as
    :class:`mlops_infra.plan.alertmanager_smtp.SecretAnswer` (a 403 marked, so the warning names the permission)."""
    from mlops_infra.kube.alertmanager_secrets import read_config_text
    from mlops_infra.kube.errors import KubeForbidden
    from mlops_infra.plan.alertmanager_smtp import CONFIG_KEY, SecretAnswer

    try:
        return SecretAnswer(text=read_config_text(kube, *ref, CONFIG_KEY))
    except UserError as exc:
        return SecretAnswer(error=_unread_why(exc), forbidden=isinstance(exc, KubeForbidden))
    except ValueError as exc:
        return SecretAnswer(error=str(exc))


def secret_reference_preflight(target: Any, graph: Any, seconds: float) -> list[str]:
    """With ``--refresh`` on Kubernetes: each Secret the graph's AlertmanagerConfigs and workloads
    require, read through the environment's context (:mod:`mlops_infra.kube.secret_keys`: key names and
    whether each value has surrounding whitespace, never a value), judged by
    :mod:`mlops_infra.plan.secret_refs`: a warning per missing Secret or key and per URL or token value
    that will not work. A refused read, or no answer within ``seconds``, is a warning that the check was
    not made (a 403 names the permission), never an error."""
    from mlops_infra.kube.errors import KubeForbidden
    from mlops_infra.kube.secret_keys import read_padded_keys
    from mlops_infra.plan.secret_refs import SecretRead, secret_refs, secret_warnings, secrets_to_read

    refs = secret_refs(graph)
    if not refs:
        return []

    def read_one(kube: Any, namespace: str, name: str) -> SecretRead:
        try:
            keys = read_padded_keys(kube, namespace, name)
        except UserError as exc:
            return SecretRead(error=_unread_why(exc), forbidden=isinstance(exc, KubeForbidden))
        return SecretRead(missing=True) if keys is None else SecretRead(keys=keys)

    answer = _kube_within(target, seconds, "secret-references",
                          lambda kube: {ref: read_one(kube, *ref) for ref in secrets_to_read(refs)})
    if answer is None or isinstance(answer, UserError):
        why = answer.summary if answer is not None else _unanswered(seconds)
        return [f"secrets: could not read the Secrets this environment refers to through context {target.context} "
                f"({why}); whether they exist and hold working values was not checked"]
    return secret_warnings(refs, answer)


def namespace_owner_preflight(target: Any, graph: Any, prior: PriorState, seconds: float | None,
                              document: Any = None, *, what: str = "Nothing was planned") -> list[str]:
    """With ``--refresh`` (and in ``apply``) on Kubernetes: the environment's namespace (``GET
    /api/v1/namespaces/<ns>``, :func:`mlops_infra.kube.monitoring_stack.read_namespace`), judged by
    :mod:`mlops_infra.plan.namespace_owner`. Its ``mlops-infra/system`` or ``mlops-infra/environment``
    label naming another system or environment raises the refusal (at
    ``environments.<env>.target.namespace`` of ``document``; ``what`` says what was not done): an
    apply there would force this environment's labels on it and fail with AlreadyExists part-way.
    A namespace not created yet, or without those labels, passes. A read that fails or gets no answer
    within ``seconds`` is a warning that the check was not made (a 403 names the permission): the
    apply's own first step, the NamespacePatch, needs the same access and fails before any namespaced
    object is created."""
    from mlops_infra.kube.errors import KubeForbidden
    from mlops_infra.kube.monitoring_stack import CAN_I, NAMESPACE, PERMISSIONS, read_namespace
    from mlops_infra.plan.namespace_owner import foreign_owner, owner_labels, refusal

    namespace = graph.metadata.get("namespace")
    if not namespace or owner_labels(graph) is None:
        return []
    answer = _kube_within(target, seconds, "namespace-owner", lambda kube: (read_namespace(kube, namespace),))
    if answer is None or isinstance(answer, UserError):
        why = _unread_why(answer) if answer is not None else _unanswered(seconds or 0)
        needs = (f"; needs RBAC permission to {PERMISSIONS[NAMESPACE]}; check with `{CAN_I[NAMESPACE]}`"
                 if isinstance(answer, KubeForbidden) else "")
        return [f"namespace owner: could not read namespace {namespace} through context {target.context} ({why}); "
                f"whether another system or environment already applied there was not checked{needs}"]
    found = foreign_owner(graph, answer[0], prior.resources.values())
    if found is not None:
        raise refusal(found, document, what=what)
    return []


def refuse_foreign_namespace(desired: Desired, err: Console) -> None:
    """``apply``'s check before ``pulumi up``, on Kubernetes: :func:`namespace_owner_preflight` within
    :data:`PREFLIGHT_READ` (exit 1 when the namespace's labels say another system or environment applied
    there; a namespace that cannot be read is a warning line on stderr, and the apply goes on)."""
    target = desired.system.environments[desired.env].target
    if target.kind != "kubernetes":
        return
    from mlops_infra.kube.effective_context import ReadTarget, recorded

    effective = recorded(desired.graph)  # the cluster `pulumi up` changes (ctxmatch)
    if effective is not None and effective.secret:
        print_plain(err, f"warning: namespace owner: not checked: the stack's kubernetes:kubeconfig in "
                         f"{effective.source} is a secret only the Pulumi CLI decrypts")
        return
    if effective is not None and effective.source:
        target = ReadTarget(target, effective)
    document = desired.loaded.document if desired.loaded else None
    for warning in namespace_owner_preflight(target, desired.graph, desired.prior, PREFLIGHT_READ, document,
                                             what="Nothing was applied"):
        print_plain(err, f"warning: {warning}")


# -- plan, save, render ----------------------------------------------------------------------


def kube_target(spec_target: Any, stack_dir: Path, env: str) -> Any:
    """The environment's target whose cluster reads go where ``pulumi up`` in ``stack_dir`` goes: the stack
    config's ``kubernetes:context``/``kubernetes:kubeconfig`` over the spec's context
    (:mod:`mlops_infra.kube.effective_context`); an AWS target as it is."""
    if getattr(spec_target, "kind", None) != "kubernetes":
        return spec_target
    from mlops_infra.kube.effective_context import ReadTarget, effective_target

    effective = effective_target(spec_target.context, stack_dir, env)
    return ReadTarget(spec_target, effective) if effective.source else spec_target


def with_target_source(plan: Plan, env_target: Any) -> Plan:
    """``plan`` whose target names the context the apply uses and where it comes from (``contextSource``)."""
    effective = getattr(env_target, "effective", None)
    if effective is None or not effective.where():
        return plan
    target = {**plan.target, "context": effective.context, "contextSource": effective.where()}
    return dataclasses.replace(plan, target=target)


def make(graph: Any, prior: PriorState, live: LiveState | None, drift: Any, warnings: list[str],
         stack_dir: Path | None = None) -> Plan:
    """``make_plan`` with the command's own warnings appended, then the AWS account quotas the graph
    alone passes (:mod:`mlops_infra.plan.quotas`; ``plan``, ``apply`` and ``promote`` all plan here) and,
    without live reads, the instance types the price catalog says the Region does not offer
    (:func:`mlops_infra.plan.instance_quotas.catalog_offer_warnings`; with them Service Quotas decides).
    ``stack_dir``: the providers are planned as ``pulumi up`` there registers them (its stack config's
    ``kubernetes:context``: :func:`mlops_infra.kube.effective_context.provider_settings`), and a Kubernetes
    provider with the ``PULUMI_K8S_*`` options its SDK sends from this process's environment
    (``PlanOptions.program_env``: the variables ``pulumi up`` run from here reads)."""
    from mlops_infra.plan.planner import PlanOptions, make_plan
    from mlops_infra.plan.quotas import quota_warnings

    settings: dict[str, Any] = {}
    env: dict[str, str] = {}
    if graph.metadata.get("cloud") == "kubernetes":  # provider_settings is {} for any other: no kube import
        from mlops_infra.kube.effective_context import provider_settings
        from mlops_infra.plan.provider_env import VARIABLES

        settings = provider_settings(graph, stack_dir)
        env = {k: v for k in VARIABLES if (v := os.environ.get(k)) is not None}  # what the SDK reads at `up`
    versions = _stack_sdk_versions(stack_dir) if prior.resources else None
    result = make_plan(graph, prior, live=live, drift=drift, options=PlanOptions(
        provider_settings=settings or None, program_env=env or None, sdk_versions=versions)
        if settings or env or versions else None)
    # with live reads the SageMaker limits are judged against the account's values (instance_quota_preflight)
    warnings = [*warnings, *quota_warnings(graph, sagemaker_limits=live is None)]
    if live is None and graph.metadata.get("cloud") == "aws":  # offline: the price catalog decides (preflight-4)
        from mlops_infra.plan.instance_quotas import catalog_offer_warnings

        warnings += catalog_offer_warnings(graph)
    if warnings:
        result = amended(result, warnings=(*result.warnings, *warnings))
    return result


def _stack_sdk_versions(stack_dir: Path | None) -> dict[str, str] | None:
    """The SDK versions the plan compares the state's providers with (``PlanOptions.sdk_versions``) when an SDK is
    not installed here and ``stack_dir/requirements.txt`` pins it: that pin, which ``pulumi up`` there installs
    (:func:`mlops_infra.plan.provider_versions.with_stack_pins`; audit closing-44c-1), else None (the installed SDKs,
    or :data:`mlops_infra.sdk_pins.SDK_PINS` for one not installed)."""
    from mlops_infra.plan.provider_versions import PinnedVersion, installed_sdk_versions, with_stack_pins

    installed = installed_sdk_versions()
    if stack_dir is None or not any(isinstance(v, PinnedVersion) for v in installed.values()):
        return None
    from mlops_infra.stacks import pinned_sdk_versions

    pins = {name: (version, f"{path}:{line}") for name, (version, path, line) in pinned_sdk_versions(stack_dir).items()}
    return with_stack_pins(installed, pins) if pins else None


def with_guardrails(result: Plan, graph: Any, system: Any, env: str) -> Plan:
    """``result`` with the guardrail rules of ``env`` that fail on ``graph`` (docs/guardrails.md)."""
    failed = failing_guardrails(graph, system, env)
    return amended(result, guardrails=failed) if failed else result


def failing_guardrails(graph: Any, system: Any, env: str) -> tuple[Any, ...]:
    """The guardrail rules of ``env`` that fail on ``graph`` (docs/guardrails.md); they depend on
    the graph and the spec only, not on the plan."""
    from mlops_infra.plan.guardrails import evaluate
    from mlops_infra.policy.rules import failing
    from mlops_infra.spec.guardrails import guardrail_settings

    return failing(evaluate(graph, guardrail_settings(system, env)))


def print_guardrails(result: Plan, loaded: Any, err: Console) -> None:
    """The failing guardrails as diagnostics on stderr, at the line to change."""
    if not result.guardrails or loaded is None or loaded.document is None or loaded.system is None:
        return
    from mlops_infra.cli.output import print_diagnostics
    from mlops_infra.policy.diagnostics import guardrail_diagnostics

    found = guardrail_diagnostics(result.guardrails, loaded.document, loaded.system, result.stack)
    print_diagnostics(found, err, loaded.source_line)


def refuse_blocked_guardrails(result: Plan, file: Path) -> None:
    """Exit 1 (after the plan was printed) when a mandatory guardrail fails."""
    blocked = [g for g in result.guardrails if g.blocks]
    if blocked:
        raise UserError(f"{len(blocked)} mandatory guardrail(s) fail in {result.stack}: "
                        f"{', '.join(g.rule for g in blocked)}",
                        "Each finding and its fix is printed above (and in the plan's Guardrails section). "
                        f"environments.{result.stack}.guardrails.rules.<rule>: advisory makes a rule a warning "
                        "(docs/guardrails.md).", source=str(file))


def saved_bytes(result: Plan, graph: Any, destination: OutputFile) -> bytes:
    """The plan file's bytes (the plan and the graph it was made from,
    :func:`~mlops_infra.plan.planfile.dumps_plan_bytes`), checked by the redaction layer before
    anything is written: a plan holding a secret is refused, and no file is made. The plan file's
    data (the plan's resource changes are made and freed one at a time as they are written:
    ``lazy``) is handed to the process's exit (:func:`~mlops_infra.cli.output.keep_for_exit`).

    orjson's bytes are checked for secrets and for where they may differ from ``json``'s
    (:data:`~mlops_infra.jsoncodec.STDLIB_SPELLING_TRIGGERS`) in one pass
    (:func:`~mlops_infra.secrets.find_secrets_beside`, as ``graph --format json`` does:
    :func:`mlops_infra.cli.output.emit_json`); where that pass cannot tell (see
    :func:`scanning_proof`), the whole check decides."""
    from mlops_infra.plan.planfile import dumps_plan_bytes, plan_file_document
    from mlops_infra.secrets import check_output

    proves, scanned = scanning_proof()
    document = plan_file_document(result, graph, lazy=True)  # the plan's resource changes made one at a time
    data = dumps_plan_bytes(result, graph, document=document, proves=proves)
    keep_for_exit(document)
    findings = scanned[0][1] if scanned and scanned[0][0] is data else None
    check_output(data, f"the plan file {destination.requested}", findings=findings)
    return data


def scanning_proof() -> tuple[Callable[[bytes], bool], list[tuple[bytes, Any]]]:
    """A ``proves`` for :func:`~mlops_infra.plan.planfile.dumps_plan_bytes` that answers as
    :func:`~mlops_infra.jsoncodec.spelled_as_stdlib` and scans the bytes for secrets in the same
    pass, and the list where each bytes it proved go with their findings (``find_secrets(data)``).

    The one pass proves the spelling only near its trigger hits and stops at the first place json
    may spell otherwise (a float such as ``4.8e-120``, which json spells alike); there the whole
    check answers, and the secrets are found by a scan of their own when the pass stopped early."""
    from mlops_infra import jsoncodec
    from mlops_infra.secrets import find_secrets, find_secrets_beside

    scanned: list[tuple[bytes, Any]] = []

    def proves(data: bytes) -> bool:
        found = find_secrets_beside(data, jsoncodec.STDLIB_SPELLING_TRIGGERS)
        near = found is not None and jsoncodec.spelled_as_stdlib_near(data, found[1])
        if not (near or jsoncodec.spelled_as_stdlib(data)):
            return False
        scanned.append((data, find_secrets(data) if found is None else found[0]))
        return True

    return proves, scanned


def _state_path(prior: PriorState) -> str | None:
    """The file the prior state was read from, when it came from one."""
    return prior.source if prior.source and os.path.exists(prior.source) else None


def render(result: Plan, output_format: Format, notes: list[str], command: str, color: bool, err: Console,
           max_chars: int = GITHUB_COMMENT_LIMIT) -> str | bytes:
    """The plan in ``output_format``; for JSON the notes go to stderr so stdout stays pure JSON, and
    the JSON is its ASCII bytes (:func:`~mlops_infra.render.json.render_json_bytes`)."""
    if output_format is Format.JSON:  # each format imports its own renderer only
        from mlops_infra.render.json import render_json_bytes

        for note in notes:
            print_plain(err, note)
        return render_json_bytes(result)
    if output_format is Format.MARKDOWN:
        from mlops_infra.render.markdown import render_markdown

        return render_markdown(result, notes=notes, command=command, max_chars=max_chars)
    from mlops_infra.render.human import render_text

    return render_text(result, color=color, notes=notes)


def _use_color(color: bool | None) -> bool:
    if color is not None:
        return color
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def full_plan_command(file: Path | None, env: str, state: Path | None = None) -> str:
    """The command a cut Markdown plan quotes to print the whole plan: the same system, environment
    and ``--state`` (without it the plan reads the backend's state, or none: another plan). The one
    owner of that command: ``plan`` quotes it, and ``promote`` for DST's plan."""
    parts = ["mlops-infra", "plan", *([str(file)] if file is not None else []), "--env", env,
             *(["--state", str(state)] if state is not None else []), "--format", "text"]
    return shlex.join(parts)
