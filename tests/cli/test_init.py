"""``mlops-infra init`` and ``plan`` inside a scaffolded stack directory (issue 11 item 4).

For a system written from scratch in a temporary directory: ``init`` scaffolds Pulumi.yaml and one
``stacks/<env>/`` per environment; ``plan`` run inside ``stacks/<env>/`` plans that system and
environment (not the embedded quickstart); and the Pulumi program run from that stack directory
under capturing mocks registers exactly the resources that plan computes, with the same URNs.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from mlops_infra.stacks import InstalledFrom, requirement_line
from tests.support.cli import run_cli
from tests.support.user_venv import USER_VENV_TIMEOUT

REPO = Path(__file__).resolve().parents[2]

# A small system written from scratch (not one of the examples): Kubernetes dev, AWS prod.
RECSYS = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: recsys, owner: recs@example.com}

data_sources:
  - {name: clicks, kind: object_store, retention: 90d}

models:
  - {name: ranker, framework: pytorch, approval: manual, artifacts_uri: "s3://recsys-models/ranker/"}

endpoints:
  - name: ranker-api
    model: {name: ranker, version: 3}
    instance_type: ml.m5.xlarge
    replicas: {min: 1, max: 2}

environments:
  dev:  {target: {kind: kubernetes, context: kind-recs, namespace: recs-dev}}
  prod: {target: {kind: aws, region: eu-west-1, account: "222222222222"}}
"""


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's repository with one system at systems/recsys/mlsystem.yaml; isolated from any login."""
    system = tmp_path / "systems" / "recsys"
    system.mkdir(parents=True)
    (system / "mlsystem.yaml").write_text(RECSYS, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("PULUMI_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def test_system_is_valid():
    assert load_system_text(RECSYS).ok


def load_system_text(text: str):
    from mlops_infra.spec import parse_system

    return parse_system(text, "recsys.yaml")


def test_init_scaffolds_a_project_and_one_stack_per_environment(repo: Path):
    result = run_cli("init", "systems/recsys/mlsystem.yaml")
    assert result.code == 0, result.stderr
    base = repo / "systems" / "recsys"
    project = yaml.safe_load((base / "Pulumi.yaml").read_text())
    assert project["name"] == "recsys" and project["runtime"]["name"] == "python" and project["main"] == "stacks/"
    assert project["config"]["mlops:systemFile"] == "mlsystem.yaml"
    assert "run()" in (base / "stacks" / "__main__.py").read_text()
    for env in ("dev", "prod"):
        stack = base / "stacks" / env
        assert yaml.safe_load((stack / "Pulumi.yaml").read_text())["name"] == "recsys"
        config = yaml.safe_load((stack / f"Pulumi.{env}.yaml").read_text())["config"]
        assert config == {"mlops:systemFile": "../../mlsystem.yaml", "mlops:environment": env}
        assert (stack / config["mlops:systemFile"]).resolve() == (base / "mlsystem.yaml").resolve()
        assert "from mlops_infra.program import run" in (stack / "__main__.py").read_text()
        assert_installs_this_checkout(stack)
    assert sorted(p.name for p in (base / "stacks").iterdir() if p.is_dir()) == ["dev", "prod"]


def assert_installs_this_checkout(stack: Path) -> None:
    """The stack's requirements.txt installs the mlops-infra that ran init (this checkout, editable),
    never the bare name from an index, where ``mlops-infra`` may be someone else's package, and the Pulumi
    SDKs at the versions its plan rules follow (mlops_infra/sdk_pins.py, tests/test_stacks_sdk_pins.py)."""
    from mlops_infra.sdk_pins import pin_lines

    lines = [line for line in (stack / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
    assert lines[1:] == pin_lines() and lines[0].startswith("-e ") and lines[0].endswith("[pulumi]"), lines
    where = lines[0][len("-e "):-len("[pulumi]")]
    assert (stack / where).resolve() == REPO.resolve() and (stack / where / "pyproject.toml").is_file()


@pytest.mark.parametrize(("installed", "stack_dir", "line"), [
    (InstalledFrom("0.1.0", Path("/src/repo"), editable=True), Path("/src/repo/systems/a/stacks/dev"), "-e ../../../..[pulumi]"),
    (InstalledFrom("0.1.0", Path("/src/repo/tools/mlops"), editable=False), Path("/src/repo/stacks/dev"),
     "../../tools/mlops[pulumi]"),
    (InstalledFrom("0.1.0", Path("/opt/mlops-infra"), editable=True), Path("/home/me/repo/stacks/dev"),
     "-e /opt/mlops-infra[pulumi]"),
    (InstalledFrom("0.1.0", url="file:///wheels/mlops_infra-0.1.0-py3-none-any.whl"), Path("/r/stacks/dev"),
     "mlops-infra[pulumi] @ file:///wheels/mlops_infra-0.1.0-py3-none-any.whl"),
    (InstalledFrom("0.1.0", url="https://github.com/acme/mlops-infra.git", vcs="git", commit="0" * 40),
     Path("/r/stacks/dev"), "mlops-infra[pulumi] @ git+https://github.com/acme/mlops-infra.git@" + "0" * 40),
    (InstalledFrom("0.1.0"), Path("/r/stacks/dev"), "mlops-infra[pulumi]==0.1.0"),
], ids=["editable-in-repo", "directory-in-repo", "editable-elsewhere", "wheel", "git", "index"])
def test_a_stack_installs_the_mlops_infra_that_ran_init(installed: InstalledFrom, stack_dir: Path, line: str):
    assert requirement_line(installed, stack_dir) == line


def test_init_refuses_to_overwrite_without_force(repo: Path):
    assert run_cli("init", "systems/recsys/mlsystem.yaml").code == 0
    config = repo / "systems" / "recsys" / "stacks" / "prod" / "Pulumi.prod.yaml"
    config.write_text("config: {mlops:systemFile: mine.yaml}\n")
    refused = run_cli("init", "systems/recsys/mlsystem.yaml")
    assert refused.code == 1
    assert "exist already; nothing was written" in refused.stderr and "Pulumi.prod.yaml" in refused.stderr
    assert "--force" in refused.stderr and "Traceback" not in refused.stderr
    assert config.read_text() == "config: {mlops:systemFile: mine.yaml}\n"
    forced = run_cli("init", "systems/recsys/mlsystem.yaml", "--force")
    assert forced.code == 0, forced.stderr
    assert "mlops:environment: prod" in config.read_text()


def test_init_of_an_invalid_system_writes_nothing(repo: Path):
    bad = repo / "bad.yaml"
    bad.write_text(RECSYS.replace("version: 3", "version: three"), encoding="utf-8")
    result = run_cli("init", str(bad))
    assert result.code == 1 and "error" in result.stderr
    assert not (repo / "Pulumi.yaml").exists() and not (repo / "stacks").exists()


def test_init_without_a_file_starts_from_the_quickstart(repo: Path, tmp_path: Path, monkeypatch):
    empty = tmp_path / "fresh"
    empty.mkdir()
    monkeypatch.chdir(empty)
    result = run_cli("init")
    assert result.code == 0, result.stderr
    assert (empty / "mlsystem.yaml").is_file()
    assert yaml.safe_load((empty / "Pulumi.yaml").read_text())["name"] == "churn-quickstart"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_plan_inside_a_stack_directory_plans_its_system_and_environment(repo: Path, monkeypatch, env: str):
    assert run_cli("init", "systems/recsys/mlsystem.yaml").code == 0
    monkeypatch.chdir(repo / "systems" / "recsys" / "stacks" / env)
    result = run_cli("plan", "--format", "json")
    assert result.code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert (plan["project"], plan["stack"]) == ("recsys", env)
    assert f"mlops:systemFile in Pulumi.{env}.yaml" in result.stderr
    assert "quickstart" not in result.stderr
    # the state is looked for in this stack directory (nothing applied yet)
    assert f"no stack file for recsys/{env} in the file backend" in result.stderr


def test_plan_inside_this_repositorys_stack_directory_plans_the_bundled_example(monkeypatch):
    """The review: `cd stacks/prod && mlops-infra plan` planned `churn-quickstart / dev`."""
    monkeypatch.chdir(REPO / "stacks" / "prod")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("PULUMI_HOME", str(REPO / ".pytest_cache" / "no-pulumi-home"))
    result = run_cli("plan", "--format", "json")
    assert result.code == 0, result.stderr
    assert (json.loads(result.stdout)["project"], json.loads(result.stdout)["stack"]) == ("fraud-detection", "prod")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_program_from_a_scaffolded_stack_registers_exactly_what_plan_computes(repo: Path, monkeypatch, env: str):
    from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

    assert run_cli("init", "systems/recsys/mlsystem.yaml").code == 0
    stack_dir = repo / "systems" / "recsys" / "stacks" / env
    monkeypatch.chdir(stack_dir)
    planned = run_cli("plan", "--format", "json")
    assert planned.code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    assert {c["action"] for c in plan["resourceChanges"]} == {"create"}
    planned_urns = {c["urn"] for c in plan["resourceChanges"]}

    # what `pulumi up` runs there: __main__.py, cwd = the stack directory, the stack's config
    project = yaml.safe_load((stack_dir / "Pulumi.yaml").read_text())["name"]
    config = yaml.safe_load((stack_dir / f"Pulumi.{env}.yaml").read_text())["config"]
    loaded = load_system(stack_dir / config["mlops:systemFile"], env)
    # finding A1: `mlops-infra apply` hands the program the registry view it decided with (here the
    # offline view of a stack never applied, as plan used), through MLOPS_INFRA_REGISTRY_VIEW
    from mlops_infra.model_versions import REGISTRY_VIEW_ENV
    from mlops_infra.state.model import PriorState
    from mlops_infra.state.model_registry import offline_registry_view

    view = offline_registry_view(loaded.system, env, PriorState.empty())
    (repo / "view.json").write_text(json.dumps(view.to_json()), encoding="utf-8")
    monkeypatch.setenv(REGISTRY_VIEW_ENV, str(repo / "view.json"))
    graph = compile_system(loaded.system, env, registry=view)
    capture = capture_program(lambda: runpy.run_path("__main__.py", run_name="__main__"), project, env,
                              referenced_outputs(graph), config=config)
    assert differences(graph, capture) == []
    assert set(capture.resources) == planned_urns
    assert plan["graphDigest"] == graph.digest()


# -- the README's install, in a temporary repository -------------------------------------------------


@pytest.mark.timeout(USER_VENV_TIMEOUT)
def test_init_then_plan_through_the_readme_install(user_venv, tmp_path: Path):
    (tmp_path / "mlsystem.yaml").write_text(RECSYS, encoding="utf-8")
    env = {"PULUMI_HOME": str(tmp_path / "pulumi-home"), "NO_COLOR": "1"}
    init = user_venv.run("init", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    assert_installs_this_checkout(tmp_path / "stacks" / "prod")  # what `pip install -e .` installed
    plan = user_venv.run("plan", "--format", "json", cwd=tmp_path / "stacks" / "prod", env=env)
    assert plan.returncode == 0, plan.stderr
    assert (json.loads(plan.stdout)["project"], json.loads(plan.stdout)["stack"]) == ("recsys", "prod")
    again = user_venv.run("init", cwd=tmp_path, env=env)
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr
