"""``mlops-infra rollout ENDPOINT [FILE] --env ENV [--watch] [--dry-run] [--abort] [--resume]``.

Contract:
- Loads and compiles ``FILE`` for ``ENV`` like ``plan`` does, then finds the endpoint's rollout plan in
  the graph. An unknown endpoint (with "did you mean"), an endpoint without a progressive rollout, or
  ``--abort`` with nothing in progress is a user error: exit 1, nothing changed.
- ``--dry-run``: prints the schedule (steps, bake, when each starts, canary instances, total time,
  worst case with a gate-timeout hold, and that worst case's extra cost at the catalog's on-demand
  price; on AWS the overlap includes the two whole-fleet swaps of the start and the finish,
  ``rollout/schedule.py``), and that each bake counts from when its step is in effect (``rollout/reconcile.py``, "When
  a step is in effect"), so the times shown are lower bounds; touches nothing, needs no credentials.
- Default: ONE reconcile pass (observe, read gates, decide, act), printed as one progress line; what
  the scheduled reconciler (or a CI job) runs on every tick. ``--watch``: passes until the rollout
  settles, sleeping until the next thing can change (at most ``--poll``); exit 0 when it finished,
  1 when it rolled back or was aborted. A pass that rolls back on its own leaves the rollback notice
  pending in the rollout status; for an endpoint whose rollbacks are announced (the graph has its
  rollback alarm or alert rule) it prints that the scheduled runner sends it, and to which channels
  (``cli/rollout_display.py``).
- ``--abort`` rolls a rollout in progress back now; ``--resume`` starts a rolled-back or aborted one
  again from its first step.
- On Kubernetes every pass reads and writes the cluster ``pulumi up`` of the stack directory ``plan`` uses
  changes: its ``Pulumi.<env>.yaml``'s ``kubernetes:context``/``kubernetes:kubeconfig`` over the spec's
  ``target.context`` (a ``secure:`` kubeconfig is refused: :mod:`mlops_infra.rollout.connect`).
- An ``--abort`` that lost its race (another pass acted between its read and its writes,
  ``rollout/runner.py`` ``Lost``) is followed by a fresh observation, and the command says what is recorded
  (``drivers/sagemaker.py`` **Races**): the abort recorded (its status write went through, its traffic call
  was refused: the next pass moves the traffic back), one line with the recorded reason, exit 0, and when the
  endpoint is still updating (SageMaker applying a step's update: the abort is recorded and its traffic call
  left to the first InService pass, ``drivers/sagemaker.py`` **A rollback while the endpoint updates**) a
  second line saying the traffic moves back when that update ends; before, such an abort wrote nothing and
  said another pass had changed the rollout (audit rolloutaws-6); the rollout
  rolled back meanwhile, one line, exit 0; else nothing of the abort was written, a user error saying what the
  rollout is now and to run the abort again (exit 1). Before, the pass line ("aborted by the operator ...
  (another reconciler acted first)") and exit 0 were all, whether the abort was recorded or not.
- A pass whose driver cannot carry out the decision (``rollout/runner.py`` ``RollbackImpossible``: on
  SageMaker, an abort that lost to a concurrent finish with no rollout config left to go back to) is a
  user error, not a bug: what happened, the traffic split the endpoint serves now, what to do (the
  driver's advice, with this endpoint's own ``mlops-infra rollout`` command line), exit 1, no traceback unless ``MLOPS_INFRA_DEBUG=1``
  (``cli/main.py``).
- On AWS, a failed AWS call or client (no credentials, an unknown ``AWS_PROFILE``, an unreachable or malformed
  ``AWS_ENDPOINT_URL``, the endpoint not applied yet, access denied) is a user error naming the cause and the fix
  (:func:`mlops_infra.rollout.connect.aws_failure`), exit 1; never "internal error". Credentials of another
  account than the environment's (``sts:GetCallerIdentity``, before any SageMaker call) are refused the same way,
  naming both accounts (:func:`mlops_infra.rollout.connect.check_account`): nothing is read or changed.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import typer
from rich.console import Console

from mlops_infra.cli.inputs import DEFAULT_FILE, Target, load_for_env, resolve_file
from mlops_infra.cli.output import error_console
from mlops_infra.errors import UserError
from mlops_infra.name_lists import join_names


def register(app: typer.Typer) -> None:
    app.command("rollout")(rollout)


def rollout(
    endpoint: str = typer.Argument(..., help="The endpoint to roll out (its name in the spec)."),
    file: Path | None = typer.Argument(
        None, help="The MLSystem YAML file (default: ./mlsystem.yaml, else the embedded quickstart).",
        show_default=False),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment (default: the only one, else dev)."),
    watch: bool = typer.Option(False, "--watch", help="Keep reconciling until the rollout finishes or rolls back."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the schedule and its worst-case cost; change nothing."),
    abort: bool = typer.Option(False, "--abort", help="Roll the rollout in progress back now."),
    resume: bool = typer.Option(False, "--resume", help="Start a rolled-back or aborted rollout again from step 1."),
    prometheus_url: str | None = typer.Option(
        None, "--prometheus-url", help="Kubernetes: the Prometheus that evaluates the rollback alerts "
                                       "(default: $MLOPS_PROMETHEUS_URL)."),
    poll: float = typer.Option(30.0, "--poll", min=1.0, help="--watch: the longest wait between passes (seconds)."),
) -> None:
    """Roll a new model version out step by step, watching its rollback alerts (one pass, or --watch)."""
    if abort and resume:
        raise typer.BadParameter("--abort and --resume cannot be used together")
    err = error_console()
    path, note = resolve_file(file)
    system, env = load_for_env(path, env, err)
    if note:
        err.print(note, markup=False)
    _check_endpoint(system, endpoint, path)
    from mlops_infra.compile import compile_system
    from mlops_infra.rollout.connect import rollout_spec

    graph = compile_system(system, env)
    address, plan = rollout_spec(graph, endpoint, str(path))
    out = Console(highlight=False, soft_wrap=True)
    if dry_run:
        _print_schedule(out, graph, system, address, plan)
        return
    from mlops_infra.rollout.connect import aws_errors, aws_failure
    from mlops_infra.rollout.runner import RollbackImpossible

    try:
        _run(out, graph, endpoint, str(path), prometheus_url, watch, poll,
             "abort" if abort else "resume" if resume else None, _announced(system, graph, endpoint),
             Target(path, env, "", file is not None or path.name == DEFAULT_FILE).stack_dir(env))
    except RollbackImpossible as exc:
        fix = exc.fix.replace("`mlops-infra rollout`", f"`mlops-infra rollout {endpoint} {path} --env {env}`")
        raise UserError(f"rollout of {endpoint!r}: {exc.what}", f"traffic now: {exc.traffic}\nwhat to do: {fix}",
                        source=str(path)) from exc
    except aws_errors() as exc:  # no credentials, unknown profile, unreachable AWS, endpoint not applied, denied
        raise aws_failure(exc, graph, endpoint, str(path)) from exc


ANNOUNCING_ROLES = ("rollback-alarm", "rollback-alert-rule")
"""The roles of the resources that announce an endpoint's rollbacks (``compile/aws/alerting.py``
``compile_rollback_alarm``, ``compile/kubernetes/alerting.py`` ``compile_rollback_rule``)."""


def _announced(system, graph, endpoint: str) -> tuple[str, ...]:
    """The channels ``endpoint``'s rollback notices tell, if the graph announces its rollbacks."""
    from mlops_infra.spec.alerting import rollback_channels

    address = f"endpoints.{endpoint}"
    if not any(r.address == address and r.role in ANNOUNCING_ROLES for r in graph.resources):
        return ()
    return tuple(rollback_channels(system, system.item("endpoints", endpoint)))


