"""``mlops-infra promote FILE [--from SRC] --to DST [--write] [--format text|markdown|json]
[--detailed-exitcode]`` and ``mlops-infra releases FILE [--env ENV]``.

Contract of ``promote``:
- Order: ``--write`` on a FILE that cannot be replaced (read-only, a directory...) is refused before
  anything is read; the direction is checked (:func:`mlops_infra.promote.promote.choose_environments`);
  FILE is validated as ``validate`` does, every environment (invalid: diagnostics, exit 1); both
  registries are read
  (:mod:`mlops_infra.promote.registries`; ``--registry ENV=FILE`` for a saved read); the versions
  are mapped by digest and the edit computed (:func:`~mlops_infra.promote.promote.plan_promotion`);
  DST's plan after the edit is made against DST's prior state (``--state``, else its stack as
  ``plan`` finds it) and its registry, with the existing planner and renderers.
- Serving (:func:`_serving`): a promoted model whose serving contract changes across clouds
  (:mod:`mlops_infra.promote.contracts`) and a package DST holds for a promoted digest with another
  image than DST serves the model with (:func:`mlops_infra.promote.artifacts.package_image_findings`)
  are shown in the report; one DST surely cannot serve refuses the promotion: the preview exits 1
  after the report, ``--write`` and ``--execute-artifacts`` are refused before anything is written
  or copied (:func:`_refuse_serving`). A warning refuses nothing.
- Output on stdout: the promotion report (:mod:`mlops_infra.promote.report`) in ``--format``; notes
  on stderr for JSON. Everything passes the redaction layer before anything is written.
- ``--execute-artifacts`` carries out the artifact steps only (:mod:`mlops_infra.promote.artifacts`:
  each copy verified against the digest before anything is registered); ``--source-store SRC=URL``
  reads a Kubernetes SRC's S3-compatible store with its own client
  (:mod:`mlops_infra.promote.source_store`). A run with failed steps ends saying to run it again to
  resume only when that can finish them (:func:`_after`).
- ``--write`` writes the edit into FILE atomically (only when it changes something); without it,
  nothing is written. Running it twice changes nothing the second time. It is refused while an
  artifact SRC serves is not registered in DST (:func:`_refuse_unregistered`: run
  ``--execute-artifacts`` first).
- Exit codes: 0 done (with ``--detailed-exitcode``: DST already pins what SRC serves); 2 with
  ``--detailed-exitcode`` when the promotion changes (or would change) FILE; 1 any error.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from mlops_infra.cli.output import error_console, print_diagnostics
from mlops_infra.cli.usage import exit_codes
from mlops_infra.errors import UserError


class Format(StrEnum):
    """Output formats of promote."""

    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"


EXIT_CODES = exit_codes("done (with --detailed-exitcode: DST already pins what SRC serves)",
                        usage="the promotion changes FILE (with --detailed-exitcode), or a usage error")


def register(app: typer.Typer) -> None:
    """Add the ``promote`` and ``releases`` commands to ``app``."""
    app.command("promote", epilog=EXIT_CODES)(promote)
    app.command("releases")(releases)


def promote(
    file: Path = typer.Argument(..., help="The MLSystem YAML file.", show_default=False),
    dst: str = typer.Option(..., "--to", help="The environment to promote into.", show_default=False),
    src: str | None = typer.Option(None, "--from", help="The environment to promote from (default: DST's promote_from)."),
    write: bool = typer.Option(False, "--write", help="Write the edit into FILE as DST's overrides (atomically)."),
    output_format: Format = typer.Option(Format.TEXT, "--format", "-f", help="text, markdown (PR body) or json."),
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 2 when the promotion changes FILE, 0 when it does not."),
    state: Path | None = typer.Option(None, "--state", help="DST's prior state (a Pulumi stack file or export)."),
    registry: list[str] = typer.Option(
        [], "--registry", help="ENV=FILE: a saved registry read (JSON) instead of reading ENV's registry."),
    role: list[str] = typer.Option([], "--role", help="ENV=ARN: assume this role to read ENV's SageMaker registry."),
    mlflow: list[str] = typer.Option([], "--mlflow", help="ENV=URL: the MLflow tracking server of a Kubernetes ENV."),
    prometheus: list[str] = typer.Option(
        [], "--prometheus", help="ENV=URL: the Prometheus of a Kubernetes SRC, whose drift alerts no_drift reads."),
    src_state: Path | None = typer.Option(
        None, "--src-state",
        help="SRC's applied state, for SRC's registry read and the no_drift gate (default: found as plan finds it)."),
    skip_gate: list[str] = typer.Option([], "--skip-gate", help="NAME: do not evaluate this gate of DST (needs --reason)."),
    reason: str | None = typer.Option(None, "--reason", help="Why the gates in --skip-gate are skipped (recorded)."),
    execute_artifacts: bool = typer.Option(
        False, "--execute-artifacts",
        help="Only carry out the artifact steps (copy the artifact, register it in DST's registry); resumable."),
    source_store: list[str] = typer.Option(
        [], "--source-store",
        help="SRC=URL: the S3-compatible models store of a Kubernetes SRC (MinIO...), read by --execute-artifacts "
             "with MLOPS_SOURCE_AWS_ACCESS_KEY_ID / MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY."),
) -> None:
    """Carry what SRC serves to DST: map model versions by artifact digest, edit DST's overrides, plan DST."""
    from mlops_infra.fileio import output_file

    err = error_console()
    if not execute_artifacts:
        _batch_gc()
    if write and execute_artifacts:
        raise UserError("--execute-artifacts and --write are separate steps",
                        "Run the artifact steps first (--execute-artifacts), then promote again with --write: the "
                        "promotion then pins the version DST's registry gave the artifact.")
    if write:  # refused before any work: a read-only FILE, a directory, a device...
        output_file(file, what="promoted system file")
        _refuse_read_only(file)
    snapshots = {k: Path(v) for k, v in _pairs(registry, "--registry").items()}
    roles, mlflows = _pairs(role, "--role"), _pairs(mlflow, "--mlflow")
    prometheuses = _pairs(prometheus, "--prometheus")
    stores = _pairs(source_store, "--source-store")
    context = _load(file, src, dst, err)
    _check_source_store(stores, context["src"])
    skips = _skips(context, skip_gate, reason)
    if src_state is not None:  # read when given, used or not: a wrong path is an error, never ignored
        _prior(context, context["src"], src_state)
    promotion, dst_view, original = _promotion(context, snapshots, roles, mlflows, state, src_state)
    serving = _serving(promotion, roles, stores)
    if write or execute_artifacts:  # nothing written or copied for a model DST cannot serve
        _refuse_serving(file, promotion, serving, shown=False)
    if write:
        _refuse_unregistered(file, promotion)
    plan_result, plan_json, plan_text, steps = _plan(context, promotion, dst_view, state, output_format)
    if execute_artifacts:
        for note in context.get("digest_notes", ()):
            err.print(note, markup=False)
        _execute(promotion, steps, roles, output_format, err, stores)
        return
    gates = _gates(context, promotion, dst_view, src_state, skips, roles, prometheuses)
    blocked = [g for g in gates if g.blocks]
    guarded = [g for g in plan_result.guardrails if g.blocks]  # DST after the edit (docs/guardrails.md)
    # Everything that could refuse the promotion is checked before FILE is written: the report and
    # the release record pass the redaction layer first; then FILE, then the record, then the report.
    written = (not blocked and not guarded and promotion.changed) if write else None
    from mlops_infra.promote.report import render_parts
    from mlops_infra.secrets import check_output

    parts = render_parts(_report(promotion, plan_text, plan_json, written=written, gates=gates, steps=steps,
                                 notes=context.get("digest_notes", ()), plan_markdown=context.get("plan_markdown"),
                                 serving=serving),
                         output_format.value)
    # The redaction layer: the plan was checked by the plan renderer that wrote it
    # (render.safety.check_rendered, every format); the promotion before it is checked here.
    check_output(parts[0], "the promotion report")
    if written:
        _write(file, promotion, original, gates, skips, plan_json if plan_json is not None else plan_result)
    for part in parts:
        typer.echo(part, nl=False)
    if output_format is Format.JSON:
        for note in context["notes"]:
            err.print(note, markup=False)
    _refuse_serving(file, promotion, serving, shown=True)
    if blocked:
        raise UserError(f"the promotion into {promotion.dst} is refused: gate(s) failed: "
                        f"{', '.join(g.name for g in blocked)}",
                        "\n".join(f"{g.name}: {g.reason}" for g in blocked)
                        + ("\nNothing was written; FILE is unchanged." if write else ""), source=str(file))
    if guarded:
        raise UserError(f"the promotion into {promotion.dst} is refused: mandatory guardrail(s) fail there: "
                        f"{', '.join(g.rule for g in guarded)}",
                        "\n".join(f"{g.rule}: {f.message}. Fix: {f.fix}" for g in guarded for f in g.findings)
                        + ("\nNothing was written; FILE is unchanged." if write else ""), source=str(file))
    if detailed_exitcode and promotion.changed:
        raise typer.Exit(2)


