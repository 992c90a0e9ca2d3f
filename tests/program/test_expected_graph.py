"""Audit concurrency-7: under ``pulumi up`` the program registers the graph ``apply`` showed, or nothing.

The program runs under Pulumi's mocks with a monitor that records every registration, as
``tests/program/test_program_mocks.py`` runs it; ``$MLOPS_INFRA_EXPECTED_GRAPH`` holds the digest of the graph
compiled (what apply showed), then the system file is edited as ``promote --write`` or an editor would.
"""

from __future__ import annotations

import contextvars
import json
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
from mlops_infra.program.expected_graph import (
    CONFIG_CHANGED,
    EXPECTED_GRAPH_ENV,
    EXPECTED_STACK_CONFIG_ENV,
    refuse_another_graph,
    refuse_another_stack_config,
    stack_config_digest,
)
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


# Audit closing-37b-3: the provider settings the program copies from stack config are pinned like the graph.
# The engine hands the program its stack config decrypted, as text (objects as JSON), and names the secure keys
# (pulumi/pulumi pkg/resource/deploy/source_eval.go `Iterate`, sdk/python/cmd/pulumi-language-python/main.go
# `constructConfig`, PULUMI_CONFIG_SECRET_KEYS); `runtime_config` acts that out from the stack directory's files.

CIPHERTEXT = "v1:c2hvd24tY2lwaGVydGV4dA==:c2VjcmV0LXBheWxvYWQ="
PLAINTEXT = {CIPHERTEXT: "apiVersion: v1  # shown-kubeconfig-PLAINTEXT",
             "v1:b3RoZXItY2lwaGVydGV4dA==:b3RoZXI=": "apiVersion: v1  # other-kubeconfig-PLAINTEXT"}


def stack_dir(tmp_path: Path, config: dict, project_config: dict | None = None) -> Path:
    directory = tmp_path / "stacks" / "dev"
    directory.mkdir(parents=True, exist_ok=True)
    project = {"name": "churn", "runtime": "python", **({"config": project_config} if project_config else {})}
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (directory / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    return directory


def runtime_config(directory: Path) -> tuple[dict[str, str], list[str]]:
    """What the engine passes the program from ``Pulumi.dev.yaml`` over the project's ``config:`` ``{value:}``s:
    secure values decrypted, the rest as text."""
    project = yaml.safe_load((directory / "Pulumi.yaml").read_text()).get("config", {})
    config = {**{k: v["value"] for k, v in project.items()},
              **yaml.safe_load((directory / "Pulumi.dev.yaml").read_text())["config"]}
    texts, secret = {}, []
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            texts[key], secret = PLAINTEXT[value["secure"]], [*secret, key]
        else:
            texts[key] = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return texts, secret


def run_in_stack(directory: Path, system_file: Path, graph) -> tuple[BaseException | None, dict]:
    from pulumi.runtime.config import set_all_config

    texts, secret = runtime_config(directory)

    def program():
        set_all_config(texts, secret)
        return run(str(system_file), "dev")

    with pytest.MonkeyPatch.context() as m:
        m.chdir(directory)
        return run_recorded(program, graph.project, "dev")


def test_a_stack_config_edited_after_the_plan_was_shown_registers_nothing(system_file, tmp_path, monkeypatch):
    """The audit's case: ``kubernetes:context`` added to Pulumi.dev.yaml after apply read it. Fails before: the
    program registers every resource, its provider against ``prod-cluster``."""
    graph = compiled(system_file, "dev")
    directory = stack_dir(tmp_path, {"mlops:environment": "dev"})
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, graph.digest())
    monkeypatch.setenv(EXPECTED_STACK_CONFIG_ENV, stack_config_digest(directory, "dev", graph))
    stack_dir(tmp_path, {"mlops:environment": "dev", "kubernetes:context": "prod-cluster"})  # meanwhile: git pull
    raised, registered = run_in_stack(directory, system_file, graph)
    assert isinstance(raised, pulumi.RunError), raised
    message = str(raised)
    assert message.startswith(f"{CONFIG_CHANGED} ({directory / 'Pulumi.dev.yaml'} was edited after")
    assert "kubernetes:context" in message and "nothing was applied" in message and "mlops-infra plan" in message
    assert "prod-cluster" not in message
    assert registered == {}


