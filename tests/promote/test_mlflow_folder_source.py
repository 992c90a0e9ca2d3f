"""``promote --execute-artifacts`` dev (Kubernetes) -> staging (AWS) of a version MLflow registered itself.

MLflow writes a version's ``source`` without a trailing ``/`` (mlflow ``_register_model``: ``runs:/<run>/model``
becomes ``s3://<bucket>/<exp>/<run>/artifacts/model``), a folder: the copy used to take it for ONE object
(``HeadObject`` on a key that does not exist: NoSuchKey) and the registration for an ``S3Object``. The copy
now reads S3 to tell (``promote/digests.artifact_layout``): objects under ``<source>/`` (ListObjectsV2
``Prefix``) make a folder, copied and registered as one (``S3Prefix``, the prefix with its ``/``), and nothing
beside it (``model_v2/``); an exact key is one object; neither fails naming both, nothing copied.

Real servers: dev's registry is a real MLflow tracking server (tests/support/mlflow_server.py) to which
MLflow's own client logs the run's artifacts in S3 (moto) and registers ``runs:/<run>/model``; staging's is a
SageMaker group of account 111111111111 on the same moto server (the set-up of
tests/cli/test_promote_mlflow_cmd.py)."""

from __future__ import annotations

import json

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.registries import MLFLOW_APPROVAL_TAG, MLFLOW_DIGEST_TAG
from tests.cli.test_promote_mlflow_cmd import (
    MODEL,
    STAGING_BUCKET,
    STAGING_GROUP,
    STAGING_MODELS,
    args,
    register_staging,
)
from tests.promote.artifact_files import digest_of
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.mlflow_server import MlflowRest
from tests.support.promotion import STAGING_ROLE, assumed_session, copy_reference

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

DEV_BUCKET = "promotesrc-dev-mlflow-artifacts"
FILES = {"MLmodel": b"flavors: {}\n", "model.pkl": b"the promoted model"}
NEIGHBOUR = {"MLmodel": b"flavors: {}\n", "model.pkl": b"another model, beside it"}
ARN = f"arn:aws:sagemaker:us-east-1:111111111111:model-package/{STAGING_GROUP}/3"


def _dev_bucket(url: str):
    import boto3

    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # moto's default account, as dev's store
    if DEV_BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=DEV_BUCKET)
    return s3


def _register_dev(rest: MlflowRest, fourteenth: str | None, digest: str) -> None:
    """fraud-model v1..v13 (other folders), then v14: ``fourteenth`` (a source) or, when None, left to the caller."""
    rest.create_model(MODEL)
    for number in range(1, 14):
        assert rest.create_version(MODEL, f"s3://{DEV_BUCKET}/old/{number}/") == number
    if fourteenth is not None:
        assert rest.create_version(MODEL, fourteenth, {MLFLOW_DIGEST_TAG: digest}) == 14
        rest.set_version_tag(MODEL, 14, MLFLOW_APPROVAL_TAG, "approved")


def _staging_copies(url: str, destination: str) -> dict[str, bytes]:
    s3 = assumed_session(url, STAGING_ROLE, "us-east-1").client("s3", endpoint_url=url)
    prefix = destination.removeprefix(f"s3://{STAGING_BUCKET}/")
    return {o["Key"].removeprefix(prefix): s3.get_object(Bucket=STAGING_BUCKET, Key=o["Key"])["Body"].read()
            for o in s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix=prefix).get("Contents") or ()}


def _staging_bucket(url: str) -> None:
    assumed_session(url, STAGING_ROLE, "us-east-1").client("s3", endpoint_url=url).create_bucket(Bucket=STAGING_BUCKET)


