"""An InferenceService downloads its version's MLflow ``source`` folder, not every S3 key that starts with it.

Before (main at bd806b2): ``compile/kubernetes/artifacts.storage_uri`` served an ``s3://`` source as
registered. MLflow writes sources without a trailing ``/`` (``s3://<bucket>/<exp>/<run>/artifacts/model``:
mlflow 3.14 ``_register_model``, ``RunsArtifactRepository.get_underlying_uri``), and KServe's storage
initializer lists the path as a bare prefix (kserve v0.15.0 ``storage.py`` ``Storage._download_s3``:
``bucket.objects.filter(Prefix=bucket_path)``), so ``.../model`` also downloaded ``.../model_v2/...``
into ``/mnt/models/_v2/`` and ``.../churn/1`` also ``.../churn/10/...`` into ``/mnt/models/0/``.

Now (``artifacts.kserve_uri``): an ``s3://`` folder gets its trailing ``/`` (what MLflow itself lists for
a version: ``S3ArtifactRepository.list_artifacts``, ``prefix = dest_path + "/"``); a source naming a file
(``model.joblib``) is kept, since KServe downloads an exact key alone and ``<file>/`` lists nothing.
The downloads are replayed against the moto server (tests/support/kserve_storage.py, KServe's own
listing and naming); the registration runs through a REAL MLflow server and MLflow's own client.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import artifacts
from mlops_infra.model_versions import RegistryView
from mlops_infra.plan.model import Action
from mlops_infra.plan.planner import PlanOptions, make_plan
from mlops_infra.state.mlflow_registry import MLFLOW_APPROVAL_TAG, read_registry
from mlops_infra.state.model_registry import offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.compile.kubernetes.test_serving_artifacts import EXAMPLES, _quickstart, _served_uri, _view
from tests.scenarios.harness import load_file
from tests.support import moto_server
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.kserve_storage import download_s3
from tests.support.kube_cases import by_kind
from tests.support.mlflow_server import MlflowRest

BUCKET = "k8ssrc-mlflow-artifacts"
MODEL = f"s3://{BUCKET}/1/abc/artifacts/model"
"""An MLflow-written source: a run's artifact folder, no trailing ``/``."""
FILE = f"s3://{BUCKET}/exports/churn/model.joblib"
EXPORT = f"s3://{BUCKET}/exports/churn/model"
"""One object without an extension (a custom predictor's TorchScript blob): KServe downloads it alone."""
OBJECTS = {
    "1/abc/artifacts/model/MLmodel": b"flavors: {}\n",
    "1/abc/artifacts/model/model.pkl": b"v1",
    "1/abc/artifacts/model_v2/MLmodel": b"flavors: {}\n",
    "1/abc/artifacts/model_v2/model.pkl": b"v2",
    "churn/1/model.pkl": b"one",
    "churn/10/model.pkl": b"ten",
    "exports/churn/model": b"torchscript",
    "exports/churn/model.joblib": b"joblib",
    "exports/churn/model.joblib.sha256": b"digest",
}


@pytest.mark.parametrize(("source", "served"), [
    (MODEL, f"{MODEL}/"),
    (f"s3://{BUCKET}/churn/1", f"s3://{BUCKET}/churn/1/"),
    (f"{MODEL}/", f"{MODEL}/"),
    (FILE, FILE),
    (f"s3://{BUCKET}/exports/churn/model.tar.gz", f"s3://{BUCKET}/exports/churn/model.tar.gz"),
    (f"s3://{BUCKET}", f"s3://{BUCKET}"),
    # gs:// lists <path>/ already and downloads a path with nothing under it as one file (_download_gcs);
    # hdfs asks the name node (client.status); http(s) is one file; pvc a mounted path; hf a repository
    ("gs://bkt/1/abc/artifacts/model", "gs://bkt/1/abc/artifacts/model"),
    ("hdfs://nn/models/churn/1", "hdfs://nn/models/churn/1"),
    ("https://models.example.com/churn/1", "https://models.example.com/churn/1"),
    ("pvc://models/churn/1", "pvc://models/churn/1"),
    ("hf://org/model", "hf://org/model"),
])
def test_an_s3_folder_source_is_served_with_its_trailing_slash(source, served):
    """The compiled storage URI (the quickstart's churn-api, a KServe runtime predictor)."""
    assert _served_uri(compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))) == served