def test_an_unchanged_stack_config_is_registered_with(system_file, tmp_path, monkeypatch):
    """Values of every shape (a string, a boolean, a JSON object, a project ``{value:}``) digest the same from the
    file (apply) and from the engine's text (the program): no false refusal, and the provider gets them."""
    graph = compiled(system_file, "dev")
    directory = stack_dir(tmp_path, {"kubernetes:kubeconfig": {"a": [1, True]}},
                          project_config={"kubernetes:context": {"value": "kind-other"}})
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, graph.digest())
    monkeypatch.setenv(EXPECTED_STACK_CONFIG_ENV, stack_config_digest(directory, "dev", graph))
    raised, registered = run_in_stack(directory, system_file, graph)
    assert raised is None
    providers = [r for r in registered.values() if r.type == "pulumi:providers:kubernetes"]
    assert providers and all(p.inputs["context"] == "kind-other" for p in providers)
    assert len(registered) == len(graph.resources)


def test_a_changed_secure_value_is_refused_without_showing_it(system_file, tmp_path, monkeypatch):
    """A ``secure:`` value is pinned by its ciphertext (never decrypted by apply); another ciphertext is refused,
    and neither the plaintext nor a ciphertext is in the message. Fails before: registered with the other one."""
    graph = compiled(system_file, "dev")
    directory = stack_dir(tmp_path, {"kubernetes:kubeconfig": {"secure": CIPHERTEXT}})
    monkeypatch.setenv(EXPECTED_GRAPH_ENV, graph.digest())
    monkeypatch.setenv(EXPECTED_STACK_CONFIG_ENV, stack_config_digest(directory, "dev", graph))
    raised, registered = run_in_stack(directory, system_file, graph)  # the same ciphertext: registered
    assert raised is None and len(registered) == len(graph.resources)
    other = next(c for c in PLAINTEXT if c != CIPHERTEXT)
    stack_dir(tmp_path, {"kubernetes:kubeconfig": {"secure": other}})
    raised, registered = run_in_stack(directory, system_file, graph)
    assert isinstance(raised, pulumi.RunError) and registered == {}
    message = str(raised)
    assert message.startswith(CONFIG_CHANGED) and "kubernetes:kubeconfig" in message
    assert not any(secret in message for secret in [*PLAINTEXT, *PLAINTEXT.values(), "PLAINTEXT", "v1:"])


def test_aws_settings_digest_the_same_from_the_file_and_from_the_engines_text(tmp_path):
    """``aws:endpoints`` (a list of objects: JSON text), ``aws:insecure`` (a boolean: ``true``) and a string read
    by the program as the engine passes them digest as apply reads the file."""
    graph = compiled(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "prod")
    directory = stack_dir(tmp_path, {"aws:endpoints": [{"s3": "http://127.0.0.1:5000", "iam": "http://x"}],
                                     "aws:insecure": True, "aws:skipMetadataApiCheck": "true",
                                     "kubernetes:context": "not-copied-on-aws"})
    texts, _ = runtime_config(directory)
    from_file = stack_config_digest(directory, "dev", graph)
    assert from_file == stack_config_digest(directory, "dev", graph, lambda p, k: texts.get(f"{p}:{k}"))
    texts["aws:endpoints"] = json.dumps([{"s3": "http://127.0.0.1:5001", "iam": "http://x"}])
    assert from_file != stack_config_digest(directory, "dev", graph, lambda p, k: texts.get(f"{p}:{k}"))


def test_only_the_settings_of_the_graphs_providers_are_pinned(system_file, tmp_path):
    """A Kubernetes environment registers no AWS provider: ``aws:endpoints`` is not copied, so not pinned; the
    ``mlops:`` keys never are."""
    graph = compiled(system_file, "dev")
    directory = stack_dir(tmp_path, {"mlops:environment": "dev"})
    before = stack_config_digest(directory, "dev", graph)
    stack_dir(tmp_path, {"mlops:environment": "staging", "aws:endpoints": [{"s3": "http://127.0.0.1:1"}]})
    assert stack_config_digest(directory, "dev", graph) == before
    stack_dir(tmp_path, {"kubernetes:context": "x"})
    assert stack_config_digest(directory, "dev", graph) != before


def test_without_the_stack_config_variable_nothing_is_compared(system_file, tmp_path):
    graph = compiled(system_file, "dev")
    directory = stack_dir(tmp_path, {"kubernetes:context": "prod-cluster"})
    refuse_another_stack_config(graph, directory, "dev", environ={})
    with pytest.raises(pulumi.RunError, match=CONFIG_CHANGED):
        refuse_another_stack_config(graph, directory, "dev", environ={EXPECTED_STACK_CONFIG_ENV: "0" * 64})
