"""Provider inputs that stack config adds at apply are not a planned change (audit secrets-7).

The program copies stack-config overrides (``kubernetes:kubeconfig``, ``aws:endpoints``...) into every
explicit provider (``mlops_infra/program/providers.py``), so the state's provider holds them and the
graph does not. pulumi-kubernetes stores a ``kubeconfig`` input as the engine got it: a Pulumi secret
when the program sent one (pulumi/pulumi ``pkg/resource/plugin/provider_plugin.go`` ``CheckConfig``,
``annotateSecrets``; ``pkg/resource/deploy/providers/registry.go`` ``Create`` keeps the checked inputs
as the outputs). Planning must not show removing them (``pulumi up`` re-adds them from the same config),
and must keep comparing the provider inputs the graph does set: ``context``, at the value ``pulumi up`` sends when
the plan knows the stack's ``kubernetes:context`` (``PlanOptions.provider_settings``, ctxread).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.rules import PROVIDERS
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import SECRET_MARKER, applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
SECRET_SIG = "4dabf18193072939515e22adb298388d"
KUBECONFIG = "apiVersion: v1\nusers:\n- name: ci\n  user:\n    token: PLANTED-kubeconfig-token-4d1f\n"
ENDPOINTS = json.dumps([{"sagemaker": "http://127.0.0.1:5000", "s3": "http://127.0.0.1:5000"}])


def _graph(env: str):
    loaded = load_system(REPO / "examples/quickstart/mlsystem.yaml", env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def _secret(ciphertext: str) -> dict[str, str]:
    """A value the passphrase secrets provider stores: ciphertext only (not readable by the planner)."""
    return {SECRET_SIG: SECRET_MARKER, "ciphertext": ciphertext}


def _plan_with_provider(env: str, package: str, added: dict[str, Any], settings: dict[str, Any] | None = None):
    """The plan of ``env`` against its applied state whose ``package`` provider also holds ``added``; ``settings``:
    the stack config's provider settings ``pulumi up`` sends (``PlanOptions.provider_settings``)."""
    graph = _graph(env)
    provider_type = f"pulumi:providers:{package}"

    def add(record: dict[str, Any]) -> None:
        record["inputs"].update(added)
        record["outputs"].update(added)

    state = edit_resource(applied_state(graph), lambda r: r["type"] == provider_type, add)
    options = replace(FAST, provider_settings={package: settings}) if settings is not None else FAST
    plan = make_plan(graph, parse_state(dumps(state).encode(), "prior.json"), options=options)
    [provider] = [c for c in plan.changes if c.type == provider_type]
    return plan, provider


@pytest.mark.parametrize("kubeconfig", [_secret("v1:c2NlbmFyaW8=:v1:a3ViZWNvbmZpZw=="), KUBECONFIG],
                         ids=["stored-as-secret", "stored-in-clear-before-secrets-1"])
def test_a_kubeconfig_from_stack_config_plans_no_change(kubeconfig: Any) -> None:
    plan, provider = _plan_with_provider("dev", "kubernetes", {"kubeconfig": kubeconfig})
    assert provider.action is Action.NOOP, [c.path for c in provider.changes]
    assert not plan.has_changes
    assert not any("secret value" in w for w in plan.warnings), plan.warnings


def test_aws_endpoint_overrides_from_stack_config_plan_no_change() -> None:
    plan, provider = _plan_with_provider("prod", "aws", {"endpoints": ENDPOINTS, "skipCredentialsValidation": "true",
                                                         "s3UsePathStyle": "true"})
    assert provider.action is Action.NOOP, [c.path for c in provider.changes]
    assert not plan.has_changes


def test_a_context_override_applied_once_plans_no_change() -> None:
    """``context`` is compiled from the target and overridden by ``kubernetes:context``: ``pulumi up`` sent the
    override, so the state holds it; planned at the value ``pulumi up`` sends again, it is no change (ctxread: this
    test asserted an update here, the noise of every plan of such a stack)."""
    plan, provider = _plan_with_provider("dev", "kubernetes", {"context": "stack-ctx"}, {"context": "stack-ctx"})
    assert provider.action is Action.NOOP, [c.path for c in provider.changes]
    assert not plan.has_changes


def test_a_context_override_changed_since_the_last_apply_plans_the_change() -> None:
    _, provider = _plan_with_provider("dev", "kubernetes", {"context": "stack-ctx"}, {"context": "other-ctx"})
    assert provider.action is Action.UPDATE  # clusterIdentifier (the spec's context) stays: no replace
    assert [(c.path, c.before, c.after) for c in provider.changes] == [("context", "stack-ctx", "other-ctx")]


def test_a_context_override_removed_plans_the_specs_context_again() -> None:
    """No stack setting (or the plan knows no stack): the graph's context is what ``pulumi up`` sends."""
    _, provider = _plan_with_provider("dev", "kubernetes", {"context": "stack-ctx"})
    assert provider.action is Action.UPDATE
    assert [(c.path, c.before, c.after) for c in provider.changes] == [("context", "stack-ctx", "kind-mlops")]


def test_a_setting_the_graph_does_not_set_stays_uncompared() -> None:
    """A ``kubeconfig`` setting is not planned in: the graph leaves it unset (audit secrets-7's rule stands)."""
    plan, provider = _plan_with_provider("dev", "kubernetes", {"kubeconfig": KUBECONFIG},
                                         {"kubeconfig": "/elsewhere/kubeconfig"})
    assert provider.action is Action.NOOP and not plan.has_changes


def test_an_input_outside_the_override_keys_is_still_compared() -> None:
    _, provider = _plan_with_provider("dev", "kubernetes", {"cluster": "other-cluster"})
    assert provider.action is Action.UPDATE
    assert [c.path for c in provider.changes] == ["cluster"]


def test_the_planner_ignores_exactly_the_keys_the_program_overrides() -> None:
    from mlops_infra.program.providers import OVERRIDE_KEYS

    assert {package: rule.stack_config for package, rule in PROVIDERS.items() if rule.stack_config} == OVERRIDE_KEYS
