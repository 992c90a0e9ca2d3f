"""Printing diagnostics like a compiler: ``path:line:col: error: summary``, detail, source, caret.

Contract: ``print_diagnostics`` writes plain text (markup only for colour) and never raises for a
missing source line; ``diagnostics_json`` is the documented machine shape (docs/diagnostics.md).
Everything printed passes the redaction layer (:mod:`mlops_infra.secrets`): the error console
writes through a :class:`~mlops_infra.secrets.RedactingStream`, and a source line is never quoted
when it holds a secret shape or belongs to a ``plaintext-secret`` diagnostic (its location and
kind are shown instead).

:func:`configure_output_streams` (run as the process) decides what stdout and stderr encode to, so that no
text can crash a command on its way out (audit portab45-4: ``graph``'s ``├──``, a Markdown report's ``→``, a
label in CJK through a cp1252 pipe were an "internal error: UnicodeEncodeError").
"""

from __future__ import annotations

import codecs
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mlops_infra.cli.pipes import grow_for
from mlops_infra.diagnostics import Diagnostic
from mlops_infra.secrets import RedactingStream, redact, secret_kinds

if TYPE_CHECKING:
    from rich.console import Console

SourceLine = Callable[[str, int], str]


def configure_output_streams(environ: Any = None) -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` able to write any text (audit portab45-4). A stream already in
    UTF-8 keeps it; if it is strict it writes a lone surrogate (which UTF-8 cannot encode: a state's text may hold
    ``"\\ud800"``) as a ``\\udXXX`` escape instead of raising (audit closing-45c-3), which inside a JSON string is
    the same JSON escape the text came from.

    - A file or a pipe (not a terminal) in another encoding writes UTF-8. Python's sys docs (``sys.stdout``):
      "On Windows, UTF-8 is used for the console device. Non-character devices such as disk files and pipes use
      the system locale encoding (i.e. the ANSI codepage)", cp1252 on Western Windows, where ``├``, ``→`` and
      CJK do not exist; so ``mlops-infra graph ... > graph.txt`` died. UTF-8 is what Python's UTF-8 mode writes
      there (docs "Python UTF-8 Mode": ``sys.stdout`` uses UTF-8; PEP 686 makes that mode the default from
      Python 3.15), what Go programs such as ``pulumi`` and ``gh`` write, and what this tool writes to every
      ``--out`` file, so ``plan > plan.txt`` and ``plan --out plan.txt`` hold the same bytes.
    - A terminal in another encoding (a POSIX locale that is not UTF-8; Windows' console is UTF-8 already), or
      an encoding the user chose with ``PYTHONIOENCODING`` (docs: UTF-8 mode's stream settings "can be
      overridden by PYTHONIOENCODING"; ignored under ``-E``), keeps its encoding, and a character it cannot
      encode is written as a ``\\uXXXX`` escape (``backslashreplace``, what Python's stderr always does) instead
      of raising; an error handler the variable names (``cp1252:replace``) is kept.

    Everything still goes through the same streams, so the redaction layer (:class:`RedactingStream` around
    stderr, :func:`emit_document`'s check on stdout) sees it as before. ``environ`` defaults to ``os.environ``."""
    environ = os.environ if environ is None else environ
    chosen = "" if sys.flags.ignore_environment else environ.get("PYTHONIOENCODING", "")
    chosen_encoding, _, chosen_errors = chosen.partition(":")
    for stream in (sys.stdout, sys.stderr):
        reconfigure, encoding = getattr(stream, "reconfigure", None), getattr(stream, "encoding", None)
        if reconfigure is None or not isinstance(encoding, str):
            continue
        errors = "backslashreplace" if getattr(stream, "errors", "strict") == "strict" else stream.errors
        if _is_utf8(encoding):  # only a lone surrogate (state text read with surrogatepass) cannot be written
            if getattr(stream, "errors", "strict") == "surrogateescape":
                errors = SURROGATES_OR_ESCAPE  # C.UTF-8, POSIX locale, PYTHONUTF8=1 (audit review45-a-2)
            if not chosen_errors and errors != getattr(stream, "errors", "strict"):
                reconfigure(errors=errors)
            continue
        if not chosen_encoding and not _is_a_terminal(stream):
            reconfigure(encoding="utf-8", errors=errors)
        elif not chosen_errors:
            reconfigure(errors=errors)


SURROGATES_OR_ESCAPE = "mlops-infra-surrogateescape-or-backslash"
"""The error handler of a UTF-8 stream Python opened with ``surrogateescape`` (the C or POSIX locale, UTF-8 mode):
a surrogate that stands for an undecodable byte (U+DC80..U+DCFF) is that byte again, as ``surrogateescape`` writes
it; any other (a lone surrogate of a state's text, ``"\\ud800"``), which ``surrogateescape`` raises on, is a
``\\uXXXX`` escape, as ``backslashreplace`` writes it (audit review45-a-2)."""


def _surrogates_or_escape(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start:error.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else (
            f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}").encode("ascii")
    return bytes(out), error.end


codecs.register_error(SURROGATES_OR_ESCAPE, _surrogates_or_escape)


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _is_a_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def error_console() -> Console:
    """The stderr console every command uses: no wrapping of user text, no auto-highlighting.

    Rich wraps at 80 columns when stderr is not a terminal (CI), which would split file paths and
    break ``path:line:col`` for tools that parse it. The rich ``Console`` is made when the command
    first uses it (:class:`DeferredConsole`): a run that prints nothing on stderr (``graph``,
    ``plan --format json`` without notes, a clean ``validate``) does not import rich for it.
    """
    return DeferredConsole(lambda: _stderr_console())  # type: ignore[return-value]


def _stderr_console() -> Console:
    from rich.console import Console

    return Console(file=RedactingStream(lambda: sys.stderr), soft_wrap=True, highlight=False)


class DeferredConsole:
    """Stands for the rich ``Console`` ``make()`` returns, made on the first attribute used
    (``print``, ``is_terminal``, ...) and then used for everything; :func:`real_console` is that
    console, for code that needs the object itself (rich's live displays)."""

    __slots__ = ("_console", "_make")

    def __init__(self, make: Callable[[], Console]) -> None:
        self._make = make
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            self._console = self._make()
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


_EMOJI_CODE_CANDIDATE = re.compile(r":\S*:")
"""Two colons with no white space between: where rich may read an emoji code (``:smile:``)."""


def print_plain(console: Any, line: str) -> None:
    """``console.print(line, markup=False)`` on the error console, the same characters written to
    the same redacting stderr; a line that rich would write as it is, on a console not made yet,
    is written without making it (and so without importing rich: ``plan --format json`` prints
    only its ``Prior state:`` note on stderr).

    Such a line is printable ASCII (rich's ``Text`` strips control codes and expands tabs), holds no
    two colons with no white space between (rich replaces emoji codes: ``Console.render_str``) and
    goes to a stderr that is not a terminal; the console soft-wraps and neither highlights nor
    reads markup, so rich writes it unstyled, uncut, with a newline (a property test compares both
    on random lines)."""
    if (_not_made_yet(console) and line.isascii() and line.isprintable()
            and _EMOJI_CODE_CANDIDATE.search(line) is None and not _stderr_is_a_terminal()):
        _write_as_rich_would(line)
        return
    console.print(line, markup=False)


def _not_made_yet(console: Any) -> bool:
    """Whether ``console`` is the error console (:class:`DeferredConsole`) and has not made its rich console yet."""
    return isinstance(console, DeferredConsole) and console._console is None


def _write_as_rich_would(line: str) -> None:
    """``line`` and a newline to the redacting stderr in one write, then a flush: what rich's print does with a
    line it writes as it is (:func:`print_plain`, :func:`_print_styled`)."""
    stream = RedactingStream(lambda: sys.stderr)
    stream.write(line + "\n")
    stream.flush()


def _stderr_is_a_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return True  # no answer: leave it to rich


KEPT_FOR_EXIT: list[Any] | None = None
"""Where :func:`keep_for_exit` puts what it is given: a list only while ``main`` runs a batch
command as the process (:func:`mlops_infra.cli.main.main`), else None."""


def keep_for_exit(*objects: Any) -> None:
    """Hand what a command made and is done with (the graph, the plan, the state read: plain data,
    hundreds of thousands of objects) to the process's exit: when ``main`` runs a batch command as
    the process, the process exits without freeing them object by object (the operating system
    takes its memory back at once); otherwise (``main(argv)`` in-process, tests) nothing is kept
    and they are freed as before."""
    if KEPT_FOR_EXIT is not None:
        KEPT_FOR_EXIT.extend(objects)


def real_console(console: Any) -> Console:
    """``console`` itself, or the console a :class:`DeferredConsole` stands for."""
    return console.real() if isinstance(console, DeferredConsole) else console


def print_diagnostics(diagnostics: Iterable[Diagnostic], console: Console,
                      source_line: SourceLine | None = None) -> None:
    """Print each diagnostic, sorted, with its source line and a caret when known.

    Each line is the console's ``print(markup, highlight=False, soft_wrap=True)`` of its (style, text) parts
    (:func:`_print_styled`: written without making a console not made yet where rich would write the text as it is).

    The summary and the detail are redacted whole (:func:`~mlops_infra.secrets.redact`) before the detail is cut
    into lines: a value a diagnostic quotes may span lines (a private key among a job's command words), and the
    redacting stderr sees each printed line on its own (each is flushed), so a key's body on the line after its
    header would pass it as text not shaped like a secret (found by the secrets property test: the
    ``one-process-per-node`` warning quoted a command holding a key)."""
    items = sorted(diagnostics, key=Diagnostic.sort_key)
    if not items:
        return
    for d in items:
        colour = "bold red" if d.is_error else "bold yellow"
        where = f"{d.location}: " if d.location else ""
        _print_styled(console, ("bold", where), (colour, d.severity), ("", f": {redact(d.summary)}"))
        for line in redact(d.detail).splitlines():
            _print_styled(console, ("", f"  {line}"))
        if d.location and source_line:
            text = source_line(d.location.file, d.location.line)
            hidden = _hidden_line(text, d)
            if hidden:
                _print_styled(console, ("dim", f"{d.location.line:>5} | {hidden}"))
            elif text.strip():
                gutter = f"{d.location.line:>5} | "
                _print_styled(console, ("dim", gutter), ("", text))
                _print_styled(console, ("", " " * (len(gutter) + max(d.location.column - 1, 0))), ("bold green", "^"))
    errors = sum(1 for d in items if d.is_error)
    warnings = len(items) - errors
    _print_styled(console, ("", f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"))


def _print_styled(console: Any, *parts: tuple[str, str]) -> None:
    """``console.print(markup, highlight=False, soft_wrap=True)`` of the markup of ``parts``: each (style, text)
    ``[style]escape(text)[/]``, or ``escape(text)`` without a style (rich's ``escape``). On the error console not
    made yet (:class:`DeferredConsole`), where rich would write the texts joined as they are
    (:func:`_styles_unwritten`, :func:`_rendered_as_itself`), they are written so through the same redacting
    stderr, without making the console (and so without importing rich: a spec with a warning pays no console
    for it); a property test compares both on random diagnostics."""
    if _not_made_yet(console) and _styles_unwritten() and all(_rendered_as_itself(text) for _, text in parts):
        _write_as_rich_would("".join(text for _, text in parts))
        return
    from rich.markup import escape

    markup = "".join(f"[{style}]{escape(text)}[/]" if style else escape(text) for style, text in parts)
    console.print(markup, highlight=False, soft_wrap=True)


_TAG_START = re.compile(r"\[[a-z#/@]")
"""Where rich's markup may read a tag (``rich/markup.py`` ``RE_TAGS``: ``\\[([a-z#/@][^[]*?)]``)."""


def _rendered_as_itself(text: str) -> bool:
    """Whether rich writes ``text``, escaped between style tags, as ``text`` itself: printable ASCII (no control
    code to strip, no tab to expand: rich's ``Text``), no backslash and no place a tag may start (``escape``
    and the markup's reading then leave it whole: rich/markup.py ``escape``, ``_parse``, ``render``, which turns
    every ``\\[`` into ``[``), and no emoji code rich would replace (``render`` replaces codes in each text
    between tags: ``_emoji_replace``, whose table is imported only for a text with two colons and no space
    between)."""
    if not (text.isascii() and text.isprintable()) or "\\" in text or _TAG_START.search(text) is not None:
        return False
    if _EMOJI_CODE_CANDIDATE.search(text) is None:
        return True
    from rich._emoji_replace import _emoji_replace

    return _emoji_replace(text) == text


def _styles_unwritten() -> bool:
    """Whether the error console would write no style (no colour system): stderr is not a terminal and nothing
    in the environment makes rich take it for one or for Jupyter (rich/console.py ``Console.is_terminal``:
    ``TTY_COMPATIBLE``, ``FORCE_COLOR``; ``_is_jupyter``: ``get_ipython``)."""
    import builtins

    return (not _stderr_is_a_terminal() and "FORCE_COLOR" not in os.environ and "TTY_COMPATIBLE" not in os.environ
            and not hasattr(builtins, "get_ipython"))


def _hidden_line(text: str, diagnostic: Diagnostic) -> str:
    """Why a source line is not quoted ('' when it may be): it holds a secret shape, or the
    diagnostic is about a plaintext secret (whose value may have no recognisable shape)."""
    kinds = secret_kinds(text) if text.strip() else []
    if kinds:
        return f"(line not shown: it holds {' and '.join(kinds)})"
    if diagnostic.code == "plaintext-secret" and text.strip():
        return "(line not shown: it holds a plaintext secret)"
    return ""


def diagnostics_json(diagnostics: Iterable[Diagnostic], **extra) -> str:
    """``{"version": 1, "valid": bool, "diagnostics": [...]} `` plus ``extra`` keys, stable order.

    Every string in it (a summary that quotes a value, a path through a secret-shaped key) passes
    the redaction layer, as the text form does through the error console: the report is printed on
    stdout, so it is redacted here (found by the secrets property test, issue 13)."""
    items = sorted(diagnostics, key=Diagnostic.sort_key)
    payload = {"version": 1, "valid": not any(d.is_error for d in items), **extra,
               "diagnostics": [_redacted(d.to_json()) for d in items]}
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def _redacted(node: Any) -> Any:
    """``node`` (JSON data) with every string, keys included, passed through :func:`mlops_infra.secrets.redact`."""
    if isinstance(node, str):
        return redact(node)
    if isinstance(node, dict):
        return {_redacted(k): _redacted(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_redacted(v) for v in node]
    return node


def graph_places(graph: Any) -> list[tuple[str, str]]:
    """(``<urn> <input path>``, kind) of every secret shape in a desired graph's resources."""
    from mlops_infra.secrets import redact, scan_tree

    places = []
    for resource in graph.resources:
        for finding in scan_tree(resource.to_json(), names=False):
            path = [("<a key shaped like a secret>" if finding.in_key and i == len(finding.path) - 1 else p)
                    for i, p in enumerate(finding.path)]
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
            places.append((redact(f"{resource.urn} {where}"), finding.kind))
    return places


def emit_document(text: str | bytes, what: str, locate: Callable[[], Sequence[tuple[str, str]]] | None = None,
                  color: bool | None = None) -> None:
    """Print a document on stdout after the redaction layer's check (refused whole, never in part).
    Bytes (UTF-8 without terminal control sequences, e.g. JSON) are checked and written as they are."""
    from mlops_infra.secrets import check_output

    check_output(text, what, locate)
    _print_document(text, color)


def _print_document(text: str | bytes, color: bool | None = None) -> None:
    import typer

    if isinstance(text, bytes) and getattr(sys.stdout, "buffer", None) is None:
        text = text.decode()  # a text-only stdout (an in-process caller's StringIO)
    if isinstance(text, str):
        write_stdout(text, color)
    else:
        grow_for(len(text))  # a large document on a pipe: fewer waits for the reader (mlops_infra.cli.pipes)
        typer.echo(text, nl=False, color=color)


def emit_json(value: Any, what: str, locate: Callable[[], Sequence[tuple[str, str]]] | None = None) -> None:
    """``emit_document(jsoncodec.stdlib_pretty_bytes(value), what, locate)``: the same bytes on
    stdout, refused alike, with one pass over them where that does two (``graph --format json``).

    orjson's bytes are checked for secrets and for where they may differ from the standard
    library's (:data:`~mlops_infra.jsoncodec.STDLIB_SPELLING_TRIGGERS`) in the same pass
    (:func:`~mlops_infra.secrets.find_secrets_beside`); where they may differ (or orjson cannot
    write ``value``), :func:`emit_document` of ``stdlib_pretty_bytes(value)`` runs instead, as before."""
    from mlops_infra import jsoncodec
    from mlops_infra.secrets import check_output, find_secrets_beside

    data = jsoncodec.orjson_pretty_bytes(value)
    scanned = find_secrets_beside(data, jsoncodec.STDLIB_SPELLING_TRIGGERS) if data else None
    if data is None or scanned is None or not jsoncodec.spelled_as_stdlib_near(data, scanned[1]):
        emit_document(jsoncodec.stdlib_pretty_bytes(value), what, locate)
        return
    check_output(data, what, locate, findings=scanned[0])
    _print_document(data)


def write_stdout(text: str | bytes, color: bool | None = None, *, json_ascii: bool = False) -> None:
    """``typer.echo(text, nl=False, color=color)``, the same bytes and errors (a closed pipe: exit 1,
    no traceback), without the text layer's copies where it has nothing to do.

    click's echo of a ``str`` removes terminal escape sequences when stdout is not a terminal (a
    regular-expression pass over the whole text) and the text stream encodes it; an ASCII text with
    no escape character, for a stdout that writes ASCII as itself (UTF-8 or ASCII, ``\n`` line
    ends), is written as its ASCII bytes through echo's binary path (the text stream flushed
    first). Anything else goes through echo as before. ``bytes`` are ASCII text already encoded (a
    JSON plan): written as they are on such a stdout, else decoded and echoed as that text.
    ``json_ascii``: ``text`` is ASCII JSON (:func:`mlops_infra.render.json.render_json_bytes`), so
    it holds no escape character (JSON writes every control character in a string escaped: RFC
    8259, section 7) and neither is looked for again (a plan's tens of megabytes, twice)."""
    import typer

    grow_for(len(text))  # a large document on a pipe: fewer waits for the reader (mlops_infra.cli.pipes)
    stdout = sys.stdout
    direct = os.linesep == "\n" and _writes_ascii_as_itself(stdout) and getattr(stdout, "buffer", None) is not None
    if isinstance(text, bytes):
        if direct and (json_ascii or (b"\x1b" not in text and text.isascii())):
            typer.echo(text, nl=False)
        else:
            typer.echo(text.decode("ascii"), nl=False, color=color)
    elif direct and text.isascii() and "\x1b" not in text:
        typer.echo(text.encode("ascii"), nl=False)
    else:
        typer.echo(text, nl=False, color=color)


def _writes_ascii_as_itself(stream: Any) -> bool:
    encoding = getattr(stream, "encoding", None)
    if not isinstance(encoding, str):
        return False
    try:
        return codecs.lookup(encoding).name in ("utf-8", "ascii")
    except LookupError:
        return False
