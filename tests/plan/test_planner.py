"""make_plan: actions, reasons, cascades, protection, secrets and real Pulumi state files."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from mlops_infra.graph import (
    DesiredGraph,
    DesiredResource,
    GraphBuilder,
    ResourceOptions,
    archive,
    json_of,
    make_urn,
    ref,
)
from mlops_infra.plan.model import REDACTED, UNKNOWN_AFTER_APPLY, Action, Plan, amended
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.provider_versions import installed_sdk_versions
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, LiveState, PriorState, StateResource
from mlops_infra.state.pulumi_state import load_state

P, S = "fraud", "prod"
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
ROLE, MODEL = "aws:iam/role:Role", "aws:sagemaker/model:Model"
CONFIG, ENDPOINT = "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/endpoint:Endpoint"
BUCKET, PROVIDER = "aws:s3/bucket:Bucket", "pulumi:providers:aws"
AWS_SDK = installed_sdk_versions()["aws"]
"""The version this install's ``pulumi up`` writes into the provider (another one is warned about:
tests/plan/test_state_provider_versions.py)."""


def st(urn: str, type_: str, inputs: dict, outputs: dict | None = None, *, id: str | None = None,
       custom: bool = True, protect: bool = False, provider: str | None = None, parent: str | None = None) -> StateResource:
    return StateResource(urn=urn, type=type_, custom=custom, id=id, parent=parent, provider=provider,
                         inputs=inputs, outputs=outputs or {}, protect=protect)


def prior_of(*resources: StateResource, **kw: Any) -> PriorState:
    defaults: dict[str, Any] = {"source": "test", "version": 3, "serial": "s" * 64, "project": P, "stack": S}
    defaults.update(kw)
    return PriorState(resources={r.urn: r for r in resources}, **defaults)


def plan(graph: DesiredGraph, prior: PriorState, **kw: Any) -> Plan:
    return make_plan(graph, prior, options=kw.pop("options", FAST), **kw)


def by_name(result: Plan) -> dict[str, Any]:
    return {c.name: c for c in result.changes}


class Serving:
    """A small serving stack: component, role, model, endpoint config, endpoint, provider."""

    def __init__(self, *, version: int = 12, role_name: str = "scorer-role", config_name: str = "scorer-cfg-aaaa",
                 instance: str = "ml.g5.xlarge", region: str = "eu-west-1", protect_bucket: bool = False,
                 provider_name: str = "aws") -> None:
        b = GraphBuilder(P, S)
        self.provider = b.add(PROVIDER, provider_name, {"region": region}, address="platform", role="provider")
        facts = {"factsVersion": 1, "kind": "endpoint", "name": "scorer", "model": "fraud-model",
                 "modelVersion": version, "instanceType": instance, "gpuType": "A10G", "gpus": 1, "minReplicas": 2,
                 "maxReplicas": 10, "capturePercent": None,
                 "rollout": {"strategy": "canary", "steps": [10, 50, 100], "bakeSeconds": 600, "rollbackOn": []}}
        self.component = b.add("mlops:serving:Endpoint", "scorer", facts, custom=False, address="endpoints.scorer",
                               role="component")
        kw = {"parent": self.component, "provider": self.provider, "address": "endpoints.scorer"}
        self.role = b.add(ROLE, "scorer-role", {"name": role_name, "assumeRolePolicy": json_of(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "sagemaker.amazonaws.com"}}]})},
                          role="role", **kw)
        self.model = b.add(MODEL, "scorer-model", {"name": f"scorer-v{version}", "executionRoleArn": ref(self.role, "arn"),
                                                   "primaryContainer": {"image": "img:1", "modelDataUrl": f"s3://m/v{version}"}},
                           role="model", **kw)
        self.config = b.add(CONFIG, "scorer-config", {"name": config_name, "productionVariants": [
            {"variantName": "primary", "modelName": ref(self.model, "name"), "instanceType": instance,
             "initialInstanceCount": 2}]}, role="endpoint-config", **kw)
        self.endpoint = b.add(ENDPOINT, "scorer-endpoint", {"name": "scorer", "endpointConfigName": ref(self.config, "name")},
                              role="endpoint", **kw)
        self.bucket = b.add(BUCKET, "data", {"bucket": "fraud-prod-data"}, provider=self.provider,
                            options=ResourceOptions(protect=protect_bucket), address="data_sources.data", role="bucket")
        b.metadata.update({"cloud": "aws", "region": region, "account": "111111111111"})
        self.graph = b.build()

    def applied(self, **kw: Any) -> PriorState:
        """State as if this graph were applied (refs resolved, provider-added inputs)."""
        graph = self.graph.by_urn()
        prov = self.provider  # a StateResource names its provider by URN (the reader splits <urn>::<id>)
        role_inputs = graph[self.role].inputs
        role_name, model = role_inputs["name"], graph[self.model].inputs
        config = graph[self.config].inputs
        role_arn = f"arn:aws:iam::111111111111:role/{role_name}"
        return prior_of(
            st(self.provider, PROVIDER, {"region": graph[self.provider].inputs["region"], "version": AWS_SDK},
               id="0b7f5c3e-1111-2222-3333-444455556666"),
            st(self.component, "mlops:serving:Endpoint", graph[self.component].inputs, custom=False),
            st(self.role, ROLE, {"__defaults": ["forceDetachPolicies", "path"], "forceDetachPolicies": False,
                                 "path": "/", "name": role_name,
                                 "assumeRolePolicy": json.dumps(json.loads(json.dumps(
                                     role_inputs["assumeRolePolicy"]["$json"])), indent=1)},
               {"arn": role_arn, "name": role_name}, id=role_name, provider=prov),
            st(self.model, MODEL, {"__defaults": [], "name": model["name"], "executionRoleArn": role_arn,
                                   "primaryContainer": model["primaryContainer"]},
               {"name": model["name"], "arn": "arn:model"}, id=model["name"], provider=prov),
            st(self.config, CONFIG, {"__defaults": [], "name": config["name"], "productionVariants": [
                {**config["productionVariants"][0], "modelName": model["name"]}]},
               {"name": config["name"]}, id=config["name"], provider=prov),
            st(self.endpoint, ENDPOINT, {"__defaults": [], "name": "scorer", "endpointConfigName": config["name"]},
               {"name": "scorer"}, id="scorer", provider=prov),
            st(self.bucket, BUCKET, {"__defaults": ["acl", "forceDestroy"], "acl": "private", "forceDestroy": False,
                                     "bucket": "fraud-prod-data"}, {"bucket": "fraud-prod-data"},
               id="fraud-prod-data", provider=prov, protect=graph[self.bucket].options.protect),
            st(make_urn(S, P, ["pulumi:pulumi:Stack"], f"{P}-{S}"), "pulumi:pulumi:Stack", {}, custom=False),
            **kw)


# --- basic actions -----------------------------------------------------------------------------------------


def test_an_applied_graph_plans_all_no_ops() -> None:
    serving = Serving()
    result = plan(serving.graph, serving.applied())
    assert {c.action for c in result.changes} == {Action.NOOP}
    assert not result.has_changes and result.counts.total == 0
    assert [c.urn for c in result.changes] == sorted(c.urn for c in result.changes)
    assert result.state_serial == "s" * 64 and result.graph_digest == serving.graph.digest()


def test_the_graph_digest_is_computed_when_first_read_and_kept() -> None:
    """make_plan does not serialise the graph for its digest until something reads it (text and
    markdown renders do not); then it is the graph's digest, in the plan, its JSON and its copies."""
    serving = Serving()
    result = plan(serving.graph, serving.applied())
    assert "_digest" not in vars(serving.graph)  # not computed by planning
    copy = replace(result, warnings=("w",))
    assert copy.graph_digest == result.graph_digest == serving.graph.digest()
    assert result.to_json()["graphDigest"] == serving.graph.digest() and result == replace(copy, warnings=())
    with pytest.raises(AttributeError):
        result.graph_digest = "x"  # type: ignore[misc]  # still a frozen field


