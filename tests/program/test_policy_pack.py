"""The CrossGuard policy pack, driven in-process through pulumi-policy's own analyzer servicer.

``PolicyPack`` starts a gRPC server and blocks, so the tests construct the pack's policies and call
the servicer that ``PolicyPack`` serves (``_PolicyAnalyzerServicer``: ``AnalyzeStack``,
``GetAnalyzerInfo``) with the requests the Pulumi engine sends, built from a compiled graph: every
resource with its type, URN, name, parent, dependencies and properties as a protobuf ``Struct``
(numbers as doubles, outputs not known before apply as Pulumi's unknown sentinel, as in a preview).
The answers must be plan's answers: same rules, levels, findings and resources.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

pulumi_policy = pytest.importorskip(
    "pulumi_policy", reason="the policy extra is not installed (pip install 'mlops-infra[policy]')")

from pulumi.runtime import proto  # noqa: E402
from pulumi_policy.policy import _PolicyAnalyzerServicer  # noqa: E402

from mlops_infra.graph import DesiredGraph  # noqa: E402
from mlops_infra.plan.guardrails import evaluate  # noqa: E402
from mlops_infra.program.policy_pack import PACK_NAME, SpecSource, policies  # noqa: E402
from mlops_infra.spec.guardrails import RULES, guardrail_settings  # noqa: E402
from tests.support.guardrails import FRAUD_DETECTION, GUARDED, compiled, edit  # noqa: E402
from tests.support.policy_pack import request_of  # noqa: E402

LEVEL = {proto.MANDATORY: "mandatory", proto.ADVISORY: "advisory"}


def servicer(system_file: Path, env: str | None = None) -> _PolicyAnalyzerServicer:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.0.1", list(policies(SpecSource(system_file, env))),
                                   pulumi_policy.EnforcementLevel.ADVISORY)


def analyze(system_file: Path, graph: DesiredGraph, env: str | None = None) -> tuple[set, set]:
    """({(rule, level, urn, message)} reported, {rules not applicable}) of the pack on ``graph``."""
    response = servicer(system_file, env).AnalyzeStack(request_of(graph), None)
    found = {(d.policyName, LEVEL[d.enforcementLevel], d.urn, d.message) for d in response.diagnostics}
    return found, {n.policy_name for n in response.not_applicable}


def plans_answer(text: str, env: str, graph: DesiredGraph) -> set:
    """The same tuples from plan's entry point (``mlops_infra.plan.guardrails.evaluate``)."""
    system, _ = compiled(text, env)
    components = {r.address: r.urn for r in graph.resources if not r.custom}
    return {(r.rule, r.level, f.urn or components.get(f.address, ""), f"{RULES[r.rule]}\n{f.message}. Fix: {f.fix}")
            for r in evaluate(graph, guardrail_settings(system, env)) for f in r.findings}


def spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlsystem.yaml"
    path.write_text(text)
    return path


def test_the_fraud_detection_example_passes_every_policy_in_every_environment() -> None:
    text = FRAUD_DETECTION.read_text()
    for env in ("dev", "staging", "prod"):
        _, graph = compiled(text, env)
        found, not_applicable = analyze(FRAUD_DETECTION, graph, env)
        assert found == set()
        assert not_applicable == ({"max_gpus", "max_hourly_cost_usd"} if env == "prod" else
                                  {"max_gpus", "max_hourly_cost_usd", "progressive_rollout", "capture", "approved_models"})


