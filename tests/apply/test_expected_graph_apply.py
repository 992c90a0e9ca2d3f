"""Audit concurrency-7 through ``mlops-infra apply``: the graph shown is the graph ``pulumi up`` may register.

The real CLI, the real ``engine.up`` and Automation API ``Stack`` over the recording ``pulumi`` stand-in (it answers
``stack select``/``config set-all``); ``Stack.up`` is replaced by what the Pulumi CLI does with the program: run
``stacks/dev/__main__.py`` (cwd the stack directory, its stack config, the workspace's environment, here under
Pulumi's mocks) and, when the program raises ``pulumi.RunError``, fail with the error diagnostic the Python language
host logs for it (pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``: ``except pulumi.RunError as e:
pulumi.log.error(str(e))``; the diff display writes diagnostics to stderr, ``pkg/backend/display/diff.go``
``ShowDiffEvents``).
"""

from __future__ import annotations

import json
import runpy
import types
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import create_command_error

from mlops_infra.compile import compile_system
from mlops_infra.errors import UserError
from mlops_infra.program.expected_graph import EXPECTED_GRAPH_ENV
from mlops_infra.spec import load_system
from tests.cli.test_apply_interrupt import FRAUD, repo  # noqa: F401  (a fixture)
from tests.support import pulumi_stand_in
from tests.support.cli import run_cli
from tests.support.pulumi_capture import capture_program

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SHOWN = "endpoints.scorer.replicas: {min: 1, max: 2}"
EDITED = "endpoints.scorer.replicas: {min: 1, max: 3}"


def _pulumi_up(monkeypatch, stack_dir: Path, before=lambda: None) -> list[dict]:
    """Replace ``Stack.up`` by the program's run under mocks (see the module docstring); the environment each
    ``up`` got is recorded. ``before`` runs first: what happens between the prompt and ``up``."""
    import pulumi.automation as auto

    seen: list[dict] = []

    def up(self, **kwargs):
        environ = dict(self.workspace.env_vars)
        seen.append(environ)
        before()
        config = yaml.safe_load((stack_dir / "Pulumi.dev.yaml").read_text())["config"]
        with monkeypatch.context() as m:
            for key, value in environ.items():
                m.setenv(key, value)
            m.chdir(stack_dir)
            try:
                capture = capture_program(lambda: runpy.run_path("__main__.py", run_name="__main__"),
                                          "fraud-detection", "dev", config={k: str(v) for k, v in config.items()})
            except pulumi.RunError as exc:
                stderr = f"  pulumi:pulumi:Stack (fraud-detection-dev):\n    error: {exc}\n"
                raise create_command_error(CommandResult(stdout="Updating (dev):\n", stderr=stderr, code=255)) from None
        return types.SimpleNamespace(outputs={}, stdout="",
                                     summary=types.SimpleNamespace(resource_changes={"same": len(capture.resources)}))

    monkeypatch.setattr(auto.Stack, "up", up)
    return seen


def test_apply_hands_the_program_the_digest_of_the_graph_it_showed(repo, tmp_path, monkeypatch) -> None:  # noqa: F811
    """Fails before: no MLOPS_INFRA_EXPECTED_GRAPH in up's environment."""
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    seen = _pulumi_up(monkeypatch, repo / "stacks" / "dev")
    planned = run_cli("plan", FRAUD, "--env", "dev", "--format", "json")
    assert planned.code == 0, planned.stderr
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 0, result.output
    assert len(seen) == 1
    assert seen[0][EXPECTED_GRAPH_ENV] == json.loads(planned.stdout)["graphDigest"]


def test_a_file_edited_during_the_prompt_is_not_applied(repo, tmp_path, monkeypatch) -> None:  # noqa: F811
    """The audit's case: the system file is edited between the plan shown and ``pulumi up``. Fails before: apply
    exits 0 having run the edited file's graph (the program registered replicas 3)."""
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    system_file = repo / FRAUD
    assert SHOWN in system_file.read_text()
    shown = compile_system(load_system(system_file, "dev").system, "dev").digest()

    def edit():
        system_file.write_text(system_file.read_text().replace(SHOWN, EDITED))

    seen = _pulumi_up(monkeypatch, repo / "stacks" / "dev", before=edit)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert len(seen) == 1
    assert (f"\n{FRAUD}: error: the system changed since the plan was shown: `pulumi up` refused to apply it\n"
            in result.stderr), result.stderr
    assert "Nothing was applied: the Pulumi program stopped before registering any resource." in result.stderr
    assert "Run `mlops-infra plan` to see the change, then apply again." in result.stderr
    assert "Traceback" not in result.stderr and "Pulumi failed" not in result.stderr
    assert shown != compile_system(load_system(system_file, "dev").system, "dev").digest()


def test_a_refused_phase_two_says_phase_one_was_applied() -> None:
    from mlops_infra.cli.commands.apply import changed_since_shown

    failure = UserError("Pulumi failed: the system changed since the plan was shown (x): nothing was applied.")
    first = changed_since_shown(failure, Path("mlsystem.yaml"), earlier=False)
    later = changed_since_shown(failure, Path("mlsystem.yaml"), earlier=True)
    assert first is not None and later is not None
    assert first.detail.startswith("Nothing was applied") and later.detail.startswith("Phase 1 (")
    assert "phase 2 was not" in later.detail
    assert changed_since_shown(UserError("Pulumi failed: update failed"), Path("f"), earlier=False) is None

