"""The drift job's shape is decided once (compile/drift_job.py): the monitor facts the plan prices
agree with what each target runs, for every example, the reference and the variety document."""

from __future__ import annotations

import re

import pytest

from mlops_infra import catalog
from mlops_infra.compile import drift_job
from mlops_infra.compile.kubernetes.monitoring import cron_every
from mlops_infra.graph import DesiredGraph
from mlops_infra.spec.monitoring import DRIFT_METRICS, Monitor
from tests.compile.aws.cases import CASES, compile_text, compiled, placeholder
from tests.support import kube_cases

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
SCHEDULE = "aws:scheduler/schedule:Schedule"
AWS_CASES = [*CASES, ("variety-prod", None, "prod")]
JOB_KEYS = {"jobInstanceType", "jobScheduleSeconds", "jobMaxRuntimeSeconds"}


def _monitor_facts(graph: DesiredGraph) -> dict[str, dict]:
    """Monitor name -> its facts (the inputs of its component)."""
    return {r.inputs["name"]: r.inputs for r in graph.resources
            if not r.custom and isinstance(r.inputs, dict) and r.inputs.get("kind") == "monitor"}


def _aws_graph(case_id: str, path, env: str) -> DesiredGraph:
    return compile_text(kube_cases.VARIETY, env) if path is None else compiled(path, env)


def _minutes(expression: str) -> int:
    count, unit = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", expression).groups()
    return int(count) * {"minute": 1, "hour": 60, "day": 1440}[unit]


@pytest.mark.parametrize(("case_id", "path", "env"), AWS_CASES, ids=[c[0] for c in AWS_CASES])
def test_aws_processing_step_runs_what_the_facts_say(case_id, path, env):
    graph = _aws_graph(case_id, path, env)
    facts = _monitor_facts(graph)
    drift = {name for name, f in facts.items() if f["metric"] in DRIFT_METRICS}
    assert drift, case_id  # every case has a drift monitor, so the check below is not vacuous
    for name, item in facts.items():
        assert (item.keys() >= JOB_KEYS) == (name in drift), name
    for name in drift:
        item = facts[name]
        pipeline = next(r for r in graph.resources if r.type == PIPELINE and r.address == f"monitors.{name}")
        step = placeholder(pipeline.inputs["pipelineDefinition"])["Steps"][0]["Arguments"]
        assert step["ProcessingResources"]["ClusterConfig"]["InstanceType"] == item["jobInstanceType"]
        assert step["ProcessingResources"]["ClusterConfig"]["InstanceCount"] == 1
        assert step["StoppingCondition"]["MaxRuntimeInSeconds"] == item["jobMaxRuntimeSeconds"]
        schedule = next(r for r in graph.resources if r.type == SCHEDULE and r.address == f"monitors.{name}")
        assert _minutes(schedule.inputs["scheduleExpression"]) * 60 == max(60, item["jobScheduleSeconds"])


@pytest.mark.parametrize("case_id", kube_cases.CASE_IDS)
def test_kubernetes_cronjob_runs_what_the_facts_say(case_id):
    graph = kube_cases.graph_of(case_id)
    facts = _monitor_facts(graph)
    jobs = {c["metadata"]["name"]: c["spec"] for c in kube_cases.by_kind(graph, "CronJob")}
    drift = {name for name, f in facts.items() if f["metric"] in DRIFT_METRICS}
    assert drift, case_id
    for name in drift:
        item, job = facts[name], jobs[f"monitor-{name}"]
        assert job["jobTemplate"]["spec"]["activeDeadlineSeconds"] == item["jobMaxRuntimeSeconds"]
        assert job["schedule"] == cron_every(item["jobScheduleSeconds"])
        container = job["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
        assert container["resources"] == drift_job.KUBERNETES_RESOURCES


def _gib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) / (1024 if unit == "Mi" else 1)


def test_the_kubernetes_job_fits_in_the_node_shape_it_is_priced_on():
    hardware = catalog.hardware(drift_job.INSTANCE_TYPE)
    assert hardware is not None and hardware.vcpus and hardware.memory_gib
    resources = drift_job.KUBERNETES_RESOURCES
    assert int(resources["requests"]["cpu"].removesuffix("m")) / 1000 <= hardware.vcpus
    assert _gib(resources["requests"]["memory"]) <= _gib(resources["limits"]["memory"]) <= hardware.memory_gib
    assert catalog.ec2_price(drift_job.INSTANCE_TYPE) is not None  # what a Kubernetes run is priced at
    assert catalog.is_sagemaker_instance(drift_job.INSTANCE_TYPE, "processing")


@pytest.mark.parametrize(("schedule", "runtime"), [(None, 3600), ("1m", 300), ("5m", 300), ("15m", 900),
                                                   ("1h", 3600), ("6h", 3600), ("1d", 3600)])
def test_max_runtime_is_the_schedule_within_five_minutes_and_an_hour(schedule, runtime):
    monitor = Monitor.model_validate({"name": "m", "endpoint": "e", "metric": "feature_drift", "threshold": "0.2",
                                      **({"schedule": schedule} if schedule else {})})
    assert drift_job.max_runtime_seconds(monitor) == runtime
