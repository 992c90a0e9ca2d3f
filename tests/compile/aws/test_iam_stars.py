"""Every grant on ``"*"`` or on any account's resources is listed in docs/compile-aws.md "Least privilege" (audit iam-4).

The document a reviewer reads for the security posture said ``"*"`` appears for two actions while the compiled rollout
runner held it for eight; this test compares the list the document gives with what every example's AWS
environments compile, both ways.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.compile.aws.cases import CASES, compiled, of_type, policy_statements

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
DOC = Path(__file__).resolve().parents[3] / "docs" / "compile-aws.md"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def _documented() -> set[str]:
    """The actions named in the "Grants on ``"*"``" bullet of the "Least privilege" section."""
    section = DOC.read_text(encoding="utf-8").split("- **Least privilege.**", 1)[1].split("\n- **", 1)[0]
    bullet = section.split('  - Grants on `"*"`', 1)[1].split("\n  - ", 1)[0]
    return set(re.findall(r"`([a-z0-9-]+:[A-Z][A-Za-z*]*)`", bullet)) - {"kms:ViaService"}  # actions, not condition keys


def _compiled() -> set[str]:
    found = set()
    for _, path, env in CASES:
        for policy in of_type(compiled(path, env), ROLE_POLICY):
            for statement in policy_statements(policy):
                wide = [r for r in statement["Resource"] if isinstance(r, str) and (r == "*" or ":*:" in r)]
                if wide and statement["Effect"] == "Allow":
                    found.update(statement["Action"])
    return found


def test_the_least_privilege_section_lists_exactly_the_wide_grants_compiled() -> None:
    documented = _documented()
    assert "application-autoscaling:RegisterScalableTarget" in documented
    assert _compiled() == documented