def test_an_amended_plan_keeps_its_digest_deferred() -> None:
    """``dataclasses.replace`` reads every field, so it computes the digest; the commands add their
    warnings and failed guardrails with :func:`amended`, which leaves it for whoever reads it."""
    serving = Serving()
    result = plan(serving.graph, serving.applied())
    copy = amended(result, warnings=("w",))
    assert "_digest" not in vars(serving.graph)  # neither plan computed it
    assert copy.warnings == ("w",) and copy.changes == result.changes
    assert copy.graph_digest == serving.graph.digest() == result.graph_digest
    assert amended(copy, warnings=()) == result
    other = Serving()
    replace(plan(other.graph, other.applied()), warnings=("w",))
    assert "_digest" in vars(other.graph)  # what amended avoids: replace computed it

def test_empty_state_creates_everything_and_counts_exclude_components() -> None:
    serving = Serving()
    result = plan(serving.graph, PriorState.empty(P, S))
    assert {c.action for c in result.changes} == {Action.CREATE}
    assert result.counts.add == len(serving.graph.resources) - 1  # the component is not counted
    model = by_name(result)["scorer-model"]
    assert model.reason.code == "new"
    assert {c.path: c.after for c in model.changes}["executionRoleArn"] == UNKNOWN_AFTER_APPLY
    config = by_name(result)["scorer-config"]
    assert config.changes[1].after[0]["modelName"] == "scorer-v12"  # a created model's name is known: it echoes


def test_removed_resources_are_deleted_except_root_stack_and_default_providers() -> None:
    serving = Serving()
    default_provider = make_urn(S, P, [PROVIDER], "default_7_10_0")
    extra = st(make_urn(S, P, [BUCKET], "old"), BUCKET, {"bucket": "old"}, id="old")
    prior = serving.applied()
    prior = replace(prior, resources={**prior.resources, extra.urn: extra,
                                      default_provider: st(default_provider, PROVIDER, {}, id="x")})
    result = plan(serving.graph, prior)
    deletes = [c for c in result.changes if c.action is Action.DELETE]
    assert [(c.name, c.reason.code) for c in deletes] == [("old", "removed-from-spec")]


