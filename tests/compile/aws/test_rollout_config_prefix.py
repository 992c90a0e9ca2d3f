"""The rollout runner's endpoint-config grants are per endpoint and environment (audit limits-3).

The runner's role and the SageMaker driver used ``<physical endpoint>[:40]`` as the endpoint-config prefix; with a
system name of 40 characters or more that is the system name alone, so ``DescribeEndpointConfig``,
``DeleteEndpointConfig`` and ``CreateEndpointConfig`` covered every endpoint config of the system, other
environments of the account included (IAM: a ``*`` in a ``Resource`` ARN matches any characters; endpoint-config
ARNs are ``arn:aws:sagemaker:<region>:<account>:endpoint-config/<name>``). The audit's repro: the reference with
the 40-character system name ``fraud-detection-payments-eu-card-present``, a second canary endpoint
``scorer-shadow`` and staging in prod's account; the prod runner's ``DeleteKeptConfigs`` matched all four serving
configs of both environments. Now the prefix is ``physical_name(<system>, <env>, <endpoint>, max_len=40)``, the
same as before for a name that fits, carried to the driver in ``rollouts.json`` (``configPrefix``).
"""

from __future__ import annotations

import copy
import fnmatch
import json
from dataclasses import replace
from functools import cache

import pytest
import yaml

from mlops_infra.compile.aws import rollout_runner
from mlops_infra.compile.naming import physical_name, short_hash
from mlops_infra.rollout.connect import runner_config_prefix
from mlops_infra.rollout.drivers.sagemaker import EndpointTarget, rollout_config_prefix
from mlops_infra.rollout.scheduled import aws_members
from tests.compile.aws.cases import REFERENCE, compile_text, compiled, of_type, one, policy_statements

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
CONFIG_GRANTS = ("CreateRolloutConfigs", "SwitchEndpointConfigs", "ReadEndpointConfigs", "DeleteKeptConfigs")
LONG_SYSTEM = "fraud-detection-payments-eu-card-present"  # 40 characters


@cache
def long_named(env: str):
    return compile_text(long_named_text(), env)


def long_named_text() -> str:
    doc = yaml.safe_load(REFERENCE.read_text())
    doc["metadata"]["name"] = LONG_SYSTEM
    shadow = copy.deepcopy(doc["endpoints"][0])
    shadow["name"] = "scorer-shadow"
    doc["endpoints"].append(shadow)
    doc["environments"]["staging"]["target"]["account"] = doc["environments"]["prod"]["target"]["account"]
    return yaml.safe_dump(doc, sort_keys=False)


def runner_document(graph) -> dict:
    function = one(graph, rollout_runner.FUNCTION, "platform")
    return json.loads(function.inputs["code"]["$archive"][rollout_runner.DOCUMENT])


def config_grants(graph) -> dict[str, list[str]]:
    policy = next(r for r in graph.resources if r.address == "platform" and r.name == "rollout-runner-policy")
    return {s["Sid"]: s["Resource"] for s in policy_statements(policy) if s["Sid"] in CONFIG_GRANTS}


def arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:sagemaker:{region}:{account}:endpoint-config/{name}"


def configs_by_endpoint(graph, region: str, account: str) -> dict[str, set[str]]:
    """Endpoint -> the ARNs of its compiled serving config and of a rollout config the driver would name."""
    out: dict[str, set[str]] = {}
    prefixes = {i["address"]: i["endpoint"].get("configPrefix") or i["endpoint"]["endpoint"][:40]  # the old rule
                for i in runner_document(graph)["rollouts"]}
    for resource in of_type(graph, CONFIG):
        rollout = f"{prefixes[resource.address]}-rollout-v13-0a1b2c3d"
        out[resource.address] = {arn(region, account, resource.inputs["name"]), arn(region, account, rollout)}
    return out


def matched(patterns: list[str], arns: set[str]) -> set[str]:
    return {a for a in arns if any(fnmatch.fnmatchcase(a, p) for p in patterns)}


