"""Kubernetes endpoints serve their model's real artifacts with their model's own server.

Before (main at 553b227): every InferenceService's storageUri was ``s3://<models bucket>/<model>/<version>/``
and its server the KServe runtime of the model format, whatever the model declared. So
examples/quickstart's dev (``artifacts_uri``: versions registered outside this system) and
llm-platform's reranker (``artifacts_uri``) downloaded from a prefix nothing writes (KServe's storage
initializer: "Failed to fetch model. No model found in ...", kserve v0.15.0
``python/kserve/kserve/storage/storage.py`` ``_download_s3``), and llm-platform's chat model
(``serving_image``: a vLLM server) was served by KServe's huggingface runtime.

Now (``compile/kubernetes/artifacts.py``, ``serving.py`` ``custom_container``): the registry's MLflow
``source`` when read, else the documented layout; a ``serving_image`` is a custom predictor
(``containers[kserve-container]`` with env ``STORAGE_URI``; kserve v0.15.0
``pkg/apis/serving/v1beta1/predictor.go`` ``GetImplementations``, ``predictor_custom.go``
``GetStorageUri``). Every InferenceService still validates against the KServe CRD of
tests/shared/fixtures (tests/support/crds.py). The registry read runs against a REAL MLflow server
(tests/support/mlflow_server.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.kubernetes import artifacts
from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.state.mlflow_registry import MLFLOW_APPROVAL_TAG, read_registry, source_warnings
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import load_file
from tests.support import crds
from tests.support.applied_state import applied_state, dumps
from tests.support.kube_cases import by_kind, graph_of, system_of
from tests.support.mlflow_server import MlflowRest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
QUICKSTART = EXAMPLES / "quickstart" / "mlsystem.yaml"
QUICKSTART_ARTIFACTS = "s3://churn-quickstart-models-123456789012/churn-model/"
RERANKER_ARTIFACTS = "s3://llm-platform-model-imports-444444444444/reranker/"
CHAT_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/chat-serve:1.0.0"


def _predictors(case: str) -> dict[str, dict]:
    return {isvc["metadata"]["name"]: isvc["spec"]["predictor"] for isvc in by_kind(graph_of(case), "InferenceService")}


def _implementations(predictor: dict) -> list[str]:
    """KServe 0.15's ``PredictorSpec.GetImplementations``, for the fields this compiler writes:
    ``model``, and a custom predictor when ``containers`` are given (one named ``kserve-container``,
    else the first). The admission webhook refuses anything but exactly one
    (``inference_service_validation.go`` ``validateExactlyOneImplementation``)."""
    found = ["model"] if predictor.get("model") else []
    if predictor.get("containers"):
        found.append("custom")
    return found


def test_quickstart_dev_serves_the_version_from_its_artifacts_uri():
    """churn-model is registered outside this system (``artifacts_uri``; no training job): dev's
    InferenceService downloads ``<artifacts_uri><version>/``, not the models bucket (main:
    ``s3://churn-quickstart-dev-models/churn-model/1/``, where nothing writes)."""
    predictor = _predictors("quickstart-dev")["churn-api"]
    assert predictor["model"]["storageUri"] == f"{QUICKSTART_ARTIFACTS}1/"
    assert predictor["model"]["modelFormat"] == {"name": "sklearn"}


def test_llm_platform_dev_serves_chat_with_its_serving_image_and_the_reranker_from_its_artifacts_uri():
    predictors = _predictors("llm-platform-dev")
    chat = predictors["chat"]
    assert "model" not in chat and _implementations(chat) == ["custom"]
    (container,) = chat["containers"]
    assert (container["name"], container["image"]) == ("kserve-container", CHAT_IMAGE)
    # trained here (finetune-chat registers chat-model): the models bucket layout, downloaded to /mnt/models
    assert container["env"] == [{"name": "STORAGE_URI", "value": "s3://llm-platform-dev-models/chat-model/7/"}]
    assert artifacts.predictor_storage_uri(chat) == "s3://llm-platform-dev-models/chat-model/7/"
    # the replica's size as a runtime-served predictor gets it: 4 A10G GPUs (dev override)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert container["resources"]["requests"] == {k: v for k, v in container["resources"]["limits"].items()
                                                  if k != "nvidia.com/gpu"}
    assert predictors["reranker"]["model"]["storageUri"] == f"{RERANKER_ARTIFACTS}2/"
    assert predictors["embeddings"]["model"]["storageUri"] == "s3://llm-platform-dev-models/embedder/3/"