def test_update_in_place_names_the_changed_paths() -> None:
    serving = Serving()
    prior = serving.applied()
    graph = serving.graph
    endpoint = graph.by_urn()[serving.endpoint]
    tagged = replace(endpoint, inputs={**endpoint.inputs, "tags": {"team": "risk"}})
    graph = replace(graph, resources=tuple(tagged if r.urn == endpoint.urn else r for r in graph.resources))
    change = by_name(plan(graph, prior))["scorer-endpoint"]
    assert (change.action, change.reason.code) == (Action.UPDATE, "property-changed")
    assert [(c.path, c.before, c.after, c.forces_replacement) for c in change.changes] == [
        ("tags", None, {"team": "risk"}, False)]


def test_include_noops_false_drops_them() -> None:
    serving = Serving()
    result = make_plan(serving.graph, serving.applied(), options=replace(FAST, include_noops=False))
    assert result.changes == ()


# --- replacement and the cascade ---------------------------------------------------------------------------


def test_model_version_bump_replaces_model_and_config_and_updates_endpoint() -> None:
    old = Serving(version=12, config_name="scorer-cfg-aaaa")
    new = Serving(version=14, config_name="scorer-cfg-bbbb")
    changes = by_name(plan(new.graph, old.applied()))
    model, config, endpoint = changes["scorer-model"], changes["scorer-config"], changes["scorer-endpoint"]
    assert (model.action, model.reason.code) == (Action.REPLACE, "forces-replacement")
    assert "SageMaker models are immutable" in model.reason.message
    assert {c.path for c in model.changes} == {"name", "primaryContainer.modelDataUrl"}
    assert (config.action, config.reason.code) == (Action.REPLACE, "forces-replacement")
    assert {(c.path, c.before, c.after) for c in config.changes} == {
        ("name", "scorer-cfg-aaaa", "scorer-cfg-bbbb"),
        ("productionVariants[0].modelName", "scorer-v12", "scorer-v14")}
    assert (endpoint.action, endpoint.reason.code) == (Action.UPDATE, "depends-on-replaced")
    assert [(c.path, c.before, c.after) for c in endpoint.changes] == [
        ("endpointConfigName", "scorer-cfg-aaaa", "scorer-cfg-bbbb")]
    assert changes["scorer-role"].action is Action.NOOP


def test_replaced_role_cascades_unknown_arn_into_a_model_replace() -> None:
    old = Serving(role_name="scorer-role")
    new = Serving(role_name="scorer-role-2")
    changes = by_name(plan(new.graph, old.applied()))
    assert changes["scorer-role"].action is Action.REPLACE
    model = changes["scorer-model"]
    assert (model.action, model.reason.code) == (Action.REPLACE, "depends-on-replaced")
    assert [(c.path, c.after, c.forces_replacement) for c in model.changes] == [
        ("executionRoleArn", UNKNOWN_AFTER_APPLY, True)]
    assert "scorer-role" in model.reason.message
    # the model keeps its name, so the config's modelName echoes the same value: no change there
    assert changes["scorer-config"].action is Action.NOOP


def test_replace_on_changes_option_and_delete_before_replace() -> None:
    serving = Serving()
    prior = serving.applied()
    res = serving.graph.by_urn()[serving.endpoint]
    changed = replace(res, inputs={**res.inputs, "tags": {"a": "b"}},
                      options=ResourceOptions(replace_on_changes=("tags",), delete_before_replace=True))
    graph = replace(serving.graph, resources=tuple(changed if r.urn == res.urn else r for r in serving.graph.resources))
    change = by_name(plan(graph, prior))["scorer-endpoint"]
    assert (change.action, change.reason.code) == (Action.REPLACE, "replace-on-changes")
    assert change.delete_before_replace


REGIONAL = ("scorer-model", "scorer-config", "scorer-endpoint", "data")
MANAGED = ("scorer-role", *REGIONAL)


def _stored_in(prior: PriorState, region: str) -> PriorState:
    """``prior`` as pulumi-aws 7 stores it: each region-aware resource's own ``region`` input, filled from its
    provider's (``rules.REGION``); the IAM role has none."""
    from mlops_infra.plan.rules import region_aware
    return replace(prior, resources={urn: replace(r, inputs={**r.inputs, "region": region})
                                     if r.custom and region_aware(r.type) else r for urn, r in prior.resources.items()})


def _moved_region(changes: dict[str, Any], before: str, after: str) -> None:
    """pulumi-aws 7: no resource is replaced for its provider (no aws provider key forces a replace,
    pulumi/pulumi-aws#5656); each region-aware one is replaced through its own region, the IAM role stays."""
    assert (changes["scorer-role"].action, changes["scorer-role"].reason.code) == (Action.NOOP, "no-change")
    for name in REGIONAL:
        assert (changes[name].action, changes[name].reason.code) == (Action.REPLACE, "forces-replacement"), name
        assert f"its region changes from {before} to {after}" in changes[name].reason.message, name
    assert not any(c.reason.code == "provider-replaced" for c in changes.values())


