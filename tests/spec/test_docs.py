"""The docs stay accurate: every diagnostic code the code can emit is documented, and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The diagnostics with a file:line: validate's (spec/), schema --check's, and the plan's and apply's own check of the
# cluster (plan/namespace_owner.py, which speaks in the diagnostics format at the spec's line), and promote's refusal
# at DST's override (promote/promote.py).
SOURCES = [*sorted((ROOT / "mlops_infra" / "spec").glob("*.py")), ROOT / "mlops_infra" / "cli" / "commands" / "schema.py",
           ROOT / "mlops_infra" / "plan" / "namespace_owner.py", ROOT / "mlops_infra" / "promote" / "promote.py"]
EMIT = re.compile(r'\b(?:error|warning|make|_fail)\(\s*(?:path,\s*)?"([a-z0-9]+(?:-[a-z0-9]+)+)"')
ASSIGNED = re.compile(r'\b(?:code|CODE) = "([a-z0-9]+(?:-[a-z0-9]+)+)"')


def emitted_codes() -> set[str]:
    codes: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        codes |= set(EMIT.findall(text)) | set(ASSIGNED.findall(text))
    return codes


def documented_codes() -> set[str]:
    text = (ROOT / "docs" / "diagnostics.md").read_text().split("## Codes", 1)[1]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, re.MULTILINE))


def test_every_emitted_code_is_documented() -> None:
    codes = emitted_codes()
    assert len(codes) > 35
    assert codes - documented_codes() == set()


def test_every_documented_code_exists() -> None:
    assert documented_codes() - emitted_codes() == set()


def test_spec_doc_names_the_schema_hint() -> None:
    text = (ROOT / "docs" / "spec.md").read_text()
    assert "# yaml-language-server: $schema=" in text
    assert "schemas/mlsystem-v1.schema.json" in text
