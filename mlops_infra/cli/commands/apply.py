"""``mlops-infra apply [FILE] --env ENV [--plan PLAN.json] [--yes] [--stack-dir DIR] [--drain-queues]``.

Contract, in order (nothing in the cloud changes before step 5):
1. Load and compile ``FILE`` for ``ENV`` and read the prior state, exactly as ``plan`` does (from
   ``--stack-dir`` when given: the state of the stack ``pulumi up`` runs on), and in
   an AWS environment read the model registry as ``plan --refresh`` does (finding A1: which pinned
   versions exist decides which endpoints are served, held or waiting). A registry that cannot be
   read leaves the offline decision, and the plan shows the warning. The Pulumi program compiles
   with this same view (:func:`mlops_infra.apply.model_versions.registry_view_env`), so ``pulumi
   up`` registers exactly the graph shown: apply never applies a graph nobody saw. A stack directory
   of another system (its ``Pulumi.yaml`` project is not the system's name, or its
   ``mlops:systemFile``/``mlops:environment`` names another file or environment) is refused before
   the plan is shown (:func:`mlops_infra.apply.engine.check_stack_dir`, audit applypath-1).
2. ``--plan``: the saved plan must have been made against this very state and desired graph
   (``planfile.check_fresh``); a stale plan is refused (exit 1) whatever else is true. A plan made
   with ``plan --refresh`` decided its versions from the registry, as apply does; an offline plan of
   a version the registry decides otherwise is stale.
3. The plan is printed (the saved one, or a fresh one). A plan holding a failing mandatory guardrail,
   or a blocked resource change (:func:`refuse_blocked_changes`), is refused (exit 1). No changes:
   "nothing to apply", exit 0. On Kubernetes, a namespace whose ``mlops-infra/system`` or
   ``mlops-infra/environment`` label names another system or environment is refused (exit 1), as
   ``plan --refresh`` refuses it (:func:`mlops_infra.cli.commands.plan.namespace_owner_preflight`,
   finding collisions-2: the apply would force its labels on the namespace and stop part-way at
   AlreadyExists); a namespace that cannot be read is a warning, and the apply goes on.
4. Without the Pulumi CLI: one line, exit 1. On Kubernetes, a plan that deletes or replaces a Kueue
   ClusterQueue, or moves one to other flavors in place (closing-35e-1: Kueue would count its admitted runs
   under the old flavor and admit a full quota again), which still admits workloads is refused, naming them
   (exit 1), unless
   ``--drain-queues`` (:mod:`mlops_infra.apply.queue_drain`, audit removal-4); with it, what would stop
   ``pulumi up`` from starting (no ``Pulumi.yaml``, another system's directory, no passphrase for a
   self-managed backend, a stack another ``pulumi`` holds locked (audit concurrency-3), a stack state that is
   not the one planned against, such as a ``--state`` file that is not the stack's current state:
   ``engine.preflight``), and a Pulumi CLI ``up`` could not use (a
   version the Automation API refuses, not logged in, a backend it cannot open or that does not answer:
   ``engine.check_cli`` runs ``pulumi version`` and ``pulumi whoami`` as ``up`` will, bounded in time), is
   refused first, so no queue is held for an apply that cannot run (audit applypath-4, closing-33b-2).
   Without a queue to drain none of this runs: ``up`` fails at the same point with nothing changed.
   A plan that deletes or replaces a Kueue ResourceFlavor that a ClusterQueue outside the stack names is
   refused too, naming that queue (:mod:`mlops_infra.apply.flavor_users`, audit k8sapply-3; the cluster is
   read only when the plan deletes a flavor); a Kueue Cohort whose shared quota names such a flavor is named
   (a warning: a Cohort does not hold the delete, its quota stops lending to this environment).
   Confirmation: unless
   ``--yes``, ask on a terminal; without a terminal, refuse (exit 1). Then, with ``--drain-queues``,
   those queues get ``spec.stopPolicy: HoldAndDrain`` and apply waits (bounded) until they admit none;
   after ``pulumi up`` succeeds, a moved queue gets ``spec.stopPolicy: None`` back, and so does a queue of the
   stack an earlier apply's drain left held (``pulumi up`` never writes that field; a hold someone else set is
   named and left: :func:`mlops_infra.apply.queue_drain.earlier_holds`, kueueleft-4).
   When anything after that fails or is refused (the wait, a state that moved meanwhile, ``pulumi up``),
   the error also names each queue still held and the ``kubectl patch`` that releases it
   (:func:`mlops_infra.apply.queue_drain.held_note`, closing-33b-2).
5. ``pulumi up`` of ``stacks/<ENV>`` (or ``--stack-dir``) through :mod:`mlops_infra.apply.engine`,
   engine events streamed as progress lines (:mod:`mlops_infra.apply.events`). Right before it, the
   stack's state is read again where step 1 read it, and a state that moved since (during the prompt
   or the drain; or a ``--state`` file that is not the stack's current state) is refused as a stale
   plan, nothing applied (``engine.up`` ``expected_serial``, audit applypath-1 and -2). The stack's
   ``mlops:systemFile`` is set, relative to the stack directory, only when it does not name ``FILE``
   already: the committed ``Pulumi.<ENV>.yaml`` is not rewritten (audit applypath-5). The program compiles
   ``FILE`` again when ``up`` runs it; it is given the digest of the graph shown
   (``$MLOPS_INFRA_EXPECTED_GRAPH``, :mod:`mlops_infra.program.expected_graph`) and registers nothing when
   ``FILE`` no longer compiles to it (edited during the prompt or the drain): the error says the system changed
   since the plan was shown, that nothing was applied (or that only phase 1 was) and to plan again (audit
   concurrency-7). The same for the provider settings the program copies from stack config (``kubernetes:context``,
   ``aws:endpoints``, ...): read with the plan, their digest is passed (``$MLOPS_INFRA_EXPECTED_STACK_CONFIG``)
   and a stack configuration file edited since is refused, naming the file, never a value (closing-37b-3).
   Before it (after the confirmation), each SageMaker endpoint the plan changes whose state records
   ``initErrors`` (or that a refreshed plan replaces as Failed) is read (``DescribeEndpoint``): a ``Failed`` one
   is replaced, deleting first (``--replace`` and ``deleteBeforeReplace`` for this run only); one still
   ``Creating``/``Updating``/``SystemUpdating``, or whose read fails, is left out of ``up`` with its dependents
   (``--exclude``, ``--exclude-dependents``; never with phase 1's ``--target``), so its state keeps the record
   (closing-36a-1); any other status keeps Pulumi's update; each is said (:mod:`mlops_infra.apply.failed_endpoints`).
   Then each SageMaker model and endpoint config the plan creates (or replaces) that already exists under the very
   name (``DescribeModel``/``DescribeEndpointConfig``: the previous version set back in the spec, whose kept
   objects the compiled content-hash names match) is adopted: its rollout kept-entry untagged, and ``up``
   imports it (Pulumi's ``import`` option, for that ``up`` only, never a targeted phase 1) instead of creating
   what SageMaker refuses to create again; each is said (:mod:`mlops_infra.apply.adoption`, audit rolloutaws-7).
   Ctrl-C or SIGTERM while it runs cancels ``pulumi up`` as at Pulumi's own terminal (the first lets
   Pulumi finish the operations in flight, save the state and unlock; a second terminates it), waits for
   Pulumi to exit and stops there: one line saying what happened, then the pending operations (named)
   and the lock Pulumi left and the commands that clear them (``engine.up``, audit applypath-3); exit 130
   after a Ctrl-C (SIGINT), 143 after a SIGTERM, 128 + the signal's number as a shell reports a command a
   signal ended (Bash Reference Manual 3.7.5 "Exit Status"). The same from the start of the
   ``--drain-queues`` wait on (one :class:`~mlops_infra.apply.pulumi_process.SignalGuard` for the drain and
   ``up``): a signal stops the drain at once, even inside a Kubernetes request that hangs (closing-35c-4), no
   Pulumi command starts, the error says nothing was applied and names the held queues (read once, briefly). Earlier (the plan, the prompt), Ctrl-C stops with "interrupted", exit 130, nothing done
   (``cli/main.py``). Later (steps 5 to 7, after ``up`` applied), a signal stops them at once: "interrupted
   ... after `pulumi up` applied", what may not have run and the rollout commands, 130/143 (closing-35c-3).
   On Kubernetes, the runs each removed training job left behind are then listed, not deleted
   (:mod:`mlops_infra.apply.leftover_runs`).
5a. The SageMaker models and endpoint configs the plan only forgets (``retainOnDelete``, a removed
   canary endpoint's) are deleted when no endpoint uses them (:mod:`mlops_infra.apply.forgotten`); a
   delete that fails exits 1 after steps 6 and 7, saying what to delete by hand.
6. Post-apply check (:mod:`mlops_infra.apply.verify`, review finding B8): every SageMaker endpoint
   must serve the desired config; a silent rollback or a failed endpoint fails the command (exit 1)
   naming the endpoint.
7. The rollouts the plan announced (a model version change on an endpoint with a progressive
   rollout) get their first reconcile pass; the scheduled reconciler (or ``mlops-infra rollout
   --watch``) carries them on.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer
from rich.console import Console

from mlops_infra.cli.output import error_console
from mlops_infra.cli.usage import exit_codes
from mlops_infra.errors import UserError
from mlops_infra.name_lists import join_names

EXIT_CODES = exit_codes("applied, or nothing to apply") + (
    "\n  130  stopped by Ctrl-C (SIGINT); 143: stopped by SIGTERM (128 + the signal's number)")
"""apply's ``--help`` epilog: the usual codes and those of an interrupted apply (docs/apply.md "Exit codes")."""


