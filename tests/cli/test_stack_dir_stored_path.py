"""A stack directory whose ``mlops:systemFile`` holds a path another checkout stored is still this
system's (audit closing-33a-1).

Until e6e11e7, every apply wrote the absolute path of its spec into the committed
``stacks/<env>/Pulumi.<env>.yaml`` (``pulumi config set-all`` saves the stack settings file:
pulumi/pulumi ``pkg/cmd/pulumi/config/config.go`` ``newConfigSetAllCmd``). 221f9ea then compared that
path with the spec: in a moved checkout, a teammate's clone or CI, the system's own stack directory
counted as another system's, so ``plan`` read no state and planned every resource as new, and
``apply`` was refused. The project name (the state's key) still decides: another system's stack
directory is passed over and refused as before (tests/cli/test_apply_stack_identity.py).
"""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_apply_stack_identity import FRAUD, fraud_dev_state, pulumi, repo, write_backend_state
from tests.support.cli import run_cli

__all__ = ["pulumi", "repo"]  # fixtures

STATE_LINE = "Prior state: stacks/dev/.pulumi/stacks/fraud-detection/dev.json"


def stored(repo: Path, system_file: str) -> None:
    """``stacks/dev/Pulumi.dev.yaml`` as an apply from another checkout left it (config set-all)."""
    (repo / "stacks/dev/Pulumi.dev.yaml").write_text(
        f"config:\n  mlops:environment: dev\n  mlops:systemFile: {system_file}\n", encoding="utf-8")


def test_a_path_of_another_checkout_that_does_not_exist_here_keeps_the_state(repo: Path, pulumi) -> None:
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    stored(repo, "/home/alice/src/mlops-repo/examples/fraud-detection/mlsystem.yaml")
    result = run_cli("plan", FRAUD, "--env", "dev")
    assert result.code == 0, result.output
    assert STATE_LINE in result.stdout and "none found" not in result.stdout  # on 221f9ea: "42 to add"
    assert "No changes" in result.stdout or "0 to add" in result.stdout, result.stdout


def test_apply_from_the_stack_directory_goes_on_with_a_stale_stored_path(repo: Path, pulumi, monkeypatch) -> None:
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    stored(repo, "/home/alice/src/mlops-repo/examples/fraud-detection/mlsystem.yaml")
    monkeypatch.chdir(repo / "stacks/dev")
    result = run_cli("apply", f"../../{FRAUD}", "--env", "dev", "--yes")
    assert result.code == 0, result.output  # on 221f9ea: "deploys /home/alice/..., not ../../..." (exit 1)
    assert "Nothing to apply: the stack already matches the system" in result.stdout, result.stdout  # its state
    assert pulumi.ran("up") == []  # nothing to change, nothing run


def test_a_stored_path_of_another_system_that_exists_is_still_another_systems(repo: Path, pulumi) -> None:
    """The quickstart's file exists here: stacks/dev (named for it) is passed over for fraud-detection."""
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    stored(repo, "../../examples/quickstart/mlsystem.yaml")
    result = run_cli("plan", FRAUD, "--env", "dev")
    assert result.code == 0, result.output
    assert STATE_LINE not in result.stdout and "none found" in result.stdout


def test_without_a_file_a_stale_stored_path_is_a_clear_error_naming_where_it_is_set(repo: Path, pulumi,
                                                                                   monkeypatch) -> None:
    """Run in the stack directory with no FILE (the spec is mlops:systemFile, resolve_target): the path of
    another checkout is refused naming Pulumi.dev.yaml, with this checkout's file of the same path's tail
    (closing-33c-2: before, "No such file: /home/alice/...; it is relative to the current directory")."""
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    stored(repo, "/home/alice/src/mlops-repo/examples/fraud-detection/mlsystem.yaml")
    monkeypatch.chdir(repo / "stacks/dev")
    for command in ("plan", "apply"):
        result = run_cli(command, "--env", "dev", *(("--yes",) if command == "apply" else ()))
        assert result.code == 1 and "Traceback" not in result.output, result.output
        assert "Pulumi.dev.yaml" in result.stderr and "/home/alice/src/mlops-repo" in result.stderr
        assert "another checkout" in result.stderr
        assert f"mlops-infra plan ../../{FRAUD}" in result.stderr, result.stderr
        assert f"set mlops:systemFile to ../../{FRAUD}" in result.stderr
    assert pulumi.calls() == []


def test_the_system_file_named_in_another_case_on_a_case_insensitive_disk_keeps_the_state(repo: Path, pulumi) -> None:
    """macOS's APFS is case-insensitive by default: ``MLSystem.yaml`` is ``mlsystem.yaml``, yet ``Path.resolve`` keeps
    the case as typed (audit portab45-6). A hard link models it here: two names, one (st_dev, st_ino). Before, the
    stack directory was taken for another system's: "none found", every resource planned as new."""
    write_backend_state(repo / "stacks/dev", fraud_dev_state())
    stored(repo, "../../examples/fraud-detection/mlsystem.yaml")
    other_case = repo / "examples/fraud-detection/MLSystem.yaml"
    other_case.hardlink_to(repo / FRAUD)
    result = run_cli("plan", "examples/fraud-detection/MLSystem.yaml", "--env", "dev")
    assert result.code == 0, result.output
    assert STATE_LINE in result.stdout and "none found" not in result.stdout, result.stdout
