"""A training job whose name starts with a digit still starts runs on Kubernetes (audit triggers#1).

Item names may start with a digit (spec ``NAME_PATTERN``), but a PyTorchJob's name must be a DNS-1035
label: the training-operator's validating webhook refuses any other (``pytorchjob_webhook.go``
``validatePyTorchJob``), and so would the core API the Services it makes, ``<run>-master-0``
(``ValidateServiceName`` = ``NameIsDNS1035Label``). The runs' names are ours to choose, so their
prefix gets a letter (``run-<job>``, training.py ``run_prefix``). The first test is the stand-in's own
(its docstring, "Admission"); the launcher then runs against it with the compiled template.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import names, training
from mlops_infra.compile.kubernetes.scripts import launcher
from tests.compile.kubernetes.test_launcher_once import ADMIN, NAMESPACE, RUNS, call, pytorchjob
from tests.support.kube_api import KubeApiStandIn, dns1035_label_errors, load_crds
from tests.support.kube_cases import REFERENCE, by_kind, compile_text
from tests.support.text_edits import edit

DENIED = ('admission webhook "validator.pytorchjob.training-operator.kubeflow.org" denied the request: metadata.name: '
          'Invalid value: "{name}": should match: a DNS-1035 label must consist of lower case alphanumeric characters '
          "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
          "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")


def test_stand_in_the_training_operator_webhook_refuses_a_pytorchjob_name_that_is_no_dns_1035_label():
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={ADMIN: None}) as api:
        status, refused = call(api, "POST", RUNS, pytorchjob("7day-retrain-42b2f801c2"))
        assert (status, refused["reason"], refused["message"]) == (403, "Forbidden",
                                                                   DENIED.format(name="7day-retrain-42b2f801c2"))
        assert refused["details"] == {"kind": "pytorchjobs", "group": "kubeflow.org", "name": "7day-retrain-42b2f801c2"}
        assert api.objects("pytorchjobs") == []
        status, refused = call(api, "POST", RUNS, pytorchjob("r" * 64))
        assert status == 403 and "must be no more than 63 characters" in refused["message"]
        assert call(api, "POST", RUNS, pytorchjob("run-7day-retrain-42b2f801c2"))[0] == 201
        core = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "7day", "namespace": NAMESPACE}}
        assert call(api, "POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", core)[0] == 201  # DNS-1123 is enough


def digit_template(job: str = "7day-retrain", nodes: int = 1) -> dict:
    text = REFERENCE.read_text()
    text = edit(text, "  - name: retrain\n", f"  - name: {job}\n")
    text = edit(text, "training_jobs.retrain.nodes: 1", f"training_jobs.{job}.nodes: {nodes}")
    config = next(c for c in by_kind(compile_text(text), "ConfigMap") if c["metadata"]["name"] == names.item("train", job))
    return json.loads(config["data"][training.TEMPLATE_KEY])


@pytest.mark.parametrize("job", ["7day-retrain", "9" * 40 + "-retrain-" + "x" * 14])
def test_a_job_named_with_a_leading_digit_starts_a_run_whose_name_and_services_are_dns_1035(job, tmp_path: Path,
                                                                                            monkeypatch):
    """The launcher creates the run from the compiled template; on the old code (prefix ``7day-retrain-``)
    the stand-in's webhook answers 403 and the launcher raises, as the CronJob's pod exits 1."""
    template = digit_template(job)
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(ADMIN)
    (account / "namespace").write_text(NAMESPACE)
    with KubeApiStandIn(crds=load_crds("kubeflow.org_pytorchjobs.yaml"), tokens={ADMIN: None}) as api:
        monkeypatch.setattr(launcher, "API", api.url)
        monkeypatch.setattr(launcher, "SA_DIR", str(account))
        monkeypatch.delenv("NAMESPACE", raising=False)
        done = launcher.start(str(path), "cronjob/train-x")
        assert done.outcome == "started" and [r["metadata"]["name"] for r in api.objects("pytorchjobs")] == [done.run]
    assert done.run.startswith("run-") and len(done.run) <= 51
    services = [f"{done.run}-master-0", f"{done.run}-worker-99"]  # the operator's <run>-<type>-<index>
    assert [dns1035_label_errors(s) for s in [done.run, *services]] == [[], [], []]


def test_a_job_named_with_a_letter_keeps_its_name_as_the_runs_prefix():
    assert digit_template("retrain")["metadata"]["generateName"] == "retrain-"
    assert digit_template("7day-retrain")["metadata"]["generateName"] == "run-7day-retrain-"