def test_the_pack_reports_what_plan_reports_with_the_same_levels(tmp_path: Path) -> None:
    text = edit(GUARDED, ("    capture: {sample_percent: 10}\n", ""), ("approval: manual", "approval: automatic"),
                ("    promote_from: staging\n",
                 "    promote_from: staging\n    guardrails: {max_gpus: 4, max_hourly_cost_usd: 1, rules: {capture: advisory}}\n"))
    path = spec_file(tmp_path, text)
    _, graph = compiled(text, "prod")
    found, _ = analyze(path, graph, "prod")
    expected = plans_answer(text, "prod", graph)
    assert {rule for rule, *_ in expected} == {"capture", "approved_models", "max_gpus", "max_hourly_cost_usd"}
    assert found == expected
    levels = {rule: level for rule, level, *_ in found}
    assert levels == {"capture": "advisory", "approved_models": "mandatory", "max_gpus": "mandatory",
                      "max_hourly_cost_usd": "mandatory"}
    endpoint = next(r.urn for r in graph.resources if r.type == "mlops:serving:Endpoint")
    assert ("capture", "advisory", endpoint) in {f[:3] for f in found}


def test_cloud_resources_are_checked_on_the_resource_itself(tmp_path: Path) -> None:
    path = spec_file(tmp_path, GUARDED)
    _, graph = compiled(GUARDED, "prod")
    block = next(r for r in graph.resources if r.type.endswith("BucketPublicAccessBlock"))
    sse = next(r for r in graph.resources if r.type.endswith("BucketServerSideEncryptionConfiguration"))
    broken = replace(graph, resources=tuple(r for r in graph.resources if r.urn not in (block.urn, sse.urn)))
    found, _ = analyze(path, broken, "prod")
    assert found == plans_answer(GUARDED, "prod", broken)
    bucket_of = {block.urn: next(d for d in block.dependencies if "bucket:Bucket" in d),
                 sse.urn: next(d for d in sse.dependencies if "bucket:Bucket" in d)}
    assert {(rule, urn) for rule, _, urn, _ in found} == {("no_public_access", bucket_of[block.urn]),
                                                         ("encryption", bucket_of[sse.urn])}


def test_outside_production_violations_are_advisory(tmp_path: Path) -> None:
    text = edit(GUARDED, ("alerts:\n  - {name: api-errors, monitor: api-errors, for: 5m, severity: critical, notify: [oncall]}\n",
                          "alerts: []\n"))
    path = spec_file(tmp_path, text)
    _, graph = compiled(text, "staging")
    found, _ = analyze(path, graph, "staging")
    assert found == plans_answer(text, "staging", graph)
    assert {(rule, level) for rule, level, *_ in found} == {("endpoint_alerts", "advisory")}


def test_the_environment_comes_from_stack_config_else_the_stack_name(tmp_path: Path, monkeypatch) -> None:
    text = edit(GUARDED, ("    capture: {sample_percent: 10}\n", ""))
    path = spec_file(tmp_path, text)
    _, graph = compiled(text, "prod")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"mlops:environment": "prod"}))
    monkeypatch.setenv("PULUMI_STACK", "something-else")
    assert {f[:2] for f in analyze(path, graph)[0]} == {("capture", "mandatory")}
    monkeypatch.setenv("PULUMI_CONFIG", "{}")
    monkeypatch.setenv("PULUMI_STACK", "prod")
    assert {f[:2] for f in analyze(path, graph)[0]} == {("capture", "mandatory")}


def test_a_spec_that_does_not_load_fails_closed(tmp_path: Path) -> None:
    path = spec_file(tmp_path, edit(GUARDED, ("kind: MLSystem", "kind: MLSystm")))
    _, graph = compiled(GUARDED, "prod")
    found, _ = analyze(path, graph, "prod")
    assert {rule for rule, *_ in found} == set(RULES)
    assert {level for _, level, *_ in found} == {"mandatory"}
    assert all("is not valid for environment prod" in message for *_, message in found)


def test_analyzer_info_lists_every_rule_at_its_level_in_the_environment(tmp_path: Path) -> None:
    info = servicer(spec_file(tmp_path, GUARDED), "prod").GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert [(p.name, LEVEL[p.enforcementLevel]) for p in info.policies] == [
        (rule, "advisory" if rule in ("max_gpus", "max_hourly_cost_usd") else "mandatory") for rule in RULES]
