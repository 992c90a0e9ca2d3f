"""``mlops-infra promote``: the reference dev -> staging, the write, idempotence, formats, bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.promotion import (
    DIGEST_V14,
    copy_reference,
    prod_view,
    promoted_to_staging,
    reference_registries,
    staging_view,
    write_view,
)
from tests.support.text_edits import edit

OLD_LINE = "      endpoints.scorer.model.version: 13\n"
NEW_LINE = "      endpoints.scorer.model.version: 3\n"


@pytest.fixture
def reference(tmp_path: Path) -> tuple[Path, list[str]]:
    return copy_reference(tmp_path), reference_registries(tmp_path)


@pytest.fixture
def registered(tmp_path: Path) -> tuple[Path, list[str]]:
    """As ``reference``, after the artifact steps: staging's registry holds dev's v14 as v3, so
    ``--write`` may pin it (an unregistered pin is refused: tests/cli/test_promote_write_registered.py)."""
    return copy_reference(tmp_path), reference_registries(tmp_path, staging_has_v14=3)


def test_preview_shows_mapping_edit_and_plan_and_writes_nothing(reference):
    file, registries = reference
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--from", "dev", "--to", "staging", *registries)
    assert result.code == 0, result.output
    assert f"scorer: fraud-model v14 in dev = v3 in staging, {DIGEST_V14}" in result.stdout
    assert f"-{OLD_LINE}" in result.stdout.replace("  -", "-") and f"+{NEW_LINE}" in result.stdout.replace("  +", "+")
    assert "Preview only: nothing was written" in result.stdout
    assert "Plan of staging after the edit:" in result.stdout and "mlops-infra plan: fraud-detection / staging" in result.stdout
    assert "waits for fraud-model v3" in result.stdout  # A1: the endpoint waits until v3 is registered
    assert file.read_bytes() == before


def test_write_touches_only_the_pinned_line_and_is_idempotent(registered):
    file, registries = registered
    before = file.read_bytes()
    first = run_cli("promote", str(file), "--to", "staging", "--write", "--detailed-exitcode", *registries)
    assert first.code == 2, first.output
    assert f"Written: {file}" in first.stdout
    assert file.read_bytes() == before.replace(OLD_LINE.encode(), NEW_LINE.encode())
    assert before.count(OLD_LINE.encode()) == 1
    second = run_cli("promote", str(file), "--to", "staging", "--write", "--detailed-exitcode", *registries)
    assert second.code == 0, second.output
    assert "No edit: staging already pins what dev serves." in second.stdout
    assert file.read_bytes() == before.replace(OLD_LINE.encode(), NEW_LINE.encode())
    assert [p.name for p in file.parent.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_artifact_staging_already_holds_is_pinned_by_its_own_number(tmp_path):
    file = copy_reference(tmp_path)
    registries = reference_registries(tmp_path, staging_has_v14=9)
    result = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert result.code == 0, result.output
    assert "      endpoints.scorer.model.version: 9\n" in file.read_text()
    assert "not registered in staging yet" not in result.stdout


def test_json_and_markdown(reference):
    file, registries = reference
    result = run_cli("promote", str(file), "--to", "staging", "--format", "json", *registries)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    promotion = data["promotion"]
    assert (promotion["src"], promotion["dst"], promotion["changed"], promotion["written"]) == ("dev", "staging", True, None)
    assert promotion["pins"] == [{"key": "endpoints.scorer.model.version", "value": 3}]
    assert promotion["versions"][0]["digest"] == DIGEST_V14 and promotion["versions"][0]["registered"] is False
    assert data["plan"]["stack"] == "staging"
    markdown = run_cli("promote", str(file), "--to", "staging", "--format", "markdown", *registries)
    assert markdown.code == 0, markdown.stderr
    assert markdown.stdout.startswith("## Promotion `dev` → `staging`")
    assert "```diff\n" in markdown.stdout and f"+{NEW_LINE}" in markdown.stdout
    assert "| scorer | fraud-model | v14 | v3 |" in markdown.stdout
    assert f"| scorer | fraud-model | v14 | v3 | `{DIGEST_V14}` | no (artifact steps) | Approved |" in markdown.stdout


def test_preview_shows_the_approval_status_src_gives_the_version(reference):
    file, registries = reference
    result = run_cli("promote", str(file), "--to", "staging", *registries)
    assert result.code == 0, result.output
    assert f"v3 in staging, {DIGEST_V14} (not registered in staging yet: the artifact steps register it); " \
           "approval in dev: Approved\n" in result.stdout


def test_a_version_rejected_in_src_is_not_promoted_even_with_automatic_approval(tmp_path):
    """Audit finding 1: staging pins v3, Rejected in staging's registry; fraud-model is approved
    automatically, so the artifact steps would register it Approved in prod and model_approved would
    pass. The promotion refuses it first, naming the version, its status and the fix."""
    from mlops_infra.model_versions import RegistryView

    file, _ = promoted_to_staging(tmp_path)
    text = file.read_text()
    assert text.count("approval: manual") == 1
    file.write_text(text.replace("approval: manual", "approval: automatic"))
    view = staging_view(3)
    registry = view.models["fraud-model"]
    rejected = dataclasses.replace(registry.versions[3], approval="Rejected")
    staging = write_view(tmp_path / "rejected.json",
                         RegistryView({"fraud-model": dataclasses.replace(registry, versions={**registry.versions, 3: rejected})}))
    prod = write_view(tmp_path / "prod.json", prod_view({1: DIGEST_V14}, approval="Approved"))  # after the artifact steps
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "prod", "--write", "--registry", f"staging={staging}",
                     "--registry", f"prod={prod}", "--skip-gate", "no_drift", "--reason", "test")
    assert result.code == 1, result.output
    assert "cannot promote staging into prod" in result.stderr
    assert ("fraud-model v3, which staging pins on endpoint scorer, cannot be served in staging: Rejected in group "
            "fraud-detection-staging-fraud-model") in result.stderr
    assert "Traceback" not in result.output
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()


def _bad(tmp_path: Path, case: str) -> tuple[list[str], str]:
    file = copy_reference(tmp_path)
    registries = reference_registries(tmp_path)
    if case == "unknown-env":
        return [str(file), "--to", "stagng", *registries], 'No environment "stagng" (--to)'
    if case == "unknown-src":
        return [str(file), "--from", "qa", "--to", "staging", *registries], 'No environment "qa" (--from)'
    if case == "same":
        return [str(file), "--from", "staging", "--to", "staging", *registries], "Cannot promote staging into itself"
    if case == "against-direction":
        return [str(file), "--from", "prod", "--to", "staging", *registries], \
            "Promotion against promote_from's direction: prod promotes from staging"
    if case == "into-source":
        return [str(file), "--from", "staging", "--to", "dev", *registries], "Nothing is promoted into dev"
    if case == "skipping":
        return [str(file), "--from", "dev", "--to", "prod", *registries], "prod promotes from staging, not from dev"
    if case == "invalid":
        file.write_text(edit(file.read_text(), "replicas: {min: 2, max: 10}", "replicas: {min: 2, max: ten}"))
        return [str(file), "--to", "staging", *registries], "error"
    if case == "read-only":
        file.chmod(0o444)
        return [str(file), "--to", "staging", "--write", *registries], "refusing to write the promotion into a read-only file"
    if case == "missing-file":
        return [str(tmp_path / "nope.yaml"), "--to", "staging", *registries], "No such file"
    if case == "bad-registry-arg":
        return [str(file), "--to", "staging", "--registry", "dev"], "--registry takes ENV=VALUE"
    if case == "bad-registry-file":
        (tmp_path / "r.json").write_text("[1]")
        return [str(file), "--to", "staging", "--registry", f"dev={tmp_path / 'r.json'}"], "not a saved registry read"
    if case == "missing-src-state":  # dev (Kubernetes) has no registry read nor no_drift gate to use it
        return [str(file), "--to", "staging", "--src-state", str(tmp_path / "nope.json"), *registries], \
            "cannot read the state file"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["unknown-env", "unknown-src", "same", "against-direction", "into-source", "skipping",
                                  "invalid", "read-only", "missing-file", "bad-registry-arg", "bad-registry-file",
                                  "missing-src-state"])
def test_bad_input_is_exit_1_with_a_clear_error_and_no_edit(tmp_path, case):
    args, message = _bad(tmp_path, case)
    file = Path(args[0])
    before = file.read_bytes() if file.exists() else None
    result = run_cli("promote", *args)
    assert result.code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output and "internal error" not in result.output
    if before is not None:
        assert file.read_bytes() == before


def test_direction_errors_point_at_the_line(tmp_path):
    args, _ = _bad(tmp_path, "against-direction")
    result = run_cli("promote", *args)
    line = Path(args[0]).read_text().splitlines().index("    promote_from: dev") + 1
    assert f"mlsystem.yaml:{line}:" in result.stderr
    assert "--from dev --to staging" in result.stderr


def test_console_script_in_a_fresh_process(registered):
    file, registries = registered
    result = run_cli_subprocess("promote", str(file), "--to", "staging", "--write", *registries)
    assert result.code == 0, result.stderr
    assert NEW_LINE in file.read_text()
    bad = run_cli_subprocess("promote", str(file), "--from", "staging", "--to", "staging")
    assert bad.code == 1 and "Traceback" not in bad.stderr


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from mlops_infra.promote.promote import Promotion, write_promotion
    from mlops_infra.promote.edit import Edit
    from mlops_infra.promote.versions import VersionMap
    path = Path(sys.argv[1])
    original = path.read_bytes()
    after = original.decode().replace("version: 13", "version: 3") * 50
    promotion = Promotion("dev", "staging", str(path), VersionMap((), (), ()), Edit(original.decode(), after, ()), None, None)
    real_fsync = os.fsync
    def slow_fsync(fd):
        print("writing", flush=True)
        time.sleep(60)
        real_fsync(fd)
    os.fsync = slow_fsync
    write_promotion(path, promotion, original)
""")


