"""The cluster an apply touches: spec context unless the stack config overrides it (mlops_infra/kube/effective_context.py).

Stack settings files as ``pulumi config set`` writes them; the kubeconfig content case is loaded against the
Kubernetes API stand-in (tests/support/kube_api.py) to show the options reach the cluster it names.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_infra.errors import UserError
from mlops_infra.kube import KubeClient
from mlops_infra.kube.config import ConnectOptions
from mlops_infra.kube.effective_context import (
    ReadTarget,
    apply_through,
    connect_options,
    effective_target,
    graph_cluster,
    graph_options,
    provider_settings,
    registered_context,
    stack_options,
)
from mlops_infra.kube.monitoring_stack import NAMESPACE
from tests.support.kube_api import KubeApiStandIn, write_kubeconfig


def _stack(tmp_path: Path, config: dict, project_config: dict | None = None) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "fraud", "runtime": "python",
                                                          **({"config": project_config} if project_config else {})}))
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def test_no_override_is_the_spec_context(tmp_path: Path) -> None:
    found = effective_target("spec-ctx", _stack(tmp_path, {"mlops:systemFile": "x.yaml"}), "prod")
    assert found.options == ConnectOptions(context="spec-ctx") and found.source is None and not found.secret
    assert found.describe() == "spec-ctx"
    assert effective_target("spec-ctx", None, "prod").options == ConnectOptions(context="spec-ctx")


def test_a_plain_context_wins_and_names_its_file(tmp_path: Path) -> None:
    found = effective_target("spec-ctx", _stack(tmp_path, {"kubernetes:context": "prod-ctx"}), "prod")
    assert found.options == ConnectOptions(context="prod-ctx")
    assert found.describe() == f"prod-ctx ({tmp_path / 'Pulumi.prod.yaml'})"


def test_the_projects_config_counts_under_the_stacks(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {}, {"kubernetes:context": {"value": "project-ctx"}})
    assert effective_target("spec-ctx", stack, "prod").options.context == "project-ctx"
    stack = _stack(tmp_path, {"kubernetes:context": "stack-ctx"}, {"kubernetes:context": "project-ctx"})
    assert effective_target("spec-ctx", stack, "prod").options.context == "stack-ctx"


def test_a_kubeconfig_path_relative_to_the_stack_directory(tmp_path: Path) -> None:
    write_kubeconfig(tmp_path / "prod.kubeconfig", "http://127.0.0.1:1", contexts=("spec-ctx",))
    found = effective_target("spec-ctx", _stack(tmp_path, {"kubernetes:kubeconfig": "prod.kubeconfig"}), "prod")
    assert found.options == ConnectOptions(context="spec-ctx", kubeconfig=str(tmp_path / "prod.kubeconfig"))
    assert found.describe().endswith("Pulumi.prod.yaml, kubeconfig)")


@pytest.mark.timeout(60)
def test_kubeconfig_content_reaches_the_cluster_it_names_and_is_never_shown(tmp_path: Path) -> None:
    with KubeApiStandIn() as api:
        content = write_kubeconfig(tmp_path / "k", api.url, token="sekrit-token", contexts=("other", "prod-ctx"))
        text = content.read_text()
        content.unlink()  # content only: no file left to read
        found = effective_target("spec-ctx", _stack(tmp_path, {"kubernetes:kubeconfig": text,
                                                               "kubernetes:context": "prod-ctx"}), "prod")
        assert found.options.kubeconfig_text == text and found.options.context == "prod-ctx"
        assert "sekrit" not in found.describe() and "sekrit" not in repr(found)
        api.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fraud-prod"}})
        with KubeClient.connect(found.options) as kube:
            assert kube.get(NAMESPACE, "fraud-prod")["metadata"]["name"] == "fraud-prod"
        assert api.requests_for("GET", "/api/v1/namespaces/fraud-prod")


def test_kubeconfig_content_without_the_context_is_a_clear_error(tmp_path: Path) -> None:
    text = write_kubeconfig(tmp_path / "k", "http://127.0.0.1:1", token="sekrit-token", contexts=("a",)).read_text()
    options = ConnectOptions(context="b", kubeconfig_text=text)
    with pytest.raises(UserError) as caught:
        KubeClient.connect(options)
    assert "no context 'b'" in caught.value.summary and "sekrit" not in str(caught.value.__dict__)


def test_a_secret_kubeconfig_reads_the_spec_context_says_so_and_refuses_strict_reads(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext"}})
    found = effective_target("spec-ctx", stack, "prod")
    assert found.secret and found.options == ConnectOptions(context="spec-ctx")
    assert found.describe() == (f"spec-ctx (read by plan; the apply uses the secret kubeconfig of "
                                f"{tmp_path / 'Pulumi.prod.yaml'}, which only the Pulumi CLI decrypts)")
    assert "ciphertext" not in found.describe()
    with pytest.raises(UserError) as caught:
        found.strict_options("drain the ClusterQueues")
    assert "is a secret" in caught.value.summary and "kubernetes:context" in caught.value.detail


def test_read_target_keeps_the_spec_but_the_effective_connection(tmp_path: Path) -> None:
    class Spec:
        kind, context, namespace = "kubernetes", "spec-ctx", "fraud-prod"

    found = effective_target("spec-ctx", _stack(tmp_path, {"kubernetes:context": "prod-ctx"}), "prod")
    target = ReadTarget(Spec(), found)
    assert (target.kind, target.namespace, target.context) == ("kubernetes", "fraud-prod", "prod-ctx")
    assert connect_options(target) == ConnectOptions(context="prod-ctx")
    assert connect_options(Spec()) == ConnectOptions(context="spec-ctx")


# -- ctxread: the reads that knew no stack directory, and the provider context plan compares -------------------------


class _Graph:
    """What the functions read of a DesiredGraph: its stack and metadata."""

    def __init__(self, cloud: str = "kubernetes") -> None:
        self.stack, self.metadata = "prod", {"cloud": cloud, "context": "spec-ctx"}


def test_stack_options_is_plans_reading_or_strictly_apply_s(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"kubernetes:context": "prod-ctx"})
    assert stack_options("spec-ctx", stack, "prod") == ConnectOptions(context="prod-ctx")
    assert stack_options("spec-ctx", stack, "prod", "read the registry") == ConnectOptions(context="prod-ctx")
    assert stack_options("spec-ctx", None, "prod", "read the registry") == ConnectOptions(context="spec-ctx")
    secret = _stack(tmp_path, {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext"}})
    assert stack_options("spec-ctx", secret, "prod") == ConnectOptions(context="spec-ctx")
    with pytest.raises(UserError, match="cannot read the registry: the stack's kubernetes:kubeconfig in"):
        stack_options("spec-ctx", secret, "prod", "read the registry")


def test_graph_options_with_a_stack_dir_no_apply_recorded(tmp_path: Path) -> None:
    graph = _Graph()
    stack = _stack(tmp_path, {"kubernetes:context": "prod-ctx"})
    assert graph_options(graph, "roll out") == ConnectOptions(context="spec-ctx")  # no stack known: the spec's
    assert graph_options(graph, "roll out", stack) == ConnectOptions(context="prod-ctx")
    assert graph_cluster(graph) == "context spec-ctx"
    assert graph_cluster(graph, stack) == f"context prod-ctx ({tmp_path / 'Pulumi.prod.yaml'})"
    secret = _stack(tmp_path, {"kubernetes:kubeconfig": {"secure": "v1:AAAAciphertext"}})
    with pytest.raises(UserError, match="cannot roll out: the stack's kubernetes:kubeconfig"):
        graph_options(graph, "roll out", secret)
    assert graph_cluster(graph, secret) == f"the secret kubeconfig of {tmp_path / 'Pulumi.prod.yaml'}"


def test_graph_options_prefers_what_apply_recorded(tmp_path: Path) -> None:
    graph = _Graph()
    (tmp_path / "applied").mkdir()
    apply_through(graph, _stack(tmp_path / "applied", {"kubernetes:context": "applied-ctx"}))
    other = _stack(tmp_path, {"kubernetes:context": "other-ctx"})
    assert graph_options(graph, "roll out", other) == ConnectOptions(context="applied-ctx")


def test_registered_context_is_what_the_program_registers(tmp_path: Path) -> None:
    assert registered_context(None, "prod") is None
    assert registered_context(_stack(tmp_path, {"mlops:environment": "prod"}), "prod") is None
    assert registered_context(_stack(tmp_path, {"kubernetes:context": "prod-ctx"}), "prod") == "prod-ctx"
    assert registered_context(_stack(tmp_path, {}, {"kubernetes:context": {"value": "project-ctx"}}), "prod") \
        == "project-ctx"
    # the engine hands the program text and providers.parse_value parses JSON: a number-like name is a number
    assert registered_context(_stack(tmp_path, {"kubernetes:context": "1234"}), "prod") == 1234
    assert registered_context(_stack(tmp_path, {"kubernetes:context": {"secure": "v1:AAAA"}}), "prod") is None


def test_provider_settings_only_for_a_kubernetes_graph_with_a_context(tmp_path: Path) -> None:
    stack = _stack(tmp_path, {"kubernetes:context": "prod-ctx", "kubernetes:kubeconfig": "/k"})
    assert provider_settings(_Graph(), stack) == {"kubernetes": {"context": "prod-ctx"}}
    assert provider_settings(_Graph(), None) == {}
    assert provider_settings(_Graph("aws"), stack) == {}
    assert provider_settings(_Graph(), _stack(tmp_path, {"kubernetes:kubeconfig": "/k"})) == {}