def test_provider_region_change_replaces_each_regional_resource_it_manages() -> None:
    """Closing-43a-2 (this test asserted pulumi-aws 6's cascade before: the provider and all it manages replaced,
    ``provider-replaced``): the provider's region change is an update of the provider."""
    old, new = Serving(region="eu-west-1"), Serving(region="eu-central-1")
    changes = by_name(plan(new.graph, _stored_in(old.applied(), "eu-west-1")))
    assert (changes["aws"].action, changes["aws"].reason.code) == (Action.UPDATE, "property-changed")
    _moved_region(changes, "eu-west-1", "eu-central-1")


def test_moving_to_another_explicit_provider_replaces_only_when_its_region_differs() -> None:
    """Pulumi >= 3.151 asks the new provider's ``DiffConfig`` for an explicit provider too (pulumi/pulumi#18509,
    ``providerChanged`` in pkg/resource/deploy/step_generator.go): a move to another explicit provider with the
    same region replaces nothing; with another region, the region-aware resources are replaced through their own
    region (pulumi-aws 7; closing-43a-2: this test pinned pulumi-aws 6's ``provider-replaced`` of all five before).
    (Until stop 43 this test pinned the older engines' rule, "replaced unless both are default providers", which no
    supported CLI applies.)"""
    old = Serving(provider_name="aws")
    same = by_name(plan(Serving(provider_name="aws-eu").graph, _stored_in(old.applied(), "eu-west-1")))
    assert (same["aws-eu"].action, same["aws"].action) == (Action.CREATE, Action.DELETE)
    assert all(same[name].action is Action.NOOP for name in MANAGED), {n: same[n].action for n in MANAGED}
    moved = by_name(plan(Serving(provider_name="aws-eu", region="eu-central-1").graph,
                         _stored_in(old.applied(), "eu-west-1")))
    _moved_region(moved, "eu-west-1", "eu-central-1")


def test_a_move_between_a_default_and_an_explicit_provider_follows_the_region() -> None:
    """A stack applied with the default provider, then given the explicit one (or back): the region-aware resources
    are replaced only when the region differs (the same ``DiffConfig`` rule, pulumi/pulumi#18509; pulumi-aws 7)."""
    default = Serving(provider_name="default_7_51_1")
    to_explicit = by_name(plan(Serving(provider_name="aws").graph, _stored_in(default.applied(), "eu-west-1")))
    assert all(to_explicit[name].action is Action.NOOP for name in MANAGED), {n: to_explicit[n].action for n in MANAGED}
    back = by_name(plan(default.graph, _stored_in(Serving(provider_name="aws").applied(), "eu-west-1")))
    assert all(back[name].action is Action.NOOP for name in MANAGED), {n: back[n].action for n in MANAGED}
    moved = by_name(plan(Serving(provider_name="aws", region="us-east-1").graph,
                         _stored_in(default.applied(), "eu-west-1")))
    _moved_region(moved, "eu-west-1", "us-east-1")


def test_between_default_providers_only_a_replacing_setting_replaces() -> None:
    """Two default providers: the engine asks the new one's DiffConfig; the aws provider type has no ``replace``
    key, so only the region-aware resources' own region replaces them."""
    old = Serving(provider_name="default_7_10_0")
    same = by_name(plan(Serving(provider_name="default_7_11_0").graph, _stored_in(old.applied(), "eu-west-1")))
    assert all(same[name].action is Action.NOOP for name in MANAGED), {n: same[n].action for n in MANAGED}
    moved = by_name(plan(Serving(provider_name="default_7_11_0", region="eu-central-1").graph,
                         _stored_in(old.applied(), "eu-west-1")))
    _moved_region(moved, "eu-west-1", "eu-central-1")


def test_a_provider_move_is_seen_through_a_state_file(tmp_path) -> None:
    """End to end: a state file names providers ``<urn>::<id>``, the reader keeps the URN, and the
    planner compares URNs (it cut the URN again, so no move was ever seen from a file)."""
    from mlops_infra.state.pulumi_state import load_state
    from tests.support.applied_state import applied_state, dumps

    old = Serving(provider_name="aws")
    path = tmp_path / "prior.json"
    path.write_text(dumps(applied_state(old.graph, account="111111111111", region="eu-west-1")))
    prior = load_state(path)
    assert prior.resources[old.model].provider == old.provider
    assert prior.resources[old.model].inputs["region"] == "eu-west-1"  # pulumi-aws 7's stored region
    unchanged = by_name(plan(old.graph, prior))
    assert all(unchanged[name].action is Action.NOOP for name in MANAGED), {n: unchanged[n].action for n in MANAGED}
    moved = by_name(plan(Serving(provider_name="aws-eu", region="eu-central-1").graph, prior))
    _moved_region(moved, "eu-west-1", "eu-central-1")


# --- protection ---------------------------------------------------------------------------------------------


def test_deleting_a_protected_resource_is_blocked_with_how_to_unprotect() -> None:
    serving = Serving(protect_bucket=True)
    prior = serving.applied()
    graph = replace(serving.graph, resources=tuple(r for r in serving.graph.resources if r.urn != serving.bucket))
    change = by_name(plan(graph, prior))["data"]
    assert (change.action, change.reason.code) == (Action.DELETE, "protected")
    assert change.blocked and "pulumi state unprotect" in change.blocked and serving.bucket in change.blocked
    assert change.address == ""  # no component parent in state