def releases(
    file: Path = typer.Argument(..., help="The MLSystem YAML file (releases.jsonl beside it is read).",
                                show_default=False),
    env: str | None = typer.Option(None, "--env", "-e", help="Only promotions into this environment."),
    output_format: Format = typer.Option(Format.TEXT, "--format", "-f", help="text or json (markdown: as text)."),
) -> None:
    """List the promotions recorded in releases.jsonl beside FILE: who, when, versions, digests, gates."""
    import json

    from mlops_infra.promote.record import read_releases, release_line, releases_path

    _refuse_missing_file(file)
    path = releases_path(file)
    records = [r for r in read_releases(path) if env is None or r.get("dst") == env]
    if env is not None and not records:
        _refuse_unknown_environment(file, env, error_console())
    if output_format is Format.JSON:
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not records:
        typer.echo(f"No promotions recorded in {path}" + (f" into {env}" if env else "") + ".")
        return
    typer.echo("\n".join(release_line(r) for r in records))


def _refuse_missing_file(file: Path) -> None:
    """FILE that is not there (or is a directory) is refused in the loader's words, exit 1, as every command
    that takes FILE refuses it: ``releases`` reads only ``releases.jsonl`` beside FILE, so a mistyped FILE
    used to say "No promotions recorded in <its directory>/releases.jsonl." and exit 0 (stop 44, the user's
    path: ``releases /nonexistent.yaml``), which a script reads as "never promoted"."""
    if file.is_file():
        return
    from mlops_infra.spec.loader import read_source

    _, diagnostics = read_source(file)
    if diagnostics:
        print_diagnostics(diagnostics, error_console())
        raise typer.Exit(1)


