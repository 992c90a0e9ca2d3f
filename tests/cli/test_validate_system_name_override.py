"""``validate`` refuses an environment override of ``metadata.name`` (audit docs-3).

The system name is the Pulumi project name (Pulumi.yaml ``name``, one for every stack of the project:
https://www.pulumi.com/docs/iac/concepts/projects/project-file/); an environment with another name would
plan against another project's state file and ``apply`` would refuse the stack directory ``init`` wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_cli
from tests.support.text_edits import edit

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"
LINE = "      endpoints.churn-api.replicas: {min: 1, max: 1}\n"


def _with_dev_override(tmp_path: Path, extra: str) -> Path:
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(edit(QUICKSTART.read_text(), LINE, LINE + extra))
    return spec


def test_an_override_of_the_system_name_is_refused_at_its_line(tmp_path: Path) -> None:
    spec = _with_dev_override(tmp_path, "      metadata.name: other-name\n")
    line = spec.read_text().splitlines().index("      metadata.name: other-name") + 1
    result = run_cli("validate", str(spec))
    assert result.code == 1
    assert f"{spec}:{line}:" in result.stderr
    assert "Traceback" not in result.stderr
    [found] = [d for d in json.loads(run_cli("validate", str(spec), "--format", "json").stdout)["diagnostics"]
               if d["severity"] == "error"]
    assert found["code"] == "system-name-override"
    assert found["line"] == line
    assert "Pulumi project name" in found["detail"] and "Remove this override" in found["detail"]


def test_other_metadata_overrides_still_validate(tmp_path: Path) -> None:
    spec = _with_dev_override(tmp_path, "      metadata.description: the dev copy\n")
    assert run_cli("validate", str(spec)).code == 0