def test_replacing_a_protected_resource_is_blocked() -> None:
    old = Serving(protect_bucket=True)
    res = old.graph.by_urn()[old.bucket]
    renamed = replace(res, inputs={"bucket": "fraud-prod-data-2"})
    graph = replace(old.graph, resources=tuple(renamed if r.urn == res.urn else r for r in old.graph.resources))
    change = by_name(plan(graph, old.applied()))["data"]
    assert (change.action, change.reason.code) == (Action.REPLACE, "protected")
    assert "bucket" in change.reason.message and change.blocked


# --- warnings, live state, determinism ----------------------------------------------------------------------


def test_warnings_for_pending_operations_foreign_state_and_unknown_types() -> None:
    b = GraphBuilder(P, S)
    b.add("aws:glue/job:Job", "etl", {"name": "etl", "command": {"scriptLocation": "s3://b/new.py"}})
    graph = b.build()
    job = st(graph.resources[0].urn, "aws:glue/job:Job", {"name": "etl", "command": {"scriptLocation": "s3://b/old.py"}})
    result = plan(graph, prior_of(job, pending_operations=2))
    assert by_name(result)["etl"].action is Action.UPDATE
    text = "\n".join(result.warnings)
    assert "2 pending operation(s)" in text and "aws:glue/job:Job" in text
    foreign = plan(graph, prior_of(job, project="other", stack="dev"))
    assert any("other/dev" in w for w in foreign.warnings)


def test_a_resource_missing_in_the_cloud_is_created_again_and_drift_is_kept() -> None:
    serving = Serving()
    live = LiveState(resources={}, missing=frozenset({serving.endpoint}))
    drift = [{"urn": serving.endpoint, "kind": "deleted", "summary": "endpoint scorer: deleted outside Pulumi"}]
    result = plan(serving.graph, serving.applied(), live=live, drift=drift)
    change = by_name(result)["scorer-endpoint"]
    assert (change.action, change.reason.code) == (Action.CREATE, "missing-in-cloud")
    assert result.refreshed and result.to_json()["drift"] == drift


def test_plans_are_deterministic_and_independent_of_resource_order() -> None:
    old, new = Serving(version=12), Serving(version=14, config_name="scorer-cfg-bbbb")
    first = plan(new.graph, old.applied(), options=PlanOptions()).to_json()
    shuffled = replace(new.graph, resources=tuple(reversed(new.graph.resources)))
    second = make_plan(shuffled, old.applied()).to_json()
    first.pop("graphDigest"), second.pop("graphDigest")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


# --- secrets ------------------------------------------------------------------------------------------------


def _b64(value: Any) -> dict:
    return {SECRET_SIG: SECRET_MARKER, "ciphertext": base64.b64encode(json.dumps(value).encode()).decode()}


def test_no_secret_value_reaches_the_plan_json() -> None:
    b = GraphBuilder(P, S)
    b.add("aws:sns/topicSubscription:TopicSubscription", "hook",
          {"protocol": "https", "endpoint": "https://hooks.example/NEW-SECRET-TOKEN", "topic": "arn:t"})
    b.add("kubernetes:core/v1:Secret", "creds", {"apiVersion": "v1", "kind": "Secret",
                                                  "metadata": {"name": "creds"}, "stringData": {"key": "PLAIN-NEW"}})
    b.add("aws:secretsmanager/secretVersion:SecretVersion", "sv", {"secretId": "s", "secretString": "CREATE-SECRET"})
    b.add("aws:lambda/function:Function", "fn", {"name": "fn", "environment": {"variables": {"X": "1"}}})
    graph = b.build()
    urns = {r.name: r.urn for r in graph.resources}
    prior = prior_of(
        st(urns["hook"], "aws:sns/topicSubscription:TopicSubscription",
           {"protocol": "https", "endpoint": _b64("https://hooks.example/OLD-SECRET-TOKEN"), "topic": "arn:t"}),
        st(urns["creds"], "kubernetes:core/v1:Secret",
           {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "stringData": {"key": "PLAIN-OLD"}}),
        st(urns["fn"], "aws:lambda/function:Function",
           {"name": "fn", "environment": {"variables": {"X": _b64("OLD-ENV-SECRET")}}}),
        secrets_provider="b64")
    result = make_plan(graph, prior)
    text = json.dumps(result.to_json())
    for value in ("SECRET-TOKEN", "PLAIN-NEW", "PLAIN-OLD", "CREATE-SECRET", "OLD-ENV-SECRET", "ciphertext"):
        assert value not in text, value
    changes = by_name(result)
    assert changes["hook"].action is Action.REPLACE and changes["hook"].changes[0].before == REDACTED
    assert changes["creds"].changes[0].sensitive
    assert changes["fn"].changes[0].after == REDACTED  # the state marked it secret: the new value is hidden too


# --- real Pulumi state files --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stratify(shared_dir) -> PriorState:
    return load_state(shared_dir / "fixtures/pulumi/stratify_sample-export.json")


