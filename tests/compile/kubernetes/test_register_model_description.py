"""The register Job's script sets the model's description in MLflow, also when the model exists (registry-5).

A ``description`` edit of a Kubernetes model changes the register Job's hash (compile/kubernetes/registry.py
``registration_job``), so apply runs a new Job; main's script gave the description only to
``create_registered_model`` and, on ``RESOURCE_ALREADY_EXISTS``, set the tags alone: MLflow kept the first
description. Now it calls ``update_registered_model`` (REST ``PATCH /api/2.0/mlflow/registered-models/update``).
The script runs as the Job runs it (``python register_model.py`` with the Job's environment) against a REAL
MLflow server (tests/support/mlflow_server.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import scripts
from tests.support.mlflow_server import MlflowRest

pytestmark = pytest.mark.timeout(300)

SCRIPT = Path(scripts.__file__).resolve().parent / "register_model.py"


def _register(url: str, name: str, description: str) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "MODEL_NAME": name, "MODEL_FRAMEWORK": "sklearn",
           "MODEL_APPROVAL": "manual", "MODEL_DESCRIPTION": description}
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_description_edit_changes_the_registered_models_description(mlflow_url):
    rest = MlflowRest(mlflow_url)
    name = f"described-{uuid.uuid4().hex[:8]}"
    _register(mlflow_url, name, "first description")
    assert rest.call("GET", "registered-models/get", query={"name": name})["registered_model"]["description"] == \
        "first description"
    _register(mlflow_url, name, "edited description")
    model = rest.call("GET", "registered-models/get", query={"name": name})["registered_model"]
    assert model["description"] == "edited description"
    assert {t["key"]: t["value"] for t in model["tags"]} == {"mlops-infra.framework": "sklearn",
                                                             "mlops-infra.approval": "manual"}
    _register(mlflow_url, name, "")  # no description in the spec: MLflow's is left as it is (docs)
    assert rest.call("GET", "registered-models/get", query={"name": name})["registered_model"]["description"] == \
        "edited description"
