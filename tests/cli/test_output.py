"""cli/output.write_stdout: the bytes ``typer.echo`` would write, for text and for a JSON plan's bytes."""

from __future__ import annotations

import io
import sys

import pytest
import typer

from mlops_infra.cli.output import write_stdout

PLAN = b'{\n  "changes": [],\n  "note": "caf\\u00e9 \\u001b"\n}\n'  # ASCII JSON, as render_json_bytes writes


def _written(monkeypatch: pytest.MonkeyPatch, encoding: str, write) -> bytes:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, newline="\n", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    write()
    stream.flush()
    return raw.getvalue()


TEXTS = [PLAN.decode(), "plain text\n", "caf\u00e9\n", "\x1b[1mbold\x1b[0m\n"]


@pytest.mark.parametrize(("encoding", "text"), [(e, t) for e in ("utf-8", "ascii", "utf-16", "cp1252") for t in TEXTS
                                                if t.isascii() or e != "ascii"])  # echo cannot write é in ASCII
def test_text_is_written_as_echo_writes_it(monkeypatch: pytest.MonkeyPatch, encoding: str, text: str) -> None:
    assert _written(monkeypatch, encoding, lambda: write_stdout(text)) == \
        _written(monkeypatch, encoding, lambda: typer.echo(text, nl=False))


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "utf-16", "cp1252"])
def test_a_plans_bytes_are_written_as_echo_writes_their_text(monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    assert _written(monkeypatch, encoding, lambda: write_stdout(PLAN)) == \
        _written(monkeypatch, encoding, lambda: typer.echo(PLAN.decode(), nl=False))


# -- emit_json: emit_document of stdlib_pretty_bytes, in one pass ------------------------------------------

def _emitted(monkeypatch: pytest.MonkeyPatch, emit) -> tuple[bytes, str | None]:
    """What ``emit()`` writes on stdout, and the refusal it raises (its message), if any."""
    from mlops_infra.secrets import SecretInOutputError

    refusal = None

    def run() -> None:
        nonlocal refusal
        try:
            emit()
        except SecretInOutputError as exc:
            refusal = f"{exc.summary}\n{exc.detail}"

    return _written(monkeypatch, "utf-8", run), refusal


def _json_values():
    from hypothesis import strategies as st

    from tests.secrets.test_rules import EXAMPLES

    floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
        [1e-5, 1.5e-7, 1e-9, 0.0001, 1e-10, 2.5e-05, 0.1, 19.00001])
    pieces = st.sampled_from([t for ts in EXAMPLES.values() for t in ts] + [
        "a" * 39 + "9.00001", "targetTrackingScalingPolicyConfiguration", "1e-5", "x\x7fy", "caf\u00e9", "user:p\u00e4sswort@r.example.com"])
    text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u2028"), max_size=6) | pieces
    keys = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é"), max_size=4) | pieces
    scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | floats | text
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                        max_leaves=20)


