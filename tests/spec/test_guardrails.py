"""environments.<env>.guardrails: which rules apply where, and at which level (mlops_infra.spec.guardrails)."""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from mlops_infra.spec.guardrails import RULES, guardrail_settings
from tests.support.guardrails import FRAUD_DETECTION, GUARDED, edit

PRODUCTION_ONLY = {"progressive_rollout", "capture", "approved_models"}


def settings(text: str, env: str):
    result = parse_system(text, "mlsystem.yaml")
    assert result.ok, [d.summary for d in result.diagnostics if d.is_error]
    return guardrail_settings(result.system, env)


def test_the_reference_needs_no_guardrails_block_and_prod_is_its_production() -> None:
    text = FRAUD_DETECTION.read_text()
    assert "guardrails" not in text
    prod, staging, dev = (settings(text, env) for env in ("prod", "staging", "dev"))
    assert prod.production and not staging.production and not dev.production
    assert set(prod.levels) == set(RULES) - {"max_gpus", "max_hourly_cost_usd"}
    assert set(prod.levels.values()) == {"mandatory"}
    assert set(staging.levels) == set(dev.levels) == {"encryption", "no_public_access", "endpoint_alerts"}
    assert set(staging.levels.values()) == {"advisory"}


def test_a_lone_environment_is_not_production_unless_it_says_so() -> None:
    text = edit(GUARDED, ("    promote_from: dev\n", ""), ("    promote_from: staging\n", ""))
    assert not any(settings(text, env).production for env in ("dev", "staging", "prod"))
    chosen = edit(text, ('  dev:\n', '  dev:\n    guardrails: {production: true}\n'))
    assert settings(chosen, "dev").production and settings(chosen, "dev").level("capture") == "mandatory"
    opted_out = edit(GUARDED, ('    promote_from: staging\n', '    promote_from: staging\n    guardrails: {production: false}\n'))
    assert not settings(opted_out, "prod").production


def test_enforcement_and_rules_set_the_levels() -> None:
    text = edit(GUARDED, ('    promote_from: staging\n',
                          '    promote_from: staging\n    guardrails:\n      enforcement: advisory\n'
                          '      rules: {capture: mandatory}\n      max_gpus: 16\n      max_hourly_cost_usd: 25.5\n'))
    prod = settings(text, "prod")
    assert prod.level("capture") == "mandatory" and prod.level("encryption") == "advisory"
    assert (prod.level("max_gpus"), prod.max_gpus, prod.level("max_hourly_cost_usd"), prod.max_hourly_cost_usd) == \
        ("advisory", 16, "advisory", 25.5)


@pytest.mark.parametrize(("block", "message"), [
    ("{rules: {capture: sometimes}}", "mandatory"),
    ("{rules: {encrypt: advisory}}", "encryption"),
    ("{max_gpus: -1}", "greater than or equal to 0"),
    ("{max_hourly_cost_usd: 0}", "greater than 0"),
    ("{enforcment: advisory}", "enforcement"),
])
def test_bad_settings_are_errors_at_their_line(block: str, message: str) -> None:
    text = edit(GUARDED, ('    promote_from: staging\n', f'    promote_from: staging\n    guardrails: {block}\n'))
    result = parse_system(text, "mlsystem.yaml")
    errors = [d for d in result.diagnostics if d.is_error]
    assert errors and not result.ok
    assert all(d.location.line == text.splitlines().index(f"    guardrails: {block}") + 1 for d in errors)
    assert any(message in d.summary + d.detail for d in errors), [(d.summary, d.detail) for d in errors]