@pytest.mark.parametrize("case", ["quickstart-dev", "llm-platform-dev", "fraud-detection-dev", "variety-dev"])
def test_every_inference_service_is_valid_and_has_one_predictor_implementation(case):
    for isvc in by_kind(graph_of(case), "InferenceService"):
        assert crds.errors(isvc) == [], isvc["metadata"]["name"]
        assert len(_implementations(isvc["spec"]["predictor"])) == 1, isvc["metadata"]["name"]
        system = system_of(case)
        endpoint = system.item("endpoints", isvc["metadata"]["name"])
        model = system.item("models", endpoint.model.name)
        assert ("containers" in isvc["spec"]["predictor"]) == bool(model.serving_image)


def test_a_model_trained_here_keeps_the_models_bucket_layout_even_with_an_artifacts_uri():
    """variety-dev's bespoke has only ``artifacts_uri``; a model a job registers writes to the models
    bucket (``MLOPS_MODEL_URI_PREFIX``, compile/kubernetes/training.py), whatever else it declares."""
    system = system_of("variety-dev")
    assert artifacts.layout_uri(system, "bkt", "bespoke", 9) == "s3://variety-imports-123456789012/bespoke/9/"
    ranker = system.item("models", "ranker").model_copy(update={"artifacts_uri": "s3://elsewhere-bucket/r/"})
    both = system.model_copy(update={"models": [ranker if m.name == "ranker" else m for m in system.models]})
    assert artifacts.layout_uri(both, "bkt", "ranker", 3) == "s3://bkt/ranker/3/"
    assert _predictors("variety-dev")["bespoke"]["model"]["storageUri"] == "s3://variety-imports-123456789012/bespoke/9/"


def _view(model: str, records: dict[int, str | None], serving_: dict[str, int] | None = None) -> RegistryView:
    versions = {v: VersionRecord(v, "Approved", "Completed", artifact_uri=uri) for v, uri in records.items()}
    return RegistryView({model: ModelRegistry(model, f"MLflow registered model {model}", "registry", True, versions)},
                        serving_ or {})


def _quickstart(version: int = 1):
    system = load_file(QUICKSTART, "dev")
    item = system.item("endpoints", "churn-api")
    bumped = item.model_copy(update={"model": item.model.model_copy(update={"version": version})})
    return system.model_copy(update={"endpoints": [bumped]})


def _served_uri(graph) -> str | None:
    (isvc,) = by_kind(graph, "InferenceService")
    return artifacts.predictor_storage_uri(isvc["spec"]["predictor"])


def test_the_registry_source_wins_over_the_layout_and_a_held_version_keeps_its_own():
    source = "s3://another-pipeline-bucket/exports/churn/run-42/model/"
    ready = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))
    assert _served_uri(ready) == source
    # v2 not registered: the endpoint holds v1, from v1's source
    held = compile_system(_quickstart(2), "dev", registry=_view("churn-model", {1: source}, {"churn-api": 1}))
    assert held.model_versions["endpoints.churn-api"]["state"] == "holding"
    assert _served_uri(held) == source


@pytest.mark.parametrize("source", ["models:/m-0123456789abcdef", "runs:/0a1b2c/model",
                                    "mlflow-artifacts:/1/0a1b2c/artifacts/model", None,
                                    "oci://registry.example.com/models/churn:1",
                                    "file:///mlflow/artifacts/1/0a1b2c/artifacts/model"])
def test_a_source_kserve_cannot_download_falls_back_to_the_layout(source):
    """``oci://`` (no storage-initializer branch; modelcar, which skips it, ships off) and ``file://``
    (a path inside the initializer container) are admitted by the controller but not downloaded
    (artifacts.py module contract; main at e2b4a3d served both as the storage URI)."""
    graph = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))
    assert _served_uri(graph) == f"{QUICKSTART_ARTIFACTS}1/"


@pytest.mark.parametrize("source", ["oci://registry.example.com/models/churn:1",
                                    "file:///mlflow/artifacts/1/0a1b2c/artifacts/model", "models:/m-0123"])
def test_a_source_kserve_cannot_download_is_a_plan_warning(source):
    (warning,) = source_warnings(_quickstart(1), _view("churn-model", {1: source}))
    assert f"endpoint churn-api: churn-model v1's MLflow source {source!r} is not a URI" in warning
    assert "oci://" not in warning.split("downloads (", 1)[1] and "file://" not in warning.split("downloads (", 1)[1]
    assert source_warnings(_quickstart(1), _view("churn-model", {1: "s3://another-pipeline-bucket/m/"})) == ()


