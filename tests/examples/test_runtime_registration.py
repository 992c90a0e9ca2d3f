"""The shipped runtime's registration carries the approval an automatic model's versions need (closing-c-1).

MLflow has no approval state: mlops-infra reads a version as Approved when its tag ``mlops-infra.approval-status`` is
``approved`` (``mlops_infra/state/mlflow_registry.py``) and serves a gated model's version only then
(``model_versions.RegistryView.decide``). The runtime registered every version without it, so an ``approval:
automatic`` model in an environment with the ``model_approved`` gate never had a servable version. Run against a
real MLflow tracking server and moto's S3.
"""

from __future__ import annotations

import importlib.util
import types
import uuid
from pathlib import Path

import pytest

from mlops_infra.model_versions import APPROVED
from mlops_infra.state.mlflow_registry import mlflow_record
from tests.support.mlflow_server import MlflowRest

RUNTIME = Path(__file__).resolve().parents[2] / "examples" / "runtime" / "mlops_entry" / "objects.py"


def runtime() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("mlops_entry_objects_registration", RUNTIME)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.moto
@pytest.mark.parametrize("approval", ["automatic", "manual"])
def test_an_automatic_models_versions_are_registered_approved_and_a_manual_models_wait(
        approval: str, mlflow_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.moto_server import client, running_moto_server

    objects = runtime()
    model = f"m-{approval}-{uuid.uuid4().hex[:8]}"
    rest = MlflowRest(mlflow_url)
    rest.create_model(model)  # what the register Job does, with the spec's approval as the model's tag
    rest.call("POST", "registered-models/set-tag", {"name": model, "key": objects.APPROVAL_TAG, "value": approval})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.safetensors").write_bytes(b"weights")
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with running_moto_server() as url:
        bucket = f"models-{uuid.uuid4().hex[:12]}"
        client("s3", url).create_bucket(Bucket=bucket)
        version = objects.register(tmp_path / "out", model, f"s3://{bucket}/{model}/",
                                   {"MLFLOW_TRACKING_URI": mlflow_url, "AWS_ENDPOINT_URL": url})
    (found,) = rest.versions(model)
    assert int(found["version"]) == version == 1
    tags = {t["key"]: t["value"] for t in found.get("tags", [])}
    record = mlflow_record(found)
    if approval == "automatic":
        assert tags[objects.APPROVAL_STATUS_TAG] == "approved" and record.approval == APPROVED
    else:
        assert objects.APPROVAL_STATUS_TAG not in tags and record.approval == "PendingManualApproval"
    assert tags[objects.DIGEST_TAG] == objects.artifact_digest(tmp_path / "out")