def _check_endpoint(system, endpoint: str, path: Path) -> None:
    names = [e.name for e in system.endpoints]
    if endpoint not in names:
        close = difflib.get_close_matches(endpoint, names, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        raise UserError(f"no endpoint {endpoint!r} in the system",
                        f"{hint}Endpoints: {join_names(names) or 'none'}.", source=str(path))


def _print_schedule(out: Console, graph, system, address: str, plan: dict) -> None:
    """The dry-run: the schedule at ``replicas.min``; for an autoscaled endpoint the canary sizes and the
    worst case at ``replicas.max`` too (the canary is sized from the replicas serving when it starts,
    ``rollout/schedule.py``); and what a rollback keeps running per hour."""
    from mlops_infra import catalog
    from mlops_infra.compile import facts
    from mlops_infra.plan.cost import fixed_replicas, running_floor
    from mlops_infra.rollout.model import RolloutSpec
    from mlops_infra.rollout.reconcile import duration as _duration
    from mlops_infra.rollout.schedule import schedule

    spec = RolloutSpec.from_graph(address, plan)
    item = system.item("endpoints", spec.endpoint)
    shape = facts.endpoint_facts(item, spec.target)
    instance = shape.get("instanceType")
    region = graph.metadata.get("region") or "us-east-1"
    price = None
    if instance and spec.target == "aws":
        found = catalog.price(instance, "inference", region)
        price = found.usd_per_hour if found else None
    replicas = running_floor(shape, spec.target) if spec.target == "aws" else int(item.replicas.min)
    most = replicas if fixed_replicas(shape) else max(replicas, int(item.replicas.max))
    plan_out, at_most = schedule(spec, replicas, price), schedule(spec, most, price)
    where = f"{graph.stack} ({'SageMaker' if spec.target == 'aws' else 'KServe'})"
    out.print(f"Rollout of {spec.endpoint} in {where}: {spec.strategy}, {len(spec.steps)} steps, "
              f"bake {_duration(spec.bake_seconds)} each")
    out.print(f"  gates: {', '.join(spec.gates) or 'none'} (unreadable for {_duration(spec.gate_timeout_seconds)} "
              "-> roll back)")
    out.print(f"  {'step':>4}  {'traffic':>7}  {'starts at':>9}  {'bake':>6}  canary instances ({instance or '?'})")
    swapped = " (after a swap of the whole stable fleet, below)" if plan_out.swap_seconds else ""
    for row in plan_out.steps:
        out.print(f"  {row.number:>4}  {row.percent:>6}%  {_duration(row.starts_after):>9}  "
                  f"{_duration(row.bake_seconds):>6}  {row.canary_instances} beside {replicas} stable"
                  f"{swapped if row.number == 1 else ''}")
    if plan_out.swap_seconds:
        start, finish = plan_out.swap_instances
        out.print(f"  fleet swaps: step 1 follows a swap of the whole stable fleet (the start's UpdateEndpoint deploys "
                  f"primary and the canary to a new fleet: {start} instances beside the {replicas} serving), and the "
                  f"finish swaps it again ({replicas} new primary instances beside the {replicas} stable and the "
                  f"canary's {finish - replicas}: {finish} beyond the stable fleet); each swap is allowed {_duration(plan_out.swap_seconds)}, counted in the worst-case "
                  "overlap below, not in the times")
    if most > replicas:
        sizes = ", ".join(str(row.canary_instances) for row in at_most.steps)
        rule = ("the replicas serving then, or more: each step sizes it from primary's count now when primary "
                "scaled out during the rollout" if spec.target == "aws" else "the replicas serving then")
        out.print(f"  autoscaled up to {most} stable (replicas.max) when the rollout starts, the canary takes {sizes} "
                  f"instances: it is sized from {rule}")
    applied = ("the endpoint InService again after the change: minutes while SageMaker adds the step's canary "
               "instances" if spec.target == "aws" else "Knative's route serving the share: usually seconds")
    out.print(f"  each bake counts from when its step is in effect ({applied}); each step starts, and the total "
              "ends, that much later than shown")
    out.print(f"  total: {_duration(plan_out.total_seconds)} if every gate stays green; worst case "
              f"{_duration(plan_out.worst_case_seconds)} (a gate unreadable at the last step)")
    scaled = most > replicas
    at_min = f" at {replicas} stable (replicas.min)" if scaled else ""
    if plan_out.worst_case_usd is not None and at_most.worst_case_usd is not None:
        at_max = (f", ${at_most.worst_case_usd:,.2f} ({at_most.overlap_instance_hours:g} instance-hours) at {most} "
                  "(replicas.max)") if scaled else ""
        out.print(f"  worst-case extra cost during the overlap: ${plan_out.worst_case_usd:,.2f} "
                  f"({plan_out.overlap_instance_hours:g} instance-hours at ${price:.4f}/h on-demand, {region})"
                  f"{at_min}{at_max}")
    else:
        at_max = f", {at_most.overlap_instance_hours:g} at {most} (replicas.max)" if scaled else ""
        out.print(f"  worst-case overlap: {plan_out.overlap_instance_hours:g} instance-hours{at_min}{at_max} "
                  "(no on-demand price in the catalog for this target)")
    out.print(f"  after a rollback: {_kept_after_rollback(spec.target, int(item.replicas.min), price)}")


def _kept_after_rollback(target: str, min_replicas: int, price: float | None) -> str:
    """What a rolled-back version keeps running until a later version's rollout (docs/rollout.md)."""
    from mlops_infra.plan.model import HOURS_PER_MONTH
    from mlops_infra.rollout.schedule import IDLE_CANARY_INSTANCES

    if target != "aws":
        return (f"the new revision keeps its minReplicas ({min_replicas}) pod(s) until a later version rolls out "
                "(Knative keeps min-scale on a revision still in the route)")
    cost = "" if price is None else \
        f", ${IDLE_CANARY_INSTANCES * price:,.2f}/h (${IDLE_CANARY_INSTANCES * price * HOURS_PER_MONTH:,.0f} a month)"
    return (f"the canary variant keeps {IDLE_CANARY_INSTANCES} instance{cost} until a later version rolls out "
            "or --resume")


def _run(out: Console, graph, endpoint: str, source: str, prometheus_url: str | None, watch: bool, poll: float,
         command, notice: tuple[str, ...] = (), stack_dir: Path | None = None) -> None:
    """One pass or ``--watch``; on Kubernetes on the cluster ``pulumi up`` in ``stack_dir`` (the stack directory
    ``plan`` and ``apply`` use, :meth:`mlops_infra.cli.inputs.Target.stack_dir`) changes: its stack config's
    ``kubernetes:context``/``kubernetes:kubeconfig`` over the spec's context (:mod:`mlops_infra.rollout.connect`)."""
    from mlops_infra.cli.rollout_display import RolloutDisplay
    from mlops_infra.rollout.connect import connect
    from mlops_infra.rollout.runner import Watch, reconcile_once
    from mlops_infra.rollout.runner import watch as watch_loop

    connected = connect(graph, endpoint, prometheus_url=prometheus_url, source=source, stack_dir=stack_dir)
    display = RolloutDisplay(out, connected.spec, notice)
    import time

    if command == "abort":
        first = reconcile_once(connected.spec, connected.driver, connected.gates, time.time(), "abort")
        if first.decision.action == "none":
            raise UserError(f"no rollout of {endpoint!r} in progress: nothing to abort", first.decision.message,
                            source=source)
        display.show(first)
        if first.lost:
            _after_lost_abort(out, connected.driver.observe(), endpoint, source)
        if not watch:
            return
        command = None
    if not watch:
        display.show(reconcile_once(connected.spec, connected.driver, connected.gates, time.time(), command))
        return
    last = watch_loop(connected.spec, connected.driver, connected.gates,
                      Watch(poll_seconds=poll, on_pass=display.show), command)
    status = last.observed.status
    if status is not None and status.phase in ("rolled_back", "aborted"):
        raise typer.Exit(1)


def _after_lost_abort(out: Console, observed, endpoint: str, source: str) -> None:
    """What an ``--abort`` that lost its race left recorded (see the module contract)."""
    from rich.markup import escape

    status = observed.status if observed.status and observed.status.revision == observed.revision else None
    if status is not None and status.phase == "aborted":
        out.print(f"  the abort is recorded: {escape(status.reason)}")
        if not observed.ready:
            back = f"version {status.previous}" if status.previous else "the previous version"
            out.print(f"  the endpoint is updating ({escape(observed.detail or 'not ready')}): the traffic moves back "
                      f"to {escape(back)} when the update ends (the first pass after it)")
        return
    if status is not None and status.phase == "rolled_back":
        out.print(f"  the rollout was rolled back meanwhile: {escape(status.reason)}")
        return
    now = "not started" if status is None else status.phase.replace("_", " ")
    why = f" ({status.reason})" if status is not None and status.reason else ""
    again = ("run the same command again to abort it" if status is not None and status.phase == "progressing"
             else "there is no rollout in progress to abort any more")
    raise UserError(f"the abort of {endpoint!r} did not take effect: another pass changed the rollout first",
                    f"Nothing of the abort was written; the rollout of version {observed.revision} is {now}{why}: "
                    f"{again}.", source=source)
