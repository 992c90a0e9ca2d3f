"""The rollout runner's ConfigMaps stay under Kubernetes' 1 MiB cap at any size
(compile/kubernetes/rollout_runner.py, "Size"): a namespace too big for one ConfigMap gets its
rollouts in parts, each ConfigMap within the budget, all projected into the CronJob's one directory.

The cap is checked twice: by the budget the compiler keeps (its own count, keys included) and by the
API stand-in, which refuses a ConfigMap over 1 MiB as the API server does (tests/support/kube_api.py,
"Validation"): every compiled ConfigMap is accepted, the single ConfigMap the compiler made before
parts existed is refused. The runner's command on the projected files is run in
tests/rollout/test_scheduled_kubernetes.py.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import cache

import kubernetes_validate
import pytest

from mlops_infra.compile import rollout_code
from mlops_infra.compile.kubernetes import rollout_runner
from mlops_infra.compile.kubernetes.rollout_runner import BUDGET, CONFIGMAP_CAP, NAME, data_size
from mlops_infra.graph import DesiredGraph, DesiredResource
from tests.compile.kubernetes import many_rollouts
from tests.support.kube_api import CONFIGMAP_MAX_BYTES, KubeApiStandIn, configmap_data_size
from tests.support.kube_cases import compile_text

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def runner_resources(graph: DesiredGraph) -> dict[str, DesiredResource]:
    """The runner's resources by ``<Kind>/<name>``."""
    return {f"{r.inputs['kind']}/{r.inputs['metadata']['name']}": r for r in graph.resources
            if r.address == "platform" and r.inputs.get("metadata", {}).get("name", "").startswith(NAME)}


@cache
def sharded() -> dict[str, DesiredResource]:
    return runner_resources(many_rollouts.graph())


def config_maps(resources: dict[str, DesiredResource]) -> list[dict]:
    return [r.inputs for name, r in sorted(resources.items()) if name.startswith("ConfigMap/")]


def merged_rollouts(maps: list[dict]) -> list[dict]:
    head = json.loads(maps[0]["data"]["rollouts.json"])
    parts = [json.loads(m["data"][key]) for m in maps[1:] for key in m["data"]]
    return head["rollouts"] + [entry for part in parts for entry in part["rollouts"]]


def test_the_budget_keeps_a_margin_under_the_cap():
    assert CONFIGMAP_CAP == CONFIGMAP_MAX_BYTES == 1048576
    assert BUDGET == 917504 and CONFIGMAP_CAP - BUDGET == 128 * 1024


def test_a_namespace_too_big_for_one_configmap_gets_its_rollouts_in_parts_each_within_the_budget():
    graph = many_rollouts.graph()
    maps = config_maps(sharded())
    assert [m["metadata"]["name"] for m in maps] == [NAME, f"{NAME}-2", f"{NAME}-3"]
    for obj in maps:
        assert configmap_data_size(obj) <= data_size(obj["data"]) <= BUDGET < CONFIGMAP_CAP
    head = json.loads(maps[0]["data"]["rollouts.json"])
    assert head["parts"] == ["rollouts-2.json", "rollouts-3.json"] and head["rollouts"] == []
    assert set(maps[0]["data"]) == {rollout_runner.key(f"mlops_infra/{p}") for p in rollout_code.KUBERNETES} | {
        "rollouts.json"}
    assert [set(m["data"]) for m in maps[1:]] == [{"rollouts-2.json"}, {"rollouts-3.json"}]
    expected = [{"address": address, "plan": graph.rollouts[address]} for address in sorted(graph.rollouts)]
    assert merged_rollouts(maps) == expected and len(expected) == many_rollouts.ENDPOINTS