def test_kserve_uri_is_what_storage_uri_serves_for_a_downloadable_source():
    assert [artifacts.kserve_uri(u) for u in (MODEL, f"{MODEL}/", FILE, "gs://bkt/m", f"s3://{BUCKET}")] == [
        f"{MODEL}/", f"{MODEL}/", FILE, "gs://bkt/m", f"s3://{BUCKET}"]


def test_a_custom_predictors_storage_uri_gets_the_slash_too():
    """llm-platform's chat (``serving_image``): the ``kserve-container``'s ``STORAGE_URI``."""
    llm = load_file(EXAMPLES / "llm-platform" / "mlsystem.yaml", "dev")
    graph = compile_system(llm, "dev", registry=_view("chat-model", {7: MODEL}))
    (chat,) = [i for i in by_kind(graph, "InferenceService") if i["metadata"]["name"] == "chat"]
    assert chat["spec"]["predictor"]["containers"][0]["env"] == [{"name": "STORAGE_URI", "value": f"{MODEL}/"}]


@pytest.fixture(scope="module")
def s3_url():
    with moto_server.running_moto_server() as url:
        s3 = moto_server.client("s3", url)
        s3.create_bucket(Bucket=BUCKET)
        for key, body in OBJECTS.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        yield url


def _downloads(uri: str, tmp_path: Path, url: str, name: str) -> list[str]:
    return download_s3(uri, tmp_path / name, url)


def test_kserve_downloads_the_compiled_uri_and_nothing_beside_it(s3_url, tmp_path):
    """KServe's listing (replayed): the registered source as given pulls its neighbours in; the compiled
    URI does not."""
    assert _downloads(MODEL, tmp_path, s3_url, "as-registered") == [
        "MLmodel", "_v2/MLmodel", "_v2/model.pkl", "model.pkl"]
    assert _downloads(f"s3://{BUCKET}/churn/1", tmp_path, s3_url, "one") == ["0/model.pkl", "model.pkl"]
    for source, files in ((MODEL, ["MLmodel", "model.pkl"]), (f"s3://{BUCKET}/churn/1", ["model.pkl"])):
        compiled = _served_uri(compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source})))
        assert _downloads(compiled, tmp_path, s3_url, source.rsplit("/", 1)[-1] + "-compiled") == files


def test_a_source_that_is_a_file_is_downloaded_alone(s3_url, tmp_path):
    """An exact key: KServe downloads it under its base name and stops; ``<file>/`` would list nothing."""
    compiled = _served_uri(compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: FILE})))
    assert compiled == FILE
    assert _downloads(compiled, tmp_path, s3_url, "file") == ["model.joblib"]
    with pytest.raises(RuntimeError, match="No model found"):
        _downloads(f"{FILE}/", tmp_path, s3_url, "file-slash")


@pytest.mark.timeout(300)
def test_mlflows_own_registration_is_served_as_mlflow_itself_reads_it(s3_url, mlflow_url, tmp_path, monkeypatch):
    """End to end: a run logs ``model`` and ``model_v2`` to S3 (moto), ``mlflow.register_model`` registers
    ``runs:/<run>/model`` at a REAL MLflow server; its source has no trailing ``/``. ``plan --refresh``'s
    read (``read_registry``) and the compiler serve ``<source>/``, and KServe downloads from it exactly
    the files MLflow's own ``download_artifacts("models:/churn-model/1")`` gets."""
    mlflow = pytest.importorskip("mlflow")
    for key, value in {"MLFLOW_S3_ENDPOINT_URL": s3_url, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": moto_server.REGION}.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "model" / "model.pkl").write_text("v1")
    url = mlflow_url  # the session's server, its registry empty (tests/conftest.py)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    client = mlflow.MlflowClient(url)
    experiment = client.create_experiment("k8ssrc", artifact_location=f"s3://{BUCKET}/mlflow")
    run = client.create_run(experiment)
    client.log_artifacts(run.info.run_id, str(tmp_path / "model"), "model")
    client.log_artifacts(run.info.run_id, str(tmp_path / "model"), "model_v2")
    client.set_terminated(run.info.run_id)
    MlflowRest(url).create_model("churn-model")
    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "churn-model")
    source = f"s3://{BUCKET}/mlflow/{run.info.run_id}/artifacts/model"
    assert (int(version.version), version.source) == (1, source)
    MlflowRest(url).set_version_tag("churn-model", 1, MLFLOW_APPROVAL_TAG, "approved")
    mlflows_own = Path(mlflow.artifacts.download_artifacts("models:/churn-model/1", dst_path=str(tmp_path / "m")))

    prior = parse_state(dumps(applied_state(compile_system(_quickstart(1), "dev"))).encode(), "applied.json")
    view = read_registry(_quickstart(1), "dev", prior)
    assert view.warnings == () and view.models["churn-model"].versions[1].artifact_uri == source
    compiled = _served_uri(compile_system(_quickstart(1), "dev", registry=view))
    assert compiled == f"{source}/"
    # MLflow's client writes registered_model_meta beside what it downloaded (ModelsArtifactRepository
    # .download_artifacts, "saved in the 'registered_model_meta' file on the caller's side"): not in S3
    files = sorted(p.relative_to(mlflows_own).as_posix() for p in mlflows_own.rglob("*")
                   if p.is_file() and p.name != "registered_model_meta")
    assert "MLmodel" in files and _downloads(compiled, tmp_path, s3_url, "kserve") == files == [
        "MLmodel", "model.pkl"]
    assert _downloads(source, tmp_path, s3_url, "as-registered") == [
        "MLmodel", "_v2/MLmodel", "_v2/model.pkl", "model.pkl"]