def test_real_export_against_an_empty_graph_deletes_all_but_the_stack_root(stratify: PriorState) -> None:
    result = plan(DesiredGraph("sample", "dev", ()), stratify)
    deleted = {c.urn for c in result.changes if c.action is Action.DELETE}
    kept = set(stratify.resources) - deleted
    assert {stratify.resources[u].type for u in kept} == {"pulumi:pulumi:Stack", PROVIDER}
    assert all(c.action is Action.DELETE for c in result.changes)
    assert result.counts.destroy == sum(1 for u in deleted if stratify.resources[u].custom) == 14
    # the warnings: the export was written by pulumi-aws 6.63.0 (provvers-4), and deleting the bucket "docs"
    # discards its objects (ReplaceRule.loses, audit removal-2)
    assert [w.split(", which discards ")[0] for w in result.warnings][1:] == ["docs is deleted"]
    assert result.warnings[0].startswith("the state was last written by pulumi-aws 6.63.0 (provider default_6_63_0)")


def _desired_from_state(state: StateResource, inputs: dict) -> DesiredResource:
    name = state.urn.rsplit("::", 1)[1]
    return DesiredResource(urn=state.urn, type=state.type, name=name, custom=True, parent=None, inputs=inputs)


def test_real_export_resources_match_equivalent_desired_inputs(stratify: PriorState) -> None:
    res = {r.type + "::" + r.urn.rsplit("::", 1)[1]: r for r in stratify.resources.values()}
    bucket = res["aws:s3/bucket:Bucket::docs"]
    role = res["aws:iam/role:Role::docsHandler"]
    fn = res["aws:lambda/function:Function::docsHandler"]
    code = fn.inputs["code"]["assets"]["__index.js"]["text"]
    fn_inputs = {k: v for k, v in fn.inputs.items() if k not in ("code", "__defaults", "name")}
    desired = [
        _desired_from_state(bucket, {"bucket": "docs-4936161"}),
        _desired_from_state(role, {"assumeRolePolicy": json_of(json.loads(role.inputs["assumeRolePolicy"]))}),
        _desired_from_state(fn, {**fn_inputs, "code": archive({"__index.js": code})}),
    ]
    graph = DesiredGraph("sample", "dev", tuple(sorted(desired, key=lambda r: r.urn)))
    changes = {c.urn: c for c in plan(graph, stratify).changes}
    assert [changes[r.urn].action for r in desired] == [Action.NOOP] * 3
    edited = replace(desired[2], inputs={**desired[2].inputs, "code": archive({"__index.js": code + "//v2\n"})})
    graph = DesiredGraph("sample", "dev", tuple(sorted([*desired[:2], edited], key=lambda r: r.urn)))
    change = {c.urn: c for c in plan(graph, stratify).changes}[fn.urn]
    assert change.action is Action.UPDATE and [c.path for c in change.changes] == ['code["__index.js"]']


def test_real_checkpoint_secrets_compare_by_plaintext(shared_dir) -> None:
    state = load_state(shared_dir / "fixtures/pulumi/pulumi_checkpoint-secrets.json")
    role = next(r for r in state.resources.values() if r.urn.endswith("countDown_watcher-iamrole"))
    plaintext = json.loads(base64.b64decode(role.inputs["assumeRolePolicy"]["ciphertext"]))
    desired = _desired_from_state(role, {"assumeRolePolicy": json_of(json.loads(plaintext))})
    result = plan(DesiredGraph(state.project or "", state.stack or "", (desired,)), state)
    change = {c.urn: c for c in result.changes}[role.urn]
    assert change.action is Action.NOOP
    other = replace(desired, inputs={"assumeRolePolicy": json_of({"Version": "2012-10-17", "Statement": []})})
    result = plan(DesiredGraph(state.project or "", state.stack or "", (other,)), state)
    change = {c.urn: c for c in result.changes}[role.urn]
    assert change.action is Action.UPDATE and all(c.sensitive for c in change.changes)
    assert "lambda.amazonaws.com" not in json.dumps(result.to_json())


def test_drift_items_from_the_detector_serialise_and_live_alone_runs_the_detector() -> None:
    from mlops_infra.plan.drift import DriftItem
    from mlops_infra.plan.model import plan_json_schema

    serving = Serving()
    item = DriftItem(urn=serving.endpoint, type=ENDPOINT, kind="changed",
                     changes=(("productionVariants[primary].desiredInstanceCount", 2, 5),),
                     summary="endpoint scorer: instance count 2 -> 5 changed outside Pulumi")
    result = plan(serving.graph, serving.applied(), drift=[item], options=PlanOptions())
    doc = result.to_json()
    assert doc["drift"] == [{"urn": serving.endpoint, "type": ENDPOINT, "kind": "changed",
                             "summary": item.summary, "changes": [
                                 {"path": "productionVariants[primary].desiredInstanceCount", "before": 2, "after": 5}]}]
    assert [(m.address, m.kind) for m in result.ml] == [("endpoints.scorer", "drift")]
    import jsonschema

    jsonschema.validate(doc, plan_json_schema())
    refreshed = plan(serving.graph, serving.applied(), live=LiveState(resources={}))
    assert refreshed.refreshed and refreshed.drift == ()


