"""A provider override set with ``pulumi config set --secret`` is registered as a secret (audit secrets-1).

Under Pulumi's mocks (:mod:`tests.support.pulumi_capture`), with the stack config given to the program
as the Python language host gives it: the decrypted values plus the secret keys
(pulumi/pulumi ``sdk/python/cmd/pulumi-language-python-exec``: ``set_all_config(config,
get_config_secret_keys_env())``). A secret input is captured as ``{"$secret": value}``; before the fix
the kubeconfig was sent as plain text, which the engine stores in clear in the state.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulumi.runtime.config import set_all_config

from mlops_infra.compile import compile_system
from mlops_infra.program import run
from mlops_infra.spec import load_system
from tests.support.pulumi_capture import CapturedResource, capture_program, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
QUICKSTART = Path(__file__).resolve().parents[2] / "examples/quickstart/mlsystem.yaml"
KUBECONFIG = "apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: PLANTED-kubeconfig-token-7c2e\n"
ENDPOINTS = [{"sagemaker": "http://127.0.0.1:5000"}]


def _provider(env: str, config: dict[str, str], secret_keys: list[str]) -> CapturedResource:
    loaded = load_system(QUICKSTART, env)
    assert loaded.ok, loaded.diagnostics
    graph = compile_system(loaded.system, env)
    package = "kubernetes" if env == "dev" else "aws"

    def program():
        set_all_config(config, secret_keys)  # what the language host does before the program runs
        return run(str(QUICKSTART), env)

    capture = capture_program(program, graph.project, graph.stack, referenced_outputs(graph), config)
    [provider] = [r for r in capture.resources.values() if r.type == f"pulumi:providers:{package}"]
    return provider


def test_a_secret_kubeconfig_is_registered_as_a_secret() -> None:
    provider = _provider("dev", {"kubernetes:kubeconfig": KUBECONFIG}, ["kubernetes:kubeconfig"])
    assert provider.inputs["kubeconfig"] == {"$secret": KUBECONFIG}
    assert "kubeconfig" in provider.options["additionalSecretOutputs"]


def test_a_plain_key_beside_a_secret_one_stays_plain() -> None:
    config = {"kubernetes:kubeconfig": KUBECONFIG, "kubernetes:context": "ci-context"}
    provider = _provider("dev", config, ["kubernetes:kubeconfig"])
    assert provider.inputs["context"] == "ci-context"
    assert provider.inputs["kubeconfig"] == {"$secret": KUBECONFIG}
    assert "context" not in provider.options["additionalSecretOutputs"]


def test_a_kubeconfig_not_set_as_secret_stays_plain() -> None:
    provider = _provider("dev", {"kubernetes:kubeconfig": KUBECONFIG}, [])
    assert provider.inputs["kubeconfig"] == KUBECONFIG
    assert "kubeconfig" not in provider.options["additionalSecretOutputs"]


def test_a_secret_aws_override_keeps_its_json_encoding_inside_the_secret() -> None:
    """pulumi_aws ``Provider`` JSON-encodes a list input (``apply(pulumi.runtime.to_json)``), which keeps it secret."""
    provider = _provider("prod", {"aws:endpoints": json.dumps(ENDPOINTS)}, ["aws:endpoints"])
    secret = provider.inputs["endpoints"]
    assert set(secret) == {"$secret"} and json.loads(secret["$secret"]) == ENDPOINTS
    assert "endpoints" in provider.options["additionalSecretOutputs"]
