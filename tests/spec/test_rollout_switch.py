"""rollout-ignored-on-kubernetes: a ``rolling`` or ``all_at_once`` endpoint's ``rollback_on`` and ``steps``
do nothing on Kubernetes (KServe's switch to the latest ready revision), a warning there only (audit
notify-2; spec/rollout_switch.py cites the rule).

That the compiled Kubernetes graph has no rollout, runner entry or rolled-back rule for such an endpoint
is asserted here too, so the warning cannot outlive the behaviour it describes.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system, parse_system
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

CODE = "rollout-ignored-on-kubernetes"
ROOT = Path(__file__).resolve().parents[2]
LLM = ROOT / "examples" / "llm-platform" / "mlsystem.yaml"
RERANKER = "      strategy: rolling\n      steps: [25, 50, 100]\n      rollback_on: [reranker-latency-warn]\n"


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == CODE]


def test_llm_platform_reranker_warns_in_dev_only_at_its_rollback_on(tmp_path: Path) -> None:
    text = LLM.read_text()
    assert RERANKER in text
    [d] = _found(text)  # dev is Kubernetes; staging and prod are AWS, where SageMaker rolls it back
    assert d.severity == "warning" and d.address == "endpoints.reranker"
    assert d.path == ("endpoints", 2, "rollout", "rollback_on")
    assert d.summary == 'Endpoint "reranker": rollback_on and steps of a rolling rollout are ignored on Kubernetes'
    assert d.detail.startswith("In environment dev (Kubernetes) a rolling rollout is Knative's own switch")
    assert "no alert (reranker-latency-warn) rolls it back and no rolled_back_reranker notice is sent" in d.detail
    assert "no step of [25, 50, 100] holds part of the traffic" in d.detail
    assert d.detail.endswith("Use strategy: canary with steps [25, 50, 100], or blue_green, which the rollout "
                             "controller drives on Kubernetes, or override rollout in environment dev.")
    result = run_cli("validate", str(LLM))
    assert result.code == 0 and "Traceback" not in result.output
    line = line_of(text, "      rollback_on: [reranker-latency-warn]")
    assert f"{LLM}:{line}:7: warning: Endpoint \"reranker\": rollback_on and steps" in result.stderr
    # and the promotion dev -> staging its reranker will be refused at (audit xpromote-3, spec/serving_contract.py)
    staging = line_of(text, "    promote_from: dev")
    assert f"{LLM}:{staging}:19: warning: Promoting reranker from dev into staging will be refused" in result.stderr
    # and, per AWS environment, one image-in-other-account for the shared registry account its staging and prod
    # roles pull from (audit iam-6; tests/spec/test_examples.py lists them), and train-embedder's one process per
    # node of 8 GPUs (audit k8strain-1, spec/processes.py)
    assert "warning: Training job \"train-embedder\" uses 1 of the 8 GPUs of each node" in result.stderr
    assert result.stderr.endswith("0 errors, 5 warnings\n")


def test_the_warning_describes_the_compiled_kubernetes_graph() -> None:
    """What the warning says is ignored is indeed absent from dev's graph (and present for canary/blue_green)."""
    graph = compile_system(load_system(LLM, "dev").system, "dev")
    assert sorted(graph.rollouts) == ["endpoints.chat", "endpoints.embeddings"]
    rules = {r["alert"] for res in graph.resources if res.type.endswith(":PrometheusRule")
             for g in res.inputs["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {"rolled_back_chat", "rolled_back_embeddings"} <= rules and "rolled_back_reranker" not in rules
    [isvc] = [r for r in graph.resources
              if r.type.endswith(":InferenceService") and r.inputs["metadata"]["name"] == "reranker"]
    assert "canaryTrafficPercent" not in isvc.inputs["spec"]["predictor"]


def test_only_what_is_set_is_named() -> None:
    text = edit(LLM.read_text(), RERANKER, "      strategy: rolling\n      rollback_on: [reranker-latency-warn]\n")
    [d] = _found(text)
    assert d.summary == 'Endpoint "reranker": rollback_on of a rolling rollout is ignored on Kubernetes'
    assert "no step" not in d.detail and "Use strategy: canary with steps, or blue_green" in d.detail
    text = edit(LLM.read_text(), RERANKER, "      strategy: rolling\n      steps: [25, 50, 100]\n")
    [d] = _found(text)
    assert d.path == ("endpoints", 2, "rollout", "steps")
    assert "no alert" not in d.detail and "(on AWS, SageMaker deploys it in batches)" in d.detail


def test_all_at_once_with_rollback_alerts_warns_too() -> None:
    text = edit(LLM.read_text(), RERANKER, "      strategy: all_at_once\n      rollback_on: [reranker-latency-warn]\n")
    [d] = _found(text)
    assert d.summary == 'Endpoint "reranker": rollback_on of an all_at_once rollout is ignored on Kubernetes'


def test_no_warning_for_what_the_controller_drives_or_nothing_asked() -> None:
    text = LLM.read_text()
    assert _found(edit(text, RERANKER, "      strategy: canary\n      steps: [25, 50, 100]\n"
                                       "      bake: 10m\n      rollback_on: [reranker-latency-warn]\n")) == []
    assert _found(edit(text, RERANKER, "      strategy: rolling\n")) == []


def test_the_reference_canary_does_not_warn(reference_text: str) -> None:
    assert _found(reference_text) == []
