"""A retrain gate's permissions fit Lambda's 20 KB resource-based policy (compile/aws/gates.py).

A training job that retrains on many alerts got one EventBridge rule and one ``AddPermission``
statement on its gate per alert; past about 50 alerts the gate's policy passed Lambda's 20 KB and
``pulumi up`` failed with ``PolicyLengthExceededException``. Checked here: the moto server refuses
what Lambda refuses (tests/support/moto_server.py, patch 10); the gate of a job retraining on 60
drift alerts takes its permissions on that server (the per-rule permissions, as compiled before, are
refused); the shared permission's pattern matches every rule of the job and no rule of another job
here; the permission's inputs are pulumi_aws's; a job with few alerts keeps one permission per rule.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from typing import Any

import botocore.exceptions
import pytest
import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import gates
from mlops_infra.graph import DesiredGraph, is_ref
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import REPO, compiled, of_type
from tests.compile.aws.pulumi_schema import check_inputs
from tests.support.moto_server import client, handler_zip, reset, running_moto_server

REGION, ACCOUNT = "eu-west-1", "222222222222"
ALERTS = 60


def _retraining_on(alerts: int, jobs: int = 1) -> str:
    """The benchmark system of ``alerts`` endpoints, all serving one model, whose training job(s)
    retrain on every endpoint's drift alert (each of ``jobs`` jobs on all of them)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    doc = yaml.safe_load(generate(alerts))
    for endpoint in doc["endpoints"]:
        endpoint["model"]["name"] = "model-000"
    drift = {m["name"] for m in doc["monitors"] if m["metric"] == "feature_drift"}
    on = [a["name"] for a in doc["alerts"] if a["monitor"] in drift]
    assert len(on) == alerts
    template = next(j for j in doc["training_jobs"] if j["registers"] == "model-000")
    template["triggers"]["on_alerts"] = on
    doc["training_jobs"] = [dict(template, name=f"{template['name']}{'-x' * i}") for i in range(jobs)]
    return yaml.safe_dump(doc, sort_keys=False)


def _compile(text: str) -> DesiredGraph:
    loaded = parse_system(text, "mlsystem.yaml", "prod")
    assert loaded.system is not None, [d.summary for d in loaded.diagnostics]
    return compile_system(loaded.system, "prod")


@pytest.fixture(scope="module")
def graph() -> DesiredGraph:
    return _compile(_retraining_on(ALERTS))


@pytest.fixture(scope="module")
def per_rule_graph() -> DesiredGraph:
    """The same system as compiled before the policy was measured: one permission per rule."""
    saved = gates.POLICY_BUDGET
    gates.POLICY_BUDGET = 10**9
    try:
        return _compile(_retraining_on(ALERTS))
    finally:
        gates.POLICY_BUDGET = saved




def _function(url: str, name: str) -> Any:
    iam = client("iam", url)
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client("lambda", url, REGION)
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="h.handler",
                        Code={"ZipFile": handler_zip()})
    return lam


def _policy_bytes(lam: Any, name: str) -> int:
    """The policy's size as Lambda returns it (compact JSON; moto's server adds spaces)."""
    policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
    return len(json.dumps(policy, separators=(",", ":")).encode())


def _gate_permissions(graph: DesiredGraph) -> list[Any]:
    """The retrain gates' permissions (not the alert forwarders' for SNS)."""
    return [p for p in of_type(graph, gates.PERMISSION) if p.address.startswith("training_jobs.")]


def test_the_moto_server_refuses_a_permission_past_20_kb() -> None:
    with running_moto_server() as url:
        lam = _function(url, "f")
        added = 0
        while True:
            try:
                lam.add_permission(FunctionName="f", StatementId=f"s{added:03d}", Action="lambda:InvokeFunction",
                                   Principal="events.amazonaws.com",
                                   SourceArn=f"arn:aws:events:{REGION}:123456789012:rule/r{added:03d}")
            except botocore.exceptions.ClientError as refused:
                assert refused.response["Error"]["Code"] == "PolicyLengthExceededException"
                assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == 400
                break
            added += 1
        kept = _policy_bytes(lam, "f")
        assert kept <= 20 * 1024 < kept + kept // added  # full: one more statement would pass it
        assert len(json.loads(lam.get_policy(FunctionName="f")["Policy"])["Statement"]) == added
        reset(url)


