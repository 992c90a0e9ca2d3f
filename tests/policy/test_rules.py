"""Each guardrail rule passes and fails, on the compiled graph and on validate's graph of components.

The rules (mlops_infra.policy.rules) read component facts and cloud resources; every rule has a case
that passes (the GUARDED system, and the fraud-detection example) and one that fails, with the finding
naming the item, the field to change and, for cloud resources, the URN.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlops_infra.compile.facts import TARGET_KEYS
from mlops_infra.graph import DesiredGraph
from mlops_infra.plan.guardrails import cost_ceiling, evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.policy.rules import evaluate_guardrails, failing
from mlops_infra.spec.guardrails import RULES, guardrail_settings
from tests.support.guardrails import FRAUD_DETECTION, GUARDED, REPO, compiled, edit, loaded

PROD_RULES = {"encryption", "no_public_access", "progressive_rollout", "capture", "approved_models", "endpoint_alerts"}


def results(text: str, env: str, *, graph: DesiredGraph | None = None) -> dict[str, object]:
    system, compiled_graph = compiled(text, env)
    return {r.rule: r for r in evaluate(graph or compiled_graph, guardrail_settings(system, env))}


def components(text: str, env: str) -> dict[str, object]:
    system = loaded(text, env).system
    return {r.rule: r for r in evaluate(facts_graph(system, env), guardrail_settings(system, env))}


def only_failure(found: dict[str, object], rule: str):
    failed = [r for r in found.values() if r.status == "fail"]
    assert [r.rule for r in failed] == [rule], [(r.rule, r.findings) for r in failed]
    return failed[0]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_rule_passes_on_the_guarded_system(env: str) -> None:
    for found in (results(GUARDED, env), components(GUARDED, env)):
        assert all(r.status == "pass" for r in found.values()), found
    assert set(results(GUARDED, env)) == (PROD_RULES if env == "prod" else PROD_RULES - {
        "progressive_rollout", "capture", "approved_models"})


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_rule_passes_on_the_fraud_detection_example(env: str) -> None:
    text = FRAUD_DETECTION.read_text()
    assert all(r.status == "pass" for r in results(text, env).values())
    assert all(r.status == "pass" for r in components(text, env).values())


def test_production_rules_are_mandatory_in_prod_and_absent_elsewhere() -> None:
    prod = results(GUARDED, "prod")
    assert {r.level for r in prod.values()} == {"mandatory"}
    staging = results(GUARDED, "staging")
    assert {r.level for r in staging.values()} == {"advisory"}
    assert not {"progressive_rollout", "capture", "approved_models"} & set(staging)


# -- encryption ------------------------------------------------------------------------------------


def test_encryption_fails_for_a_data_source_on_sse_s3() -> None:
    text = edit(GUARDED, ("{name: events, kind: object_store}", "{name: events, kind: object_store, encryption: s3}"))
    for found in (results(text, "prod"), components(text, "prod")):
        result = only_failure(found, "encryption")
        finding = result.findings[0]
        assert (finding.address, finding.field) == ("data_sources.events", "encryption")
        assert "SSE-S3" in finding.message and "encryption: kms" in finding.fix
        assert result.blocks


def test_encryption_fails_for_a_bucket_without_kms_default_encryption() -> None:
    _, graph = compiled(GUARDED, "prod")
    sse = [r for r in graph.resources if r.type.endswith("BucketServerSideEncryptionConfiguration")]
    assert len(sse) == 3  # the data source's bucket and the platform's capture and artifacts buckets
    dropped = replace(graph, resources=tuple(r for r in graph.resources if r.urn != sse[0].urn))
    aes = replace(graph, resources=tuple(
        replace(r, inputs={**r.inputs, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]})
        if r.urn == sse[1].urn else r for r in graph.resources))
    for broken, seen in ((dropped, "none"), (aes, "AES256")):
        result = only_failure(results(GUARDED, "prod", graph=broken), "encryption")
        (finding,) = result.findings
        bucket = next(d for d in (sse[0] if broken is dropped else sse[1]).dependencies if "bucket:Bucket" in d)
        assert finding.urn == bucket and f"found: {seen}" in finding.message


# -- no_public_access ------------------------------------------------------------------------------


def _without(graph: DesiredGraph, predicate) -> DesiredGraph:
    return replace(graph, resources=tuple(r for r in graph.resources if not predicate(r)))


def _changed(graph: DesiredGraph, predicate, **inputs) -> DesiredGraph:
    return replace(graph, resources=tuple(replace(r, inputs={**r.inputs, **inputs}) if predicate(r) else r
                                          for r in graph.resources))


def test_no_public_access_fails_for_a_bucket_without_a_full_public_access_block() -> None:
    _, graph = compiled(GUARDED, "prod")
    block = next(r for r in graph.resources if r.type.endswith("BucketPublicAccessBlock") and r.address == "data_sources.events")
    for broken in (_without(graph, lambda r: r.urn == block.urn),
                   _changed(graph, lambda r: r.urn == block.urn, restrictPublicBuckets=False)):
        result = only_failure(results(GUARDED, "prod", graph=broken), "no_public_access")
        (finding,) = result.findings
        assert finding.address == "data_sources.events" and "public access block" in finding.message
        assert "restrictPublicBuckets: true" in finding.fix


def test_no_public_access_fails_for_a_bucket_policy_allowing_anyone() -> None:
    _, graph = compiled(GUARDED, "prod")
    policy = next(r for r in graph.resources if r.type == "aws:s3/bucketPolicy:BucketPolicy")
    public = {"Version": "2012-10-17", "Statement": [{"Sid": "Public", "Effect": "Allow", "Principal": {"AWS": "*"},
                                                      "Action": "s3:GetObject", "Resource": "*"}]}
    for document in ({"$json": public}, __import__("json").dumps(public)):  # graph sentinel; Pulumi's string
        broken = _changed(graph, lambda r, p=policy: r.urn == p.urn, policy=document)
        (finding,) = only_failure(results(GUARDED, "prod", graph=broken), "no_public_access").findings
        assert finding.urn == policy.urn and "allows the principal *" in finding.message


def test_the_tls_only_deny_policies_mlops_infra_writes_pass() -> None:
    _, graph = compiled(GUARDED, "prod")
    assert any(r.type == "aws:s3/bucketPolicy:BucketPolicy" for r in graph.resources)
    assert results(GUARDED, "prod")["no_public_access"].status == "pass"


def test_no_public_access_fails_for_a_kubernetes_service_exposed_outside_the_cluster() -> None:
    _, graph = compiled(GUARDED, "dev")
    service = next(r for r in graph.resources if r.type == "kubernetes:core/v1:Service")
    broken = _changed(graph, lambda r: r.urn == service.urn, spec={**service.inputs["spec"], "type": "LoadBalancer"})
    result = only_failure(results(GUARDED, "dev", graph=broken), "no_public_access")
    assert result.level == "advisory" and not result.blocks
    assert "type LoadBalancer" in result.findings[0].message


# -- production endpoints ----------------------------------------------------------------------------


def test_progressive_rollout_fails_for_an_all_at_once_production_endpoint() -> None:
    text = edit(GUARDED, ("    promote_from: staging\n", "    promote_from: staging\n    overrides:\n"
                          "      endpoints.api.rollout: {strategy: all_at_once}\n"))
    for found in (results(text, "prod"), components(text, "prod")):
        (finding,) = only_failure(found, "progressive_rollout").findings
        assert (finding.address, finding.field) == ("endpoints.api", "rollout.strategy")
    assert results(text, "staging")["endpoint_alerts"].status == "pass"  # staging is not production
    assert "progressive_rollout" not in results(text, "staging")


def test_capture_fails_for_a_production_endpoint_without_capture() -> None:
    text = edit(GUARDED, ("    capture: {sample_percent: 10}\n", ""))
    for found in (results(text, "prod"), components(text, "prod")):
        (finding,) = only_failure(found, "capture").findings
        assert (finding.address, finding.field) == ("endpoints.api", "capture")
        assert "sample_percent" in finding.fix
    assert all(r.status == "pass" for r in results(text, "staging").values())


def test_approved_models_fails_when_versions_are_approved_automatically_and_prod_has_no_gate() -> None:
    text = edit(GUARDED, ("approval: manual", "approval: automatic"))
    for found in (results(text, "prod"), components(text, "prod")):
        (finding,) = only_failure(found, "approved_models").findings
        assert (finding.address, finding.field) == ("models.clf", "approval")
    gated = edit(text, ("    promote_from: staging\n", "    promote_from: staging\n    gates: [model_approved]\n"))
    assert results(gated, "prod")["approved_models"].status == "pass"


def test_approved_models_on_kubernetes_is_the_same_rule_as_on_aws() -> None:
    """Since ae4cc60 a Kubernetes endpoint serves only Approved versions of a manual model (the MLflow approval
    tag, as SageMaker's status on AWS), so approval: manual satisfies the rule there too; automatic does not."""
    production_dev = edit(GUARDED, ("  dev:\n", "  dev:\n    guardrails: {production: true}\n"))
    for found in (results(production_dev, "dev"), components(production_dev, "dev")):
        assert found["approved_models"].status == "pass"  # approval: manual
    automatic = edit(production_dev, ("approval: manual", "approval: automatic"))
    for found in (results(automatic, "dev"), components(automatic, "dev")):
        (finding,) = only_failure(found, "approved_models").findings
        assert (finding.address, finding.field) == ("models.clf", "approval")
    gated = edit(automatic, ("    guardrails: {production: true}\n",
                             "    guardrails: {production: true}\n    gates: [model_approved]\n"))
    assert results(gated, "dev")["approved_models"].status == "pass"


# -- caps ----------------------------------------------------------------------------------------------


def test_max_gpus_counts_endpoints_at_max_replicas_and_clusters_at_max_nodes() -> None:
    # api: 1 GPU x 4 replicas; train: 4 GPUs x 2 nodes = 12 in all
    at_cap = edit(GUARDED, ("    promote_from: staging\n", "    promote_from: staging\n    guardrails: {max_gpus: 12}\n"))
    assert results(at_cap, "prod")["max_gpus"].status == "pass"
    over = edit(GUARDED, ("    promote_from: staging\n", "    promote_from: staging\n    guardrails: {max_gpus: 11}\n"))
    for found in (results(over, "prod"), components(over, "prod")):
        (finding,) = only_failure(found, "max_gpus").findings
        assert (finding.address, finding.field) == ("environments.prod", "guardrails.max_gpus")
        assert "12 GPUs" in finding.message and "clusters.train: 4 GPU(s) x 2 node(s) = 8" in finding.message


def test_max_hourly_cost_uses_the_plans_prices_at_full_scale() -> None:
    _, graph = compiled(GUARDED, "prod")
    ceiling = cost_ceiling(graph)
    assert ceiling.by_item[0][0] == "endpoints.api"  # waits for v3 (a fresh group), priced as running
    assert ceiling.usd_per_hour > 1
    below = f"{ceiling.usd_per_hour * 0.9:.2f}"
    over = edit(GUARDED, ("    promote_from: staging\n",
                          f"    promote_from: staging\n    guardrails: {{max_hourly_cost_usd: {below}}}\n"))
    for found in (results(over, "prod"), components(over, "prod")):
        (finding,) = only_failure(found, "max_hourly_cost_usd").findings
        assert finding.field == "guardrails.max_hourly_cost_usd" and "endpoints.api: $" in finding.message
    above = f"{ceiling.usd_per_hour * 1.1:.2f}"
    fits = edit(GUARDED, ("    promote_from: staging\n",
                          f"    promote_from: staging\n    guardrails: {{max_hourly_cost_usd: {above}}}\n"))
    assert results(fits, "prod")["max_hourly_cost_usd"].status == "pass"


def test_the_cost_cap_fails_closed_without_a_price_function() -> None:
    text = edit(GUARDED, ("    promote_from: staging\n", "    promote_from: staging\n    guardrails: {max_hourly_cost_usd: 1000}\n"))
    system, graph = compiled(text, "prod")
    found = {r.rule: r for r in evaluate_guardrails(graph, guardrail_settings(system, "prod"))}
    assert found["max_hourly_cost_usd"].status == "fail"
    assert "could not be evaluated" in found["max_hourly_cost_usd"].findings[0].message


# -- alerts -------------------------------------------------------------------------------------------


def test_endpoint_alerts_fails_for_an_endpoint_no_alert_watches() -> None:
    text = edit(GUARDED, ("alerts:\n  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}\n",
                          "alerts: []\n"))
    for env in ("staging", "prod"):
        for found in (results(text, env), components(text, env)):
            (finding,) = only_failure(found, "endpoint_alerts").findings
            assert finding.address == "endpoints.api" and "notify" in finding.fix


# -- levels ----------------------------------------------------------------------------------------------


def test_levels_follow_the_environment_settings() -> None:
    text = edit(GUARDED, ("    capture: {sample_percent: 10}\n", ""),
                ("    promote_from: staging\n",
                 "    promote_from: staging\n    guardrails: {rules: {capture: advisory}}\n"),
                ("    promote_from: dev\n", "    promote_from: dev\n    guardrails: {production: true, enforcement: advisory}\n"))
    prod = only_failure(results(text, "prod"), "capture")
    assert (prod.level, prod.blocks) == ("advisory", False)
    staging = only_failure(results(text, "staging"), "capture")  # production by choice, advisory by choice
    assert (staging.level, staging.blocks) == ("advisory", False)
    assert failing([prod]) == (prod,)


def test_every_rule_has_a_check_and_a_description() -> None:
    from mlops_infra.policy.rules import CHECKS

    assert list(CHECKS) == list(RULES)


RULE_KEYS = ("kind", "name", "encryption", "gpus", "maxNodes", "minReplicas", "maxReplicas", "autoscaling", "rollout",
             "capturePercent", "model", "approval", "endpoint", "monitor", "notify")


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("text", [GUARDED, FRAUD_DETECTION.read_text()], ids=["guarded", "fraud-detection"])
def test_validate_reads_the_facts_the_compiled_graph_holds(text: str, env: str) -> None:
    from mlops_infra.policy.facts import RULE_SECTIONS, component_facts, system_facts

    system, graph = compiled(text, env)
    from_spec = system_facts(system, env, RULE_SECTIONS)
    from_graph = {a: f for a, f in component_facts(graph.resources).items() if a.split(".")[0] in RULE_SECTIONS}
    assert from_spec.keys() == from_graph.keys()
    for address, facts in from_spec.items():
        assert {k: facts.get(k) for k in RULE_KEYS} == {k: from_graph[address].get(k) for k in RULE_KEYS}, address


# -- what validate reads -----------------------------------------------------------------------------

FAILING = {
    "encryption": (("{name: events, kind: object_store}", "{name: events, kind: object_store, encryption: s3}"),),
    "progressive_rollout": (("rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}",
                             "rollout: {strategy: all_at_once}"),),
    "capture": (("    capture: {sample_percent: 10}\n", ""),),
    "approved_models": (("approval: manual", "approval: automatic"),
                        ("  dev:\n", "  dev:\n    guardrails: {production: true}\n")),
    "max_gpus": (("    promote_from: staging\n", "    promote_from: staging\n    guardrails: {max_gpus: 1}\n"),
                 ("  dev:\n", "  dev:\n    guardrails: {max_gpus: 1}\n")),
    "endpoint_alerts": (("alerts:\n  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, "
                         "notify: [oncall]}\n", "alerts: []\n"),),
}
"""An edit of GUARDED per facts-reading rule that makes it fail (the findings' branches run too)."""


class _TargetBlind(dict):
    """Facts that fail the test when a rule reads a key whose value depends on the target."""

    def __getitem__(self, key: str) -> object:
        assert key not in TARGET_KEYS, f"a guardrail rule read {key}"
        return super().__getitem__(key)

    def get(self, key: str, default: object = None) -> object:
        assert key not in TARGET_KEYS, f"a guardrail rule read {key}"
        return super().get(key, default)


@pytest.mark.parametrize("rule", sorted(FAILING))
def test_the_rules_read_no_fact_that_depends_on_the_target(rule: str) -> None:
    """validate makes each item's facts once for all environments (``system_facts(any_target=True)``:
    a Kubernetes environment may read the facts made for an AWS one): right only while no rule reads
    ``instanceType`` or ``jobInstanceType``. Every rule, failing, on facts that refuse those keys."""
    from mlops_infra.policy.facts import RULE_SECTIONS, system_facts

    text = edit(GUARDED, *FAILING[rule])
    failed = set()
    for env in ("dev", "staging", "prod"):
        system = loaded(text, env).system
        facts = system_facts(system, env, RULE_SECTIONS)
        blind = {address: _TargetBlind(f) for address, f in facts.items()}
        settings = guardrail_settings(system, env)
        found = evaluate(DesiredGraph("guarded", env, (), metadata={"cloud": system.environments[env].target.kind}),
                         settings, blind)
        assert found == evaluate(facts_graph(system, env, RULE_SECTIONS), settings)
        failed |= {r.rule for r in found if r.status == "fail"}
    assert rule in failed


def test_facts_differ_between_targets_only_in_the_target_keys() -> None:
    """The contract ``system_facts(any_target=True)`` relies on (compile/facts.py), on every item of
    both examples that run on both clouds, GPU and CPU shapes, drift and other monitors."""
    from mlops_infra.policy.facts import ALL_SECTIONS, system_facts

    for text in (GUARDED, FRAUD_DETECTION.read_text(), (REPO / "examples" / "llm-platform" / "mlsystem.yaml").read_text()):
        system = loaded(text, None).system
        envs = {system.environments[e].target.kind: e for e in system.environments}
        assert set(envs) == {"aws", "kubernetes"}
        on_aws, on_kubernetes = (system_facts(system, envs[kind], ALL_SECTIONS) for kind in ("aws", "kubernetes"))
        assert on_aws.keys() == on_kubernetes.keys()
        for address, facts in on_aws.items():
            other = on_kubernetes[address]
            assert facts.keys() == other.keys(), address
            assert {k: v for k, v in facts.items() if k not in TARGET_KEYS} == {
                k: v for k, v in other.items() if k not in TARGET_KEYS}, address