def _refuse_unknown_environment(file: Path, env: str, err: Any) -> None:
    """``releases --env NAME`` with no record into NAME: refused, as every command that takes
    ``--env`` refuses a name FILE does not declare (:func:`mlops_infra.promote.promote.refuse_unknown_environment`).
    A name FILE no longer declares but whose promotions are recorded is listed, not refused (the record
    outlives the environment), so FILE is read only when nothing matched."""
    from mlops_infra.promote.promote import refuse_unknown_environment
    from mlops_infra.spec.loader import load_document

    document, diagnostics = load_document(file)
    if document is None:
        print_diagnostics(diagnostics, err)
        raise typer.Exit(1)
    refuse_unknown_environment(document, env, "--env", f" No promotion into {env} is recorded either.")


# -- steps ---------------------------------------------------------------------------------------


def _batch_gc() -> None:
    """No cyclic GC for a promotion that reads, computes, prints and exits (as ``plan``, whose plan
    it makes: :data:`mlops_infra.cli.main.BATCH_COMMANDS` says why); ``main`` restores the GC when it
    returns. ``--execute-artifacts`` keeps it: it runs as long as its copies do."""
    import gc

    gc.disable()



def _refuse_read_only(file: Path) -> None:
    """A FILE without its owner's write bit is refused, for root too (root may write anything, but
    a file made read-only says it is not to be edited)."""
    import stat

    try:
        mode = file.stat().st_mode
    except OSError:
        return  # reported when it is read
    if not mode & stat.S_IWUSR:
        raise UserError("refusing to write the promotion into a read-only file",
                        "Make it writable (chmod u+w) if the promotion is meant to edit it, or run without --write "
                        "to see the edit.", source=str(file))


