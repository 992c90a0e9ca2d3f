"""The KServe stand-in's revision rule (tests/support/kserve.py): which InferenceService writes make a
new Knative revision (kserve v0.15.0 predictor.go buildPredictorResources, constants.go
ServiceAnnotationDisallowedList; Knative "Configuration")."""

from __future__ import annotations

from mlops_infra.kube import KubeClient
from mlops_infra.kube.resources import INFERENCE_SERVICE
from tests.support.kserve import KServeRevisions
from tests.support.kube_api import KubeApiStandIn, load_crds

NS, NAME = "fraud-dev", "scorer"


def test_annotation_and_predictor_changes_make_revisions_traffic_and_denied_keys_do_not():
    with KubeApiStandIn(crds=load_crds("serving.kserve.io_inferenceservices.minimal.yaml")) as api:
        kserve = KServeRevisions(api)
        kube = KubeClient.from_url(api.url)
        kube.create({
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": NAME, "namespace": NS, "annotations": {"mlops-infra/model-version": "13"}},
            "spec": {"predictor": {"canaryTrafficPercent": 2, "model": {"storageUri": "s3://m/13/"}}}}, NS)
        assert kserve.of_version(NAME, "13") == ["scorer-predictor-00001"]
        kube.patch(INFERENCE_SERVICE, NAME, NS, {"spec": {"predictor": {"canaryTrafficPercent": 50}}})
        kube.patch(INFERENCE_SERVICE, NAME, NS, {"metadata": {"annotations": {
            "autoscaling.knative.dev/min-scale": "2", "kubectl.kubernetes.io/last-applied-configuration": "{}"}}})
        assert kserve.of_version(NAME, "13") == ["scorer-predictor-00001"]  # route / denied keys only
        kube.patch(INFERENCE_SERVICE, NAME, NS, {"metadata": {"annotations": {"rollout.mlops-infra.io/step": "1"}}})
        assert kserve.of_version(NAME, "13") == ["scorer-predictor-00001", "scorer-predictor-00002"]
        kube.patch(INFERENCE_SERVICE, NAME, NS, {"metadata": {"annotations": {"mlops-infra/model-version": "14"}},
                                                 "spec": {"predictor": {"model": {"storageUri": "s3://m/14/"}}}})
        assert kserve.of_version(NAME, "14") == ["scorer-predictor-00003"]
        live = kube.get(INFERENCE_SERVICE, NAME, NS)["status"]["components"]["predictor"]
        assert live["latestCreatedRevision"] == live["latestReadyRevision"] == "scorer-predictor-00003"