def test_emit_json_writes_and_refuses_as_emit_document_of_the_stdlib_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-pass path against the path it skips (the orjson bytes checked for spelling, then
    scanned): the same bytes on stdout, the same refusal; with locate and without."""
    from hypothesis import HealthCheck, example, given, settings

    from mlops_infra.cli.output import emit_document, emit_json
    from mlops_infra.jsoncodec import stdlib_pretty_bytes

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_json_values())
    @example({"a" * 39 + "9": 0.00001, "b": "AKIAIOSFODNN7EXAMPLE"})
    @example(["a" * 39 + "9.00001"])
    @example({"x": "user:p\u00e4sswort@r"})  # a byte that is not ASCII inside a trigger's match: not reported
    @example({"x": 1e-5})
    @example({"é": 1})
    @example({"k": 2**70})
    def check(value) -> None:
        for locate in (None, lambda: [("somewhere", "a kind")]):
            assert _emitted(monkeypatch, lambda where=locate: emit_json(value, "the graph", where)) == \
                _emitted(monkeypatch, lambda where=locate: emit_document(stdlib_pretty_bytes(value), "the graph", where))

    check()


def test_emit_json_writes_text_to_a_text_only_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.cli.output import emit_json

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    emit_json({"b": [1, 2.5], "a": "x"}, "the graph")
    assert stream.getvalue() == '{\n  "a": "x",\n  "b": [\n    1,\n    2.5\n  ]\n}\n'


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "utf-16", "cp1252"])
def test_json_bytes_are_written_as_the_checked_path_writes_them(monkeypatch: pytest.MonkeyPatch, encoding: str) -> None:
    """write_stdout(json_ascii=True) skips the ASCII and escape-character checks for the JSON a
    plan renders (jsoncodec.pretty_bytes, as render_json_bytes): the same bytes as with them, for
    values holding ESC, every other control character, DEL and text that is not ASCII."""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from mlops_infra.jsoncodec import pretty_bytes

    text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("\x1b\x00\x7fé€\u2028"), max_size=8)
    values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=12)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(values)
    @example({"note": "\x1b[1mbold\x1b[0m caf\u00e9"})
    def check(value) -> None:
        data = pretty_bytes(value)
        assert _written(monkeypatch, encoding, lambda: write_stdout(data, json_ascii=True)) == \
            _written(monkeypatch, encoding, lambda: write_stdout(data))

    check()


# -- print_plain: a plain line on stderr without making rich's console -------------------------------------

def _stderr_text(monkeypatch: pytest.MonkeyPatch, write) -> str:
    stream = io.StringIO()
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stderr", stream)
        write()
    return stream.getvalue()


def test_print_plain_writes_what_rich_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """On random lines (colons, emoji codes, brackets, tabs, control characters, trailing spaces,
    text that is not ASCII, secrets): the same characters on stderr as the error console's rich
    print, whether or not the line takes the path without rich."""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from mlops_infra.cli.output import _stderr_console, error_console, print_plain

    pieces = st.sampled_from([":", ": ", ":smile:", ":thumbs_up:", ":x-emoji:", "[bold]", "[/]", "\t", "\r", "\x1b[1m",
                              "\x07", "\x7f", "é", "  ", "Prior state: ", "prior.json (20400 resources)", "/tmp/a:b",
                              "AKIAIOSFODNN7EXAMPLE", "`pulumi login`", "\u2028", "\n"])
    lines = st.lists(pieces | st.text(st.characters(max_codepoint=0x7F), max_size=6), max_size=8).map("".join)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(lines)
    @example("Prior state: none found (no stack file for p/prod in the file backend /tmp/x: no /tmp/x/.pulumi); "
             "planning as for a first apply. Use --state to plan against an exported state.")
    @example("Prior state: prior.json (20400 resources)   ")
    @example("")
    def check(line: str) -> None:
        assert _stderr_text(monkeypatch, lambda: print_plain(error_console(), line)) == \
            _stderr_text(monkeypatch, lambda: _stderr_console().print(line, markup=False))

    check()


def test_a_plain_note_is_printed_without_making_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.cli.output import error_console, print_plain

    console = error_console()
    note = "Prior state: prior.json (20400 resources)"
    assert _stderr_text(monkeypatch, lambda: print_plain(console, note)) == note + "\n"
    assert console._console is None
    assert _stderr_text(monkeypatch, lambda: print_plain(console, "an emoji code :smile: here")) == \
        "an emoji code \U0001f604 here\n"
    assert console._console is not None  # that line went through rich


# -- print_diagnostics: plain diagnostics on stderr without making rich's console ---------------------------

def test_print_diagnostics_writes_what_rich_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """On random diagnostics (colons and emoji codes in the summary, the detail, the file name and the source
    line; brackets that may read as tags, backslashes, tabs, control characters, text that is not ASCII,
    secrets): the same characters on stderr from the error console not made yet as from rich's console
    itself, whether or not a line takes the path without rich."""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from mlops_infra.cli.output import _stderr_console, error_console, print_diagnostics
    from mlops_infra.diagnostics import Diagnostic, Severity, SourceLocation

    pieces = st.sampled_from([":", ": ", ":smile:", ":thumbs_up:", ":x-emoji:", ":smile-text:", "[bold]", "[/]",
                              "[default]", "[1]", '["123456789012"]', "\\", "\\[bold]", "\t", "\r", "\x1b[1m", "\x7f",
                              "é", "  ", "arn:aws:iam::222222222222:root", "{\"Sid\":\"A\"}", "AKIAIOSFODNN7EXAMPLE",
                              "-----BEGIN RSA PRIVATE KEY-----", "\n", "@", "#"])
    texts = st.lists(pieces | st.text(st.characters(max_codepoint=0x7F), max_size=6), max_size=6).map("".join)
    locations = st.none() | st.builds(SourceLocation, texts, st.integers(1, 99999), st.integers(1, 200))
    diagnostics = st.lists(st.builds(Diagnostic, st.sampled_from(list(Severity)), st.just("a-code"), texts, texts,
                                     st.just(()), locations), min_size=1, max_size=3)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(diagnostics, texts)
    @example([Diagnostic(Severity.WARNING, "image-in-other-account", "models.m: the image repository r is in account 1",
                         "SageMaker pulls ... {\"Principal\":{\"AWS\":\"arn:aws:iam::222222222222:root\"}} ... "
                         "image_pulls_allowed_by: [\"123456789012\"] (which clears this warning).",
                         (), SourceLocation("../mlsystem.yaml", 285, 12))],
             "    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/train-000:1.0.0")
    def check(found: list, source: str) -> None:
        def line(file: str, number: int) -> str:
            return source

        assert _stderr_text(monkeypatch, lambda: print_diagnostics(found, error_console(), line)) == \
            _stderr_text(monkeypatch, lambda: print_diagnostics(found, _stderr_console(), line))

    check()


def test_a_warning_is_printed_without_making_the_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """A warning whose lines rich would write as they are (colons that are no emoji code, brackets that are no
    tag) is written without making the console; a line rich would change (an emoji code) makes it."""
    from mlops_infra.cli.output import error_console, print_diagnostics
    from mlops_infra.diagnostics import SourceLocation, warning, with_location

    found = with_location(warning("w", "arn:aws:iam::1:root is [\"1\"]", "detail: [1] {\"a\":1}"),
                          SourceLocation("spec.yaml", 3, 5))
    console = error_console()
    text = _stderr_text(monkeypatch, lambda: print_diagnostics([found], console, lambda f, n: "  key: value"))
    assert text == ("spec.yaml:3:5: warning: arn:aws:iam::1:root is [\"1\"]\n  detail: [1] {\"a\":1}\n"
                    "    3 |   key: value\n            ^\n0 errors, 1 warning\n")
    assert console._console is None
    smiling = with_location(warning("w", "a :smile: here"), SourceLocation("spec.yaml", 3, 5))
    assert _stderr_text(monkeypatch, lambda: print_diagnostics([smiling], console)) == \
        "spec.yaml:3:5: warning: a \U0001f604 here\n0 errors, 1 warning\n"
    assert console._console is not None


@pytest.mark.parametrize("made", [False, True], ids=["console-not-made", "rich-console"])
def test_a_private_key_a_diagnostic_quotes_across_lines_is_redacted_whole(
        monkeypatch: pytest.MonkeyPatch, made: bool) -> None:
    """A diagnostic's detail quoting a private key (the ``one-process-per-node`` warning quotes a job's command,
    whose word may be a key with its newlines) prints neither the key's header nor its body: each detail line is
    flushed on its own, so the key must be redacted before the detail is cut into lines (the secrets property test
    found the body on stderr: validate's warning with the key among ``training_jobs.retrain.command``)."""
    from mlops_infra.cli.output import _stderr_console, error_console, print_diagnostics
    from mlops_infra.diagnostics import SourceLocation, warning, with_location

    body = "u6NNKHWS3IYsBRL63Ib8EfcKEIDypblJr1m4ozCcwpYMimVspA2ORQuOx49GHh2d"
    key = f"-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----"
    found = with_location(warning("one-process-per-node", "Training job \"retrain\" uses 1 of the 4 GPUs",
                                  f"Its command (python -m fraud.train {key}) starts one process per node.\nFix: torchrun"),
                          SourceLocation("mlsystem.yaml", 40, 3))
    console = _stderr_console() if made else error_console()
    text = _stderr_text(monkeypatch, lambda: print_diagnostics([found], console))
    assert body not in text and "BEGIN EC PRIVATE KEY" not in text, text
    assert "Its command (python -m fraud.train <redacted: a private key>) starts one process per node." in text
    assert "  Fix: torchrun\n" in text