def _refuse_unregistered(file: Path, promotion: Any) -> None:
    """``--write`` pins only versions DST's registry holds (audit finding promote-4).

    SageMaker numbers a group's packages in the order they are registered (``CreateModelPackage``
    returns the ARN ``.../<group>/<n>``), and so does MLflow for a registered model's versions. A
    version DST's registry does not hold yet is pinned at the number its next registration gets
    (:mod:`mlops_infra.promote.versions`), but DST's own retrain pipeline registers into the same
    group (the compiled ``RegisterModel`` step; on a schedule or an alert): if it registers first,
    the reviewed pin serves its model, not the promoted artifact, and the release record says
    otherwise. So ``--write`` is refused, before DST's plan is made and with FILE and
    ``releases.jsonl`` untouched, until the artifact steps (``--execute-artifacts``; by hand for a
    Kubernetes DST) have registered every artifact: the promotion then finds each one by its digest
    and pins the number the registry gave it, which nothing can take any more."""
    pending = promotion.versions.unregistered
    if not pending:
        return
    from mlops_infra.promote.registries import MLFLOW_DIGEST_TAG

    dst = promotion.dst
    target = promotion.dst_system.environments[dst].target
    how = (f"Run the artifact steps first: the same command with --execute-artifacts instead of --write (it copies "
           f"each artifact into {dst} and registers it there), then --write again: it pins the number {dst}'s "
           "registry gave each artifact, found by its digest." if target.kind == "aws" else
           f"Register each artifact in {dst}'s registry first (the artifact steps of the preview list them: not "
           f"automated for {target.kind} targets), each version tagged {MLFLOW_DIGEST_TAG}=<its digest above>: "
           "promote finds a version only by that tag. Then --write again: it pins the number the registry gave it.")
    raise UserError(
        f"refusing to write the promotion into {dst}: {len(pending)} artifact(s) are not registered there yet",
        "\n".join(f"- {m.model} v{m.src_version} in {promotion.src} ({m.digest}) is not in {m.dst_where}; "
                   f"v{m.dst_version} is only the number its next registration would get, and anything registering "
                   f"first (such as {dst}'s own retraining) takes it" for m in pending)
        + f"\n{how}\nNothing was written; FILE is unchanged.", source=str(file))


def _skips(context: dict[str, Any], names: list[str], reason: str | None) -> dict[str, str]:
    """``--skip-gate`` names (each a gate DST declares) mapped to ``--reason``."""
    if not names:
        if reason:
            raise UserError("--reason explains --skip-gate; no gate is skipped", "Add --skip-gate NAME, or drop --reason.")
        return {}
    from mlops_infra.diagnostics import did_you_mean, known_list

    dst = context["dst"]
    declared = list(context["systems"][dst].environments[dst].gates)
    for name in names:
        if name not in declared:
            raise UserError(f"--skip-gate {name}: {dst} has no such gate",
                            f"Gates of {dst}: {known_list(declared) if declared else 'none'}.{did_you_mean(name, declared)}")
    if not reason or not reason.strip():
        raise UserError("--skip-gate needs --reason TEXT", "The reason is kept in the release record (releases.jsonl).")
    return dict.fromkeys(names, reason.strip())


def _gates(context: dict[str, Any], promotion: Any, dst_view: Any, src_state: Path | None, skips: dict[str, str],
           roles: dict[str, str], prometheuses: dict[str, str]) -> tuple[Any, ...]:
    """DST's gates evaluated (SRC's live state is read only when no_drift is evaluated)."""
    from mlops_infra.promote.gates import GateInputs, evaluate_gates

    dst, src = promotion.dst, promotion.src
    names = list(promotion.dst_system.environments[dst].gates)
    drift: dict[str, Any] = {}
    if "no_drift" in names and "no_drift" not in skips:
        drift = {**_src_drift(context, src, src_state, roles.get(src)),
                 **_src_alerts(context, src, roles.get(src), prometheuses.get(src))}
    inputs = GateInputs(src, dst, promotion.dst_system, dst_view, promotion.versions.mappings, **drift)
    return evaluate_gates(names, inputs, skips)


