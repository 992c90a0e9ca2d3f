"""The shipped runtime's registration takes MLflow's number, never a guess (audit registry-3).

MLflow gives a new version ``max(version) + 1`` over every version the model ever had, deleted ones included
(mlflow 3.14 ``store/model_registry/sqlalchemy_store.py`` ``create_model_version``), while
``get-latest-versions`` no longer shows a deleted one. The runtime guessed the number from it, uploaded into
the deleted version's folder, registered the bytes under the next number and then failed with "another run
registered at the same time". Run against a real MLflow tracking server and moto's S3.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.examples.test_runtime_registration import runtime
from tests.support.mlflow_server import MlflowRest

pytestmark = pytest.mark.moto


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch):
    """``(moto url, s3 client, bucket)``: a fresh bucket on a running moto server."""
    from tests.support.moto_server import client, running_moto_server

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with running_moto_server() as url:
        s3 = client("s3", url)
        bucket = f"models-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        yield url, s3, bucket


def _model(rest: MlflowRest, objects, approval: str = "automatic") -> str:
    model = f"reg-{uuid.uuid4().hex[:8]}"
    rest.create_model(model)
    rest.call("POST", "registered-models/set-tag", {"name": model, "key": objects.APPROVAL_TAG, "value": approval})
    return model


def _artifact(folder: Path, weights: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(weights)
    return folder


def _objects(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _visible(rest: MlflowRest, model: str) -> dict[int, dict]:
    return {int(v["version"]): v for v in rest.versions(model)}


def test_a_deleted_versions_number_is_skipped_and_its_folder_untouched(mlflow_url: str, tmp_path: Path, store):
    url, s3, bucket = store
    objects, rest = runtime(), MlflowRest(mlflow_url)
    model = _model(rest, objects)
    env, prefix = {"MLFLOW_TRACKING_URI": mlflow_url, "AWS_ENDPOINT_URL": url}, f"s3://{bucket}/{model}/"
    for n in (1, 2, 3):
        assert objects.register(_artifact(tmp_path / f"v{n}", f"w{n}".encode()), model, prefix, env) == n
    rest.call("DELETE", "model-versions/delete", {"name": model, "version": "3"})  # a bad model withdrawn
    before = _objects(s3, bucket, f"{model}/3/")
    assert before == {f"{model}/3/model.bin": b"w3"}
    new = _artifact(tmp_path / "new", b"w-new")
    version = objects.register(new, model, prefix, env)
    versions = _visible(rest, model)
    assert version > 3 and set(versions) == {1, 2, version}
    assert versions[version]["source"] == f"{prefix}{version}/"
    assert _objects(s3, bucket, f"{model}/{version}/") == {f"{model}/{version}/model.bin": b"w-new"}
    assert _objects(s3, bucket, f"{model}/3/") == before
    tags = {t["key"]: t["value"] for t in versions[version].get("tags", [])}
    assert tags == {objects.DIGEST_TAG: objects.artifact_digest(new), objects.APPROVAL_STATUS_TAG: "approved"}
    nxt = objects.register(_artifact(tmp_path / "next", b"w-next"), model, prefix, env)
    assert nxt == version + 1 and set(_visible(rest, model)) == {1, 2, version, nxt}


def test_a_folder_already_holding_objects_is_refused_and_no_version_left(mlflow_url: str, tmp_path: Path, store):
    url, s3, bucket = store
    objects, rest = runtime(), MlflowRest(mlflow_url)
    model = _model(rest, objects)
    env, prefix = {"MLFLOW_TRACKING_URI": mlflow_url, "AWS_ENDPOINT_URL": url}, f"s3://{bucket}/{model}/"
    s3.put_object(Bucket=bucket, Key=f"{model}/1/model.bin", Body=b"someone else's")
    with pytest.raises(SystemExit, match=f"{prefix}1/ already holds objects"):
        objects.register(_artifact(tmp_path / "a", b"mine"), model, prefix, env)
    assert _visible(rest, model) == {}
    assert _objects(s3, bucket, f"{model}/") == {f"{model}/1/model.bin": b"someone else's"}


def test_a_failed_upload_leaves_no_version_behind(mlflow_url: str, tmp_path: Path, store,
                                                  monkeypatch: pytest.MonkeyPatch):
    url, _, bucket = store
    objects, rest = runtime(), MlflowRest(mlflow_url)
    model = _model(rest, objects, "manual")
    env, prefix = {"MLFLOW_TRACKING_URI": mlflow_url, "AWS_ENDPOINT_URL": url}, f"s3://{bucket}/{model}/"

    def refused(folder: Path, uri: str, env: dict[str, str]) -> None:
        raise OSError("AccessDenied")

    upload = objects.upload_folder
    monkeypatch.setattr(objects, "upload_folder", refused)
    with pytest.raises(OSError, match="AccessDenied"):
        objects.register(_artifact(tmp_path / "a", b"w"), model, prefix, env)
    assert _visible(rest, model) == {}
    monkeypatch.setattr(objects, "upload_folder", upload)
    version = objects.register(_artifact(tmp_path / "b", b"w2"), model, prefix, env)
    found = _visible(rest, model)[version]
    assert found["source"] == f"{prefix}{version}/"
    assert {t["key"] for t in found.get("tags", [])} == {objects.DIGEST_TAG}  # manual: a person approves