@pytest.mark.timeout(60)
def test_a_process_killed_while_writing_leaves_the_file_whole(tmp_path):
    file = copy_reference(tmp_path)
    before = file.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(file)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout.readline().strip() == "writing"  # the new text is in the temporary file, not synced
        temporary = [p for p in tmp_path.iterdir() if p.name.startswith(".mlsystem.yaml.")]
        assert len(temporary) == 1 and temporary[0].stat().st_size > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert file.read_bytes() == before  # never truncated or half-written: the rename never happened
    assert stat.S_ISREG(file.stat().st_mode)


def test_write_refuses_a_pin_a_later_override_replaces(reference):
    """Audit finding 3 through the console script: nothing written, at a file:line. Since audit envs-1
    the file itself is refused when promote reads it (override-replaced at the dead pin, the one rule
    spec.effective.replaced_overrides that promote's own refusal, tests/promote/test_promote_core.py,
    uses too), before any edit."""
    file, registries = reference
    later = "      endpoints.scorer.model: {name: fraud-model, version: 13}\n"
    file.write_text(file.read_text().replace(OLD_LINE, OLD_LINE + later))
    before = file.read_bytes()
    line = before.decode().splitlines().index(OLD_LINE.rstrip("\n")) + 1
    result = run_cli("promote", str(file), "--to", "staging", "--write", *registries)
    assert result.code == 1, result.output
    assert (f"{file}:{line}:39: error: Override \"endpoints.scorer.model.version\" has no effect in environment "
            "staging: the later override \"endpoints.scorer.model\" replaces it") in result.stderr
    assert "Traceback" not in result.output
    assert file.read_bytes() == before and not (file.parent / "releases.jsonl").exists()