def _src_drift(context: dict[str, Any], src: str, src_state: Path | None, role: str | None) -> dict[str, Any]:
    """SRC's prior state, live state and drift, or the reason they cannot be had (fail closed): credentials
    (the default chain's, or ``--role SRC=ARN``'s) of another account than SRC's ``target.account`` are such a
    reason, found before any read (:func:`mlops_infra.state.aws_live.scan_aws` ``account=``, audit envs-7)."""
    import os

    from mlops_infra.state.aws_live.retry import describe_error

    target = context["systems"][src].environments[src].target
    if target.kind != "aws":
        return {"src_problem": f"live reads of {target.kind} targets are not supported yet, so {src}'s drift is unknown"}
    try:
        prior = _prior(context, src, src_state)
    except UserError as error:
        return {"src_problem": f"{src}'s applied state cannot be read: {error.summary}"}
    if not prior.resources:
        return {"src_prior": prior}
    import importlib.util

    if importlib.util.find_spec("boto3") is None:
        return {"src_prior": prior, "src_problem": "reading AWS needs boto3: pip install 'mlops-infra[aws]'"}
    from mlops_infra.plan.drift import find_drift, left_alone
    from mlops_infra.promote.registries import assumed_session_factory
    from mlops_infra.state.aws_live import scan_aws
    from mlops_infra.state.aws_live.account import WrongAccount

    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    factory = assumed_session_factory(role, target.region, endpoint_url) if role else None
    try:
        live = scan_aws(list(prior.resources.values()), region=target.region, endpoint_url=endpoint_url,
                        session_factory=factory, account=target.account, environment=src)
    except WrongAccount as error:  # another account's resources all read "not found": not drift (audit envs-7)
        how = f"--role {src}=<a role ARN of account {error.account}>" if role else \
            f"AWS_PROFILE set to a profile of account {error.account} (or --role {src}=<a role ARN of it>)"
        return {"src_prior": prior, "src_problem": f"{error.summary}; read {src} with {how}"}
    except UserError as error:
        return {"src_prior": prior, "src_problem": error.summary}
    except Exception as error:  # no credentials, endpoint unreachable: fail closed, with the reason
        return {"src_prior": prior, "src_problem": f"{src}'s live resources could not be read: {describe_error(error)}"}
    graph = _src_graph(context, src)  # a rollout is not drift; its own environment values may be shown (find_drift)
    return {"src_prior": prior, "src_live": live, "src_drift": find_drift(prior, live, left=left_alone(graph),
                                                                          desired=graph)}


def _src_graph(context: dict[str, Any], src: str) -> Any:
    """SRC's compiled graph (compiled once: the drift reader and the alert reader share it)."""
    from mlops_infra.compile import compile_system

    if "src_graph" not in context:
        context["src_graph"] = compile_system(context["systems"][src], src)
    return context["src_graph"]


def _src_alerts(context: dict[str, Any], src: str, role: str | None, prometheus: str | None) -> dict[str, Any]:
    """The state of SRC's drift alerts (:mod:`mlops_infra.promote.alerts`), or why they cannot be
    read (the gate then fails closed): on AWS their CloudWatch alarms, read with SRC's credentials
    as its other reads are (``--role SRC=ARN``, ``AWS_ENDPOINT_URL``); on Kubernetes the rules SRC's
    Prometheus evaluates (``--prometheus SRC=URL``)."""
    import os

    from mlops_infra.promote.alerts import alert_states, compiled_alarm_names, drift_alerts, read_alarm_states
    from mlops_infra.state.aws_live.retry import describe_error

    system = context["systems"][src]
    alerts = drift_alerts(system)
    if not alerts:
        return {"src_alerts": ()}
    target = system.environments[src].target
    if target.kind != "aws":
        return _prometheus_alerts(src, target.namespace, alerts, prometheus)
    import importlib.util

    if importlib.util.find_spec("boto3") is None:
        return {"src_alerts_problem": "reading CloudWatch alarms needs boto3: pip install 'mlops-infra[aws]'"}
    from mlops_infra.promote.registries import client, env_session

    names = compiled_alarm_names(_src_graph(context, src), alerts)
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    try:
        cloudwatch = client(env_session(role, target.region, endpoint_url), "cloudwatch", endpoint_url, target.region)
        states = read_alarm_states(cloudwatch, [n for n in names.values() if n])
    except UserError as error:
        return {"src_alerts_problem": error.summary}
    except Exception as error:  # no credentials, endpoint unreachable, access denied: fail closed, with the reason
        return {"src_alerts_problem": f"{src}'s CloudWatch alarms could not be read: {describe_error(error)}"}
    return {"src_alerts": alert_states(names, states)}


def _prometheus_alerts(src: str, namespace: str, alerts: list[Any], url: str | None) -> dict[str, Any]:
    """A Kubernetes SRC's drift alerts as its Prometheus evaluates them, or why they cannot be read."""
    import urllib.error

    from mlops_infra.promote.alerts import read_prometheus_rules
    from mlops_infra.secrets import redact

    if not url:
        return {"src_alerts_problem": f"no Prometheus address for {src}: pass --prometheus {src}=http://127.0.0.1:9090 "
                                      f"(kubectl port-forward svc/prometheus-operated 9090 -n monitoring)"}
    try:
        return {"src_alerts": read_prometheus_rules(url, alerts, namespace)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, urllib.error.URLError) as error:
        return {"src_alerts_problem": redact(f"{src}'s Prometheus at {url} could not be read: "
                                             f"{type(error).__name__}: {error}")[:300]}


