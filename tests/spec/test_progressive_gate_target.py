"""The ``progressive_rollout`` promotion gate follows the target, as the guardrail does (37a2ea9).

On Kubernetes a ``rolling`` endpoint is not progressive: KServe gives the Knative Service one latest-revision
traffic target, so a rolling update moves all traffic to the new revision at once (7cb26f5,
``rollout-ignored-on-kubernetes``; :func:`mlops_infra.spec.guardrails.progressive_strategies`). Before this, the
gate (``validate``'s ``gate-unsatisfiable`` and promote's gate evaluation) refused only ``all_at_once`` on every
target, so a Kubernetes environment gated on progressive rollouts accepted a rollout that moves all traffic at
once.
"""

from __future__ import annotations

from mlops_infra.model_versions import RegistryView
from mlops_infra.promote.gates import FAIL, PASS, GateInputs, evaluate_gates
from mlops_infra.spec import parse_system
from tests.support.text_edits import edit, line_of

DEV_TARGET = "    target: {kind: kubernetes, context: kind-mlops, namespace: fraud-dev}"
DEV_SCORER = "      endpoints.scorer.model.version: 14"


def _dev_gated(reference_text: str, strategy: str) -> str:
    """The reference with dev gated on progressive rollouts and its scorer rolling out with ``strategy``."""
    text = edit(reference_text, DEV_TARGET, DEV_TARGET + "\n    gates: [progressive_rollout]")
    return edit(text, DEV_SCORER, DEV_SCORER + f"\n      endpoints.scorer.rollout: {{strategy: {strategy}}}")


def _gate_errors(result):
    return [d for d in result.diagnostics if d.code == "gate-unsatisfiable"]


def test_validate_refuses_rolling_under_the_gate_on_kubernetes(reference_text: str) -> None:
    text = _dev_gated(reference_text, "rolling")
    [d] = _gate_errors(parse_system(text, env="dev"))
    assert d.severity == "error"
    assert d.summary == ('Endpoint "scorer" rolls out rolling, which on kubernetes moves all traffic at once, but '
                         "environment dev has the progressive_rollout gate")
    assert "Set rollout.strategy to canary or blue_green" in d.detail
    assert d.location.line == line_of(text, "endpoints.scorer.rollout: {strategy: rolling}")


def test_validate_keeps_canary_on_kubernetes_and_rolling_on_aws(reference_text: str) -> None:
    assert not _gate_errors(parse_system(_dev_gated(reference_text, "canary"), env="dev"))
    prod_scorer = "      endpoints.scorer.replicas: {min: 3, max: 20}"
    text = edit(reference_text, prod_scorer, prod_scorer + "\n      endpoints.scorer.rollout: {strategy: rolling}")
    assert not _gate_errors(parse_system(text, env="prod")), "rolling is progressive on SageMaker"
    all_at_once = edit(reference_text, prod_scorer,
                       prod_scorer + "\n      endpoints.scorer.rollout: {strategy: all_at_once}")
    [d] = _gate_errors(parse_system(all_at_once, env="prod"))
    assert d.summary.startswith('Endpoint "scorer" rolls out all at once, but environment prod')
    assert "Set rollout.strategy to canary, blue_green or rolling" in d.detail


def _gate(system, dst: str):
    inputs = GateInputs("staging", dst, system, RegistryView(), ())
    [result] = evaluate_gates(["progressive_rollout"], inputs, {})
    return result


def test_promote_gate_fails_rolling_into_a_kubernetes_environment(reference_text: str) -> None:
    # validate already refuses the gated spec; the gate evaluates DST's system as promote loads it (ungated here)
    text = edit(reference_text, DEV_SCORER, DEV_SCORER + "\n      endpoints.scorer.rollout: {strategy: rolling}")
    loaded = parse_system(text, "x.yaml", "dev")
    assert loaded.system is not None, loaded.diagnostics
    result = _gate(loaded.system, "dev")
    assert result.status == FAIL
    assert result.reason.startswith("endpoint(s) scorer of dev roll out all at once (on Kubernetes only canary and "
                                    "blue_green roll out progressively")
    assert result.evidence == ("scorer: rolling",)


def test_promote_gate_passes_rolling_into_an_aws_environment(reference_text: str) -> None:
    prod_scorer = "      endpoints.scorer.replicas: {min: 3, max: 20}"
    text = edit(reference_text, prod_scorer, prod_scorer + "\n      endpoints.scorer.rollout: {strategy: rolling}")
    loaded = parse_system(text, "x.yaml", "prod")
    assert loaded.ok, loaded.diagnostics
    assert _gate(loaded.system, "prod").status == PASS
