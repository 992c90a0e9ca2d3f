"""production-derived-away (audit envs-5): a DR environment promoting from prod silently turned prod's
production guardrails off."""

from __future__ import annotations

from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

GATES = "    gates: [model_approved, no_drift, progressive_rollout, alerts_routed]\n"
PROD_OVERRIDES = "      endpoints.scorer.replicas: {min: 3, max: 20}\n"
ALL_AT_ONCE = "      endpoints.scorer.rollout: {strategy: all_at_once}\n"
DR = ("\n  prod-dr:\n    target: {kind: aws, region: eu-central-1, account: \"222222222222\"}\n"
      "    promote_from: prod\n")


def _t15(reference_text: str, production: str = "") -> str:
    """The audit's t15.yaml: prod's gates without progressive_rollout, an all-at-once rollout, and a DR
    environment promoting from prod (``production``: a guardrails line for prod, t16.yaml)."""
    text = edit(reference_text, GATES, "    gates: [model_approved, no_drift]\n" + production)
    return edit(text, PROD_OVERRIDES, PROD_OVERRIDES + ALL_AT_ONCE).rstrip("\n") + "\n" + DR


def test_a_dr_environment_that_makes_prod_not_production_is_warned_at_prods_gates(reference_text: str) -> None:
    text = _t15(reference_text)
    result = parse_system(text, env="prod")
    assert result.ok  # the derivation is kept: prod is not production, its rollout is not refused
    [d] = [d for d in result.diagnostics if d.code == "production-derived-away"]
    assert not d.is_error
    assert d.location.line == line_of(text, "    gates: [model_approved, no_drift]")
    assert d.summary == 'Environment "prod" is not production: "prod-dr" promotes from it'
    assert "set environments.prod.guardrails.production: true" in d.detail
    assert "its gates (no_drift)" in d.detail


def test_with_production_set_the_rollout_is_refused_and_nothing_is_warned(reference_text: str) -> None:
    """The audit's t16.yaml (checked at 142:7): the fix the warning gives restores the guardrail."""
    from mlops_infra.cli.guardrails import check_guardrails

    text = _t15(reference_text, "    guardrails: {production: true}\n")
    result = check_guardrails(parse_system(text, env="prod"))
    assert not [d for d in result.diagnostics if d.code == "production-derived-away"]
    [d] = [d for d in result.diagnostics if d.is_error]
    assert d.code == "guardrail-progressive-rollout"
    assert d.location.line == line_of(text, ALL_AT_ONCE)


def test_a_stage_without_release_gates_is_not_flagged(reference_text: str) -> None:
    """staging (dev -> staging -> prod) is not production either, by the same rule, and is no accident."""
    assert not [d for d in parse_system(reference_text).diagnostics if d.code == "production-derived-away"]
    text = _t15(reference_text, "    guardrails: {production: false}\n")
    assert not [d for d in parse_system(text).diagnostics if d.code == "production-derived-away"]
