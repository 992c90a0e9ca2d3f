"""Output in a code page that cannot encode the text (audit portab45-4): ``graph`` (``├──``), ``plan`` of a spec with
CJK text and ``promote --format markdown`` (``→``) exit 0 when stdout is a file or a pipe, run as the process.

Windows gives a redirected stdout the ANSI code page (Python's sys docs: "Non-character devices such as disk files
and pipes use the system locale encoding (i.e. the ANSI codepage)"), cp1252 on Western Windows. That is modelled by
the interpreter's streams rewrapped in cp1252 before ``main()`` runs (no cp1252 locale exists here): they then write
UTF-8, the bytes of a run in a UTF-8 locale. ``PYTHONIOENCODING=cp1252`` (the user's own choice of encoding) keeps
cp1252 and writes what it cannot encode as ``\\uXXXX`` escapes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_infra.cli import output
from tests.support.promotion import copy_reference, reference_registries

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
WINDOWS_PIPE = ("import io, sys\n"
                "sys.stdout = io.TextIOWrapper(sys.stdout.detach(), encoding='cp1252', line_buffering=False)\n"
                "sys.stderr = io.TextIOWrapper(sys.stderr.detach(), encoding='cp1252', errors='backslashreplace')\n"
                "sys.argv[0] = 'mlops-infra'\n"
                "from mlops_infra.cli.main import main\n"
                "main()\n")


def _run(args: list[str], cwd: Path, *, windows: bool = False, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI run as the process, stdout a file (stderr a pipe), in a fresh interpreter."""
    environ = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    environ.update({"PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", **env})
    command = [sys.executable, "-c", WINDOWS_PIPE, *args] if windows else \
        [sys.executable, "-m", "mlops_infra.cli.main", *args]
    with open(cwd / "out.txt", "wb") as out:
        proc = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, env=environ, cwd=cwd, timeout=180,
                              check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, (cwd / "out.txt").read_bytes(), proc.stderr)


@pytest.fixture
def cjk_spec(tmp_path: Path) -> Path:
    spec = tmp_path / "mlsystem.yaml"
    text = QUICKSTART.read_text(encoding="utf-8")
    assert "    team: data\n" in text
    spec.write_text(text.replace("    team: data\n", '    team: "データ"\n'), encoding="utf-8")
    return spec


@pytest.mark.parametrize("command", [["graph", "{spec}", "--env", "prod"],
                                     ["plan", "{spec}", "--env", "prod"],
                                     ["plan", "{spec}", "--env", "prod", "--format", "markdown"]],
                         ids=["graph", "plan", "plan-markdown"])
def test_a_windows_pipe_gets_the_utf8_of_a_utf8_locale(cjk_spec: Path, command: list[str]) -> None:
    args = [part.format(spec=cjk_spec) for part in command]
    utf8 = _run(args, cjk_spec.parent)
    assert utf8.returncode == 0, utf8.stderr.decode()
    windows = _run(args, cjk_spec.parent, windows=True)
    assert windows.returncode == 0, windows.stderr.decode("cp1252", "replace")
    assert b"internal error" not in windows.stderr
    assert windows.stdout == utf8.stdout
    assert ("├── " if command[0] == "graph" else "データ").encode() in windows.stdout


def test_promote_markdown_through_a_windows_pipe(tmp_path: Path) -> None:
    file, registries = copy_reference(tmp_path), reference_registries(tmp_path, staging_has_v14=3)
    args = ["promote", str(file), "--to", "staging", "--format", "markdown", *registries]
    utf8 = _run(args, tmp_path)
    assert utf8.returncode == 0, utf8.stderr.decode()
    windows = _run(args, tmp_path, windows=True)
    assert windows.returncode == 0, windows.stderr.decode("cp1252", "replace")
    assert windows.stdout == utf8.stdout and "→".encode() in windows.stdout


def test_pythonioencoding_cp1252_is_kept_with_escapes(tmp_path: Path) -> None:
    file, registries = copy_reference(tmp_path), reference_registries(tmp_path, staging_has_v14=3)
    graph = _run(["graph", str(QUICKSTART), "--env", "prod"], tmp_path, PYTHONIOENCODING="cp1252")
    assert graph.returncode == 0, graph.stderr.decode("cp1252", "replace")
    text = graph.stdout.decode("cp1252")
    assert "\\u251c\\u2500\\u2500 " in text and "├" not in text
    markdown = _run(["promote", str(file), "--to", "staging", "--format", "markdown", *registries], tmp_path,
                    PYTHONIOENCODING="cp1252")
    assert markdown.returncode == 0, markdown.stderr.decode("cp1252", "replace")
    assert "\\u2192" in markdown.stdout.decode("cp1252")


class _Stream(io.TextIOWrapper):
    def __init__(self, encoding: str, errors: str = "strict", terminal: bool = False) -> None:
        super().__init__(io.BytesIO(), encoding=encoding, errors=errors)
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize(("stream", "environ", "expected"), [
    (("cp1252",), {}, ("utf-8", "backslashreplace")),  # a file or pipe on Windows
    (("latin-1", "strict", True), {}, ("latin-1", "backslashreplace")),  # a terminal in a latin-1 locale
    (("cp1252",), {"PYTHONIOENCODING": "cp1252"}, ("cp1252", "backslashreplace")),
    (("cp1252", "replace"), {"PYTHONIOENCODING": "cp1252:replace"}, ("cp1252", "replace")),
    (("utf-8",), {}, ("utf-8", "backslashreplace")),  # closing-45c-3: was left strict, a lone surrogate raised
    (("utf-8", "surrogateescape"), {}, ("utf-8", output.SURROGATES_OR_ESCAPE)),  # review45-a-2: kept, it raised
    (("utf-8",), {"PYTHONIOENCODING": "utf-8:strict"}, ("utf-8", "strict")),  # the user's choice
], ids=["pipe", "terminal", "pythonioencoding", "pythonioencoding-errors", "utf-8", "utf-8-surrogateescape",
        "utf-8-chosen-strict"])
def test_which_streams_change(monkeypatch, stream, environ, expected) -> None:
    out, err = _Stream(*stream), _Stream(*stream)
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    output.configure_output_streams(environ)
    assert (out.encoding, out.errors) == expected == (err.encoding, err.errors)
    out.write("├ → データ")  # never raises
    if out.errors in ("backslashreplace", output.SURROGATES_OR_ESCAPE):
        out.write("lone \ud800 surrogate")  # never raises either (closing-45c-3, review45-a-2)


def test_a_c_locale_stream_writes_escaped_bytes_back_and_lone_surrogates_as_escapes(monkeypatch) -> None:
    """surrogateescape's own bytes stay bytes (a file name read in the C locale prints as it was); a lone surrogate,
    which surrogateescape raises on, is written as backslashreplace writes it (audit review45-a-2)."""
    out = _Stream("utf-8", "surrogateescape")
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", _Stream("utf-8", "surrogateescape"))
    output.configure_output_streams({})
    out.write("caf\udce9 \ud800 \U0001f600")
    out.flush()
    assert out.buffer.getvalue() == b"caf\xe9 \\ud800 \xf0\x9f\x98\x80"
