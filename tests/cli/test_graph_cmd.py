"""``mlops-infra graph``: text tree, JSON and Graphviz output of the desired graph; clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.cli.commands import graph as graph_cmd
from mlops_infra.cli.main import main
from mlops_infra.graph import GraphBuilder, ResourceOptions, ref

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"


def sample_graph(system=None, env="prod", **_):
    b = GraphBuilder("churn-quickstart", env)
    b.metadata.update({"cloud": "aws", "region": "us-east-1"})
    provider = b.add("pulumi:providers:aws", "aws-prod", {"region": "us-east-1"})
    endpoint = b.add("mlops:serving:Endpoint", "churn-api",
                     {"factsVersion": 1, "kind": "endpoint", "name": "churn-api", "model": "churn-model",
                      "modelVersion": 1, "gpuType": None, "rollout": {"strategy": "canary"}},
                     custom=False, address="endpoints.churn-api", role="component")
    config = b.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "churn-api-config",
                   {"name": "c"}, parent=endpoint, provider=provider, role="endpoint-config")
    b.add("aws:sagemaker/endpoint:Endpoint", "churn-api", {"endpointConfigName": ref(config, "name")},
          parent=endpoint, provider=provider, role="endpoint", options=ResourceOptions(protect=True))
    return b.build()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.fixture()
def fake_compile(monkeypatch):
    monkeypatch.setattr(graph_cmd, "compile_system", sample_graph)


def test_json_is_the_graph_dump(capsys, fake_compile):
    code, out, _ = run(capsys, "graph", str(QUICKSTART), "--env", "prod", "--format", "json")
    assert code == 0
    assert out == sample_graph().dumps()
    resource = json.loads(out)["resources"][0]
    assert set(resource) >= {"urn", "type", "name", "parent", "dependencies", "inputs", "options"}


def test_text_is_a_tree_by_component(capsys, fake_compile):
    code, out, _ = run(capsys, "graph", str(QUICKSTART), "--env", "prod")
    assert code == 0
    assert out.splitlines() == [
        "churn-quickstart / prod  (cloud=aws, region=us-east-1)",
        "├── pulumi:providers:aws  aws-prod",
        "└── endpoints.churn-api  mlops:serving:Endpoint  model=churn-model modelVersion=1",
        "    ├── aws:sagemaker/endpoint:Endpoint  churn-api  (endpoint, protected)",
        "    └── aws:sagemaker/endpointConfiguration:EndpointConfiguration  churn-api-config  (endpoint-config)",
        "4 resources: 1 components, 3 cloud resources",
    ]


def test_dot_has_parent_and_dependency_edges(capsys, fake_compile):
    code, out, _ = run(capsys, "graph", str(QUICKSTART), "--env", "prod", "-f", "dot")
    assert code == 0
    g = sample_graph()
    urns = {r.type: r.urn for r in g.resources}
    endpoint, config = urns["aws:sagemaker/endpoint:Endpoint"], urns[
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration"]
    assert out.startswith('digraph "churn-quickstart-prod" {')
    assert f'"{urns["mlops:serving:Endpoint"]}" -> "{endpoint}" [style=dashed' in out
    assert f'"{endpoint}" -> "{config}";' in out
    assert '[label="aws:sagemaker/endpoint:Endpoint\\nchurn-api", shape=box]' in out
    assert out.rstrip().endswith("}")


def test_file_defaults_to_the_embedded_quickstart(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no ./mlsystem.yaml here
    code, out, err = run(capsys, "graph", "--env", "prod", "--format", "json")
    assert code == 0
    assert "the embedded quickstart" in err
    assert json.loads(out)["project"] == "churn-quickstart"


def test_file_defaults_to_mlsystem_yaml_in_the_current_directory(capsys, monkeypatch, tmp_path):
    (tmp_path / "mlsystem.yaml").write_text(QUICKSTART.read_text().replace("churn-quickstart", "local-system"))
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "graph", "--env", "prod", "--format", "json")
    assert code == 0
    assert "./mlsystem.yaml" in err
    assert json.loads(out)["project"] == "local-system"


def test_invalid_document_prints_diagnostics_and_exits_1(capsys, tmp_path):
    bad = tmp_path / "mlsystem.yaml"
    bad.write_text(QUICKSTART.read_text().replace("version: 1}", "version: one}"))
    code, out, err = run(capsys, "graph", str(bad), "--env", "prod")
    assert code == 1
    assert out == ""
    assert f"{bad}:" in err and "error" in err and "version: one" in err


def test_unknown_environment_is_a_diagnostic(capsys):
    code, out, err = run(capsys, "graph", str(QUICKSTART), "--env", "stagin")
    assert code == 1 and out == ""
    assert 'No environment "stagin"' in err


def test_env_defaults_like_every_command_dev_first(capsys):
    code, out, _ = run(capsys, "graph", str(QUICKSTART), "--format", "json")
    assert code == 0
    assert json.loads(out)["stack"] == "dev"


EXAMPLES = sorted(REPO.glob("examples/*/mlsystem.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_environment_compiles_to_json(capsys, path):
    from mlops_infra.spec import load_system

    for env in sorted(load_system(path).system.environments):
        code, out, err = run(capsys, "graph", str(path), "--env", env, "--format", "json")
        assert code == 0, err
        data = json.loads(out)
        assert data["stack"] == env and data["resources"]


# -- graph JSON: the standard library's bytes, written by orjson ----------------------------------------


def test_stdlib_pretty_writes_the_standard_librarys_bytes() -> None:
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mlops_infra.jsoncodec import stdlib_pretty

    floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
        [1e-5, 1.5e-7, 1e-9, 0.0001, 1e16, 1e-10, 0.1, -2.0, 123456789.125])
    text = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u2028😀"), max_size=6)
    keys = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é"), max_size=4)
    scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | floats | text
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                          max_leaves=25)

    @settings(max_examples=500, deadline=None)
    @given(values)
    def check(value) -> None:
        assert stdlib_pretty(value) == json.dumps(value, indent=2, sort_keys=True) + "\n"

    check()
