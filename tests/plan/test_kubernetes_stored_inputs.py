"""A Kubernetes stack applied by ``pulumi up`` plans "No changes" (audit k8sstate-3).

pulumi-kubernetes' ``Check`` stores a built-in object after a typed round trip that drops an empty
``env[*].value`` (tests/support/applied_state.py ``_checked_by_kubernetes`` cites it), and writes no
``__defaults``. main compiled ``{name: MODEL_DESCRIPTION, value: ""}``, so every plan of every Kubernetes
example replaced the register Jobs (delete-first) and updated llm-platform's drift CronJobs, which ``up``
never does. The state here is built as the provider stores it, which is also what a state applied by an
earlier mlops-infra holds (its ``value: ""`` was dropped by the same round trip).
"""

from __future__ import annotations

import pytest

from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, find
from tests.support.kube_cases import CASES, graph_of

FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
EXAMPLES = [case for case, path, _ in CASES if "examples" in path.parts]


def test_the_examples_have_kubernetes_environments():
    assert {"fraud-detection-dev", "llm-platform-dev", "quickstart-dev"} <= set(EXAMPLES)


@pytest.mark.parametrize("case", EXAMPLES)
def test_an_applied_kubernetes_example_plans_no_changes(case):
    graph = graph_of(case)
    plan = make_plan(graph, parse_state(dumps(applied_state(graph)).encode(), "prior.json"), options=FAST)
    changed = [(c.name, c.action.value, [a.path for a in c.changes]) for c in plan.changes if c.action.value != "no-op"]
    assert changed == []
    assert not plan.has_changes


def test_the_state_holds_the_register_jobs_description_as_the_provider_does():
    """What the harness stores: the empty MODEL_DESCRIPTION without a value, no __defaults (pulumi-kubernetes)."""
    state = applied_state(graph_of("fraud-detection-dev"))
    job = find(state, lambda r: r.get("type") == "kubernetes:batch/v1:Job" and "register-" in r["urn"])
    env = job["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "MODEL_DESCRIPTION"} in env and all(e.get("value") != "" for e in env)
    assert "__defaults" not in job["inputs"]