def test_a_long_system_names_grants_cover_no_other_environment_and_no_other_endpoint() -> None:
    prod, staging = long_named("prod"), long_named("staging")
    region, account = prod.metadata.get("region"), "222222222222"
    prod_configs, staging_configs = configs_by_endpoint(prod, region, account), configs_by_endpoint(staging, region,
                                                                                                    account)
    grants = config_grants(prod)
    assert set(grants) == set(CONFIG_GRANTS)
    every_staging = set().union(*staging_configs.values())
    for sid, patterns in grants.items():
        assert not matched(patterns, every_staging), (sid, patterns)  # before: all of staging's serving configs
    for address, own in prod_configs.items():
        others = set().union(*(c for a, c in prod_configs.items() if a != address))
        prefix = next(i["endpoint"]["configPrefix"] for i in runner_document(prod)["rollouts"] if i["address"] == address)
        mine = [p for p in grants["DeleteKeptConfigs"] if not matched([p], others)]
        assert matched(mine, own) == own  # each endpoint's configs are covered by patterns of its own
        name = address.split(".", 1)[1]
        assert prefix == physical_name(LONG_SYSTEM, "prod", name, max_len=40)  # cut, then its own hash:
        assert prefix.endswith(f"-{short_hash(f'{LONG_SYSTEM}-prod-{name}', 7)}")
    prefixes = [i["endpoint"]["configPrefix"] for i in runner_document(prod)["rollouts"]]
    assert len(set(prefixes)) == 2  # one per endpoint, each ending in its own hash
    legacy = f"arn:aws:sagemaker:{region}:{account}:endpoint-config/{LONG_SYSTEM}-rollout-v*"
    assert legacy in grants["DeleteKeptConfigs"] and legacy not in grants["CreateRolloutConfigs"]
    serving = {arn(region, account, r.inputs["name"]) for g in (prod, staging) for r in of_type(g, CONFIG)}
    assert not matched([legacy], serving)  # the earlier release's rollout configs only, no serving config


def test_a_name_that_fits_keeps_the_prefix_and_the_grants_it_had() -> None:
    graph = compiled(REFERENCE, "prod")
    (item,) = runner_document(graph)["rollouts"]
    endpoint = item["endpoint"]["endpoint"]
    assert len(endpoint) <= 40 and item["endpoint"]["configPrefix"] == endpoint[:40] == endpoint
    base = f"arn:aws:sagemaker:eu-west-1:222222222222:endpoint-config/{endpoint[:40]}"  # the rule before
    final = arn("eu-west-1", "222222222222", item["endpoint"]["finalConfig"])
    assert config_grants(graph) == {
        "CreateRolloutConfigs": [f"{base}-rollout-v*"], "SwitchEndpointConfigs": sorted([final, f"{base}-rollout-v*"]),
        "ReadEndpointConfigs": [f"{base}*"], "DeleteKeptConfigs": [f"{base}*"]}


def test_the_driver_and_the_cli_take_the_prefix_from_the_runner_document() -> None:
    graph = long_named("prod")
    document = runner_document(graph)
    members = aws_members(document, session=_Session())
    for member, item in zip(members, document["rollouts"], strict=True):
        target = member.driver.target
        assert target.config_prefix == item["endpoint"]["configPrefix"] != target.endpoint[:40]
        assert member.driver._rollout_prefix() == f"{item['endpoint']['configPrefix']}-rollout-v"
        assert runner_config_prefix(graph, target.endpoint) == target.config_prefix  # rollout/connect.py
    older = copy.deepcopy(document)
    for item in older["rollouts"]:
        del item["endpoint"]["configPrefix"]  # a document written before the prefix was recorded
    for member in aws_members(older, session=_Session()):
        assert member.driver._rollout_prefix() == f"{member.driver.target.endpoint[:40]}-rollout-v"


def test_rollout_config_prefix_falls_back_to_the_cut_without_a_prefix() -> None:
    target = EndpointTarget("a" * 50, "13", "cfg", "model")
    assert rollout_config_prefix(target.endpoint) == f"{'a' * 40}-rollout-v"
    assert rollout_config_prefix(target.endpoint, replace(target, config_prefix="p-1234567").config_prefix) == \
        "p-1234567-rollout-v"


class _Session:
    """A boto3 session stand-in: clients that are never called (the members are only built)."""

    def client(self, name: str, config=None) -> object:
        return object()
