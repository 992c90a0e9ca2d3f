"""The command line: one typer app, one error boundary.

Contract: every command module in :data:`COMMANDS` exposes ``register(app)``. ``main`` is the only
place that turns exceptions into output and exit codes:

- a usage error (unknown command or option, missing argument, bad value) prints the usage line, what
  is wrong and a did-you-mean (:mod:`mlops_infra.cli.usage`) and exits 2, like click and Terraform;
- a :class:`UserError` prints its message and exits with its ``exit_code`` (1 unless it says otherwise: an
  apply stopped by SIGINT or SIGTERM exits 130 or 143, 128 + the signal's number, as a shell reports a command
  killed by it: Bash Reference Manual 3.7.5 "Exit Status", "When a command terminates on a fatal signal whose
  number is N, Bash uses the value 128+N as the exit status");
- a Ctrl-C outside an apply's guarded steps prints "interrupted" and exits 130, wherever it stops the
  command (audit closing-35c-3), the import of the command's module included (audit robust-9): typer turns a KeyboardInterrupt inside a command into a silent ``Exit(130)``
  (typer/core.py ``_main``: ``except KeyboardInterrupt as e: raise Exit(130) from e``, returned as the code
  with ``standalone_mode=False``) and one at a prompt into ``Abort`` (typer/_click/termui.py ``confirm``:
  ``except (KeyboardInterrupt, EOFError): raise Abort()``), so while a command runs, SIGINT's handler is
  Python's own behaviour (raise KeyboardInterrupt) plus a note that it came, and those two outcomes after
  it are reported as the interruption;
- run as the process (``argv`` None: the console script, ``python -m``), a command stopped by SIGINT or
  SIGTERM (exit 130 or 143 above) then ends by that signal, not by ``exit``: stdout and stderr are flushed,
  the signal's default action restored and the signal sent to itself (audit closing-35c-1). A shell decides
  from how its foreground command ended whether the user meant to stop the whole script: bash(1) SIGNALS,
  "If the command terminates due to the SIGINT, bash concludes that the user meant to end the entire script
  ... If the command does not terminate due to SIGINT, the program handled the SIGINT itself and did not
  treat it as a fatal signal"; CPython does the same for an uncaught KeyboardInterrupt since 3.8
  (``Modules/main.c`` ``exit_sigint``: ``signal(SIGINT, SIG_DFL)``, ``kill(getpid(), SIGINT)``; bpo-1054041).
  So ``mlops-infra apply ...; next`` stops at a Ctrl-C, and ``$?`` is still 130 (143): 128 + N. Exit handlers
  do not run after that (the command's temporary directories are removed before, in its ``finally``
  blocks). Called in-process (``main(argv)``, tests), it raises ``SystemExit(130/143)`` as before;
- any other exception prints "this is a bug in mlops-infra" and exits 1, with a traceback only when
  ``MLOPS_INFRA_DEBUG=1``.

typer (>= 0.20) raises the exceptions of the click it bundles (``typer._click``); the boundary
catches them through typer's public ``TyperException``/``Exit``/``Abort`` and never imports the
``click`` package, which the README's plain install does not have. The app also offers
``--version``, ``--install-completion``/``--show-completion`` [SHELL] (:mod:`mlops_infra.cli.completion`,
handled before typer parses) and exit codes in every ``--help``.
While a command runs, ``sys.stderr`` is wrapped in the redaction layer's
:class:`~mlops_infra.secrets.RedactingStream`, so nothing written there (messages, internal-error
text, tracebacks, library warnings) shows a secret-shaped value. Run as the process, stdout and stderr are first
made able to write any text (:func:`mlops_infra.cli.output.configure_output_streams`: UTF-8 to a file or pipe;
audit portab45-4).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import typer
import typer.main

from mlops_infra.cli.output import error_console
from mlops_infra.errors import UserError

if TYPE_CHECKING:
    from rich.console import Console

COMMANDS = ("init", "validate", "schema", "graph", "plan", "apply", "rollout", "promote", "policy_pack", "catalog",
            "test_alerts")
"""Command modules under ``mlops_infra.cli.commands``, in help order."""

app = typer.Typer(
    name="mlops-infra",
    help="Declare a whole ML system in one YAML file; validate, plan with cost, provision with Pulumi, promote.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: wraps long lines, never cuts an option name
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)

PROG_NAME = "mlops-infra"


def version_string() -> str:
    """``mlops-infra <version>`` of the installed distribution."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{PROG_NAME} {version('mlops-infra')}"
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return f"{PROG_NAME} (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_string())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    """Declare a whole ML system in one YAML file; validate, plan with cost, provision with Pulumi, promote."""


COMMAND_MODULES = {"test-alerts": "test_alerts", "releases": "promote", "policy-pack": "policy_pack"}
"""Commands whose module (in :data:`COMMANDS`) is named otherwise."""

_registered: tuple[str, ...] = ()


def _register_commands(only: str | None = None) -> None:
    """Let the command modules add their command(s) to ``app``: with ``only`` (a command name as
    typed), just that command's module, so that a run imports what it uses (``plan`` does not
    import ``test-alerts``' Prometheus rule tests); else every module, in help order (after a run
    that registered one, the app's commands are registered again in that order)."""
    global _registered
    module = COMMAND_MODULES.get(only or "", only)
    wanted = (module,) if module in COMMANDS else COMMANDS
    if set(wanted) <= set(_registered):
        return
    if _registered:  # one module before (an in-process caller): start again, in help order
        app.registered_commands.clear()
        app.registered_groups.clear()
    for name in wanted:
        try:
            loaded = importlib.import_module(f"mlops_infra.cli.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"mlops_infra.cli.commands.{name}":
                continue  # command not built yet
            raise
        loaded.register(app)
    _registered = wanted


def debug_enabled() -> bool:
    return os.environ.get("MLOPS_INFRA_DEBUG", "") not in ("", "0", "false")


def print_user_error(err: UserError, console: Console) -> None:
    """Print a UserError like a compiler: 'source: error: summary' then the detail."""
    from mlops_infra.cli.output import print_diagnostics

    if err.diagnostics:
        print_diagnostics(err.diagnostics, console)
        return
    from rich.markup import escape

    where = f"{err.source}: " if err.source else ""
    console.print(f"{escape(where)}[bold red]error[/]: {escape(err.summary)}", highlight=False, markup=True, soft_wrap=True)
    if err.detail:
        for line in err.detail.splitlines():
            console.print(f"  {line}", highlight=False, markup=False, soft_wrap=True)


EXTRA_FOR_MODULE = {"boto3": "aws", "botocore": "aws", "pulumi": "pulumi", "pulumi_aws": "pulumi",
                    "pulumi_kubernetes": "pulumi", "kubernetes": "kubernetes", "torch": "torch",
                    "sagemaker": "sagemaker"}
"""Optional modules and the extra that installs them: a command that needs one that is missing says
which ``pip install 'mlops-infra[...]'`` to run (one line, exit 1) instead of a traceback."""


GC_THRESHOLDS = (100_000, 50, 100)
"""Cyclic-GC thresholds for the commands that may run long (apply, rollout, ...; Python's defaults:
700, 10, 10): a full collection walks every live object, and a plan-sized process keeps hundreds of
thousands of them, so collections are made rare; reference counting frees everything as usual."""

BATCH_COMMANDS = frozenset({"validate", "schema", "graph", "plan"})
"""Commands that read, compute, print and exit: no cyclic GC at all while they run. Their data
(spec, graph, state, plan) is acyclic trees freed by reference counting, so collecting finds
nothing and only costs time (``benchmarks/bench_cli.py`` prints ``plan`` and ``graph`` against a
baseline); the peak memory is the same. Run as the process, they end with the objects left frozen
for the interpreter's exit (:func:`_freeze_for_exit`). They also run without pydantic's plugins
(:func:`_without_pydantic_plugins`)."""

PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"
"""pydantic's switch for its plugins (pydantic docs, "Plugins": ``__all__``, ``1`` or ``true`` disables every
one; pydantic/plugin/_loader.py ``get_plugins``, read at each validator pydantic builds)."""


def _gc_policy(argv: list[str] | None) -> None:
    """No cyclic GC for a :data:`BATCH_COMMANDS` command, else the :data:`GC_THRESHOLDS`."""
    if _is_batch(argv):
        gc.disable()
    else:
        gc.set_threshold(*GC_THRESHOLDS)


@contextlib.contextmanager
def _without_pydantic_plugins(argv: list[str] | None) -> Any:
    """While a :data:`BATCH_COMMANDS` command runs, pydantic loads no plugin: :data:`PYDANTIC_PLUGINS` is
    ``__all__`` unless the environment sets it (kept as it is), and as it was after. A pydantic plugin (an
    installed package's ``pydantic`` entry point, e.g. an observability hook) is given every validator pydantic
    builds and every value validated: typer's option values and the whole spec document, which is not for a
    third party's hook. Looking them up imports ``importlib.metadata`` and reads the entry points of every
    installed distribution (``importlib.metadata.entry_points``), in every process, for no plugin in use. Nor is
    pydantic's plugin loader imported then (:data:`PLUGIN_LOADER`, :func:`_no_plugin_loader`)."""
    if not _is_batch(argv) or PYDANTIC_PLUGINS in os.environ:
        yield
        return
    os.environ[PYDANTIC_PLUGINS] = "__all__"
    stub = None
    if PLUGIN_LOADER not in sys.modules:
        stub = sys.modules[PLUGIN_LOADER] = _no_plugin_loader()
    try:
        yield
    finally:
        os.environ.pop(PYDANTIC_PLUGINS, None)
        if stub is not None and sys.modules.get(PLUGIN_LOADER) is stub:
            del sys.modules[PLUGIN_LOADER]


PLUGIN_LOADER = "pydantic.plugin._loader"
"""pydantic's module that finds its plugins: imported by every validator pydantic builds
(pydantic/plugin/_schema_validator.py, ``create_schema_validator``: ``from ._loader import get_plugins``,
the only import of it in pydantic 2.14) and importing ``importlib.metadata`` at its top
(pydantic/plugin/_loader.py line 6: ``from importlib.metadata import entry_points``), with ``email``,
``socket``, ``zipfile`` and more, though with plugins off its ``get_plugins`` returns ``()`` before it
reads any entry point."""


def _no_plugin_loader() -> Any:
    """A stand-in for :data:`PLUGIN_LOADER` while a :data:`BATCH_COMMANDS` command runs with plugins off
    (:func:`_without_pydantic_plugins`): its ``get_plugins`` answers ``()``, what pydantic's own answers then
    (``disabled_plugins in ('__all__', '1', 'true')``: ``return ()``), without importing
    ``importlib.metadata``. Put in ``sys.modules`` only when pydantic's is not imported yet, taken out after."""
    import types

    loader = types.ModuleType(PLUGIN_LOADER, "pydantic's plugin loader with plugins off (mlops_infra.cli.main)")
    loader.get_plugins = lambda: ()  # type: ignore[attr-defined]
    return loader


def _is_batch(argv: list[str] | None) -> bool:
    args = sys.argv[1:] if argv is None else argv
    return next((a for a in args if not a.startswith("-")), None) in BATCH_COMMANDS


def _freeze_for_exit(argv: list[str] | None) -> None:
    """After a :data:`BATCH_COMMANDS` command run as the process (``argv`` None: the console script,
    ``python -m``), every object left is frozen (``gc.freeze``): the interpreter's collections at
    exit then skip them instead of walking every module's objects (pydantic's schemas, typer's and
    rich's classes) to find no garbage (see :data:`BATCH_COMMANDS`). What the command handed to
    :func:`mlops_infra.cli.output.keep_for_exit` (its graph, plan, state: hundreds of thousands of
    objects) is left to the exit too, in a list that holds itself, so that it is never freed object
    by object. Exit handlers, the flushing of stdout and stderr and reference counting run as
    before. An in-process caller's objects (``main(argv)``, tests) are never frozen, and its command
    keeps nothing (:func:`_keep_for_exit_from`)."""
    from mlops_infra.cli import output

    kept, output.KEPT_FOR_EXIT = output.KEPT_FOR_EXIT, None
    if argv is None and _is_batch(argv):
        if kept is not None:
            kept.append(kept)  # holds itself: the modules' teardown at exit does not free it
        gc.freeze()


def build_command(only: str | None = None) -> Any:
    """The app as a (typer-bundled) click command, with readable metavars and exit codes in help;
    with ``only`` (a command name), holding just that command when it is one (see
    :func:`_register_commands`)."""
    _register_commands(only)
    from mlops_infra.cli.usage import tidy_help

    command = typer.main.get_command(app)
    tidy_help(command)
    for param in command.params:  # handled before typer parses (mlops_infra.cli.completion)
        if param.name in ("install_completion", "show_completion"):
            verb = "Install" if param.name == "install_completion" else "Print"
            param.help = (f"{verb} shell completion for SHELL (bash, zsh, fish, powershell, pwsh; default: the "
                          "shell this runs in), e.g. " + ("--install-completion bash." if verb == "Install"
                                                          else "--show-completion zsh."))
    return command


def _keep_for_exit_from(argv: list[str] | None) -> None:
    """Let the command hand its data to the exit (:func:`mlops_infra.cli.output.keep_for_exit`) when
    it is a :data:`BATCH_COMMANDS` command run as the process; see :func:`_freeze_for_exit`."""
    from mlops_infra.cli import output

    output.KEPT_FOR_EXIT = [] if argv is None and _is_batch(argv) else None


SIGNAL_EXITS = {128 + signal.SIGINT: signal.SIGINT, 128 + signal.SIGTERM: signal.SIGTERM}
"""The exit codes of a command stopped by a signal (130, 143) and that signal (see the module contract)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mlops-infra`` console script."""
    try:
        _run(argv)
    except SystemExit as stop:
        if argv is None and stop.code in SIGNAL_EXITS:
            _die_of(SIGNAL_EXITS[stop.code])
        raise


def _die_of(signum: int) -> None:
    """End this process by ``signum`` (see the module contract); returns only if it is still alive.

    Not on Windows (audit portab45-5): ``signal.pthread_sigmask`` is "Availability: Unix", and ``os.kill`` of any
    signal but CTRL_C_EVENT/CTRL_BREAK_EVENT is ``TerminateProcess`` with that number as the exit code (Python docs,
    ``os.kill``): 2, the usage-error code. There the caller's ``SystemExit`` (130 or 143) is the exit status."""
    if os.name == "nt" or not hasattr(signal, "pthread_sigmask"):
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with contextlib.suppress(OSError, ValueError):  # ValueError: not the main thread
        signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
        os.kill(os.getpid(), signum)


def _run(argv: list[str] | None) -> None:
    from mlops_infra.secrets import RedactingStream

    if argv is None:  # the process's own streams: any text can be written (audit portab45-4)
        from mlops_infra.cli.output import configure_output_streams

        configure_output_streams()
    original = sys.stderr
    sys.stderr = RedactingStream(lambda: original)
    gc_enabled, thresholds = gc.isenabled(), gc.get_threshold()
    try:
        _gc_policy(argv)
        _keep_for_exit_from(argv)
        with _without_pydantic_plugins(argv):
            _main(argv)
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        sys.stderr = original
        _freeze_for_exit(argv)  # before the GC is enabled again: no collection of what is frozen
        gc.set_threshold(*thresholds)  # main() called in-process (tests) leaves the GC as it was
        if gc_enabled:
            gc.enable()


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("--show-completion", "--install-completion"):
        from mlops_infra.cli import completion

        sys.exit(completion.handle(list(args), PROG_NAME))
    err_console = error_console()
    ctrl_c: list[int] = []
    command: Any = None
    try:
        command = build_command(_command_name(args))  # robust-9: its import is most of a short command's time
        with _noting_ctrl_c(ctrl_c):
            code = command.main(args=argv, prog_name=PROG_NAME, standalone_mode=False)
        if ctrl_c and code == 130:  # typer's Exit(130) from a KeyboardInterrupt in the command
            raise KeyboardInterrupt
    except UserError as err:
        if debug_enabled():
            import traceback

            traceback.print_exc()
        print_user_error(err, err_console)
        sys.exit(err.exit_code)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        if ctrl_c:  # Ctrl-C at a prompt
            err_console.print("interrupted")
            sys.exit(130)
        err_console.print("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # typer's bundled click: usage errors and the like
        sys.exit(_report_cli_exception(exc, command, argv))
    except Exception as exc:  # the one error boundary
        extra = EXTRA_FOR_MODULE.get((getattr(exc, "name", None) or "").split(".")[0])
        if isinstance(exc, ModuleNotFoundError) and extra and not debug_enabled():
            err_console.print(f"[bold red]error[/]: this command needs {exc.name}, which is not installed: "
                              f"pip install 'mlops-infra[{extra}]'", highlight=False)
            sys.exit(1)
        if debug_enabled():
            import traceback

            traceback.print_exc()  # through the redacting stderr
            sys.exit(1)
        from rich.markup import escape

        from mlops_infra.secrets import redact

        err_console.print(
            f"[bold red]internal error[/]: {type(exc).__name__}: {escape(redact(str(exc)))}\n"
            "  This is a bug in mlops-infra. Re-run with MLOPS_INFRA_DEBUG=1 for a traceback and report it.",
            highlight=False,
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


@contextlib.contextmanager
def _noting_ctrl_c(noted: list[int]) -> Any:
    """While the command runs (main thread only), SIGINT raises KeyboardInterrupt as Python's default handler
    does and is appended to ``noted`` (see the module contract); the previous handler is restored after."""
    import threading

    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):  # e.g. ignored: `apply &`
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        noted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` run: the first argument that is not an option (the app's own options,
    ``--version`` and ``--help``, take no value); None when there is none."""
    return next((a for a in args if not a.startswith("-")), None)


def _report_cli_exception(exc: Exception, command: Any, argv: list[str] | None) -> int:
    """Print a typer/click exception the user caused and return its exit code (2 for usage errors)."""
    from mlops_infra.cli.usage import USAGE_EXIT, format_usage_error, is_usage_error

    if debug_enabled():
        import traceback

        traceback.print_exc()
    if type(exc).__name__ == "NoArgsIsHelpError":  # the bare command: its help, as click does
        sys.stderr.write(exc.format_message().rstrip("\n") + "\n")  # type: ignore[attr-defined]
        return USAGE_EXIT
    if is_usage_error(exc):
        sys.stderr.write(format_usage_error(exc, command, sys.argv[1:] if argv is None else argv, PROG_NAME))
        return USAGE_EXIT
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    sys.stderr.write(f"error: {message}\n")
    code = getattr(exc, "exit_code", 1)
    return code if isinstance(code, int) and code else 1


if __name__ == "__main__":
    main()
