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



# Audit closing-37b-3: the stack configuration file edited between the plan shown and `pulumi up`.

CIPHERTEXT = {"shown": "v1:c2hvd24tbm9uY2U=:c2hvd24tY2lwaGVydGV4dA==", "other": "v1:b3RoZXItbm9uY2U=:b3RoZXI="}
PLAINTEXT = {CIPHERTEXT["shown"]: "kubeconfig-shown-PLAINTEXT", CIPHERTEXT["other"]: "kubeconfig-other-PLAINTEXT"}


def _engine_up(monkeypatch, stack_dir: Path, before=lambda: None) -> tuple[list[dict], list[dict]]:
    """``Stack.up`` as the Pulumi CLI runs the program (see the module docstring), with its stack config passed as
    the engine passes it: read from ``Pulumi.dev.yaml`` when ``up`` starts (after ``before``), ``secure:`` values
    decrypted (:data:`PLAINTEXT`) and named secret, the rest as text (pulumi/pulumi
    ``pkg/resource/deploy/source_eval.go`` ``Iterate``, ``sdk/python/cmd/pulumi-language-python/main.go``
    ``constructConfig``). Returns the environment of each ``up`` and what each registered (URN -> resource)."""
    import contextvars

    import pulumi.automation as auto
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from tests.support.pulumi_capture import CapturingMonitor, EchoMocks

    seen: list[dict] = []
    registered: list[dict] = []

    def program_run(texts: dict[str, str], secret: list[str]):
        mocks = EchoMocks()
        monitor = CapturingMonitor(mocks)
        pulumi_mocks.set_mocks(mocks, project="fraud-detection", stack="dev", preview=False, monitor=monitor)
        set_all_config(texts, secret)
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path("__main__.py", run_name="__main__")))
        except pulumi.RunError as exc:
            return exc, dict(monitor.captured)
        return None, dict(monitor.captured)

    def up(self, **kwargs):
        environ = dict(self.workspace.env_vars)
        seen.append(environ)
        before()
        texts, secret = {}, []
        for key, value in yaml.safe_load((stack_dir / "Pulumi.dev.yaml").read_text())["config"].items():
            if isinstance(value, dict) and set(value) == {"secure"}:
                texts[key], secret = PLAINTEXT[value["secure"]], [*secret, key]
            else:
                texts[key] = value if isinstance(value, str) else json.dumps(value)
        with monkeypatch.context() as m:
            for key, value in environ.items():
                m.setenv(key, value)
            m.chdir(stack_dir)
            raised, captured = contextvars.Context().run(program_run, texts, secret)
        registered.append(captured)
        if raised is not None:
            stderr = f"  pulumi:pulumi:Stack (fraud-detection-dev):\n    error: {raised}\n"
            raise create_command_error(CommandResult(stdout="Updating (dev):\n", stderr=stderr, code=255))
        return types.SimpleNamespace(outputs={}, stdout="",
                                     summary=types.SimpleNamespace(resource_changes={"same": len(captured)}))

    monkeypatch.setattr(auto.Stack, "up", up)
    return seen, registered


def _set_config(stack_dir: Path, **settings) -> None:
    path = stack_dir / "Pulumi.dev.yaml"
    data = yaml.safe_load(path.read_text())
    data["config"].update({key.replace("_", ":", 1): value for key, value in settings.items()})
    path.write_text(yaml.safe_dump(data))


def _contexts(resources: dict) -> list[str]:
    return sorted(r.inputs.get("context") for r in resources.values() if r.type == "pulumi:providers:kubernetes")


def test_a_stack_config_edited_during_the_prompt_is_not_applied(repo, tmp_path, monkeypatch) -> None:  # noqa: F811
    """The audit's repro: ``kubernetes:context: prod-cluster`` added to Pulumi.dev.yaml between the plan shown and
    ``pulumi up``. Fails before: exit 0, the provider registered against prod-cluster."""
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    stack_dir = repo / "stacks" / "dev"
    seen, registered = _engine_up(monkeypatch, stack_dir,
                                  before=lambda: _set_config(stack_dir, kubernetes_context="prod-cluster"))
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert len(seen) == 1 and registered == [{}]
    assert ("\nstacks/dev/Pulumi.dev.yaml: error: the stack configuration changed since the plan was shown: "
            "`pulumi up` refused to apply it\n" in result.stderr), result.stderr
    assert "Nothing was applied: the Pulumi program stopped before registering any resource." in result.stderr
    assert "run `mlops-infra plan`, then apply again." in result.stderr
    assert "Traceback" not in result.stderr and "Pulumi failed" not in result.stderr
    assert "prod-cluster" not in result.output


def test_an_unchanged_stack_config_is_applied_with_its_settings(repo, tmp_path, monkeypatch) -> None:  # noqa: F811
    """The settings in the file when the plan is shown (a context, a ``secure:`` kubeconfig) are pinned and applied."""
    pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    stack_dir = repo / "stacks" / "dev"
    _set_config(stack_dir, kubernetes_context="kind-staging", kubernetes_kubeconfig={"secure": CIPHERTEXT["shown"]})
    seen, registered = _engine_up(monkeypatch, stack_dir)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 0, result.output
    assert len(seen) == 1 and len(seen[0]["MLOPS_INFRA_EXPECTED_STACK_CONFIG"]) == 64
    assert _contexts(registered[0]) and set(_contexts(registered[0])) == {"kind-staging"}
    providers = [r for r in registered[0].values() if r.type == "pulumi:providers:kubernetes"]
    # a secure: value is registered as a secret, so the state stores only its ciphertext (audit secrets-1)
    assert providers and all(r.inputs.get("kubeconfig") == {"$secret": PLAINTEXT[CIPHERTEXT["shown"]]}
                             and "kubeconfig" in r.options["additionalSecretOutputs"] for r in providers)


def test_a_changed_secure_value_is_refused_and_never_shown(repo, tmp_path, monkeypatch) -> None:  # noqa: F811
    """Another ciphertext for ``kubernetes:kubeconfig``: refused; neither plaintext nor ciphertext in any output.
    Fails before: applied with the other kubeconfig, exit 0."""
    stand_in = pulumi_stand_in.install(tmp_path / "bin", monkeypatch, up="ok")
    stack_dir = repo / "stacks" / "dev"
    _set_config(stack_dir, kubernetes_kubeconfig={"secure": CIPHERTEXT["shown"]})
    _, registered = _engine_up(monkeypatch, stack_dir, before=lambda: _set_config(
        stack_dir, kubernetes_kubeconfig={"secure": CIPHERTEXT["other"]}))
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert registered == [{}]
    assert "error: the stack configuration changed since the plan was shown" in result.stderr, result.stderr
    said = result.output + result.stderr + json.dumps(stand_in.records())
    assert not any(s in said for s in [*CIPHERTEXT.values(), *PLAINTEXT.values(), "PLAINTEXT", "v1:"])