def test_a_version_mlflow_registered_is_copied_and_registered_as_its_folder(tmp_path, mlflow_url, moto_url,
                                                                             monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    for key, value in {"MLFLOW_S3_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "MLFLOW_TRACKING_URI": mlflow_url}.items():
        monkeypatch.setenv(key, value)
    _dev_bucket(moto_url)
    for name, files in (("model", FILES), ("model_v2", NEIGHBOUR)):
        for file, body in files.items():
            (tmp_path / name).mkdir(exist_ok=True)
            (tmp_path / name / file).write_bytes(body)
    digest = digest_of(FILES)
    rest = MlflowRest(mlflow_url)
    _register_dev(rest, None, digest)
    client = mlflow.MlflowClient(mlflow_url)
    experiment = client.create_experiment(f"promotesrc-{tmp_path.name}", artifact_location=f"s3://{DEV_BUCKET}/mlflow")
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(tmp_path / "model"), "model")
    client.log_artifacts(run.info.run_id, str(tmp_path / "model_v2"), "model_v2")  # a neighbour sharing the prefix
    client.set_terminated(run.info.run_id)
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", MODEL)
    source = f"s3://{DEV_BUCKET}/mlflow/{run.info.run_id}/artifacts/model"
    assert (int(version.version), version.source) == (14, source)  # MLflow's own source: a folder, no trailing /
    rest.set_version_tag(MODEL, 14, MLFLOW_DIGEST_TAG, digest)  # your own code tags it (docs/promote.md)
    rest.set_version_tag(MODEL, 14, MLFLOW_APPROVAL_TAG, "approved")
    sm = register_staging(moto_url, monkeypatch)
    _staging_bucket(moto_url)
    file = copy_reference(tmp_path)
    destination = f"{STAGING_MODELS}promoted/{MODEL}/{digest[7:23]}/"

    preview = run_cli(*args(file, mlflow_url, "--format", "json"))
    assert preview.code == 0, preview.output
    copy, register = json.loads(preview.stdout)["promotion"]["artifactSteps"]
    assert (copy["source"], copy["destination"], register["source"]) == (source, destination, destination)
    assert register["detail"]["modelData"] == {"ModelDataSource": {"S3DataSource": {
        "S3Uri": destination, "S3DataType": "S3Prefix", "CompressionType": "None"}}}

    done = run_cli(*args(file, mlflow_url, "--execute-artifacts"))
    assert done.code == 0, done.output
    assert (f"[done] copy {MODEL} {digest[:19]} {source} -> {destination}: 2 of 2 object(s) copied, 0 already there; "
            "digest verified") in done.stdout
    assert f"registered as v3 ({ARN})" in done.stdout
    assert _staging_copies(moto_url, destination) == FILES  # model_v2's objects stay in dev
    container = sm.describe_model_package(ModelPackageName=ARN)["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": destination, "S3DataType": "S3Prefix",
                                                             "CompressionType": "None"}}
    assert "ModelDataUrl" not in container
    again = run_cli(*args(file, mlflow_url, "--execute-artifacts"))
    assert again.code == 0 and "No artifact steps" in again.stdout, again.output


def test_a_source_that_is_one_object_is_registered_as_that_object(tmp_path, mlflow_url, moto_url, monkeypatch):
    """A source naming an object without a ``.`` in its name: the preview expects a folder (the name says
    nothing), the copy finds the exact key (nothing under ``<source>/``) and registers it as an ``S3Object``."""
    s3 = _dev_bucket(moto_url)
    body = b"one uncompressed model file"
    s3.put_object(Bucket=DEV_BUCKET, Key="exports/fraud/model", Body=body)
    s3.put_object(Bucket=DEV_BUCKET, Key="exports/fraud/model_v2", Body=b"beside it")
    source = f"s3://{DEV_BUCKET}/exports/fraud/model"
    digest = digest_of({"model": body})
    _register_dev(MlflowRest(mlflow_url), source, digest)
    sm = register_staging(moto_url, monkeypatch)
    _staging_bucket(moto_url)
    file = copy_reference(tmp_path)
    destination = f"{STAGING_MODELS}promoted/{MODEL}/{digest[7:23]}/"

    done = run_cli(*args(file, mlflow_url, "--execute-artifacts", "--format", "json"))
    assert done.code == 0, done.output
    copy, register = json.loads(done.stdout)["artifactSteps"]
    assert (copy["status"], register["status"], register["source"]) == ("done", "done", f"{destination}model")
    assert _staging_copies(moto_url, destination) == {"model": body}
    container = sm.describe_model_package(ModelPackageName=ARN)["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataSource"] == {"S3DataSource": {"S3Uri": f"{destination}model", "S3DataType": "S3Object",
                                                             "CompressionType": "None"}}


