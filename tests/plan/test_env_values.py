"""One rule for environment values (``mlops_infra.plan.env_values``), used by the plain plan's diff and by
drift: where they live, how they are matched, and when the state's value may be shown; and its one
deliberate difference (``guarded``: drift also hides a credential-named or secret-shaped value equal to the
compiled one, and a ``valueFrom``; the plan diff prints the compiled value in the same row, so it does not).
Which ConfigMaps are environments: ``envFrom.configMapRef`` (core/v1 ConfigMapEnvSource) in the graph, and
``mlops-object-store``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_infra.plan.env_values import entry_shown, env_config_maps, env_from_names, shown
from tests.plan.test_environment_prior_hidden import HF, KEY
from tests.scenarios.harness import compile_file

ROOT = Path(__file__).resolve().parents[2]
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"


def test_the_state_value_shows_only_when_compiled_and_drift_also_guards_credentials() -> None:
    for guarded in (False, True):
        def rule(name: str, value: Any, ours: Any, guarded: bool = guarded) -> Any:
            return shown(name, value, ours, hidden="hidden", guarded=guarded)
        assert rule("CHANNEL_KIND", "slack", "slack") == "slack"  # the compiled graph's own value
        assert rule("CHANNEL_KIND", "payments-override", "slack") == "hidden"  # typed over in the console
        assert rule("HF_HUB", HF, None) == "hidden"  # not compiled at all, and every live value (ours None)
        assert rule("CHANNEL_KIND", None, "slack") is None  # absent stays absent
        assert rule("PORT", 8080, 8080) == "hidden"  # only strings are matched
    # the deliberate difference: drift hides what looks like a credential even when compiled
    assert shown("API_TOKEN", "abc", "abc", hidden="hidden", guarded=False) == "abc"
    assert shown("API_TOKEN", "abc", "abc", hidden="hidden", guarded=True) == "hidden"
    access_key = "AKIAIOSFODNN7EXAMPLE"  # an AWS access key id's shape (secrets.contains_secret)
    assert shown("UPSTREAM", access_key, access_key, hidden="hidden", guarded=False) == access_key
    assert shown("UPSTREAM", access_key, access_key, hidden="hidden", guarded=True) == "hidden"
    # an env entry: its value by the rule; valueFrom names a source, shown by the plan, hidden by drift
    ref = {"name": "URL", "valueFrom": {"configMapKeyRef": {"key": "url", "name": "settings"}}}
    assert entry_shown("URL", ref, None, hidden="hidden", guarded=False) is ref
    assert entry_shown("URL", ref, None, hidden="hidden", guarded=True) == {"name": "URL", "valueFrom": "hidden"}
    typed = {"name": "BUCKET", "value": KEY}
    assert entry_shown("BUCKET", typed, {"name": "BUCKET", "value": "b"}, hidden="hidden", guarded=False) \
        == {"name": "BUCKET", "value": "hidden"}
    assert entry_shown("BUCKET", {"name": "BUCKET", "value": "b"}, {"name": "BUCKET", "value": "b"},
                       hidden="hidden", guarded=True) == {"name": "BUCKET", "value": "b"}


def test_the_config_maps_a_training_run_takes_whole_are_found_in_its_run_template() -> None:
    graph = compile_file(FRAUD, "dev")  # moved from tests/state (drift's _env_from_names is env_values' now)
    templates = [r for r in graph.resources if r.role == "run-template"]
    assert templates
    assert all(env_from_names(r.inputs, set()) == {"mlops-object-store"} for r in templates)
    assert {u.rsplit("::", 1)[-1] for u in env_config_maps(graph.resources)} == {"mlops-object-store"}
