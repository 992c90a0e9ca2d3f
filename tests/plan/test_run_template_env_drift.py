"""A training job's run template (the ``train-<job>`` ConfigMap's ``pytorchjob.json``: a PyTorchJob kept as
JSON text, which the launcher reads with ``json.load`` and creates as is, ``compile/kubernetes/scripts/launcher.py``)
holds the training pods' container environments (core/v1 ``EnvVar.value``). An entry added with ``kubectl
edit configmap train-<job>`` must not show its value in ``plan --refresh`` (audit closing-35a-1): drift
compares the template parsed and masks its env values by the one rule of ``mlops_infra.plan.env_values``
(never a live value; the state's only when the compiled graph holds it and it may not be a credential); a
value that is not a JSON document is hidden whole. The plain plan already hid them and is unchanged (its
goldens). The CLI test runs ``plan --refresh`` against the Kubernetes API stand-in (tests/support/kube_api.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_infra.cli.main import main
from mlops_infra.plan.drift import SENSITIVE, DriftItem, find_drift, left_alone
from mlops_infra.plan.model import drift_to_json
from mlops_infra.state import kube_live
from mlops_infra.state.model import LiveState, PriorState, StateResource
from tests.scenarios.harness import compile_file
from tests.state.test_kube_live import cluster_crds
from tests.support.applied_state import applied_state, dumps
from tests.support.kube_api import KubeApiStandIn

pytestmark = pytest.mark.timeout(300)

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
TYPED = "typed-in-console-Zq8w"  # a credential typed into the run template's env with kubectl edit


def _template() -> tuple[Any, Any]:
    graph = compile_file(FRAUD, "dev")
    return graph, next(r for r in graph.resources if r.role == "run-template")


def _drift(graph: Any, res: Any, text: str) -> list[DriftItem]:
    prior = StateResource(urn=res.urn, type=res.type, id=f"fraud-dev/{res.name}", inputs=copy.deepcopy(res.inputs),
                          outputs={})
    live = copy.deepcopy(res.inputs)
    (key,) = live["data"]
    live["data"][key] = text
    return find_drift(PriorState("dev", 3, "x", "q", "dev", {res.urn: prior}),
                      LiveState({res.urn: StateResource(urn=res.urn, type=res.type, id=prior.id, inputs=live,
                                                        outputs={})}),
                      tracking=kube_live.TRACKING, left=left_alone(graph), desired=graph)


def _out(found: list[DriftItem]) -> str:
    return "\n".join([*(it.summary for it in found), *(json.dumps(drift_to_json(it)) for it in found)])


def _with_env(text: str, name: str, value: str) -> str:
    job = json.loads(text)
    for spec in job["spec"]["pytorchReplicaSpecs"].values():
        for c in spec["template"]["spec"]["containers"]:
            c.setdefault("env", []).append({"name": name, "value": value})
    return json.dumps(job)


def test_the_compiled_run_template_is_known_as_a_json_document_holding_pod_templates() -> None:
    from mlops_infra.plan.env_values import template_keys  # here: the other tests also run on older trees

    _, res = _template()
    assert template_keys(res.inputs["data"]) == {"pytorchjob.json"}
    assert template_keys({"launcher.py": "print('{')", "routes.json": '{"a": 1}', "bad": "{not json"}) == frozenset()


def test_an_env_entry_typed_into_the_run_template_shows_no_value_in_drift_text_or_json() -> None:
    graph, res = _template()
    (text,) = res.inputs["data"].values()
    found = _drift(graph, res, _with_env(text, "WANDB_API_KEY", TYPED))  # the audit's repro
    assert TYPED not in _out(found), _out(found)
    assert [it.summary for it in found] == ["ConfigMap train-retrain: env WANDB_API_KEY added outside Pulumi"]
    changes = drift_to_json(found[0])["changes"]
    assert [c["after"] for c in changes] == [{"name": "WANDB_API_KEY", "value": SENSITIVE}] * len(changes)
    assert all(c["path"].endswith(".env[WANDB_API_KEY]") and c["before"] is None for c in changes)

    # typed into the JSON text as kubectl edit leaves it (not re-serialised): the summary window saw its start
    at = text.index('"env": [') + len('"env": [')
    found = _drift(graph, res, text[:at] + '{"name": "T", "value": "' + TYPED + '"},' + text[at:])
    assert TYPED not in _out(found) and TYPED[:10] not in _out(found), _out(found)
    assert [it.summary for it in found] == ["ConfigMap train-retrain: env T added outside Pulumi"]


def test_a_changed_template_variable_shows_the_compiled_state_value_only() -> None:
    graph, res = _template()
    (text,) = res.inputs["data"].values()
    job = json.loads(text)
    (container, *_) = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"]
    entry = next(e for e in container["env"] if e["name"] == "MLOPS_SHARDING")
    was, entry["value"] = entry["value"], TYPED
    found = _drift(graph, res, json.dumps(job))
    assert TYPED not in _out(found)
    assert [it.summary for it in found] == [
        f"ConfigMap train-retrain: env MLOPS_SHARDING {was} -> {SENSITIVE} changed outside Pulumi"]


def test_a_template_that_does_not_parse_is_hidden_whole_and_other_edits_still_show() -> None:
    graph, res = _template()
    (text,) = res.inputs["data"].values()
    broken = _with_env(text, "WANDB_API_KEY", TYPED)[:-1]  # no longer a JSON document
    found = _drift(graph, res, broken)
    assert TYPED not in _out(found), _out(found)
    (change,) = drift_to_json(found[0])["changes"]
    assert change["path"] == "data.pytorchjob.json" and change["after"] == SENSITIVE
    assert isinstance(change["before"], dict)  # the state's document, its env values by the rule

    job = json.loads(text)
    job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["image"] = "evil:latest"
    found = _drift(graph, res, json.dumps(job))
    assert [c["after"] for c in drift_to_json(found[0])["changes"]] == ["evil:latest"]


def _plan_refresh(capsys, monkeypatch, tmp_path: Path, fmt: str) -> tuple[int, str]:
    graph, res = _template()
    checkpoint = applied_state(graph)
    state = tmp_path / "state.json"
    state.write_text(dumps(checkpoint), encoding="utf-8")
    with KubeApiStandIn(crds=cluster_crds()) as api:
        for r in checkpoint["checkpoint"]["latest"]["resources"]:
            if r["type"].startswith("kubernetes:") and r.get("custom"):
                obj = copy.deepcopy({k: v for k, v in r["inputs"].items() if k != "__defaults"})
                if r["urn"] == res.urn:  # kubectl edit configmap train-retrain
                    (key, text), = obj["data"].items()
                    obj["data"][key] = _with_env(text, "WANDB_API_KEY", TYPED)
                api.seed(obj)
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "kind-mlops",
            "clusters": [{"name": "c", "cluster": {"server": api.url}}], "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "kind-mlops", "context": {"cluster": "c", "user": "u"}}]}))
        monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
        with pytest.raises(SystemExit) as exit_info:
            main(["plan", str(FRAUD), "--env", "dev", "--state", str(state), "--refresh", "--format", fmt])
    out, err = capsys.readouterr()
    return exit_info.value.code, out + err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_plan_refresh_against_the_cluster_shows_the_typed_entry_without_its_value(capsys, monkeypatch, tmp_path,
                                                                                  fmt: str) -> None:
    code, out = _plan_refresh(capsys, monkeypatch, tmp_path, fmt)
    assert "WANDB_API_KEY" in out, out
    assert TYPED not in out, out
    assert code in (0, 2), out
    if fmt == "json":
        doc = json.loads(out[out.index("{"):out.rindex("}") + 1])
        (item,) = [d for d in doc["drift"] if d["urn"].endswith("::train-retrain")]
        assert item["summary"] == "ConfigMap train-retrain: env WANDB_API_KEY added outside Pulumi"
