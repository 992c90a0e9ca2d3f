"""``mlops-infra test-alerts [FILE] --env ENV [--out DIR]``: the alert rules with their own tests.

Contract: for a Kubernetes environment, writes into ``DIR`` (default ``alert-tests/<env>``; created)
the files of :func:`mlops_infra.compile.kubernetes.rule_tests.alert_test_bundle`, each atomically, replacing
earlier ones; a ``DIR`` (or a parent) that is a file, or a name there that is a directory, is a user error
before any file is written (:func:`mlops_infra.fileio.write_new_files`):

- ``rules.yml``: every rule group the environment's PrometheusRules hold (recording and alerting);
- ``tests-serving.yml`` / ``tests-drift.yml``: ``promtool test rules`` unit tests for every alert
  (fires after ``for``, a short spike does not, recovery resolves, stale drift values resolve);
- ``alertmanager.yml``: the Alertmanager configuration the environment's AlertmanagerConfigs
  amount to, with secret placeholders (``https://secret.invalid/<secret>/<key>``).

Then, when the tools are on PATH, it runs ``promtool check rules``, ``promtool test rules`` and
``amtool check-config`` on them and prints what each said; any failure exits 1. Without
``promtool`` (or ``amtool``) it says so, how to install it and how to run the tests later, and exits
0: the files are written. An AWS environment has CloudWatch alarms, not Prometheus rules: that is an
error naming the environments that have rules. An invalid document prints its diagnostics (exit 1).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import typer
from rich.markup import escape

from mlops_infra.cli.inputs import load_for_env, resolve_file
from mlops_infra.cli.output import error_console
from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes.rule_tests import ALERTMANAGER_FILE, RULE_FILE, alert_test_bundle
from mlops_infra.errors import UserError
from mlops_infra.fileio import write_new_files

TOOL_TIMEOUT_SECONDS = 300
INSTALL_HINT = ("Install Prometheus' tools (Debian/Ubuntu: apt-get install prometheus prometheus-alertmanager; "
                "elsewhere the release archives at https://prometheus.io/download/ ship promtool and amtool).")


def register(app: typer.Typer) -> None:
    """Add the ``test-alerts`` command to ``app``."""
    app.command("test-alerts")(test_alerts)


def test_alerts(
    file: Path | None = typer.Argument(None, help="The MLSystem YAML file (default: ./mlsystem.yaml, else the embedded quickstart).",
                                       show_default=False),
    env: str | None = typer.Option(None, "--env", "-e", help="Kubernetes environment whose alerts to test."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for the rule and test files "
                                    "(default: alert-tests/<env>)."),
) -> None:
    """Write the environment's alert rules with unit tests for every alert, and run promtool on them."""
    err = error_console()
    path, note = resolve_file(file)
    if note:
        err.print(note)
    system, env = load_for_env(path, env, err)
    target = system.environments[env].target
    if target.kind != "kubernetes":
        kube_envs = sorted(n for n, e in system.environments.items() if e.target.kind == "kubernetes")
        raise UserError(f"environment {env} targets {target.kind}: its alerts are CloudWatch alarms, not Prometheus rules",
                        "Rule tests run on Prometheus rules, which Kubernetes environments compile to"
                        + (f": try --env {kube_envs[0]}." if kube_envs else "; this system has none."),
                        source=str(path))
    directory = out or Path("alert-tests") / env
    files = alert_test_bundle(system, env, compile_system(system, env))
    write_new_files(directory, files, force=True)  # every destination checked before any is written
    tests = sorted(n for n in files if n.startswith("tests-"))
    typer.echo(f"Wrote {', '.join(files)} to {directory}/ ({_count_tests(files)} rule tests, "
               f"{len(system.alerts)} alerts).")
    failed = _run_tools(directory, tests)
    if failed:
        raise typer.Exit(1)


def _count_tests(files: dict[str, str]) -> int:
    return sum(text.count("\n- name: ") + text.startswith("- name: ") for n, text in files.items()
               if n.startswith("tests-"))


def _run_tools(directory: Path, tests: list[str]) -> bool:
    """Run promtool and amtool where installed; True when one of them failed."""
    err = error_console()
    checks = [("promtool", ["check", "rules", RULE_FILE]),
              *(("promtool", ["test", "rules", name]) for name in tests),
              ("amtool", ["check-config", ALERTMANAGER_FILE])]
    failed = False
    missing: list[str] = []
    for tool, args in checks:
        binary = shutil.which(tool)
        if binary is None:
            if tool not in missing:
                missing.append(tool)
            continue
        try:
            result = subprocess.run([binary, *args], cwd=directory, capture_output=True, encoding="utf-8",
                                    errors="replace", timeout=TOOL_TIMEOUT_SECONDS, check=False)  # Go: UTF-8
        except subprocess.TimeoutExpired:
            err.print(f"[bold red]error[/]: {tool} {' '.join(args)} did not finish in {TOOL_TIMEOUT_SECONDS}s")
            failed = True
            continue
        except OSError as error:  # robust-2: not a program of this machine (ENOEXEC: another platform's binary)
            typer.echo(f"{tool} {' '.join(args)}: FAILED")
            err.print(f"error: {tool} on PATH ({binary}) cannot run: {error.strerror or error}. Install {tool} for "
                      f"this machine. {INSTALL_HINT}", highlight=False, markup=False, soft_wrap=True)
            failed = True
            continue
        ok = result.returncode == 0
        failed |= not ok
        typer.echo(f"{tool} {' '.join(args)}: {'ok' if ok else 'FAILED'}")
        if not ok:
            err.print(escape((result.stdout + result.stderr).rstrip()), highlight=False, markup=False)
    for tool in missing:
        command = ("promtool test rules " + " ".join(tests)) if tool == "promtool" else f"amtool check-config {ALERTMANAGER_FILE}"
        err.print(f"note: {tool} is not on PATH, so the files were written but not checked. {INSTALL_HINT} "
                  f"Then run, in {directory}: {command}", highlight=False, markup=False, soft_wrap=True)
    return failed
