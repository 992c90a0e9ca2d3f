"""UTF-16 and UTF-32 files are refused by name, with the fix (audit yamledge-3).

YAML 1.2.2 section 5.2 (https://yaml.org/spec/1.2.2/#52-character-encodings) names UTF-16 and UTF-32
(detected by a byte order mark, or by an ASCII first character's zero bytes); Windows PowerShell 5.1's
``>`` writes UTF-16LE with a BOM (about_Character_Encoding). They were called "binary" (their zero bytes).
"""

from __future__ import annotations

import codecs
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_infra.spec.loader import decode_source
from tests.support.cli import run_cli_subprocess

ROOT = Path(__file__).resolve().parents[2]
QUICK = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text()


@pytest.mark.parametrize(("encode", "named"), [
    (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "UTF-16 (little-endian, with a byte order mark)"),
    (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "UTF-16 (big-endian, with a byte order mark)"),
    (lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"), "UTF-32 (little-endian, with a byte order mark)"),
    (lambda t: codecs.BOM_UTF32_BE + t.encode("utf-32-be"), "UTF-32 (big-endian, with a byte order mark)"),
    (lambda t: t.encode("utf-16-le"), "UTF-16 (little-endian)"),
    (lambda t: t.encode("utf-16-be"), "UTF-16 (big-endian)"),
    (lambda t: t.encode("utf-32-le"), "UTF-32 (little-endian)"),
    (lambda t: t.encode("utf-32-be"), "UTF-32 (big-endian)"),
], ids=["16le-bom", "16be-bom", "32le-bom", "32be-bom", "16le", "16be", "32le", "32be"])
def test_utf16_and_utf32_are_named_with_the_fix_that_converts_them(encode, named: str, tmp_path: Path) -> None:
    raw = encode(QUICK)
    text, [diagnostic] = decode_source(raw, "m.yaml")
    assert text is None and diagnostic.code == "not-utf8"
    assert diagnostic.summary == f"File is {named}, not UTF-8"
    assert "Out-File -Encoding utf8" in diagnostic.detail
    # the iconv command given converts this very file to the UTF-8 text (review44-rest-1: `-f UTF-16` for every
    # wide file garbled the UTF-32 ones and big-endian UTF-16 without a BOM, and iconv still exited 0)
    command = re.search(r"`(iconv -f \S+ -t UTF-8) in\.yaml > mlsystem\.yaml`", diagnostic.detail)
    assert command, diagnostic.detail
    if shutil.which("iconv") is None:
        pytest.skip("iconv is not installed here: the command given is not run")
    (tmp_path / "in.yaml").write_bytes(raw)
    converted = subprocess.run([*command.group(1).split(), "in.yaml"], cwd=tmp_path, capture_output=True, check=True)
    assert converted.stdout.decode("utf-8") == QUICK


def test_a_powershell_redirected_file_is_refused_through_the_console_script(tmp_path: Path) -> None:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_bytes(codecs.BOM_UTF16_LE + QUICK.replace("\n", "\r\n").encode("utf-16-le"))
    result = run_cli_subprocess("validate", str(spec))
    assert result.code == 1 and "Traceback" not in result.stderr
    assert f"{spec}:1:1: error: File is UTF-16 (little-endian, with a byte order mark), not UTF-8" in result.stderr


@pytest.mark.parametrize("raw", [b"\x00\x00\x00\x00", b"\x7fELF\x02\x01\x01\x00", b"apiVersion: v1\n\x00"])
def test_binary_stays_binary(raw: bytes) -> None:
    _, [diagnostic] = decode_source(raw, "m.yaml")
    assert diagnostic.code == "binary-file"