def _write(file: Path, promotion: Any, original: bytes, gates: Any, skips: dict[str, str], plan: Any) -> None:
    """Write FILE and append the release record, which is built and checked first, as one step
    (:func:`~mlops_infra.promote.record.write_and_record`). ``plan`` is DST's
    plan, or its JSON text when already rendered (the record keeps the digest of that text)."""
    from datetime import UTC, datetime

    from mlops_infra.promote.record import (
        plan_digest,
        release_entry,
        release_text,
        who_am_i,
        write_and_record,
    )
    from mlops_infra.render import render_json

    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entry = release_entry(promotion, gates, skips, who=who_am_i(file.resolve().parent), when=when,
                          plan_sha=plan_digest(plan if isinstance(plan, str) else render_json(plan)))
    release_text(file, entry)  # refused here, before FILE is touched
    write_and_record(file, promotion, original, entry)  # robust-7: FILE is never left promoted without its record


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        env, sep, rest = value.partition("=")
        if not sep or not env or not rest:
            raise UserError(f"{flag} takes ENV=VALUE, not {value!r}", f"For example {flag} staging=...")
        pairs[env] = rest
    return pairs


def _load(file: Path, src: str | None, dst: str, err: Any) -> dict[str, Any]:
    """FILE read, the direction checked, and FILE validated as ``validate`` validates it: the base
    document and every environment at once (each environment's effective system shares the base's
    items: one validation of the base, not one per environment), so a FILE that does not validate is
    refused whichever environment holds the problem."""
    from mlops_infra.promote.promote import choose_environments
    from mlops_infra.spec import validate_document
    from mlops_infra.spec.loader import load_document

    document, diagnostics = load_document(file)
    if document is None:
        print_diagnostics(diagnostics, err)
        raise typer.Exit(1)
    src, dst = choose_environments(document, src, dst)
    loaded = validate_document(document)
    print_diagnostics(loaded.diagnostics, err, loaded.source_line)
    if not loaded.ok or dst not in loaded.effective or src not in loaded.effective:
        raise typer.Exit(1)
    systems = {env: loaded.effective[env] for env in (dst, src)}
    return {"file": file, "document": document, "src": src, "dst": dst, "systems": systems, "notes": []}


def _promotion(context: dict[str, Any], snapshots: dict[str, Path], roles: dict[str, str],
               mlflows: dict[str, str], state: Path | None, src_state: Path | None) -> tuple[Any, Any, bytes]:
    """The promotion planned from both registries. An AWS environment's registry read starts from
    its prior state (what it serves; what the state proves when the registry cannot be read): DST's
    from ``--state``, SRC's from ``--src-state``, the files ``plan`` and the ``no_drift`` gate read
    (each read once: :func:`_prior`)."""
    from mlops_infra.cli.inputs import require_extra
    from mlops_infra.promote.promote import plan_promotion
    from mlops_infra.promote.registries import check_partitions, read_view

    src, dst, systems = context["src"], context["dst"], context["systems"]
    check_partitions(systems, src, dst, context["document"])  # xregion-6: before any AWS call
    views = {}
    for env in (src, dst):
        aws = systems[env].environments[env].target.kind == "aws"
        if aws and env not in snapshots:
            require_extra("boto3", "aws", f"reading {env}'s SageMaker model registry (or --registry {env}=FILE)")
        prior = _prior(context, env, state if env == dst else src_state) if aws and env not in snapshots else None
        views[env] = read_view(systems[env], env, prior, snapshot=snapshots.get(env), role=roles.get(env),
                               mlflow_uri=mlflows.get(env), document=context["document"])
    if systems[src].environments[src].target.kind == "aws" and src not in snapshots:
        from mlops_infra.promote.registries import aws_digests

        pinned: dict[str, set[int]] = {}
        for endpoint in systems[src].endpoints:
            pinned.setdefault(endpoint.model.name, set()).add(endpoint.model.version)
        views[src], notes = aws_digests(systems[src], src, views[src], pinned, roles.get(src))
        context["digest_notes"] = list(notes)
    original = Path(context["file"]).read_bytes()
    document = context["document"]
    promotion = plan_promotion(document.text, str(context["file"]), src, systems[src], views[src], dst,
                               systems[dst], views[dst], data=document.data)
    return promotion, views[dst], original