def test_a_source_holding_nothing_fails_naming_both_and_copies_nothing(tmp_path, mlflow_url, moto_url, monkeypatch):
    _dev_bucket(moto_url)
    source = f"s3://{DEV_BUCKET}/mlflow/gone/artifacts/model"
    digest = digest_of(FILES)
    _register_dev(MlflowRest(mlflow_url), source, digest)
    sm = register_staging(moto_url, monkeypatch)
    _staging_bucket(moto_url)
    file = copy_reference(tmp_path)

    failed = run_cli(*args(file, mlflow_url, "--execute-artifacts"))
    assert failed.code == 1, failed.output
    said = " ".join(failed.output.split())
    assert (f"{source} is neither a folder (no object under {source}/: ListObjectsV2) nor an object (HeadObject "
            f"{source}: 404)") in said
    assert "Traceback" not in failed.output
    assert _staging_copies(moto_url, f"{STAGING_MODELS}promoted/{MODEL}/{digest[7:23]}/") == {}
    assert len(sm.list_model_packages(ModelPackageGroupName=STAGING_GROUP)["ModelPackageSummaryList"]) == 2


def test_artifact_layout_reads_s3_exactly(moto_url):
    """The rule itself: ``<source>/`` listed first (what MLflow reads: ``S3ArtifactRepository.list_artifacts``
    lists ``dest_path + "/"``), then the exact key; a "folder" marker alone is no folder; ``churn/1`` is not
    ``churn/10``; a trailing ``/`` is kept as a folder without a request."""
    from mlops_infra.promote.digests import artifact_layout

    s3 = _dev_bucket(moto_url)
    for key in ("layout/churn/1/model.pkl", "layout/churn/10/model.pkl", "layout/file.bin", "layout/empty/",
                "layout/both", "layout/both/MLmodel"):
        s3.put_object(Bucket=DEV_BUCKET, Key=key, Body=b"x")
    uri = f"s3://{DEV_BUCKET}/layout"
    assert artifact_layout(s3, f"{uri}/churn/1") == (f"{uri}/churn/1/", True)
    assert artifact_layout(s3, f"{uri}/churn/10/") == (f"{uri}/churn/10/", True)
    assert artifact_layout(s3, f"{uri}/file.bin") == (f"{uri}/file.bin", False)
    assert artifact_layout(s3, f"{uri}/both") == (f"{uri}/both/", True)  # MLflow reads the folder
    for missing in ("empty", "churn/2", "file"):
        with pytest.raises(UserError) as raised:
            artifact_layout(s3, f"{uri}/{missing}")
        assert f"{uri}/{missing} is neither a folder (no object under {uri}/{missing}/" in raised.value.summary


def test_the_preview_expects_a_folder_where_kubernetes_serves_one():
    """Pure (no S3): a source ending in ``/`` or whose last segment has no ``.`` is expected to be a folder
    (registered as ``destination``), a named file (``model.tar.gz``) or a gzip archive the registry names is
    registered as that object; the copy then reads S3 (the tests above)."""
    from mlops_infra.model_versions import GZIP
    from mlops_infra.promote.artifacts import copied_uri

    destination = "s3://dst/training/retrain/promoted/fraud-model/0123456789abcdef/"
    assert copied_uri("s3://src/runs/1/model.tar.gz", destination, None) == f"{destination}model.tar.gz"
    assert copied_uri("s3://src/exports/model.joblib", destination, None) == f"{destination}model.joblib"
    assert copied_uri("s3://src/exports/model", destination, GZIP) == f"{destination}model"
    assert copied_uri("s3://src/fraud-model/14/", destination, None) == destination
    assert copied_uri("s3://src/1/abc/artifacts/model", destination, None) == destination
    assert copied_uri("s3://src", destination, None) == destination