def test_the_configmap_the_compiler_made_before_parts_is_refused_and_every_part_is_accepted():
    """What the compiler made before parts existed: every shipped file and the whole document in one
    ConfigMap (``{key(path): text for path in sorted(files + rollouts.json)}``)."""
    maps = config_maps(sharded())
    head = json.loads(maps[0]["data"]["rollouts.json"])
    del head["parts"]
    head["rollouts"] = merged_rollouts(maps)
    shipped = dict(rollout_code.files(rollout_code.KUBERNETES))
    shipped["rollouts.json"] = rollout_code.document_text(head)
    single = {**maps[0], "data": {rollout_runner.key(p): shipped[p] for p in sorted(shipped)}}
    assert configmap_data_size(single) > CONFIGMAP_CAP
    with KubeApiStandIn() as api:
        code, refused = post(api, single)
        assert (code, refused["reason"]) == (422, "Invalid")
        assert refused["message"] == f'ConfigMap "{NAME}" is invalid: []: Too long: must have at most 1048576 bytes'
        assert [post(api, obj)[0] for obj in maps] == [201, 201, 201]


def post(api: KubeApiStandIn, obj: dict) -> tuple[int, dict]:
    """POST ``obj`` to the stand-in as any client would."""
    url = f"{api.url}/api/v1/namespaces/{obj['metadata']['namespace']}/configmaps"
    request = urllib.request.Request(url, data=json.dumps(obj).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_the_cronjob_projects_every_configmap_into_one_directory_and_depends_on_them_all():
    resources = sharded()
    cronjob = resources[f"CronJob/{NAME}"]
    maps = {name: r for name, r in resources.items() if name.startswith("ConfigMap/")}
    assert {r.urn for r in maps.values()} | {resources[f"RoleBinding/{NAME}"].urn} <= set(cronjob.dependencies)
    pod = cronjob.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "code"]
    assert set(volume) == {"name", "projected"}
    sources = volume["projected"]["sources"]
    assert [s["configMap"]["name"] for s in sources] == [NAME, f"{NAME}-2", f"{NAME}-3"]
    for source in sources:
        data = maps[f"ConfigMap/{source['configMap']['name']}"].inputs["data"]
        assert sorted(i["key"] for i in source["configMap"]["items"]) == sorted(data)
    paths = [i["path"] for s in sources for i in s["configMap"]["items"]]
    assert len(paths) == len(set(paths)) and {"rollouts.json", "rollouts-2.json", "rollouts-3.json"} <= set(paths)
    for obj in [cronjob.inputs, *(r.inputs for r in maps.values())]:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_a_namespace_that_fits_in_one_configmap_gets_one_as_before():
    small = runner_resources(many_rollouts_small())
    assert sorted(small) == [f"{kind}/{NAME}" for kind in ("ConfigMap", "CronJob", "Role", "RoleBinding",
                                                             "ServiceAccount")]
    data = small[f"ConfigMap/{NAME}"].inputs["data"]
    assert "parts" not in json.loads(data["rollouts.json"])
    pod = small[f"CronJob/{NAME}"].inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "code"]
    assert volume["configMap"]["name"] == NAME and "projected" not in volume
    assert [i["path"] for i in volume["configMap"]["items"]] == sorted(
        [f"mlops_infra/{p}" for p in rollout_code.KUBERNETES] + ["rollouts.json"])


@cache
def many_rollouts_small() -> DesiredGraph:
    return compile_text(many_rollouts.text(many_rollouts.names(3)))


def test_parts_are_filled_in_address_order_each_as_full_as_the_budget_allows():
    entries = merged_rollouts(config_maps(sharded()))[:60]
    for budget in (3000, 9000, 40000):
        parts = rollout_runner.split_rollouts(entries, budget)
        assert [e for part in parts for e in part] == entries and all(parts)
        for number, part in enumerate(parts, start=2):
            text = rollout_code.document_text({"rollouts": part})
            assert data_size({rollout_runner.part_key(number): text}) <= budget
            if number - 2 < len(parts) - 1:  # the next entry would not have fitted
                fuller = rollout_code.document_text({"rollouts": [*part, parts[number - 1][0]]})
                assert data_size({rollout_runner.part_key(number): fuller}) > budget


def test_a_new_endpoint_last_in_address_order_changes_only_the_last_part():
    entries = merged_rollouts(config_maps(sharded()))
    extra = {**entries[-1], "address": "endpoints.zz-new"}
    before, after = rollout_runner.split_rollouts(entries), rollout_runner.split_rollouts([*entries, extra])
    assert len(before) == len(after) == 2
    assert after[0] == before[0] and after[1] == [*before[1], extra]
