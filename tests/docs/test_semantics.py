"""docs/semantics.md (finding B11): one table of what each spec field means on AWS and on Kubernetes.

Every field the table lists must be a field of the spec, be set in the reference document, and the
reference must compile with it on both targets (dev is Kubernetes; staging and prod are AWS). The
behaviours the rows promise are tested where they are built: tests/compile/aws/test_aws_retrain_gate.py
and the launcher tests (a trigger fires at most once while a run is active), the replica test below
(no autoscaling means fixed at min on both), tests/compile/aws/test_aws_forwarder.py and the
Kubernetes secret reference test below (one secret shape), tests/compile/kubernetes/test_kubernetes_monitoring.py
(latency span).
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system
from mlops_infra.spec.system import MLSystem
from tests.support.kube_cases import REFERENCE, compile_text

REPO = Path(__file__).resolve().parents[2]
TABLE = (REPO / "docs" / "semantics.md").read_text()
FIELDS = re.findall(r"^\| `([a-z_]+(?:\.[a-z_]+)+)` \|", TABLE, re.M)


def _models_of(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_of(arg)]


def _is_spec_field(path: str) -> bool:
    models: list[type[BaseModel]] = [MLSystem]
    for part in path.split("."):
        fields = [m.model_fields[name] for m in models for name, f in m.model_fields.items()
                  if part in (name, f.alias)]
        if not fields:
            return False
        models = [m for f in fields for m in _models_of(f.annotation)]
    return True


def _set_in(document: dict, path: str) -> bool:
    section, *rest = path.split(".")
    items = document.get(section) or []
    for item in items:
        value = item
        for part in rest:
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            return True
    return False


def test_the_table_lists_the_fields_the_issue_names():
    assert len(FIELDS) >= 10
    for field in ("endpoints.replicas", "endpoints.autoscaling", "training_jobs.triggers", "monitors.metric",
                  "channels.webhook_url"):
        assert field in FIELDS


@pytest.mark.parametrize("field", FIELDS)
def test_every_listed_field_is_a_spec_field_set_in_the_reference(field):
    assert _is_spec_field(field), f"{field} is not a field of the spec"
    assert _set_in(yaml.safe_load(REFERENCE.read_text()), field), f"the reference does not set {field}"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_reference_compiles_with_every_listed_field_on_both_targets(env):
    loaded = load_system(REFERENCE, env)
    assert loaded.system is not None
    graph = compile_system(loaded.system, env)
    kinds = {"dev": "kubernetes", "staging": "aws", "prod": "aws"}
    assert graph.metadata["cloud"] == kinds[env] and graph.resources


def test_without_autoscaling_an_endpoint_runs_at_min_fixed_on_both_targets():
    """B11.4: SageMaker sets initialInstanceCount = min and registers no scalable target; KServe
    gets minReplicas = maxReplicas = min (Knative would otherwise autoscale between them)."""
    text = REFERENCE.read_text().replace("    autoscaling: {metric: invocations_per_replica, target: 50}\n", "")
    kube = compile_text(text, "dev")
    (isvc,) = [r for r in kube.resources if r.type.endswith(":InferenceService")]
    predictor = isvc.inputs["spec"]["predictor"]
    assert predictor["minReplicas"] == predictor["maxReplicas"] == 1  # dev overrides replicas to {1, 2}
    aws = compile_text(text, "staging")
    assert not [r for r in aws.resources if r.type == "aws:appautoscaling/target:Target"]
    (config,) = [r for r in aws.resources if r.type.endswith(":EndpointConfiguration")]
    assert config.inputs["productionVariants"][0]["initialInstanceCount"] == 2  # the base replicas.min


def test_a_secret_reference_without_key_reads_key_value_on_kubernetes():
    """B11.6, Kubernetes side: ``{secret: NAME}`` is key ``value`` of Secret NAME (the AWS forwarder reads
    a plain SecretString, or a JSON ``{"value": ...}`` by that key: tests/compile/aws/test_aws_forwarder.py)."""
    graph = compile_text(REFERENCE.read_text(), "dev")
    text = str([r.inputs for r in graph.resources if r.type.endswith(":AlertmanagerConfig")])
    assert "'name': 'slack-oncall-webhook', 'key': 'value'" in text or "'key': 'value', 'name': 'slack-oncall-webhook'" in text
