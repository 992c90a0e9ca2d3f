"""The Pulumi program registers exactly the compiled graph, for every example and environment.

Runs ``mlops_infra.program.run`` (and each ``stacks/<env>/__main__.py``) under Pulumi's mocks with
:class:`tests.support.pulumi_capture.CapturingMonitor`, then compares every registration with
``compile_system``: the same URNs, and per resource the same type, name, parent, provider,
dependencies, options and inputs (sentinels resolved with the mocks' outputs). Also checks that
every resource an SDK types was built with that typed class (``pulumi_aws.s3.Bucket``, ...).
"""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import pulumi
import pytest

from mlops_infra.compile import compile_system
from mlops_infra.program import run
from mlops_infra.program.components import MlComponent, component_class
from mlops_infra.program.types import resource_class
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/mlsystem.yaml"))
CASES = [(path, env) for path in EXAMPLES for env in sorted(load_system(path).system.environments)]
STACKS = sorted(p.parent for p in REPO.glob("stacks/*/__main__.py"))


def compiled(path: Path, env: str):
    loaded = load_system(path, env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def assert_typed_classes(graph, classes: dict[str, type]) -> None:
    from pulumi_kubernetes.apiextensions import CustomResource

    for resource in graph.resources:
        cls = classes[resource.urn]
        if not resource.custom:
            assert cls is component_class(resource.type) and issubclass(cls, MlComponent)
            continue
        typed = resource_class(resource.type)
        if resource.type.startswith("aws:") or resource.type == "pulumi:providers:aws":
            assert typed is not None and cls is typed and cls.__module__.startswith("pulumi_aws"), resource.urn
        elif typed is None:
            assert cls is CustomResource and resource.type.startswith("kubernetes:"), resource.urn
        else:
            assert cls is typed, resource.urn


def test_examples_cover_both_targets():
    kinds = {load_system(path).system.environments[env].target.kind for path, env in CASES}
    assert kinds == {"aws", "kubernetes"}


@pytest.mark.parametrize(("path", "env"), CASES, ids=[f"{p.parent.name}-{e}" for p, e in CASES])
def test_program_registers_the_compiled_graph(path: Path, env: str):
    graph = compiled(path, env)
    capture = capture_program(lambda: run(str(path), env), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []
    assert_typed_classes(graph, capture.result.classes)


@pytest.mark.parametrize("stack_dir", STACKS, ids=lambda p: p.name)
def test_stack_directory_program_registers_its_environment(stack_dir: Path, monkeypatch):
    """What ``cd stacks/<env> && pulumi up`` runs: __main__.py with the stack's config, cwd = the stack."""
    import yaml

    env = stack_dir.name
    config = yaml.safe_load((stack_dir / f"Pulumi.{env}.yaml").read_text())["config"]
    project = yaml.safe_load((stack_dir / "Pulumi.yaml").read_text())["name"]
    graph = compiled((stack_dir / config["mlops:systemFile"]).resolve(), config["mlops:environment"])
    monkeypatch.chdir(stack_dir)
    capture = capture_program(lambda: runpy.run_path("__main__.py", run_name="__main__"), project, env,
                              referenced_outputs(graph), config={k: str(v) for k, v in config.items()})
    assert differences(graph, capture) == []


def test_invalid_system_stops_the_program_with_every_diagnostic(tmp_path: Path):
    bad = tmp_path / "mlsystem.yaml"
    text = (REPO / "examples" / "quickstart" / "mlsystem.yaml").read_text()
    bad.write_text(text.replace("version: 1}", "version: one}").replace("threshold: 300ms", "threshold: fast"))
    with pytest.raises(pulumi.RunError) as info:
        capture_program(lambda: run(str(bad), "prod"), "churn-quickstart", "prod")
    message = str(info.value)
    assert message.count(f"{bad}:") >= 2 and "error:" in message
    assert "is not valid for environment 'prod'" in message


def test_environment_defaults_to_the_stack_name(tmp_path: Path):
    path = REPO / "examples" / "quickstart" / "mlsystem.yaml"
    graph = compiled(path, "prod")
    capture = capture_program(lambda: run(), graph.project, "prod", referenced_outputs(graph),
                              config={"mlops:systemFile": str(path)})
    assert set(capture.resources) == {r.urn for r in graph.resources}


def test_typed_class_index_matches_the_sdk_registration():
    """The token index gives classes whose own constructor registers that token."""
    for token in ("aws:s3/bucket:Bucket", "aws:sagemaker/endpoint:Endpoint", "aws:lambda/function:Function",
                  "aws:cloudwatch/metricAlarm:MetricAlarm", "kubernetes:apps/v1:Deployment"):
        cls = resource_class(token)
        assert f"'{token}'" in inspect.getsource(cls._internal_init), token
    assert resource_class("kubernetes:serving.kserve.io/v1beta1:InferenceService") is None


def test_program_compiles_with_the_registry_view_apply_hands_it(tmp_path: Path, monkeypatch):
    """Finding A1: `mlops-infra apply` writes the view it decided with and names it in
    MLOPS_INFRA_REGISTRY_VIEW; the program then registers the graph the plan showed (here the
    fresh environment's scorer waits). Without it, under mocks, nothing is read and every pinned
    version is assumed."""
    from mlops_infra.model_versions import REGISTRY_VIEW_ENV
    from mlops_infra.state.model import PriorState
    from mlops_infra.state.model_registry import offline_registry_view

    path = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
    system = load_system(path, "prod").system
    view = offline_registry_view(system, "prod", PriorState.empty())
    (tmp_path / "view.json").write_text(__import__("json").dumps(view.to_json()))
    monkeypatch.setenv(REGISTRY_VIEW_ENV, str(tmp_path / "view.json"))
    graph = compile_system(system, "prod", registry=view)
    capture = capture_program(lambda: run(str(path), "prod"), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []
    assert not any(t.startswith("aws:sagemaker/endpoint") for t in (r.type for r in graph.resources))
    monkeypatch.setenv(REGISTRY_VIEW_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(Exception, match="not a readable registry view"):
        capture_program(lambda: run(str(path), "prod"), graph.project, graph.stack)


def test_program_leaves_out_the_first_phase_of_an_ordered_apply(monkeypatch):
    """Finding A3: with MLOPS_INFRA_PHASE_OMIT the program registers the graph without those URNs
    (apply's targeted `pulumi up` then deletes exactly them: the scalable target and its policy)."""
    from mlops_infra.plan.sequences import PHASE_OMIT_ENV

    path = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
    graph = compiled(path, "prod")
    omit = sorted(r.urn for r in graph.resources if r.type.startswith("aws:appautoscaling/"))
    assert len(omit) == 2
    monkeypatch.setenv(PHASE_OMIT_ENV, ",".join(omit))
    capture = capture_program(lambda: run(str(path), "prod"), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph.without(omit), capture) == []
    assert not set(omit) & set(capture.resources)


def test_program_registers_the_rollout_runner_with_its_code_archive():
    """The scheduled rollout runner (compile/aws/rollout_runner.py) reaches the engine: the Lambda as
    ``pulumi_aws.lambda_.Function`` with an AssetArchive of the shipped modules and its document, the
    schedule as ``pulumi_aws.scheduler.Schedule`` targeting that function with its own role."""
    import pulumi_aws

    path = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
    graph = compiled(path, "prod")
    capture = capture_program(lambda: run(str(path), "prod"), graph.project, graph.stack, referenced_outputs(graph))
    assert differences(graph, capture) == []
    by_name = {(r.type, r.name): r for r in graph.resources if r.address == "platform"}
    function = by_name[("aws:lambda/function:Function", "rollout-runner")]
    schedule = by_name[("aws:scheduler/schedule:Schedule", "rollout-runner-schedule")]
    invoker = by_name[("aws:iam/role:Role", "rollout-schedule")]
    classes = capture.result.classes
    assert classes[function.urn] is pulumi_aws.lambda_.Function
    assert classes[schedule.urn] is pulumi_aws.scheduler.Schedule
    registered = capture.resources[function.urn].inputs
    assert registered["handler"] == "mlops_infra.rollout.scheduled.handler"
    assert registered["code"] == function.inputs["code"]  # an AssetArchive of StringAssets, file by file
    assert "rollouts.json" in registered["code"]["$archive"]
    target = capture.resources[schedule.urn].inputs["target"]
    assert target["arn"] == f"arn:mock:{function.urn}" and target["roleArn"] == f"arn:mock:{invoker.urn}"
    assert function.urn in capture.resources[schedule.urn].dependencies
