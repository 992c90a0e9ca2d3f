"""What a ``plaintext-secret`` error outside a channel's reference field tells the user to do, and that what it
says a job can reach is what is compiled (spec/secrets.py ``NO_SECRET_FOR_JOBS``; stop 38's secrets audit,
finding secrets-3: the old text promised "a file or environment variable the platform fills from the secret",
which nothing compiled does)."""

from __future__ import annotations

import json

from mlops_infra.spec import parse_system
from mlops_infra.spec.secrets import NO_SECRET_FOR_JOBS
from tests.support.removals import REFERENCE_TEXT, graph_of
from tests.support.text_edits import edit


def _hyperparameter_error(value: str):
    text = edit(REFERENCE_TEXT, "learning_rate: 0.001}", f"learning_rate: 0.001, hf_token: {value}}}")
    (d,) = [d for d in parse_system(text).diagnostics if d.code == "plaintext-secret"]
    return d


def test_a_credential_in_hyperparameters_is_an_error_that_promises_nothing_the_platform_does_not_do():
    d = _hyperparameter_error("hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")
    assert d.severity == "error"
    assert "fills from the secret" not in d.detail and "read it from the store at run time" not in d.detail
    assert NO_SECRET_FOR_JOBS in d.detail
    assert "mlops-infra cannot yet hand a stored secret to a training job" in d.detail
    assert "hf_AbCd" not in d.summary + d.detail


def test_a_channel_field_still_says_write_a_reference_and_not_the_job_text():
    text = edit(REFERENCE_TEXT, "{secret: ", "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX  # {secret: ")
    details = [d.detail for d in parse_system(text).diagnostics if d.code == "plaintext-secret"]
    assert details and all("then write {secret: " in x and NO_SECRET_FOR_JOBS not in x for x in details)


def _policies(graph) -> dict[str, str]:
    return {r.name: json.dumps(r.inputs, default=str) for r in graph.resources
            if r.type == "aws:iam/rolePolicy:RolePolicy"}


def test_on_aws_only_the_alert_forwarders_may_read_secrets_manager():
    policies = _policies(graph_of(REFERENCE_TEXT, "staging"))
    readers = sorted(name for name, text in policies.items() if "secretsmanager" in text)
    assert readers and all(name.endswith("-forwarder-policy") for name in readers), readers
    assert any("training" in name for name in policies)


def _secret_refs(value) -> list:
    """Every ``secretRef`` in ``value``, looking into strings that hold a JSON object (the training PyTorchJob is
    kept as JSON text in ConfigMap train-<job>, which the launcher creates)."""
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:  # a template or script text, not JSON
            return []
    if isinstance(value, dict):
        return [*([value["secretRef"]] if "secretRef" in value else []), *(r for v in value.values() for r in _secret_refs(v))]
    if isinstance(value, list):
        return [r for v in value for r in _secret_refs(v)]
    return []


def test_on_kubernetes_training_monitor_and_capture_pods_load_the_object_store_secret():
    loaders = set()
    for r in graph_of(REFERENCE_TEXT, "dev").resources:
        obj = r.inputs if isinstance(r.inputs, dict) else {}
        if {"name": "mlops-object-store", "optional": True} in _secret_refs(obj):
            loaders.add((obj.get("kind"), obj["metadata"]["name"]))
    assert loaders == {("Deployment", "mlops-capture"), ("CronJob", "monitor-drift"), ("ConfigMap", "train-retrain")}
