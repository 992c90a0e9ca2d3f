"""max_gpus counts what training runs hold (audit guardrails-2).

On AWS SageMaker starts the instances each training job asks for (botocore ``sagemaker``
``ResourceConfig.InstanceCount``: "The number of ML compute instances to use") and nothing serialises
two jobs of one cluster, so a cluster counts at least the sum of its jobs' GPUs x nodes. On Kubernetes
a cluster's Kueue queue admits up to max nodes plus what it may borrow from its cohort
(``borrowingLimit``; "If null, it means that there is no borrowing limit"), so borrowing counts, and
borrowing without a limit fails the cap closed. Each case through plan's entry point on the compiled
graph, validate's on the components' graph, and validate itself.
"""

from __future__ import annotations

import pytest

from mlops_infra.cli.guardrails import check_guardrails
from mlops_infra.plan.guardrails import evaluate
from mlops_infra.policy.facts import facts_graph
from mlops_infra.spec import parse_system
from mlops_infra.spec.guardrails import guardrail_settings
from tests.support.guardrails import GUARDED, compiled, edit, loaded

JOB = ("{{name: {name}, cluster: train, image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1, command: [python, t.py], "
       "nodes: 2, max_runtime: 6h, triggers: {{schedule: \"0 3 * * 1\"}}}}")


def with_jobs(*names: str, prod: str = "", dev: str = "", cluster: str = "") -> str:
    jobs = "".join(f"  - {JOB.format(name=n)}\n" for n in names)
    text = edit(GUARDED, ("models:\n", f"training_jobs:\n{jobs}models:\n" if names else "models:\n"),
                ("    promote_from: staging\n", f"    promote_from: staging\n{prod}"),
                ("    target: {kind: kubernetes, context: kind-dev, namespace: guarded-dev}\n",
                 f"    target: {{kind: kubernetes, context: kind-dev, namespace: guarded-dev}}\n{dev}"))
    if cluster:
        text = edit(text, ("nodes: {min: 0, max: 2}}", f"nodes: {{min: 0, max: 2}}, {cluster}}}"))
    return text


RUN3 = with_jobs("big", "other", prod="    guardrails: {max_gpus: 12}\n    overrides:\n      training_jobs.big.nodes: 4\n")
"""The audit's run3: cluster train (4 A10G per node, max 2 nodes), jobs big (4 nodes in prod) and other
(2 nodes) on the same Monday schedule, the endpoint up to 4 x 1 GPU: 16 + 8 + 4 = 28 GPUs."""


def max_gpus(text: str, env: str) -> list[tuple[object, ...]]:
    """The max_gpus findings (address, message) of plan, of validate's graph and of validate: all equal."""
    system, graph = compiled(text, env)
    settings = guardrail_settings(system, env)
    answers = []
    for g in (graph, facts_graph(loaded(text, env).system, env)):
        answers.append([(f.address, f.message) for r in evaluate(g, settings) if r.rule == "max_gpus" for f in r.findings])
    checked = check_guardrails(parse_system(text, "mlsystem.yaml", env))
    said = [d.summary for d in checked.diagnostics if d.code == "guardrail-max-gpus"]
    assert answers[0] == answers[1]
    assert len(said) == len(answers[0]) and all(message in s for (_, message), s in zip(answers[0], said, strict=True))
    return answers[0]


def test_the_audits_training_runs_fail_max_gpus_at_12() -> None:
    ((address, message),) = max_gpus(RUN3, "prod")
    assert address == "environments.prod"
    assert message.startswith("prod uses 28 GPUs at full scale, over its cap of 12 (clusters.train: training jobs "
                              "that may run at once: big 4 GPU(s) x 4 node(s) + other 4 GPU(s) x 2 node(s) = 24; "
                              "endpoints.api: 1 GPU(s) x 4 replica(s) = 4)")


def test_two_jobs_within_the_clusters_max_still_overlap() -> None:
    ((_, message),) = max_gpus(with_jobs("big", "other", prod="    guardrails: {max_gpus: 12}\n"), "prod")
    assert message.startswith("prod uses 20 GPUs at full scale")


def test_one_job_within_the_clusters_max_keeps_the_clusters_count() -> None:
    assert max_gpus(with_jobs("big", prod="    guardrails: {max_gpus: 12}\n"), "prod") == []  # 8 + 4
    ((_, message),) = max_gpus(with_jobs("big", prod="    guardrails: {max_gpus: 11}\n"), "prod")
    assert "clusters.train: 4 GPU(s) x 2 node(s) = 8" in message


@pytest.mark.parametrize(("borrow", "cap", "total"), [("", 12, None), ("max_nodes: 1", 16, None),
                                                       ("max_nodes: 1", 15, 16)])
def test_kubernetes_counts_what_a_cluster_may_borrow(borrow: str, cap: int, total: int | None) -> None:
    text = with_jobs("big", "other", dev=f"    guardrails: {{max_gpus: {cap}}}\n",
                     cluster=f"borrowing: {{cohort: gpus{', ' + borrow if borrow else ''}}}")
    if borrow == "":  # borrowing without a limit: no bound, the cap fails closed
        ((address, message),) = max_gpus(text, "dev")
        assert address == "clusters.train"
        assert message == ("clusters.train has no GPU bound in dev: 4 GPU(s) x 2 node(s) + borrowing from cohort gpus "
                           "without a limit, so the cap of 12 GPUs cannot hold (the rule fails closed)")
    elif total is None:  # (2 + 1) x 4 + 4: the jobs' own nodes are the queue's to admit, not added
        assert max_gpus(text, "dev") == []
    else:
        ((_, message),) = max_gpus(text, "dev")
        assert message.startswith(f"dev uses {total} GPUs at full scale, over its cap of {cap} (clusters.train: "
                                  "4 GPU(s) x (2 node(s) + 1 borrowed) = 12")


def test_kubernetes_does_not_add_the_jobs_runs() -> None:
    assert max_gpus(with_jobs("big", "other", dev="    guardrails: {max_gpus: 12}\n"), "dev") == []  # 8 + 4
