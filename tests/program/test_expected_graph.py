"""Audit concurrency-7: under ``pulumi up`` the program registers the graph ``apply`` showed, or nothing.

The program runs under Pulumi's mocks with a monitor that records every registration, as
``tests/program/test_program_mocks.py`` runs it; ``$MLOPS_INFRA_EXPECTED_GRAPH`` holds the digest of the graph
compiled (what apply showed), then the system file is edited as ``promote --write`` or an editor would.
"""

from __future__ import annotations

import contextvars
import runpy
import shutil
from pathlib import Path

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from mlops_infra.compile import compile_system
from mlops_infra.program import run
from mlops_infra.program.delete_first import DELETE_FIRST_ENV
from mlops_infra.program.expected_graph import EXPECTED_GRAPH_ENV, refuse_another_graph
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import (
    CapturingMonitor,
    EchoMocks,
    capture_program,
    differences,
    referenced_outputs,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"
SHOWN = "endpoints.churn-api.replicas: {min: 1, max: 1}"
EDITED = "endpoints.churn-api.replicas: {min: 3, max: 3}"


def compiled(path: Path, env: str):
    loaded = load_system(path, env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def run_recorded(program, project: str, stack: str) -> tuple[BaseException | None, dict]:
    """Run ``program`` under capturing mocks; (what it raised, every resource registered before that)."""
    def inside():
        mocks = EchoMocks()
        monitor = CapturingMonitor(mocks)
        pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
        try:
            _sync_await(run_pulumi_func(program))
        except Exception as exc:  # the test asserts which one
            return exc, dict(monitor.captured)
        return None, dict(monitor.captured)

    return contextvars.Context().run(inside)


@pytest.fixture
def system_file(tmp_path: Path) -> Path:
    path = tmp_path / "mlsystem.yaml"
    shutil.copy(QUICKSTART, path)
    assert SHOWN in path.read_text()
    return path


def test_a_file_edited_after_the_plan_was_shown_registers_nothing(system_file: Path, monkeypatch):
    shown = compiled(system_file, "dev")  # what apply compiled, showed and the user confirmed
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, shown.digest())
    system_file.write_text(system_file.read_text().replace(SHOWN, EDITED))  # meanwhile: promote --write, git pull
    assert compiled(system_file, "dev").digest() != shown.digest()
    raised, registered = run_recorded(lambda: run(str(system_file), "dev"), shown.project, shown.stack)
    assert isinstance(raised, pulumi.RunError)
    message = str(raised)
    assert message.startswith("the system changed since the plan was shown")
    assert "nothing was applied" in message and "mlops-infra plan" in message and str(system_file) in message
    assert registered == {}


def test_the_graph_shown_is_registered_whole(system_file: Path, monkeypatch):
    shown = compiled(system_file, "dev")
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, shown.digest())
    capture = capture_program(lambda: run(str(system_file), "dev"), shown.project, shown.stack,
                              referenced_outputs(shown))
    assert differences(shown, capture) == []


def test_the_per_run_overlays_are_compared_before_they_apply(monkeypatch):
    """Phase 1 of an ordered apply leaves URNs out ($MLOPS_INFRA_PHASE_OMIT) and a Failed endpoint is registered
    deleting first ($MLOPS_INFRA_DELETE_FIRST): apply's digest is of the whole graph, and neither is refused."""
    from mlops_infra.plan.sequences import PHASE_OMIT_ENV

    path = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
    graph = compiled(path, "prod")
    omit = sorted(r.urn for r in graph.resources if r.type.startswith("aws:appautoscaling/"))
    endpoint = next(r.urn for r in graph.resources if r.type == "aws:sagemaker/endpoint:Endpoint")
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, graph.digest())
    monkeypatch.setenv(PHASE_OMIT_ENV, ",".join(omit))
    monkeypatch.setenv(DELETE_FIRST_ENV, endpoint)
    capture = capture_program(lambda: run(str(path), "prod"), graph.project, graph.stack, referenced_outputs(graph))
    assert omit and not set(omit) & set(capture.resources)
    assert len(capture.resources) == len(graph.resources) - len(omit)
    assert capture.resources[endpoint].options["deleteBeforeReplace"] is True


@pytest.mark.parametrize("stack_dir", sorted(p.parent for p in REPO.glob("stacks/*/__main__.py")), ids=lambda p: p.name)
def test_the_stack_program_compiles_to_the_digest_apply_shows(stack_dir: Path, monkeypatch):
    """What ``pulumi up`` runs (cwd the stack directory, the system file relative to it, the Pulumi project and
    stack) compiles to the very digest apply computes from the file's absolute path: never a false refusal."""
    env = stack_dir.name
    config = yaml.safe_load((stack_dir / f"Pulumi.{env}.yaml").read_text())["config"]
    project = yaml.safe_load((stack_dir / "Pulumi.yaml").read_text())["name"]
    shown = compiled((stack_dir / config["mlops:systemFile"]).resolve(), config["mlops:environment"])
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, shown.digest())
    monkeypatch.chdir(stack_dir)
    capture = capture_program(lambda: runpy.run_path("__main__.py", run_name="__main__"), project, env,
                              referenced_outputs(shown), config={k: str(v) for k, v in config.items()})
    assert differences(shown, capture) == []


def test_without_the_variable_nothing_is_compared(system_file: Path):
    """A bare `pulumi up`/`preview` in the stack directory compiles what the file says."""
    refuse_another_graph(compiled(system_file, "dev"), str(system_file), environ={})
    with pytest.raises(pulumi.RunError, match="nothing was applied"):
        refuse_another_graph(compiled(system_file, "dev"), str(system_file), environ={EXPECTED_GRAPH_ENV: "0" * 64})