def _smallest_ready_first(deps: dict[str, set[str]]) -> list[str]:
    """The order make_plan's contract describes, computed naively: at each step the smallest URN
    whose dependencies are all placed, else (a cycle) the smallest URN not placed."""
    order: list[str] = []
    left = set(deps)
    while left:
        ready = [u for u in left if not (deps[u] & left)]
        urn = min(ready) if ready else min(left)
        order.append(urn)
        left.discard(urn)
    return order


@settings(max_examples=300, deadline=None)
@given(hst.data())
def test_resources_are_planned_dependencies_first_ties_and_cycles_by_urn(data) -> None:
    from mlops_infra.graph import DesiredGraph, DesiredResource
    from mlops_infra.plan.planner import _Planner

    names = data.draw(hst.lists(hst.sampled_from("abcdefghijkl"), min_size=1, max_size=10, unique=True))
    urns = [f"urn:pulumi:s::p::t::{n}" for n in names]
    resources, deps = [], {}
    for urn in urns:
        on = data.draw(hst.lists(hst.sampled_from([*urns, "urn:pulumi:s::p::t::elsewhere"]), max_size=4, unique=True))
        provider = data.draw(hst.none() | hst.sampled_from(urns))
        resources.append(DesiredResource(urn=urn, type="t", name=urn[-1], custom=True, parent=None, inputs={},
                                         dependencies=tuple(sorted(on)), provider=provider))
        deps[urn] = ({*on, provider} & set(urns)) - {urn}
    graph = DesiredGraph("p", "s", tuple(sorted(resources, key=lambda r: r.urn)))

    assert _Planner(graph, PriorState.empty(), None)._order() == _smallest_ready_first(deps)


def _resolve_in_the_documented_order(planner, urn: str, output: str):
    """What a ref resolves to, each case in the order the planner's contract gives them (the
    reference for :meth:`_Planner._resolve`, which answers the common case first)."""
    from mlops_infra.plan.normalize import MISSING, RefValue, get_dotted
    from mlops_infra.state.model import UNKNOWN

    action = planner.actions.get(urn)
    target = planner.desired.get(urn)
    echo = get_dotted(target.inputs, output) if target is not None else MISSING
    if isinstance(echo, (dict, list)):
        echo = MISSING
    if action in (Action.CREATE, Action.REPLACE):
        return RefValue(UNKNOWN if echo is MISSING else echo, source=urn)
    state = planner.prior.get(urn)
    if state is None:
        return RefValue(UNKNOWN if echo is MISSING else echo)
    if action is Action.UPDATE and echo is not MISSING:
        return RefValue(echo)
    value = state.id if output == "id" else state.outputs.get(output.partition(".")[0], MISSING)
    if output.partition(".")[1]:
        value = get_dotted(value, output.partition(".")[2])
    if value is MISSING or value is None:
        return RefValue(echo) if echo is not MISSING else RefValue(same_as_prior=True)
    return RefValue(value)


_ABSENT = object()
"""No such input or output (for the property test of refs)."""


@settings(max_examples=300, deadline=None)
@given(hst.sampled_from([None, *Action]), hst.booleans(), hst.booleans(),
       hst.sampled_from(["id", "arn", "name", "conf.size", "absent"]),
       hst.sampled_from([None, "", "i-1"]), hst.sampled_from([_ABSENT, None, "arn:1", {"a": 1}, 0]),
       hst.sampled_from([_ABSENT, None, "echoed", ["x"], 3]))
def test_a_ref_resolves_as_the_contract_orders_its_cases(action, desired, stored, output, rid, value, echo) -> None:
    from mlops_infra.graph import DesiredGraph, DesiredResource
    from mlops_infra.plan.planner import _Planner

    urn = "urn:pulumi:s::p::t::target"
    head = output.partition(".")[0]
    inputs = {} if echo is _ABSENT else {head: {"size": echo} if "." in output else echo}
    graph = DesiredGraph("p", "s", (DesiredResource(urn=urn, type="t", name="target", custom=True, parent=None,
                                                    inputs=inputs),) if desired else ())
    outputs = {} if value is _ABSENT else {head: {"size": value} if "." in output else value}
    prior = prior_of(st(urn, "t", {"name": "n"}, outputs, id=rid)) if stored else prior_of()
    planner = _Planner(graph, prior, None)
    if action is not None:
        planner.actions[urn] = action
    assert planner._resolve(urn, output) == _resolve_in_the_documented_order(planner, urn, output)


def test_plans_of_the_scenarios_with_a_state_are_those_of_the_walk() -> None:
    """Each golden scenario with a prior state, planned with unchanged resources proved from their
    stored text (``normalize.unchanged``), renders as planned with every resource walked (the
    shortcuts off); the proof answers for most of their resources."""
    import mlops_infra.plan.normalize as module
    from tests.plan.test_normalize import _walk_only
    from tests.scenarios.harness import render_scenario, scenario_folders

    real, proved = module.unchanged, []

    def counted(*args, **kwargs):
        answer = real(*args, **kwargs)
        proved.append(answer)
        return answer

    folders = [f for f in scenario_folders() if (f / "prior.json").is_file()]
    assert len(folders) >= 5
    for folder in folders:
        module.unchanged = counted
        try:
            fast = render_scenario(folder)
        finally:
            module.unchanged = real
        with _walk_only(module):
            slow = render_scenario(folder)
        assert fast == slow, folder.name
    assert sum(proved) > len(proved) / 2, (sum(proved), len(proved))