def _prior(context: dict[str, Any], env: str, state: Path | None) -> Any:
    """``env``'s prior state as ``plan`` finds it (``state``: ``--state`` or ``--src-state``), read
    once per environment and state file: DST's registry read and DST's plan share it (a stack of
    thousands of resources is not read and parsed twice)."""
    from mlops_infra.cli.commands.plan import describe_prior, locate_prior
    from mlops_infra.cli.inputs import Target

    read = context.setdefault("priors", {})
    if (env, state) not in read:
        system = context["systems"][env]
        target = Target(Path(context["file"]), env, "", True)
        prior, backend = locate_prior(system.metadata.name, env, env, state, target.stack_dir(env))
        read[env, state] = prior, describe_prior(prior, backend)
    prior, note = read[env, state]
    context.setdefault("prior_notes", {})[env] = note
    return prior


def _plan(context: dict[str, Any], promotion: Any, dst_view: Any, state: Path | None,
          output_format: Format) -> tuple[Any, Any, str, Any]:
    """DST's plan after the edit, rendered like ``plan`` renders it, and the artifact steps (read
    from DST's graph, which is let go before the plan is rendered: the renderers need only the
    plan, and a plan-sized graph alive beside them raised the peak memory)."""
    import dataclasses

    from mlops_infra.cli.commands.plan import make, with_guardrails
    from mlops_infra.compile import compile_system
    from mlops_infra.promote.artifacts import plan_steps
    from mlops_infra.render import render_json, render_markdown, render_text

    dst = promotion.dst
    prior = _prior(context, dst, state)
    view = dst_view
    if promotion.dst_system.environments[dst].target.kind == "aws" and not dst_view.serving:
        from mlops_infra.state.model_registry import offline_registry_view

        view = dataclasses.replace(dst_view, serving=offline_registry_view(promotion.dst_system, dst, prior).serving)
    graph = compile_system(promotion.dst_system, dst, registry=view)
    result = with_guardrails(make(graph, prior, None, None, list(view.warnings)), graph, promotion.dst_system, dst)
    steps = plan_steps(promotion, graph)
    del graph, prior
    context["priors"].pop((dst, state), None)  # DST's prior state is read by nothing after its plan
    notes = [context["prior_notes"][dst]]
    context["notes"] = notes
    if output_format is Format.JSON:
        return result, render_json(result), "", steps  # embedded as text, never parsed again (a parsed copy would double the plan's memory)
    if output_format is Format.MARKDOWN:  # rendered by the report, in what the promotion leaves of GitHub's limit
        from mlops_infra.cli.commands.plan import full_plan_command  # the same command, with DST's --state

        command = full_plan_command(Path(context["file"]), dst, state)
        context["plan_markdown"] = lambda limit: render_markdown(result, notes=notes, command=command, max_chars=limit)
        return result, None, "", steps
    return result, None, render_text(result, color=False, notes=notes), steps


def _report(promotion: Any, plan_text: str, plan_json: Any, *, written: bool | None, gates: Any = (),
            steps: Any = (), notes: Any = (), plan_markdown: Any = None, serving: Any = ()) -> Any:
    from mlops_infra.promote.report import Report

    return Report(promotion, plan_text, plan_json, gates=gates, steps=steps, written=written, notes=tuple(notes),
                  plan_markdown=plan_markdown, serving=tuple(serving))


def _serving(promotion: Any, roles: dict[str, str], stores: dict[str, str]) -> tuple[Any, ...]:
    """The serving findings of the promotion: the serving contract each promoted model crosses
    (:func:`mlops_infra.promote.contracts.serving_findings`), decided from the files of the artifact
    SRC serves where they decide it (:func:`mlops_infra.promote.contracts.read_artifact_files`, read
    from SRC's store as the artifact steps read it: :func:`_src_s3`), and a package DST already holds
    for a promoted digest with another image than DST serves the model with
    (:func:`mlops_infra.promote.artifacts.package_image_findings`)."""
    from mlops_infra.promote.artifacts import package_image_findings
    from mlops_infra.promote.contracts import read_artifact_files, serving_findings

    files = read_artifact_files(promotion, lambda: _src_s3(promotion, roles, stores))
    return serving_findings(promotion, files) + package_image_findings(promotion)


def _src_s3(promotion: Any, roles: dict[str, str], stores: dict[str, str]) -> Any:
    """The S3 client of SRC's store, the one :func:`_execute` reads SRC with:
    :func:`mlops_infra.promote.source_store.source_client`."""
    import os

    from mlops_infra.promote.source_store import source_client

    return source_client(promotion, roles, stores, os.environ)


