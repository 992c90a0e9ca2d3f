"""One rule for environment values (``mlops_infra.plan.env_values``), used by the plain plan's diff and by
drift: where they live, how they are matched, and when the state's value may be shown.

- The rule itself, and its one deliberate difference (``guarded``: drift also hides a credential-named or
  secret-shaped value equal to the compiled one, and a ``valueFrom``; the plan diff prints the compiled
  value in the same row, so it does not).
- Which ConfigMaps are environments is the compiled graph's answer: ``envFrom.configMapRef`` (core/v1
  ConfigMapEnvSource: "The contents of the target ConfigMap's Data field will represent the key-value
  pairs as environment variables"), ``env[].valueFrom.configMapKeyRef`` (core/v1
  ``EnvVarSource.configMapKeyRef``: "Selects a key of a ConfigMap"), in containers and in run templates kept
  as JSON text in a ConfigMap (a training job's PyTorchJob), and ``mlops-object-store``. The plain plan
  decides by the graph too (the planner passes it), not by the key's shape: Kubernetes 1.34 takes every
  printable ASCII name but ``=`` as a variable (KEP-4369, stable in v1.34), so ``hf.token`` in an
  environment ConfigMap is a variable; ``bucket`` in a data source's declaration, which no pod takes as its
  environment, is not.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlops_infra.plan.drift import SENSITIVE, find_drift, left_alone
from mlops_infra.plan.env_values import entry_shown, env_config_maps, env_from_names, shown
from mlops_infra.plan.model import REDACTED, drift_to_json
from mlops_infra.state import kube_live
from mlops_infra.state.model import LiveState, PriorState, StateResource
from tests.plan.test_environment_prior_hidden import HF, KEY, _changes, _clean, _plans  # noqa: F401 (_clean: autouse)
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, resources

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart" / "mlsystem.yaml"
FRAUD = ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"


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


def _fraud_with(source: str, how: str) -> tuple[Any, Any]:
    """fraud-detection dev with the ConfigMap ``source`` made a container's environment ``how``:
    ``template`` (the training run template's containers take it whole, envFrom) or ``key`` (a
    Deployment's container takes its ``bucket`` key, configMapKeyRef); and that ConfigMap."""
    graph = compile_file(FRAUD, "dev")
    if how == "template":
        template = next(r for r in graph.resources if r.role == "run-template")
        (key, text), = template.inputs["data"].items()
        job = json.loads(text)
        replicas = job["spec"]["pytorchReplicaSpecs"]
        for spec in replicas.values():
            for container in spec["template"]["spec"]["containers"]:
                container["envFrom"].append({"configMapRef": {"name": source}})
        template.inputs["data"][key] = json.dumps(job)
    else:
        deployment = next(r for r in graph.resources if r.type == "kubernetes:apps/v1:Deployment")
        container = deployment.inputs["spec"]["template"]["spec"]["containers"][0]
        container.setdefault("env", []).append(
            {"name": "DATA_BUCKET", "valueFrom": {"configMapKeyRef": {"key": "bucket", "name": source}}})
    return graph, next(r for r in graph.resources if r.type == CONFIG_MAP and r.name == source)


def test_a_config_map_a_run_template_or_a_key_ref_takes_is_an_environment_in_drift() -> None:
    for how in ("template", "key"):
        graph, res = _fraud_with("data-transactions", how)
        assert res.urn in env_config_maps(graph.resources), how
        prior = StateResource(urn=res.urn, type=res.type, id=f"fraud-dev/{res.name}", inputs=copy.deepcopy(res.inputs),
                              outputs={})
        live = copy.deepcopy(res.inputs)
        live["data"].update(HF_TOKEN=HF, bucket=KEY)  # kubectl edit configmap
        found = find_drift(PriorState("dev", 3, "x", "q", "dev", {res.urn: prior}),
                           LiveState({res.urn: StateResource(urn=res.urn, type=res.type, id=prior.id, inputs=live,
                                                             outputs={})}),
                           tracking=kube_live.TRACKING, left=left_alone(graph), desired=graph)
        text = "\n".join([*(it.summary for it in found), *(json.dumps(drift_to_json(it)) for it in found)])
        assert HF not in text and KEY not in text, (how, text)
        assert [it.summary for it in found] == [
            f"ConfigMap data-transactions: data bucket {res.inputs['data']['bucket']} -> {SENSITIVE} changed, "
            "data HF_TOKEN added outside Pulumi"], how


def _state_with(spec: Path, suffix: str, tmp_path: Path, **data: str) -> tuple[Path, dict[str, Any]]:
    checkpoint = applied_state(compile_file(spec, "dev"))
    record = next(r for r in resources(checkpoint) if r["urn"].endswith(suffix))
    compiled = dict(record["inputs"]["data"])
    for side in ("inputs", "outputs"):  # what a pulumi refresh leaves after kubectl edit
        record[side]["data"].update(data)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint))
    return state, compiled


def test_every_key_of_an_environment_config_map_is_hidden_in_a_plain_plan(capsys, tmp_path: Path) -> None:
    """``hf.token`` is not shaped like a C variable name, but a pod that takes the ConfigMap whole gets it as
    one (Kubernetes 1.34, KEP-4369); the plan decides by the graph, not by the key's shape."""
    state, _ = _state_with(QUICKSTART, "ConfigMap::mlops-object-store", tmp_path, **{"hf.token": HF, "HF-HUB": KEY})
    plans = _plans(capsys, QUICKSTART, "dev", state, (HF, KEY))
    changes = _changes(plans["json"], "ConfigMap::mlops-object-store")
    assert changes['data["hf.token"]']["before"] == REDACTED
    assert changes["data.HF-HUB"]["before"] == REDACTED
    assert 'data["hf.token"]' in plans["text"] and "data.HF-HUB" in plans["markdown"]


def test_a_config_map_no_container_takes_as_its_environment_is_shown_like_any_input(capsys, tmp_path: Path) -> None:
    """A data source's declaration (``data-<source>``) is read by people and post-apply checks, not taken
    by a pod as its environment: a value typed over in it is shown on both sides, as every other input is."""
    state, compiled = _state_with(QUICKSTART, "ConfigMap::data-customers", tmp_path, bucket="customers-typed-over")
    plans = _plans(capsys, QUICKSTART, "dev", state, ())
    changes = _changes(plans["json"], "ConfigMap::data-customers")
    assert changes["data.bucket"] == {**changes["data.bucket"], "before": "customers-typed-over",
                                      "after": compiled["bucket"]}
    assert '"customers-typed-over"' in plans["text"]
