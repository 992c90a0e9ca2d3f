"""``progressive_rollout`` knows its target: ``rolling`` is progressive on AWS, not on Kubernetes.

On Kubernetes a ``rolling`` endpoint compiles to an InferenceService without ``canaryTrafficPercent``:
KServe gives the Knative Service one ``latestRevision`` target and the new version takes all traffic at
once (``spec/rollout_switch.py``, validate's ``rollout-ignored-on-kubernetes``). The guardrail counted it
as progressive, so a production Kubernetes endpoint passed while switching all at once.
"""

from __future__ import annotations

from mlops_infra.plan.guardrails import evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.guardrails import GUARDED, compiled, edit, loaded

ROLLING = ("    rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}\n",
           "    rollout: {strategy: rolling, steps: [50, 100], bake: 10m}\n")
KUBERNETES_PROD = ('    target: {kind: aws, region: us-east-1, account: "222222222222"}\n    promote_from: staging\n',
                   "    target: {kind: kubernetes, context: kind-prod, namespace: guarded-prod}\n"
                   "    promote_from: staging\n")


def _progressive(text: str, env: str = "prod") -> list:
    system, graph = compiled(text, env)
    found = []
    for g in (graph, facts_graph(loaded(text, env).system, env)):  # plan's graph and validate's
        [result] = [r for r in evaluate(g, guardrail_settings(system, env)) if r.rule == "progressive_rollout"]
        found.append(result)
    return found


def test_rolling_fails_the_rule_on_a_kubernetes_production_environment() -> None:
    for result in _progressive(edit(GUARDED, ROLLING, KUBERNETES_PROD)):
        assert result.status == "fail"
        (finding,) = result.findings
        assert (finding.address, finding.field) == ("endpoints.api", "rollout.strategy")
        assert "rolls out rolling in prod, which on kubernetes moves all traffic" in finding.message
        assert finding.fix.startswith("Set rollout.strategy to canary or blue_green ")


def test_rolling_passes_on_aws_and_canary_passes_on_kubernetes() -> None:
    assert [r.status for r in _progressive(edit(GUARDED, ROLLING))] == ["pass", "pass"]
    assert [r.status for r in _progressive(edit(GUARDED, KUBERNETES_PROD))] == ["pass", "pass"]


def test_all_at_once_keeps_its_message_and_aws_fix() -> None:
    text = edit(GUARDED, ("    rollout: {strategy: canary, steps: [10, 50, 100], bake: 10m}\n",
                          "    rollout: {strategy: all_at_once}\n"))
    for result in _progressive(text):
        (finding,) = result.findings
        assert finding.message == "endpoints.api rolls out all at once in prod"
        assert finding.fix.startswith("Set rollout.strategy to canary, blue_green or rolling ")
    from mlops_infra.spec.guardrails import progressive_strategies

    assert progressive_strategies("kubernetes") == ("canary", "blue_green")
    assert progressive_strategies(None) == progressive_strategies("aws")