def _refuse_serving(file: Path, promotion: Any, findings: Any, *, shown: bool) -> None:
    """Refuse the promotion when a finding says DST cannot serve a promoted model: after the report
    (``shown``: the preview, exit 1) or before anything is written or copied (``--write``,
    ``--execute-artifacts``: the report is not made, so the findings are in the error)."""
    refused = [f for f in findings if f.refuses]
    if not refused:
        return
    detail = "\n".join(f"{f.summary}" if shown else f"{f.summary}\n  {f.detail}" for f in refused)
    raise UserError(f"the promotion into {promotion.dst} is refused: {promotion.dst} cannot serve what "
                    f"{promotion.src} serves: {', '.join(sorted({f.model for f in refused}))}",
                    detail + ("\nSee Serving above. " if shown else "\n") + "Nothing was written or copied.",
                    source=str(file))


def _check_source_store(stores: dict[str, str], src: str) -> None:
    """``--source-store`` names SRC's store only (the artifact is read from SRC; DST is written at
    ``AWS_ENDPOINT_URL``)."""
    for env in stores:
        if env != src:
            raise UserError(f"--source-store {env}=...: {env} is not the source of this promotion ({src})",
                            f"--source-store names the store the artifact is read from: --source-store {src}=URL.")


def _execute(promotion: Any, steps: Any, roles: dict[str, str], output_format: Format, err: Any,
             stores: dict[str, str]) -> None:
    """Carry out the artifact steps with a progress display; exit 1 when one failed or got another number.
    SRC's objects are read with :func:`_src_s3` (``--source-store SRC=URL`` when given, else SRC's
    session at ``AWS_ENDPOINT_URL``: :func:`mlops_infra.promote.source_store.source_client`), as the
    preview read their files; when a Kubernetes SRC's copy fails without ``--source-store``, the error
    says to pass it."""
    import json
    import os

    from mlops_infra.cli.inputs import require_extra

    if not steps:
        typer.echo(f"No artifact steps: {promotion.dst}'s registry already holds every artifact {promotion.src} serves.")
        return
    require_extra("boto3", "aws", "--execute-artifacts (S3 and SageMaker)")
    from mlops_infra.cli.progress import progress_display
    from mlops_infra.promote.artifacts import execute_steps
    from mlops_infra.promote.registries import env_session

    endpoint_url = os.environ.get("AWS_ENDPOINT_URL") or None
    dst_session = env_session(roles.get(promotion.dst),
                              getattr(promotion.dst_system.environments[promotion.dst].target, "region", None),
                              endpoint_url)
    src_s3 = _src_s3(promotion, roles, stores)  # SRC is read with this client only (no SRC session besides)
    with progress_display("Artifact steps", unit="objects", live=output_format is not Format.JSON) as progress:
        results = execute_steps(steps, src_session=None, dst_session=dst_session, endpoint_url=endpoint_url,
                                src_s3=src_s3, progress=progress)
    if output_format is Format.JSON:
        typer.echo(json.dumps({"artifactSteps": [r.to_json() for r in results]}, indent=2))
    else:
        from mlops_infra.promote.report import step_lines

        typer.echo("\n".join(["Artifact steps:", *(line for r in results for line in step_lines(r, "  ", "    "))]))
    bad = [r for r in results if r.status in ("failed", "mismatch")]
    if bad:
        src = promotion.src
        kubernetes = promotion.src_system.environments[src].target.kind != "aws"
        hint = ""
        if kubernetes and src not in stores and any(r.kind == "copy-artifact" and r.status == "failed" for r in bad):
            hint = (f"\n{src}'s models store was read at {endpoint_url or 'AWS S3'} with the default AWS credentials. "
                    f"For an S3-compatible store (MinIO, Ceph RGW) pass --source-store {src}=URL and export "
                    "MLOPS_SOURCE_AWS_ACCESS_KEY_ID and MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY (its mlops-object-store "
                    "Secret's keys).")
        raise UserError(f"{len(bad)} artifact step(s) did not complete",
                        "\n".join(f"{r.kind} {r.model}: {r.outcome}" for r in bad) + hint + "\n" + _after(results))


def _after(results: Any) -> str:
    """The last line of a run with failed artifact steps: resume only when running the same command
    again can finish what failed (``ArtifactStep.resumable``); a refusal, a digest mismatch or a
    number DST's registry gave otherwise is repeated by a rerun, and its outcome says what to do."""
    if any(r.resumable for r in results):
        return "Run the same command again to resume: finished steps are skipped."
    return "Running the same command again as it is fails the same way: do what each step says first."