@settings(max_examples=200, deadline=None)
@given(hst.booleans(), hst.sampled_from(["none", "same", "other", "default", "gone"]),
       hst.sampled_from(["none", "same", "other", "default", "gone"]), hst.booleans(), hst.booleans(),
       hst.booleans(), hst.booleans())
def test_an_unchanged_resource_planned_from_its_text_is_planned_as_walked(
        custom, provider, stored_provider, region_moves, protect, protect_state, delete_before_replace) -> None:
    """A resource whose stored inputs prove it unchanged (``normalize.unchanged``) is given its NOOP by
    ``_plan`` itself when its provider gives no reason (the same provider in the state, not
    replaced); planned with every resource walked (the shortcuts off, ``_decide`` and ``_record``
    deciding), its change is the same, whatever its provider, the state's provider and that
    provider's own change: explicit or default, replaced by a region move, gone from the state or
    the graph, protected or not. A custom bucket's stored ``region`` is as pulumi-aws 7 stores it, an input
    outside ``__defaults`` (the provider fills it before ``Check``: rules.REGION), equal to its provider's or not,
    or of a provider whose region the plan does not know (none named, an explicit one in the state)."""
    import mlops_infra.plan.normalize as module
    from tests.plan.test_normalize import _walk_only

    urns = {"same": make_urn(S, P, [PROVIDER], "aws"), "other": make_urn(S, P, [PROVIDER], "aws-eu"),
            "default": make_urn(S, P, [PROVIDER], "default_7_10_0"), "gone": make_urn(S, P, [PROVIDER], "old")}
    providers = [DesiredResource(urn=urns[name], type=PROVIDER, name=name, custom=True, parent=None,
                                 inputs={"region": "eu-central-1" if region_moves and name == "same" else "eu-west-1"})
                 for name in ("same", "other", "default")]
    bucket = make_urn(S, P, [BUCKET], "data")
    inputs = {"bucket": "fraud-prod-data", "tags": {"team": "risk"}}
    desired = DesiredResource(urn=bucket, type=BUCKET, name="data", custom=custom, parent=None, inputs=inputs,
                              provider=None if provider == "none" else urns[provider], address="data",
                              options=ResourceOptions(protect=protect, delete_before_replace=delete_before_replace))
    graph = DesiredGraph(P, S, tuple(sorted([*providers, desired], key=lambda r: r.urn)))
    prior = prior_of(*(st(urns[name], PROVIDER, {"region": "eu-west-1"}, id=name) for name in ("same", "other", "default")),
                     st(bucket, BUCKET, {"__defaults": [], **inputs, **({"region": "eu-west-1"} if custom else {})},
                        custom=custom,
                        protect=protect_state, provider=None if stored_provider == "none" else urns[stored_provider]))
    real, proved = module.unchanged, []
    module.unchanged = lambda *args, **kwargs: proved.append(real(*args, **kwargs)) or proved[-1]
    try:
        fast = plan(graph, prior)
    finally:
        module.unchanged = real
    with _walk_only(module):
        slow = plan(graph, prior)
    # proved from its text unless its region differs from its provider's (then a replace, whose region it names)
    assert (True in proved) is not (custom and provider == "same" and region_moves)
    assert repr(fast.changes) == repr(slow.changes) and fast.warnings == slow.warnings


def test_plans_of_the_bench_scenario_are_those_of_the_walk(tmp_path) -> None:
    """The scenario ``benchmarks/bench_cli.py`` times (``bench_plan.build``: every 100th endpoint with a new
    model version, tags edited out of band, the state in the engine's layout and read from a file as
    ``plan --state`` reads it), at a few endpoints: planned with unchanged resources proved from their
    stored text, it renders as planned with every resource walked (the shortcuts off), and the proof
    answers for most resources."""
    import mlops_infra.plan.normalize as module
    from benchmarks.bench_plan import build
    from mlops_infra.render import render_json, render_text
    from tests.plan.test_normalize import _walk_only

    desired, _, _, _, text = build(3, "prod", indent=4)
    (tmp_path / "prior.json").write_text(text)
    options = PlanOptions(summarize_ml=False, estimate_cost=False)
    real, proved = module.unchanged, []

    def counted(*args, **kwargs):
        answer = real(*args, **kwargs)
        proved.append(answer)
        return answer

    module.unchanged = counted
    try:
        fast = make_plan(desired, load_state(tmp_path / "prior.json"), options=options)
    finally:
        module.unchanged = real
    with _walk_only(module):
        slow = make_plan(desired, load_state(tmp_path / "prior.json"), options=options)
    assert render_json(fast) == render_json(slow) and render_text(fast) == render_text(slow)
    assert fast.counts.total > 0
    assert sum(proved) > len(proved) * 0.9, (sum(proved), len(proved))
