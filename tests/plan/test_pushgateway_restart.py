"""The upgrade that gives the Pushgateway its persistence file restarts it empty, and the plan says so (upgrade-1).

A Pushgateway deployed before f7a1c2e ran without ``--persistence.file`` (prometheus/pushgateway README: "By default,
Pushgateway does not persist metrics"); the compiled Deployment now adds the flag, which changes the pod template
and so restarts the pod (Kubernetes "Deployments", Recreate). The plan of that upgrade warns once, naming the alerts
over pushed values, the training jobs they start and the drift jobs to run; any other plan does not.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile import compile_system
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.plan.pushgateway_restart import PERSISTENCE_FLAG, persists
from mlops_infra.spec import load_system
from mlops_infra.state.pulumi_state import parse_state
from tests.support.applied_state import applied_state, dumps, edit_resource

REPO = Path(__file__).resolve().parents[2]
FAST = PlanOptions(summarize_ml=False, estimate_cost=False)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def graph_of(example: str, env: str = "dev"):
    loaded = load_system(REPO / f"examples/{example}/mlsystem.yaml", env)
    assert loaded.ok, loaded.diagnostics
    return compile_system(loaded.system, env)


def is_pushgateway(record: dict) -> bool:
    return record["type"] == DEPLOYMENT and record["inputs"]["metadata"]["name"] == "mlops-pushgateway"


def without_persistence(record: dict) -> None:
    """The Deployment as releases before f7a1c2e applied it: no persistence flags (no args at all), no claim."""
    spec = record["inputs"]["spec"]["template"]["spec"]
    for container in spec["containers"]:
        container.pop("args", None)
        container["volumeMounts"] = [m for m in container.get("volumeMounts", []) if m["mountPath"] != "/data"]
    spec["volumes"] = [v for v in spec.get("volumes", []) if "persistentVolumeClaim" not in v]
    record["inputs"]["spec"]["strategy"] = {"type": "RollingUpdate"}


def warnings_of(graph, checkpoint) -> list[str]:
    prior = parse_state(dumps(checkpoint).encode(), "prior.json")
    return [w for w in make_plan(graph, prior, options=FAST).warnings if "Pushgateway" in w]


def test_the_upgrade_plan_names_the_alerts_the_jobs_they_start_and_the_drift_jobs_to_run() -> None:
    graph = graph_of("fraud-detection")
    deployment = next(r for r in graph.resources if r.role == "pushgateway")
    assert deployment.type == DEPLOYMENT and persists(deployment.inputs)
    old = edit_resource(applied_state(graph), is_pushgateway, without_persistence)

    [warning] = warnings_of(graph, old)

    assert "restarts the Pushgateway without what it holds" in warning
    assert "each of fraud-drift that is firing resolves" in warning  # the drift monitor's alert, not the serving ones
    assert "scorer-latency" not in warning and "scorer-errors" not in warning
    assert "one more run of retrain (on_alerts)" in warning  # retrain's on_alerts names fraud-drift
    assert "kubectl -n fraud-dev create job --from=cronjob/monitor-drift monitor-drift-now" in warning
    assert "a rollback notice of the last 15 minutes ends early" in warning


def test_every_kubernetes_example_warns_on_that_upgrade_and_only_on_it() -> None:
    for example in ("fraud-detection", "llm-platform", "quickstart"):
        graph = graph_of(example)
        applied = applied_state(graph)
        assert warnings_of(graph, applied) == [], example  # applied with persistence: nothing is lost
        assert len(warnings_of(graph, edit_resource(applied, is_pushgateway, without_persistence))) == 1, example


def test_a_pushgateway_that_already_persists_restarts_from_its_file() -> None:
    graph = graph_of("fraud-detection")

    def other_interval(record: dict) -> None:  # an update of a Deployment that already had a file
        [container] = record["inputs"]["spec"]["template"]["spec"]["containers"]
        container["args"] = [a if a.startswith(PERSISTENCE_FLAG) else "--persistence.interval=5m"
                             for a in container["args"]]

    assert warnings_of(graph, edit_resource(applied_state(graph), is_pushgateway, other_interval)) == []


def test_a_first_apply_has_nothing_to_lose() -> None:
    from mlops_infra.state.model import PriorState

    graph = graph_of("fraud-detection")
    assert [w for w in make_plan(graph, PriorState.empty(), options=FAST).warnings if "Pushgateway" in w] == []


def test_a_hundred_drift_alerts_and_jobs_are_six_names_and_how_many_more(monkeypatch) -> None:
    """Every drift alert and every training job they start were named: the first six of each, then how many more
    (:mod:`mlops_infra.name_lists`)."""
    from mlops_infra.plan import pushgateway_restart

    facts = {"monitors.m": {"kind": "monitor", "name": "m", "jobScheduleSeconds": 3600}}
    facts |= {f"alerts.a{i:03}": {"kind": "alert", "name": f"a{i:03}", "monitor": "m"} for i in range(100)}
    facts |= {f"training_jobs.j{i:03}": {"kind": "training_job", "name": f"j{i:03}", "onAlerts": [f"a{i:03}"]}
              for i in range(100)}
    monkeypatch.setattr(pushgateway_restart, "facts_by_address", lambda resources: facts)
    text = pushgateway_restart._warning([])
    assert "; each of a000, a001, a002, a003, a004, a005 and 94 more that is firing resolves" in text
    assert ", which starts one more run of j000, j001, j002, j003, j004, j005 and 94 more (on_alerts)" in text
    assert "a006" not in text and "j006" not in text
