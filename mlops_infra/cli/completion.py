"""``mlops-infra --show-completion [SHELL]`` and ``--install-completion [SHELL]``: shell completion for
the shell the user names, else for the shell it runs in.

Why not typer's own handling: with ``shellingham`` installed (a typer dependency) both options are
flags and the shell is always detected from the process's ancestors (``typer.completion.show_callback``,
typer 0.29). A shell name after them is ignored, so ``mlops-infra --show-completion bash`` run from a
``sh -c`` script, a Makefile or a CI step printed ``Shell sh not supported.`` and exited 1, and in a
container with no shell among the ancestors detection fails outright.

Contract of :func:`handle`:
- it acts only when the first argument is ``--show-completion`` or ``--install-completion`` (they are
  root options, so they come before any command); it returns ``None`` otherwise and the command line
  goes to typer unchanged;
- an explicit SHELL (the next argument) wins; without one the shell is detected as typer does
  (``typer.completion._get_shell_name``, through shellingham);
- SHELL must be one of :data:`SHELLS`; anything else, an undetectable shell, or an argument after SHELL
  is a usage error: the usage line, what is wrong with the shells to choose from, exit 2 (like every usage error);
- ``--show-completion`` prints the script typer generates for ``mlops-infra`` (``_MLOPS_INFRA_COMPLETE``)
  and exits 0; ``--install-completion`` installs it where typer does (``~/.bashrc`` + ``~/.bash_completions``,
  ``~/.zshrc``, fish's completions directory, the PowerShell profile), says where, and exits 0.
"""

from __future__ import annotations

import sys

import typer.completion

OPTIONS = ("--show-completion", "--install-completion")
SHELLS = tuple(shell.value for shell in typer.completion.Shells)
"""The shells typer has completion scripts for (bash, zsh, fish, powershell, pwsh)."""


def handle(argv: list[str], prog_name: str) -> int | None:
    """Handle a completion option at the front of ``argv`` (see the module contract); the exit code,
    or None when ``argv`` is not a completion request."""
    if not argv or argv[0] not in OPTIONS:
        return None
    option, rest = argv[0], argv[1:]
    if len(rest) > 1:
        return _usage(prog_name, f"{option} takes at most one shell name, got: {' '.join(rest)}")
    if rest:
        shell = rest[0]
        if shell not in SHELLS:
            return _usage(prog_name, f"{option}: unsupported shell {shell!r}; choose one of {', '.join(SHELLS)}.")
    else:
        detected = typer.completion._get_shell_name()
        if detected not in SHELLS:
            found = f"found {detected!r}" if detected else "no shell found among this process's parents"
            return _usage(prog_name, f"{option}: cannot tell which shell to complete for ({found}); name it: "
                                     f"{prog_name} {option} bash (or {', '.join(SHELLS[1:])}).")
        shell = detected
    complete_var = "_{}_COMPLETE".format(prog_name.replace("-", "_").upper())
    if option == "--show-completion":
        script = typer.completion.get_completion_script(prog_name=prog_name, complete_var=complete_var, shell=shell)
        sys.stdout.write(script + "\n")
        return 0
    shell, path = typer.completion.install(shell=shell, prog_name=prog_name, complete_var=complete_var)
    sys.stdout.write(f"{shell} completion installed in {path}\nCompletion will take effect once you restart the terminal\n")
    return 0


def _usage(prog_name: str, message: str) -> int:
    from mlops_infra.cli.usage import USAGE_EXIT

    sys.stderr.write(f"Usage: {prog_name} [OPTIONS] COMMAND [ARGS]...\nTry '{prog_name} --help' for help.\n\n"
                     f"error: {message}\n")
    return USAGE_EXIT