def _plan(graph, checkpoint):
    return make_plan(graph, parse_state(dumps(checkpoint).encode(), "applied"), options=PlanOptions(estimate_cost=False))


def _updates(plan):
    return [(c.address, c.action, [(a.path, a.before, a.after) for a in c.changes])
            for c in plan.changes if c.action is not Action.NOOP]


def _applied_serving(graph, stored: str):
    """``graph``'s applied checkpoint with the InferenceService downloading ``stored``."""
    def serve(record):
        for key in ("inputs", "outputs"):
            record[key]["spec"]["predictor"]["model"]["storageUri"] = stored
    return edit_resource(applied_state(graph), lambda r: r["type"].endswith(":InferenceService"), serve)


def _offline(system, checkpoint):
    return compile_system(system, "dev", registry=offline_registry_view(system, "dev",
                                                                         parse_state(dumps(checkpoint).encode(), "applied")))


@pytest.mark.parametrize("stored", [MODEL, f"{MODEL}/", EXPORT])
def test_an_existing_stack_keeps_the_uri_it_serves(stored):
    """closing-35b-2: the storage URI the prior InferenceService downloads for a version is kept exactly
    as stored, offline (``kube_offline_view``) and after a registry read of that version's source
    (``read_registry`` keeps the offline view's ``served_uris``): a stack applied before 8316070 (no
    ``/``) or after it (``/``) plans no change. On main at 8316070 the unslashed ones planned a
    ``storageUri`` update to ``<uri>/``, which for a single extensionless file is "No model found"."""
    source = stored.rstrip("/")
    graph = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))
    old = _applied_serving(graph, stored)
    prior = parse_state(dumps(old).encode(), "applied")
    offline_view = offline_registry_view(_quickstart(1), "dev", prior)
    assert offline_view.served_uris == {"churn-model": {1: stored}}
    read = dataclasses.replace(offline_view, models=_view("churn-model", {1: source}).models)  # read_registry's merge
    for view in (offline_view, read, RegistryView.from_json(json.loads(json.dumps(read.to_json())))):
        desired = compile_system(_quickstart(1), "dev", registry=view)
        assert _served_uri(desired) == stored
        assert _updates(_plan(desired, old)) == []


def test_a_version_not_yet_served_gets_the_name_rule():
    """Only the version the prior state serves keeps its URI: the next version's folder source (a registry
    read) gets its ``/``, and the held version keeps the URI it serves while the new one waits."""
    graph = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: EXPORT}))
    prior = parse_state(dumps(_applied_serving(graph, EXPORT)).encode(), "applied")
    offline_view = offline_registry_view(_quickstart(2), "dev", prior)
    read = dataclasses.replace(offline_view, models=_view("churn-model", {1: EXPORT, 2: MODEL}).models)
    assert _served_uri(compile_system(_quickstart(2), "dev", registry=read)) == f"{MODEL}/"
    held = dataclasses.replace(offline_view, models=_view("churn-model", {1: EXPORT}).models)
    compiled = compile_system(_quickstart(2), "dev", registry=held)
    assert compiled.model_versions["endpoints.churn-api"]["state"] == "holding"
    assert _served_uri(compiled) == EXPORT
    # a URI served for the version from another source than the registry now gives is not kept
    other = dataclasses.replace(offline_view, models=_view("churn-model", {1: MODEL}).models)
    assert _served_uri(compile_system(_quickstart(1), "dev", registry=other)) == f"{MODEL}/"