def register(app: typer.Typer) -> None:
    app.command("apply", epilog=EXIT_CODES)(apply)


def apply(
    file: Path | None = typer.Argument(
        None, help="The MLSystem YAML file (default: ./mlsystem.yaml, else the embedded quickstart).",
        show_default=False),
    env: str | None = typer.Option(None, "--env", "-e", help="Environment to apply (default: the only one, else dev)."),
    plan_file: Path | None = typer.Option(None, "--plan", help="Apply this saved plan (refused when stale)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    state: Path | None = typer.Option(None, "--state", help="Prior state file (as for plan)."),
    stack_dir: Path | None = typer.Option(None, "--stack-dir", help="The Pulumi stack directory (default: stacks/ENV)."),
    drain_queues: bool = typer.Option(
        False, "--drain-queues", help="Kubernetes: before deleting a Kueue ClusterQueue that still admits runs, "
        "set its stopPolicy to HoldAndDrain (Kueue evicts them) and wait until it admits none."),
) -> None:
    """Provision the system with Pulumi: show the plan, confirm, `pulumi up`, verify, start rollouts."""
    from mlops_infra.cli.commands.plan import (
        Format,
        describe_prior,
        desired_and_prior,
        make,
        print_guardrails,
        refuse_blocked_guardrails,
        refuse_foreign_namespace,
        render,
        with_guardrails,
    )

    err = error_console()
    out = Console(highlight=False, soft_wrap=True)
    from mlops_infra.apply import engine

    # `plan --refresh`'s versions; the state of the stack `pulumi up` runs on (audit applypath-1, --stack-dir)
    desired = desired_and_prior(file, env, state, err, read_registry=True, stack_dir=stack_dir)
    graph, prior, env, path = desired.graph, desired.prior, desired.env, desired.target.path
    note = desired.target.note
    directory = stack_dir or desired.target.stack_dir(env)
    engine.check_stack_dir(directory, desired.system.metadata.name, path.resolve(), env)  # applypath-1
    from mlops_infra.kube.effective_context import apply_through

    apply_through(graph, Path(directory))  # ctxmatch: apply's cluster reads go where `pulumi up` goes
    engine.check_not_stranded(engine.StackOptions(Path(directory), env, project=desired.system.metadata.name),
                              done="nothing was applied")  # closing-37b-5: the stack directory's state is elsewhere
    from mlops_infra.state.backends import refuse_legacy_layout

    refuse_legacy_layout(env, Path(directory))  # stateformats-8: `pulumi up` would refuse a legacy DIY layout
    from mlops_infra.program.expected_graph import stack_config_digest

    # closing-37b-3: the provider settings the program copies from stack config, read with the plan (pinned)
    stack_config = stack_config_digest(Path(directory), env, graph)
    current = with_guardrails(make(graph, prior, None, None, list(desired.registry.warnings), Path(directory)), graph,
                              desired.system, env)
    print_guardrails(current, desired.loaded, err)
    if plan_file is not None:
        from mlops_infra.plan.model import amended
        from mlops_infra.plan.planfile import check_fresh, load_plan

        saved = load_plan(plan_file)
        try:
            check_fresh(saved, prior.serial, graph.digest())
        except UserError as exc:
            exc.source = str(plan_file)
            raise
        # robust-1: the guardrails are the spec's as it is now, not the ones recorded when the plan was saved:
        # a rule made mandatory (or a cap lowered) since `plan --out` changes no graph digest (docs/guardrails.md)
        current = amended(saved.plan, guardrails=current.guardrails)
    notes = [n for n in (note, describe_prior(prior, desired.backend)) if n]
    typer.echo(render(current, Format.TEXT, notes, "", False, err), nl=False)
    refuse_blocked_guardrails(current, path)  # a mandatory guardrail is never applied (docs/guardrails.md)
    refuse_blocked_changes(current, path, directory, prior)  # audit finding removal-1: nothing is applied
    if not current.has_changes:
        # a not-ready resource (plan/readiness.py) matches its last apply: `pulumi up` would leave it as it is
        out.print("Nothing to apply: the stack already matches the system." if not current.not_ready else
                  f"Nothing to apply: Pulumi would change nothing, but {current.not_ready} resource(s) are not ready "
                  "(see Not ready above: apply does not fix them; do what each says).")
        return
    refuse_foreign_namespace(desired, err)  # finding collisions-2: another system's namespace
    if shutil.which("pulumi") is None:
        raise UserError("the Pulumi CLI is not installed (no `pulumi` on PATH): install it from "
                        "https://www.pulumi.com/docs/install/ to apply; `mlops-infra plan` works without it")
    from mlops_infra.apply.flavor_users import refuse_outside_users
    refuse_outside_users(graph, current, prior,  # audit k8sapply-3: Kueue would hold a flavor another queue names
                         lambda text: err.print(text, markup=False, highlight=False))  # a Cohort's pool: said
    kube, admitted = _admitted_queues(graph, current)  # audit removal-4: Kueue would hold the delete
    from mlops_infra.apply.queue_drain import earlier_holds  # kueueleft-4: `pulumi up` never releases a hold
    kube, held = earlier_holds(graph, kube, lambda text: err.print(text, markup=False, highlight=False))
    if admitted and not drain_queues:
        from mlops_infra.apply.queue_drain import refusal

        raise refusal(admitted, _moved(current))
    # relative to the stack directory, as `init` writes it: the committed config works on any checkout (applypath-5)
    system_file = Path(os.path.relpath(path.resolve(), Path(directory).resolve())).as_posix()
    if admitted:  # applypath-4: a held queue stops training; never hold it for an up that cannot start
        engine.preflight(engine.StackOptions(Path(directory), env, system_file=system_file,  # closing-33b-2: and
                                             project=desired.system.metadata.name,  # a plan `up` refuses as stale
                                             expected_serial=prior.serial))
    _confirm(yes, env)
    failed, delete_first, excluded = _failed_endpoints(graph, current, prior, out)  # Failed: replaced, deleted first
    adopted = _adopted(graph, current, out)  # rolloutaws-7: a kept model/config the plan creates again is imported
    sequences = _without(current.sequences, excluded, graph)  # closing-36a-1: a Creating one is left out
    from mlops_infra.apply.events import EventRenderer
    from mlops_infra.apply.model_versions import registry_view_env
    from mlops_infra.program.expected_graph import expected_graph_env

    renderer = EventRenderer(lambda line: out.print(line, markup=False))
    from mlops_infra.apply.pulumi_process import Interrupted, SignalGuard
    from mlops_infra.apply.sequences import up_in_order

    unmoved = [prior.serial]  # the first `up` runs on the state shown (applypath-2); phase 2 on what phase 1 left
    guard = SignalGuard()  # from the drain on, Ctrl-C and SIGTERM take up's path (engine.interrupted: 130/143)

    from mlops_infra.plan.init_errors import forced_replaces

    applied = []  # the `up`s that ran to the end (phase 1 of an ordered apply), said if a later one is refused

    def up(**phase):  # closing-35d: `--replace` the resources an empty update cannot finish (plan/init_errors)
        if adopted and not phase.get("targets"):  # rolloutaws-7: imported by the untargeted `up` only
            phase["extra_env"] = {**phase.get("extra_env", {}), **adopted}
        try:
            result = engine.up(directory, env, on_event=renderer, system_file=system_file,
                               project=desired.system.metadata.name,
                               expected_serial=unmoved.pop() if unmoved else None, guard=guard,
                               next_phase=next_phase(phase), replace=forced_replaces(current.changes) + failed,
                               exclude=excluded, refresh=current.refreshed, **phase)  # autoscale-6
        except UserError as exc:
            if (changed := changed_since_shown(exc, path, bool(applied), Path(directory), env)) is None:
                raise
            raise changed from None
        applied.append(phase)
        return result

    try:
        with guard.installed():
            if admitted:
                from mlops_infra.apply.queue_drain import drain

                try:
                    with guard.interruptible():  # closing-35c-4: a signal stops a hung request at once
                        drain(kube, admitted, lambda line: out.print(line, markup=False), check=guard.check,
                              sleep=guard.sleep)
                except Exception as exc:
                    if not (isinstance(exc, Interrupted) or guard.signals):
                        raise
                    raise engine.interrupted(engine.StackOptions(Path(directory), env, system_file=system_file,
                                                                 project=desired.system.metadata.name),
                                             guard) from None
            with registry_view_env(desired.registry) as extra_env:  # the program compiles with the same view (A1)
                shown = expected_graph_env(graph.digest(), stack_config)  # concurrency-7: this graph or nothing
                up_in_order(up, sequences, {**extra_env, **delete_first, **shown},  # A3
                            lambda line: out.print(line, markup=False))
    except BaseException as exc:  # closing-33b-2: a failure after the drain says which queue is left held
        if admitted or held:
            _say_held(exc, _quick(kube) if guard.signals else kube, sorted({*admitted, *held}), err, _moved(current),
                      held)
        raise
    if moved := sorted({*(q for q in admitted if q in _moved(current)), *held}):  # closing-35e-1, kueueleft-4
        from mlops_infra.apply.queue_drain import release

        release(kube, moved, lambda line: out.print(line, markup=False))
    try:  # closing-35c-3: a signal in the steps after `up` says `up` was applied and what did not run
        with guard.installed(), guard.interruptible():
            _report_leftover_runs(out, graph, current, kube)  # audit removal-4: a removed job's runs have no owner
            from mlops_infra.apply.forgotten import after_up

            left = after_up(current, prior, graph.metadata.get("region"), lambda line: out.print(line, markup=False))
            _verify(out, graph)
            _start_rollouts(out, graph, current, str(path))
    except Exception as exc:
        if not (isinstance(exc, Interrupted) or guard.signals):
            raise
        raise after_up_interrupted(guard.signals, graph, current) from None
    if left is not None:  # removal-3: reported (exit 1) once the apply's own steps are done, never undone
        raise left


def _failed_endpoints(graph, plan, prior, out: Console) -> tuple[tuple[str, ...], dict[str, str], tuple[str, ...]]:
    """On AWS, the plan's SageMaker endpoints with ``initErrors`` (or a refreshed plan's Failed ones), read right
    before ``up``: the Failed ones' URNs for ``--replace``, the environment that registers them deleting first, and
    the URNs left out of ``up`` with their dependents (still Creating/Updating, or not read)
    (:mod:`mlops_infra.apply.failed_endpoints`); nothing elsewhere."""
    if graph.metadata.get("cloud") != "aws":
        return (), {}, ()
    from mlops_infra.apply.failed_endpoints import check

    return check(plan, prior, graph.metadata.get("region"), lambda line: out.print(line, markup=False), graph=graph)


def _adopted(graph, plan, out: Console) -> dict[str, str]:
    """On AWS, the environment that makes ``up`` import the SageMaker models and endpoint configs the plan creates
    that already exist (each said; their kept entries untagged first: :mod:`mlops_infra.apply.adoption`); {}
    elsewhere or when there are none."""
    if graph.metadata.get("cloud") != "aws":
        return {}
    from mlops_infra.apply.adoption import check

    return check(plan, graph, graph.metadata.get("region"), lambda line: out.print(line, markup=False)).env


def _without(sequences, excluded: tuple[str, ...], graph) -> list:
    """The plan's ordered-apply sequences but those touching a left-out endpoint or a dependent of it: phase 1 is a
    targeted ``up`` (``--target`` cannot go with ``--exclude``), so it must not deregister what phase 2 leaves
    out (:mod:`mlops_infra.apply.failed_endpoints`)."""
    if not excluded:
        return list(sequences)
    from mlops_infra.apply.failed_endpoints import dependents

    out = {*excluded, *dependents(graph, excluded)}
    return [s for s in sequences if not any(u in out for step in s.steps for u in step.urns)]


def changed_since_shown(exc: UserError, file: Path, earlier: bool, stack_dir: Path | None = None,
                        env: str | None = None) -> UserError | None:
    """The error of a ``pulumi up`` whose program refused because ``file`` no longer compiles to the graph
    shown, or because the stack configuration file of ``env`` in ``stack_dir`` now sets other provider settings
    (:mod:`mlops_infra.program.expected_graph`, audits concurrency-7 and closing-37b-3), found by the refusal's
    words in Pulumi's failure ``exc`` (:func:`mlops_infra.apply.engine.pulumi_failure`); None for any other
    failure. ``earlier``: an ``up`` before this one (phase 1 of an ordered apply) was applied, which is said."""
    from mlops_infra.program.expected_graph import CHANGED, CONFIG_CHANGED, stack_config_file

    said = f"{exc.summary}\n{exc.detail}"
    if CHANGED not in said and CONFIG_CHANGED not in said:
        return None
    done = (f"Phase 1 ({PHASE_ONE}) was applied; phase 2 was not: nothing else changed. " if earlier else
            "Nothing was applied: the Pulumi program stopped before registering any resource. ")
    if CHANGED not in said:
        config = stack_config_file(stack_dir, env) if stack_dir is not None and env else Path("Pulumi.<env>.yaml")
        return UserError(f"{CONFIG_CHANGED}: `pulumi up` refused to apply it",
                         f"{done}{config} was edited after the plan was shown (an editor, a `git pull`): the "
                         "provider settings the program copies from it (kubernetes:context, kubernetes:kubeconfig, "
                         "aws:endpoints, ...) are not those of the apply you confirmed, and may point at another "
                         "cluster or endpoint. Check the file, run `mlops-infra plan`, then apply again.",
                         source=str(config))
    return UserError(f"{CHANGED}: `pulumi up` refused to apply it",
                     f"{done}{file} (or a file it includes) was edited after the plan was shown (an editor, "
                     "`promote --write`, a `git pull`), so it is not what you confirmed. Run `mlops-infra plan` to "
                     "see the change, then apply again.", source=str(file))


PHASE_ONE = "deregistering the autoscaling of the endpoints it updates"
"""What phase 1 of an ordered apply does (:mod:`mlops_infra.apply.sequences`)."""

PHASE_TWO = "the endpoint update and its autoscaling registration"
"""What phase 2 of an ordered apply does (:mod:`mlops_infra.apply.sequences`), said when phase 1 is interrupted."""


def next_phase(phase: dict) -> str | None:
    """:data:`PHASE_TWO` for the ``up`` call that is phase 1 of 2, else None: ``up_in_order`` passes ``targets``
    only to phase 1 (``sequences.up_in_order``: ``up(..., targets=first)``, then ``up(extra_env=...)``); audit
    closing-35c-2."""
    return PHASE_TWO if phase.get("targets") else None


def after_up_interrupted(signals: list[int], graph, plan) -> UserError:
    """The error of a signal in the steps after a successful ``pulumi up`` (steps 5 to 7 of the contract; audit
    closing-35c-3): ``up`` was applied; the steps after it may not all have run, and a later apply with nothing
    left to apply does not run them again, so it says what to check and how to start the rollouts."""
    from mlops_infra.apply.engine import interrupt_exit_code
    from mlops_infra.apply.pulumi_process import signal_name

    lines = ["Pulumi's changes are in place (`mlops-infra plan` shows nothing left to apply). Not all the steps "
             "after it ran: listing the runs of removed training jobs, deleting the SageMaker models and endpoint "
             "configs no endpoint uses, the check that each endpoint serves its config, the rollouts' first pass."]
    lines += [f"Start the rollout of {endpoint}: `mlops-infra rollout {endpoint} --env {graph.stack} --watch`."
              for endpoint in announced_rollouts(graph, plan)]
    names = ", ".join(signal_name(s) for s in signals)
    return UserError(f"interrupted ({names}) after `pulumi up` applied: the steps after it did not finish",
                     "\n".join(lines), exit_code=interrupt_exit_code(signals))


def _admitted_queues(graph, plan) -> tuple:
    """(a client of the cluster, the admitted workloads of each ClusterQueue the plan deletes, replaces or moves to
    other flavors), read only on Kubernetes and only when the plan has one (:mod:`mlops_infra.apply.queue_drain`)."""
    from mlops_infra.apply.queue_drain import admitted_workloads, condemned_queues

    queues = condemned_queues(plan.changes)
    if not queues or graph.metadata.get("cloud") != "kubernetes":
        return None, {}
    from mlops_infra.kube.client import KubeClient
    from mlops_infra.kube.effective_context import graph_options

    kube = KubeClient.connect(graph_options(graph, "drain the ClusterQueues this apply deletes"))
    return kube, admitted_workloads(kube, queues)


def _moved(plan) -> list[str]:
    """The ClusterQueues the plan moves to other flavors in place (closing-35e-1, :mod:`mlops_infra.apply.queue_drain`)."""
    from mlops_infra.plan.queue_removal import moved_queues

    return moved_queues(plan.changes)


def _quick(kube):
    """``kube`` asked once with short timeouts (:data:`~mlops_infra.kube.client.NO_RETRY`, 2 s to connect, 5 s to
    answer): after a signal the held-queue note must not wait out the retries of an API server that does not
    answer (closing-35c-4); a queue it cannot read is named as "may still be held"."""
    from mlops_infra.kube.client import NO_RETRY, KubeClient

    return KubeClient(kube.api_client, retry=NO_RETRY, timeout=(2.0, 5.0))


def _say_held(exc: BaseException, kube, queues: list[str], err: Console, moved: list[str], kept: list[str]) -> None:
    """Add to ``exc`` (a :class:`UserError`), else print, which drained queues are still held and how to release
    them (:func:`mlops_infra.apply.queue_drain.held_note`)."""
    from mlops_infra.apply.queue_drain import held_note

    note = held_note(kube, queues, moved, kept)
    if not note:
        return
    if isinstance(exc, UserError):
        exc.detail = f"{exc.detail}\n{note}" if exc.detail else note
    else:
        err.print(note, markup=False, highlight=False)


def _report_leftover_runs(out: Console, graph, plan, kube) -> None:
    """The runs of each training job this apply removed (:mod:`mlops_infra.apply.leftover_runs`), Kubernetes only."""
    from mlops_infra.apply.leftover_runs import leftover_lines, removed_jobs

    jobs = removed_jobs(plan.changes)
    if not jobs or graph.metadata.get("cloud") != "kubernetes":
        return
    if kube is None:
        from mlops_infra.kube.client import KubeClient
        from mlops_infra.kube.effective_context import graph_options

        try:
            kube = KubeClient.connect(graph_options(graph, "list the runs of the removed jobs"))
        except UserError as exc:  # the apply succeeded: say what could not be read, do not fail it
            out.print(f"Could not list the runs of {', '.join(a for a, _ in jobs)}: {exc.summary}", markup=False)
            return
    for line in leftover_lines(kube, graph.metadata["namespace"], jobs):
        out.print(line, markup=False)


def refuse_blocked_changes(plan, file: Path, directory: Path, prior) -> None:
    """Exit 1, after the plan was printed and before any ``pulumi up``, when a resource change of
    ``plan`` is blocked (``ResourceChange.blocked``: the delete or replace of a protected resource;
    audit finding removal-1; or a create-first region move of an S3 bucket whose name is still taken in the old
    region, :mod:`mlops_infra.plan.global_names`, audit xregion-4 and closing-43a-2, said as such: the only blocked
    replace whose reason is not ``protected``).

    Applied, such a plan fails and does harm first. Pulumi refuses a protected resource's delete only
    when its step runs (pulumi/pulumi ``pkg/resource/deploy/step.go`` ``DeleteStep.Apply``:
    ``deleteProtectedError``), goes on with every other step (``step_executor.go``
    ``cancelDueToError``: "We special case deleteProtectedError to always continue past them"), and
    deletes the resources that depend on it before it (``step_generator.go`` ``ScheduleDeletes``): a
    bucket's public access block, TLS-only policy, encryption, lifecycle and versioning. The
    resource then stays in the state without being in the program, so every later ``pulumi up``
    fails the same way. The Automation API's ``up`` runs with ``--skip-preview``, so nothing would
    stop it earlier.

    The message names the blocked resources and, for a removed one, the ways out: keep it and stop
    managing it (``pulumi state delete --force``: protected resources are not deleted from the
    state "unless specifically requested using the --force flag", pulumi/pulumi
    ``pkg/cmd/pulumi/state/state_delete.go``), listing only the blocked deletes of each ML item
    (audit closing-32b-2: the other deletes there, such as the rollout runner of ``platform``, must
    still be deleted by the apply), the resource that holds the data (its rule ``loses`` something)
    last; or unprotect and empty it, then apply. ``pulumi state delete`` refuses a resource that
    others in the state still depend on, and drops nothing then
    (:mod:`mlops_infra.state.dependents`, audit closing-32b-3): when resources of ``prior`` outside
    the line depend on its URNs (a training pipeline on the data source it wrote), the line is
    preceded by the order that works: one apply with the store still in the spec and its uses
    removed, then the store removed and the line run. A blocked update is a protected bucket lifecycle whose
    retention shortens (:mod:`mlops_infra.plan.retention`: S3 applies it to the stored objects): its own line
    says to unprotect the lifecycle as its hint says, or keep the retention."""
    blocked = [c for c in plan.changes if c.custom and c.blocked]
    if not blocked:
        return
    from mlops_infra.plan.model import Action
    from mlops_infra.plan.rules import rule_for
    from mlops_infra.state.dependents import state_dependents

    deletes = [c for c in blocked if c.action is Action.DELETE]
    moved = [c for c in blocked if c.action is Action.REPLACE and c.reason.code != "protected"]  # a bucket's region move
    clauses = (["Pulumi refuses to delete a protected resource only when it reaches it, after deleting what depends "
                "on it, and keeps failing on every later apply"]
               if any(c.action is not Action.UPDATE and c not in moved for c in blocked) else [])
    if moved:
        clauses.append("a region move creates S3 bucket names still taken in the old region, which fails after "
                       "creating the rest in the new one")
    said = "; ".join(clauses)
    lines = [f"Nothing was applied. {said[:1].upper()}{said[1:]}; each blocked change is printed above with its hint."
             if clauses else "Nothing was applied; each blocked change is printed above with its hint."]
    if deletes:
        lines.append("To go on with a removed resource, either keep it and stop managing it, in "
                     f"{directory} (the blocked URNs of each removed item, the one holding the data last):")
        for address in sorted({c.address for c in deletes}):
            item = sorted((c for c in deletes if c.address == address),
                          key=lambda c: (bool(rule_for(c.type, c.custom).loses), c.urn))
            command = (f"pulumi state delete --stack {plan.stack} --force "
                       + " ".join(f"'{c.urn}'" for c in item))
            users = state_dependents(prior, (c.urn for c in item))
            if not users:
                lines.append(f"  {command}")
                continue
            shown = join_names([u.rsplit("::", 1)[-1] for u in users])
            if address == "platform":  # compiler-kept buckets: what keeps them is in the spec
                keep = "what keeps it still in the spec (a model keeps the artifacts bucket)"
            else:
                keep = f"{address or 'it'} still in the spec"
            lines.append(f"  {address or 'it'}: {len(users)} resource(s) in the state depend on it ({shown}), so "
                         f"the state delete fails now. First apply with {keep} and those uses removed; then remove "
                         "it and run:")
            lines.append(f"    {command}")
            if any(c.name == "capture-bucket" for c in item):
                lines.append("  The capture bucket is kept only by an endpoint that captures into it, which depends "
                             "on it: to keep its payloads, copy them out (`aws s3 sync`) and delete it for good.")
        lines.append("or delete it for good: `pulumi state unprotect '<urn>'` for each, empty it (a bucket: every "
                     "object version and delete marker), then plan and apply again; or put it back in the spec.")
    replaces = [c.name for c in blocked if c.action is Action.REPLACE and c not in moved]
    updates = [c.name for c in blocked if c.action is Action.UPDATE]
    if updates:
        lines.append(f"A blocked retention change ({', '.join(updates)}): S3 deletes the stored objects older than the "
                     "new retention; unprotect the lifecycle as its hint says and plan again, or keep the retention.")
    if replaces:
        lines.append(f"A blocked replace ({', '.join(replaces)}): unprotect it as its hint says, or undo the change "
                     "that forces the replace.")
    if moved:
        lines.append(f"A blocked region move ({', '.join(c.name for c in moved)}): bucket names are not regional; move "
                     "the buckets as their hint says, or keep the environment's region.")
    raise UserError(f"{len(blocked)} resource change(s) in {plan.stack} are blocked: "
                    f"{', '.join(c.name for c in blocked)}", "\n".join(lines), source=str(file))


def _confirm(yes: bool, env: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError("refusing to apply without confirmation",
                        "Standard input is not a terminal; review the plan above and pass --yes to apply it.")
    if not typer.confirm(f"Apply these changes to {env}?", default=False):
        raise UserError("apply cancelled: nothing was changed")


def post_apply_checks(graph, sagemaker_client) -> list:
    """The failed :class:`~mlops_infra.apply.verify.EndpointCheck` of every SageMaker endpoint of ``graph``
    that Pulumi switches (a canary endpoint's config is landed by the rollout controller, which checks it)."""
    from mlops_infra.apply.verify import verify_endpoints

    controlled = {plan.get("endpointName") for plan in graph.rollouts.values()}
    return [check for check in verify_endpoints(sagemaker_client, graph)
            if not check.ok and check.endpoint not in controlled]


def _verify(out: Console, graph) -> None:
    if graph.metadata.get("cloud") != "aws":
        return
    import boto3

    failed = post_apply_checks(graph, boto3.client("sagemaker", region_name=graph.metadata.get("region")))
    if failed:
        raise UserError(f"the apply did not take effect on {len(failed)} endpoint(s)",
                        "\n".join(f"{c.endpoint}: {c.problem}" for c in failed))
    out.print("Verified: every SageMaker endpoint serves its desired config.")


def announced_rollouts(graph, plan) -> list[str]:
    """Endpoint names whose model version changes in ``plan`` and whose graph has a rollout plan."""
    changed = {m.address for m in plan.ml if m.kind == "model-version"}
    return sorted(a.split(".", 1)[1] for a in graph.rollouts if a in changed)


def _start_rollouts(out: Console, graph, plan, source: str) -> None:
    import time

    from mlops_infra.cli.rollout_display import RolloutDisplay
    from mlops_infra.rollout.connect import connect
    from mlops_infra.rollout.runner import reconcile_once

    for endpoint in announced_rollouts(graph, plan):
        connected = connect(graph, endpoint, source=source)
        result = reconcile_once(connected.spec, connected.driver, connected.gates, time.time())
        RolloutDisplay(out, connected.spec).show(result)
        out.print(f"  Follow it with `mlops-infra rollout {endpoint} --env {graph.stack} --watch`.")