def _add_permissions(graph: DesiredGraph, url: str) -> list[str]:
    """Create each gate and add its permissions as ``pulumi up`` does; the refused permissions."""
    by_urn = {r.urn: r for r in graph.resources}
    refused, made = [], set()
    lam = None
    for permission in _gate_permissions(graph):
        function = by_urn[permission.inputs["function"]["$ref"]].inputs["name"]
        if function not in made:
            lam = _function(url, function)
            made.add(function)
        source = permission.inputs["sourceArn"]
        arn = gates.rule_arn(_Aws(), by_urn[source["$ref"]].inputs["name"]) if is_ref(source) else source
        try:
            lam.add_permission(FunctionName=function, StatementId=permission.inputs["statementId"],
                               Action=permission.inputs["action"], Principal=permission.inputs["principal"],
                               SourceArn=arn)
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "PolicyLengthExceededException", error
            refused.append(permission.name)
    return refused


class _Aws:
    region, account = REGION, ACCOUNT


def test_the_gate_of_a_job_retraining_on_60_alerts_takes_its_permissions(graph, per_rule_graph) -> None:
    with running_moto_server() as url:
        assert _add_permissions(graph, url) == []
        reset(url)
        refused = _add_permissions(per_rule_graph, url)  # as compiled before: Lambda refuses the last ones
        reset(url)
    assert len(refused) > 0 and len(_gate_permissions(per_rule_graph)) == ALERTS


def test_one_permission_covers_every_rule_of_the_job_and_nothing_else_changes(graph, per_rule_graph) -> None:
    (permission,) = _gate_permissions(graph)
    pattern = permission.inputs["sourceArn"]
    rules = [gates.rule_arn(_Aws(), r.inputs["name"]) for r in of_type(graph, "aws:cloudwatch/eventRule:EventRule")
             if r.role == "alert-trigger-rule"]  # not the failed-run rule (training_failures), which invokes no gate
    assert len(rules) == ALERTS and all(fnmatch.fnmatchcase(rule, pattern) for rule in rules)
    assert pattern == gates.rule_arn(_Aws(), "bench-platform-prod-train-train-000-on-*")  # the job's prefix
    cut = ["a-very-long-name-of-which-the-end-was-cut-01", "a-very-long-name-of-which-the-end-was-cut-02"]
    assert gates.rules_pattern(_Aws(), cut, "a-very-long-name-of-which-the-end-was-cut-off-") == gates.rule_arn(
        _Aws(), "a-very-long-name-of-which-the-end-was-cut-0*")  # else their common prefix
    assert permission.inputs["sourceAccount"] == ACCOUNT
    assert check_inputs(gates.PERMISSION, permission.inputs) == []
    by_urn = {r.urn: r for r in graph.resources}
    for target in (t for t in of_type(graph, "aws:cloudwatch/eventTarget:EventTarget") if t.role == "alert-trigger-target"):
        assert permission.urn in target.dependencies  # a rule's target waits for the permission
        assert by_urn[target.inputs["arn"]["$ref"]].inputs["name"] == "bench-platform-prod-retrain-train-000"
    gate_permissions = {p.urn for g in (graph, per_rule_graph) for p in _gate_permissions(g)}
    before = {r.urn: r.to_json() for r in per_rule_graph.resources if r.urn not in gate_permissions}
    after = {r.urn: r.to_json() for r in graph.resources if r.urn not in gate_permissions}
    assert before.keys() == after.keys()
    changed = {after[u]["type"] for u in after if after[u] != before[u]}
    assert changed == {"aws:cloudwatch/eventTarget:EventTarget"}  # only which permission they wait for
    for urn in after:
        if after[urn] != before[urn]:
            assert {**after[urn], "dependencies": None} == {**before[urn], "dependencies": None}


def test_the_pattern_of_one_job_matches_no_rule_of_another() -> None:
    graph = _compile(_retraining_on(ALERTS, jobs=2))
    permissions = _gate_permissions(graph)
    assert len(permissions) == 2
    by_urn = {r.urn: r for r in graph.resources}
    rules = {r.urn: gates.rule_arn(_Aws(), r.inputs["name"]) for r in of_type(graph, "aws:cloudwatch/eventRule:EventRule")}
    for permission in permissions:
        gate = by_urn[permission.inputs["function"]["$ref"]]
        own = {rules[t.inputs["rule"]["$ref"]] for t in of_type(graph, "aws:cloudwatch/eventTarget:EventTarget")
               if t.inputs["arn"]["$ref"] == gate.urn}
        matched = {arn for arn in rules.values() if fnmatch.fnmatchcase(arn, permission.inputs["sourceArn"])}
        assert matched == own and len(own) == ALERTS


def test_a_job_with_few_alerts_keeps_a_permission_per_rule() -> None:
    for path in sorted(REPO.glob("examples/*/mlsystem.yaml")):
        graph = compiled(path, "prod")
        assert all(is_ref(p.inputs["sourceArn"]) for p in _gate_permissions(graph)), path
    graph = _compile(_retraining_on(10))
    permissions = _gate_permissions(graph)
    assert len(permissions) == 10 and all(is_ref(p.inputs["sourceArn"]) for p in permissions)