def test_the_served_uris_reach_the_pulumi_program_and_aws_views_are_unchanged(monkeypatch):
    """``mlops-infra apply`` hands the view it planned with to the program (``apply/model_versions.py``
    ``registry_view_env`` writes MLOPS_INFRA_REGISTRY_VIEW, ``program/entry.py`` ``registry_view`` reads
    it): the served URIs round-trip, so the program compiles the stored URI the plan showed. An AWS
    view carries none and its JSON has no ``servedUris`` key (as before)."""
    from mlops_infra.apply.model_versions import registry_view_env
    from mlops_infra.model_versions import REGISTRY_VIEW_ENV
    from mlops_infra.program.entry import registry_view
    from mlops_infra.state.model import PriorState

    graph = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: EXPORT}))
    offline_view = offline_registry_view(_quickstart(1), "dev",
                                         parse_state(dumps(_applied_serving(graph, EXPORT)).encode(), "applied"))
    read = dataclasses.replace(offline_view, models=_view("churn-model", {1: EXPORT}).models)
    with registry_view_env(read) as extra:
        monkeypatch.setenv(REGISTRY_VIEW_ENV, extra[REGISTRY_VIEW_ENV])
        handed = registry_view(_quickstart(1), "dev")
    assert handed == read and handed.served_uris == {"churn-model": {1: EXPORT}}
    assert _served_uri(compile_system(_quickstart(1), "dev", registry=handed)) == EXPORT

    fraud = load_file(EXAMPLES / "fraud-detection" / "mlsystem.yaml", "prod")
    aws = offline_registry_view(fraud, "prod", PriorState.empty())
    assert aws.served_uris == {} and "servedUris" not in aws.to_json()


@pytest.mark.timeout(300)
def test_a_served_extensionless_file_still_downloads_after_a_real_registry_read(s3_url, mlflow_url, tmp_path):
    """closing-35b-2 end to end: a version registered (REAL MLflow server) with one extensionless object as
    its source, served as registered until bd806b2. ``plan --refresh``'s read (``read_registry``) and the
    compiler keep the stored URI, so the plan shows nothing and KServe (replayed) still downloads the file;
    the re-slashed URI main compiled at 8316070 downloads nothing. A new version's folder gets its ``/``."""
    graph = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: EXPORT}))
    old = _applied_serving(graph, EXPORT)
    prior = parse_state(dumps(old).encode(), "applied")
    url = mlflow_url  # the session's server, its registry empty (tests/conftest.py)
    rest = MlflowRest(url)
    rest.create_model("churn-model")
    for source in (EXPORT, MODEL):
        rest.set_version_tag("churn-model", rest.create_version("churn-model", source), MLFLOW_APPROVAL_TAG,
                             "approved")
    view = read_registry(_quickstart(1), "dev", prior, tracking_uri=url)
    newer = read_registry(_quickstart(2), "dev", prior, tracking_uri=url)
    assert view.warnings == () and view.models["churn-model"].basis == "registry"
    desired = compile_system(_quickstart(1), "dev", registry=view)
    assert _served_uri(desired) == EXPORT and _updates(_plan(desired, old)) == []
    assert _downloads(EXPORT, tmp_path, s3_url, "served") == ["model"]
    with pytest.raises(RuntimeError, match="No model found"):
        _downloads(f"{EXPORT}/", tmp_path, s3_url, "re-slashed")
    assert _served_uri(compile_system(_quickstart(2), "dev", registry=newer)) == f"{MODEL}/"


@pytest.mark.parametrize("source", ["oci://registry.example.com/models/churn:1", "models:/m-0123",
                                    "file:///mlflow/artifacts/1/0a1b2c/artifacts/model"])
def test_the_warning_of_an_oci_source_names_kserves_modelcar(source):
    """kserve v0.15.0: the modelcar is injected only with ``enableModelcar`` (pod/mutator.go), which
    config/configmap/inferenceservice.yaml ships false; the other sources get no modelcar clause."""
    from mlops_infra.state.mlflow_registry import source_warnings

    (warning,) = source_warnings(_quickstart(1), _view("churn-model", {1: source}))
    clause = ("(KServe runs an OCI model image only as a modelcar, which the cluster turns on in the "
              "inferenceservice-config ConfigMap's storageInitializer \"enableModelcar\": true, off in KServe "
              "0.15's defaults; a system spec cannot declare it, so mlops-infra does not count on it), so it is "
              "served from the documented layout")
    assert (clause in warning) is source.startswith("oci://")
    assert "modelcar" not in warning or source.startswith("oci://")