def test_downloadable_is_what_kserves_storage_initializer_fetches():
    """The controller's ``SupportedStorageURIPrefixList`` minus ``oci://`` and ``file://`` (see above)."""
    assert all(artifacts.downloadable(p + "x/y") for p in ("s3://", "gs://", "https://", "http://", "pvc://", "hf://",
                                                          "hdfs://", "webhdfs://"))
    assert not any(artifacts.downloadable(u) for u in ("models:/x/1", "runs:/r/m", "mlflow-artifacts:/a", "", None,
                                                       "oci://r/m:1", "file:///x/model"))


@pytest.mark.timeout(300)
def test_a_registry_read_serves_each_versions_mlflow_source(mlflow_url, monkeypatch):
    """End to end against a real MLflow: what ``plan --refresh`` / ``apply`` read
    (``read_registry`` at ``MLFLOW_TRACKING_URI``) decides the URI; a ``mlflow-artifacts:`` source is
    a plan warning and the layout is served."""
    rest = MlflowRest(mlflow_url)
    rest.delete_all_models()
    rest.create_model("churn-model")
    good = "s3://another-pipeline-bucket/exports/churn/7f3a/"
    for source in (good, "mlflow-artifacts:/1/7f3a/artifacts/model"):
        number = rest.create_version("churn-model", source)
        rest.set_version_tag("churn-model", number, MLFLOW_APPROVAL_TAG, "approved")
    prior = parse_state(dumps(applied_state(compile_system(_quickstart(1), "dev"))).encode(), "applied.json")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_url)

    view = read_registry(_quickstart(1), "dev", prior)
    assert view.models["churn-model"].basis == "registry" and view.warnings == ()
    assert _served_uri(compile_system(_quickstart(1), "dev", registry=view)) == good

    view = read_registry(_quickstart(2), "dev", prior)
    (warning,) = view.warnings
    assert "churn-api: churn-model v2's MLflow source 'mlflow-artifacts:/1/7f3a/artifacts/model'" in warning
    assert _served_uri(compile_system(_quickstart(2), "dev", registry=view)) == f"{QUICKSTART_ARTIFACTS}2/"


def test_a_custom_predictor_pod_is_its_container_alone_in_the_namespace_quota_check():
    """plan/namespace_quotas.py: a custom predictor has no ServingRuntime container; main added a
    phantom ``kserve-container`` with the runtime's cpu 1 / memory 2Gi beside it."""
    from decimal import Decimal

    from mlops_infra.plan.namespace_quotas import namespace_objects, parse_quantity, workloads

    (chat,) = [w for w in workloads(namespace_objects(graph_of("llm-platform-dev"))) if w.address == "endpoints.chat"]
    (container,) = _predictors("llm-platform-dev")["chat"]["containers"]
    requests = container["resources"]["requests"]
    # beside it only Knative's queue-proxy (Serverless mode: requests cpu 25m and nothing else, preflight-3)
    assert [c.name for c in chat.pod.containers] == [container["name"], "queue-proxy"]
    assert chat.pod.usage["requests.cpu"] == parse_quantity(requests["cpu"]) + Decimal("0.025") == Decimal("43.025")
    assert chat.pod.usage["requests.memory"] == parse_quantity(requests["memory"])
    assert chat.pod.usage["requests.nvidia.com/gpu"] == Decimal(4)


def test_an_offline_plan_after_apply_keeps_the_uri_the_applied_version_was_served_from():
    """state/model_registry.py kube_offline_view: a version the prior InferenceService proves carries
    the storage URI it downloaded (here the registry's source at apply), so an offline plan compiles
    that URI again, not the layout, and shows no change; a custom predictor's STORAGE_URI is read too."""
    from mlops_infra.state.model_registry import offline_registry_view

    source = "s3://another-pipeline-bucket/exports/churn/run-42/model/"
    applied = compile_system(_quickstart(1), "dev", registry=_view("churn-model", {1: source}))
    prior = parse_state(dumps(applied_state(applied)).encode(), "applied.json")
    view = offline_registry_view(_quickstart(1), "dev", prior)
    assert view.models["churn-model"].versions[1].artifact_uri == source
    assert _served_uri(compile_system(_quickstart(1), "dev", registry=view)) == source

    llm = load_file(EXAMPLES / "llm-platform" / "mlsystem.yaml", "dev")
    prior = parse_state(dumps(applied_state(compile_system(llm, "dev"))).encode(), "applied.json")
    view = offline_registry_view(llm, "dev", prior)
    assert view.serving["chat"] == 7
    assert view.models["chat-model"].versions[7].artifact_uri == "s3://llm-platform-dev-models/chat-model/7/"
