"""How the command line explains itself: usage errors, help metavars and exit codes.

Contract:
- :func:`is_usage_error` / :func:`format_usage_error`: a usage error (unknown command or option, a
  missing argument, a bad value) is reported like click and Terraform do: the command's usage line,
  a ``Try '... --help'`` hint, then ``error: <what is wrong>`` and a did-you-mean when a close
  command, option or value exists. The caller prints it on stderr and exits :data:`USAGE_EXIT`.
  typer (>= 0.20) bundles its own click (``typer._click``): these functions only use what that
  click's exceptions carry (``exit_code``, ``ctx``, ``format_message``, ``possibilities``,
  ``param``), never the separately installed ``click`` package, which a plain install lacks.
- :func:`tidy_help` walks a built command tree once and gives every parameter a readable metavar
  (``--env ENV``, ``--state PATH``, ``--max-chars N``, ``--format [text|json]``, ``FILE`` /
  ``[FILE]`` in usage lines; flags have none) and every command an exit-code epilog unless it set
  its own. Help uses click's plain layout, which wraps long lines and never cuts an option name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

USAGE_EXIT = 2
"""Exit code of a usage error (the convention of click and Terraform)."""

def exit_codes(success: str, error: str = "an error in your input or environment (printed with the fix)",
               usage: str = "a usage error: unknown command or option, missing or bad value") -> str:
    """A command's ``--help`` epilog listing exit codes 0, 1 and 2 (a ``\\b`` line keeps click from
    rewrapping it)."""
    return f"\b\nExit codes:\n  0  {success}\n  1  {error}\n  {USAGE_EXIT}  {usage}"


EXIT_CODES = exit_codes("success")
"""The epilog every command gets unless it states its own."""

# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_VALUE_ERROR_PREFIX = r"(^|: )Value error, "  # typer's pydantic-style coercion message
_NOT_ONE_OF = r"'(?P<value>[^']*)' is not one of "


def is_usage_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of typer's bundled-click usage errors (exit code 2, with a context)."""
    return getattr(exc, "exit_code", None) == USAGE_EXIT and hasattr(exc, "format_message")


def format_usage_error(exc: Any, command: Any = None, argv: list[str] | None = None,
                       prog_name: str = "mlops-infra") -> str:
    """The text printed for a usage error: usage line, help hint, ``error: ...`` and did-you-mean.

    Some errors (an option missing its value) carry no context; then the usage line is that of the
    deepest sub-command of ``command`` named in ``argv``.
    """
    lines: list[str] = []
    ctx = getattr(exc, "ctx", None)
    if ctx is None and command is not None:
        ctx = _context_for(command, argv or [], prog_name)
    if ctx is not None:
        lines.append(ctx.get_usage())
        help_names = getattr(ctx, "help_option_names", None) or ["--help"]
        lines.append(f"Try '{ctx.command_path} {help_names[-1]}' for help.")
        lines.append("")
    lines.append(f"error: {_message(exc)}")
    return "\n".join(lines) + "\n"


def _context_for(command: Any, argv: list[str], prog_name: str) -> Any:
    """A context (resilient parsing: no errors) for the deepest sub-command named in ``argv``."""
    try:
        ctx = command.make_context(prog_name, [], resilient_parsing=True)
        for token in argv:
            sub = (getattr(ctx.command, "commands", None) or {}).get(token)
            if sub is None:
                if not token.startswith("-"):
                    break
                continue
            ctx = sub.make_context(token, [], parent=ctx, resilient_parsing=True)
        return ctx
    except Exception:  # only decoration of an error already being reported
        return None


def _message(exc: Any) -> str:
    possibilities = getattr(exc, "possibilities", None)
    if possibilities is not None or exc.__class__.__name__ == "NoSuchOption":
        return _with_suggestion(exc.message.rstrip("."), sorted(possibilities or ()))
    message = re.sub(_VALUE_ERROR_PREFIX, r"\1", exc.format_message())
    bad = re.search(_NOT_ONE_OF, message)
    choices = _param_choices(getattr(exc, "param", None))
    if bad and choices:
        close = difflib.get_close_matches(bad.group("value"), choices, n=1, cutoff=0.5)
        message = message.rstrip(".") + "." + (f" Did you mean {close[0]!r}?" if close else "")
    elif "No such command" in message and "Did you mean" not in message and ctx_commands(exc):
        message = message.rstrip(".") + ". Commands: " + ", ".join(ctx_commands(exc)) + "."
    return message


def _with_suggestion(message: str, possibilities: list[str]) -> str:
    if not possibilities:
        return message + "."
    if len(possibilities) == 1:
        return f"{message}. Did you mean {possibilities[0]}?"
    return f"{message}. Did you mean one of {', '.join(possibilities)}?"


def ctx_commands(exc: Any) -> list[str]:
    """The visible sub-commands of the group a usage error happened in (empty for a command)."""
    ctx = getattr(exc, "ctx", None)
    commands = getattr(getattr(ctx, "command", None), "commands", None)
    if not isinstance(commands, dict):
        return []
    return [name for name, cmd in commands.items() if not getattr(cmd, "hidden", False)]


def _param_choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if not choices:
        return []
    return [str(getattr(c, "value", c)) for c in choices]


# -- help ------------------------------------------------------------------------------------


def tidy_help(command: Any) -> None:
    """Readable metavars and an exit-code epilog for ``command`` and every sub-command (in place)."""
    for cmd in _walk(command):
        if not getattr(cmd, "epilog", None):
            cmd.epilog = EXIT_CODES
        if getattr(cmd, "help", None) and not getattr(cmd, "short_help", None):
            cmd.short_help = cmd.help.split("\n\n", 1)[0]  # click cuts its own at ~45 characters
        for param in getattr(cmd, "params", ()):
            _tidy_param(param)


def _walk(command: Any) -> Iterable[Any]:
    yield command
    for sub in (getattr(command, "commands", None) or {}).values():
        yield from _walk(sub)


def _tidy_param(param: Any) -> None:
    if getattr(param, "metavar", None) is not None or getattr(param, "is_flag", False):
        return
    if getattr(param, "count", False):
        return
    if getattr(param, "param_type_name", "") == "argument":
        name = (param.name or "arg").upper()
        param.metavar = name
        usage = name if param.required else f"[{name}]"
        if getattr(param, "nargs", 1) != 1:
            usage += "..."
        # typer wraps a required argument in braces ("{file}") and appends its type ("<path>")
        param.get_usage_pieces = lambda ctx, _usage=usage: [_usage]
        param.display_type_rich = lambda ctx: None
        return
    param.metavar = _option_metavar(param)


def _option_metavar(param: Any) -> str:
    choices = _param_choices(param)
    if choices:
        return "[" + "|".join(choices) + "]"
    descriptor = getattr(param, "type_descriptor", None)
    if getattr(descriptor, "is_path", False):
        return "PATH"
    if getattr(descriptor, "annotation", None) in (int, float) or getattr(descriptor, "is_ranged", False):
        return "N"
    return (param.name or "value").upper().replace("_", "-")
