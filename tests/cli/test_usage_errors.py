"""Usage errors, --version, completion and --help: what a user sees, in-process and through the
console script after the README's exact install (issue 11 item 1).

A usage error prints the usage line, a help hint, ``error: <what is wrong>`` and a did-you-mean, and
exits 2 (click's and Terraform's convention); it never says "bug" and never prints a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.user_venv import USER_VENV_TIMEOUT

# (argv, usage line, what the error must say)
USAGE_ERRORS = [
    (["plna"], "Usage: mlops-infra [OPTIONS] COMMAND [ARGS]...", "No such command 'plna'. Did you mean 'plan'?"),
    (["frobnicate"], "Usage: mlops-infra [OPTIONS] COMMAND [ARGS]...", "No such command 'frobnicate'. Commands: "),
    (["plan", "--envv", "dev"], "Usage: mlops-infra plan [OPTIONS] [FILE]", "No such option: --envv. Did you mean --env?"),
    (["plan", "--format", "yaml"], "Usage: mlops-infra plan [OPTIONS] [FILE]",
     "Invalid value for '--format' / '-f': 'yaml' is not one of 'text', 'markdown', 'json'."),
    (["plan", "--format", "jsn"], "Usage: mlops-infra plan [OPTIONS] [FILE]", "Did you mean 'json'?"),
    (["plan", "--max-chars", "10"], "Usage: mlops-infra plan [OPTIONS] [FILE]",
     "Invalid value for '--max-chars': Input should be greater than or equal to 1000"),
    (["plan", "--env"], "Usage: mlops-infra plan [OPTIONS] [FILE]", "Option '--env' requires an argument."),
    (["validate"], "Usage: mlops-infra validate [OPTIONS] FILE", "Missing argument 'FILE'."),
    (["--verison"], "Usage: mlops-infra [OPTIONS] COMMAND [ARGS]...", "No such option: --verison. Did you mean --version?"),
]


def assert_usage_error(code: int, stdout: str, stderr: str, usage: str, message: str) -> None:
    assert code == 2, stderr
    assert stdout == ""
    lines = stderr.splitlines()
    assert lines[0] == usage
    assert re.fullmatch(r"Try 'mlops-infra( \w+)? --help' for help\.", lines[1])
    assert any(line.startswith("error: ") and message in line for line in lines), stderr
    assert "bug" not in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(("argv", "usage", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _, _ in USAGE_ERRORS])
def test_usage_error_in_process(argv, usage, message, monkeypatch):
    monkeypatch.delenv("MLOPS_INFRA_DEBUG", raising=False)
    result = run_cli(*argv)
    assert_usage_error(result.code, result.stdout, result.stderr, usage, message)


def test_bare_command_prints_help_and_exits_2():
    result = run_cli()
    assert result.code == 2
    assert result.stderr.startswith("Usage: mlops-infra [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in result.stderr


def test_version():
    from importlib.metadata import version

    result = run_cli("--version")
    assert (result.code, result.stdout, result.stderr) == (0, f"mlops-infra {version('mlops-infra')}\n", "")


def test_show_completion_prints_a_bash_script():
    result = run_cli("--show-completion", "bash")
    assert result.code == 0, result.stderr
    assert "_MLOPS_INFRA_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _mlops_infra_completion mlops-infra" in result.stdout


UNDER_SH = ["sh", "-c", '"$@"; status=$?; exit $status', "sh"]
"""Run a command with `sh` (dash here) as its parent, as a Makefile, a CI step or `sh -c` does (the
second command keeps sh from exec'ing it)."""


def run_under_sh(*argv: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MLOPS_INFRA_DEBUG"}
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run([*UNDER_SH, sys.executable, "-m", "mlops_infra.cli.main", *argv], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_the_shell_named_wins_over_the_shell_that_runs_it():
    """typer detected the parent shell and ignored the name: under `sh -c` this printed
    "Shell sh not supported." and exited 1 (main was red on it)."""
    bash = run_under_sh("--show-completion", "bash")
    assert bash.returncode == 0, bash.stderr
    assert "complete -o default -F _mlops_infra_completion mlops-infra" in bash.stdout
    zsh = run_under_sh("--show-completion", "zsh")
    assert zsh.returncode == 0 and zsh.stdout.startswith("#compdef mlops-infra"), zsh.stderr


def test_no_shell_to_complete_for_is_a_usage_error_that_says_how():
    result = run_under_sh("--show-completion")  # the parent is sh, which has no completion script
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Usage: mlops-infra [OPTIONS] COMMAND [ARGS]...\n")
    assert ("error: --show-completion: cannot tell which shell to complete for (found 'sh'); name it: "
            "mlops-infra --show-completion bash (or zsh, fish, powershell, pwsh).") in result.stderr
    for argv, message in ((["--show-completion", "tcsh"], "unsupported shell 'tcsh'; choose one of bash, zsh, "),
                          (["--install-completion", "bash", "zsh"], "takes at most one shell name, got: bash zsh")):
        result = run_cli(*argv)
        assert result.code == 2 and message in result.stderr and "bug" not in result.stderr, result.stderr


def test_install_completion_for_the_shell_named(tmp_path: Path):
    result = run_under_sh("--install-completion", "bash", home=tmp_path)
    assert result.returncode == 0, result.stderr
    script = tmp_path / ".bash_completions" / "mlops-infra.sh"
    assert f"bash completion installed in {script}" in result.stdout
    assert "_MLOPS_INFRA_COMPLETE=complete_bash" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


@pytest.mark.parametrize("argv", [[], ["plan"], ["validate"], ["graph"], ["schema"]], ids=lambda a: " ".join(a) or "top")
def test_help_at_80_columns_is_whole_and_states_exit_codes(argv, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(*argv, "--help")
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]
    assert "…" not in result.stdout and "..." not in result.stdout.replace("[ARGS]...", "")
    assert "Exit codes:" in result.stdout and re.search(r"2  (.*, or )?a usage error", result.stdout)
    assert "<bool>" not in result.stdout and "<str>" not in result.stdout and "<path>" not in result.stdout


def test_plan_help_has_readable_metavars_and_its_own_exit_codes(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    out = run_cli("plan", "--help").stdout
    assert "Usage: mlops-infra plan [OPTIONS] [FILE]" in out
    for shown in ("-e, --env ENV", "--state PATH", "-f, --format [text|markdown|json]", "--max-chars N",
                  "--detailed-exitcode  ", "--refresh  "):
        assert shown in out, shown
    assert re.search(r"2\s+changes present \(with --detailed-exitcode\)", out), out


# -- the console script after the README's exact install ----------------------------------------


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_usage_errors_through_the_readme_install(user_venv, tmp_path: Path):
    """What the review saw: after `pip install -e .` (no `click` package) `validate` with no FILE
    printed a ModuleNotFoundError traceback, and `plna` / `--envv` said "This is a bug"."""
    assert not user_venv.has_module("click"), "the README's install has no click: the boundary must not need it"
    for argv, usage, message in USAGE_ERRORS:
        proc = user_venv.run(*argv, cwd=tmp_path)
        assert_usage_error(proc.returncode, proc.stdout, proc.stderr, usage, message)


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_version_and_completion_through_the_readme_install(user_venv, tmp_path: Path):
    version = user_venv.run("--version", cwd=tmp_path)
    assert version.returncode == 0 and re.fullmatch(r"mlops-infra \d+\.\d+\.\d+\S*\n", version.stdout)
    script = user_venv.run("--show-completion", "bash", cwd=tmp_path)
    assert script.returncode == 0 and "_MLOPS_INFRA_COMPLETE" in script.stdout
    under_sh = subprocess.run([*UNDER_SH, str(user_venv.bin("mlops-infra")), "--show-completion", "bash"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
    assert under_sh.returncode == 0 and under_sh.stdout == script.stdout, under_sh.stderr
    # what bash runs on <TAB> after `mlops-infra pl`
    completion = user_venv.run(cwd=tmp_path, env={"_MLOPS_INFRA_COMPLETE": "complete_bash",
                                                  "COMP_WORDS": "mlops-infra pl", "COMP_CWORD": "1"})
    assert completion.returncode == 0 and completion.stdout.split() == ["plan"], completion


# -- a run imports the command it runs ----------------------------------------------------------

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"


def test_a_command_imports_its_own_module_only():
    """``plan`` of an AWS environment loads neither another command's module (``test-alerts``'
    Prometheus rule tests) nor the Kubernetes compiler."""
    probe = ("import sys\nfrom mlops_infra.cli.main import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n"
             "    pass\nprint('LOADED', sorted(m for m in sys.modules if m.startswith(('mlops_infra.cli.commands.',"
             " 'mlops_infra.compile.kubernetes.compiler', 'mlops_infra.compile.kubernetes.rule_tests'))), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", probe, "plan", str(FRAUD), "--env", "prod", "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    loaded = proc.stderr.rsplit("LOADED ", 1)[-1].strip()

    assert proc.returncode == 0 and '"changes"' in proc.stdout, proc.stderr
    assert loaded == "['mlops_infra.cli.commands.plan']", loaded


def test_help_after_a_command_in_the_same_process_lists_every_command_in_order(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    from mlops_infra.cli import main as cli_main

    alone = run_cli("--help").stdout
    cli_main.app.registered_commands.clear()  # as in a fresh process
    cli_main.app.registered_groups.clear()
    monkeypatch.setattr(cli_main, "_registered", ())
    assert run_cli("schema", "--help").code == 0
    assert cli_main._registered == ("schema",)
    again = run_cli("--help").stdout

    assert again == alone
    listed = [line.split()[0] for line in alone.split("Commands:")[1].splitlines() if re.match(r"  \S", line)]
    assert listed[:4] == ["init", "validate", "schema", "graph"] and "plan" in listed and "test-alerts" in listed
