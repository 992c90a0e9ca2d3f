"""What a version whose registration is not complete is told (audit registry-6), and the AWS approval rule
at the level of :func:`mlops_infra.model_versions.unavailable` (audit registry-2).

A failed registration is terminal: MLflow ``ModelVersionStatus`` ``FAILED_REGISTRATION`` "Request to
register a new model version has failed" (a version's status is set at creation and finalisation only),
SageMaker ``ModelPackageStatus`` ``Failed`` (botocore enum Pending | InProgress | Completed | Failed |
Deleting). SageMaker deploys a versioned package only when ``Approved`` (botocore
``CreateModelPackageInput.ModelApprovalStatus``).
"""

from __future__ import annotations

import pytest

from mlops_infra import model_versions
from mlops_infra.model_versions import ModelRegistry, VersionRecord, unavailable
from mlops_infra.state.mlflow_registry import MLFLOW_STATUS, mlflow_record

GROUP = ModelRegistry("m", "group s-staging-m (111111111111/us-east-1)", "registry", True)
MLFLOW = ModelRegistry("churn-model", "MLflow registered model churn-model in dev", "registry", True)


def test_a_failed_sagemaker_package_asks_for_a_new_registration_not_a_wait():
    why = unavailable(GROUP, VersionRecord(4, "Approved", "Failed"), 4, False)
    assert why == ("registration failed in group s-staging-m (111111111111/us-east-1) (ModelPackageStatus Failed): "
                   "register the artifact again (a new version) and pin that")
    assert "once it is Completed" not in why


def test_a_failed_mlflow_version_is_named_in_mlflows_words():
    record = mlflow_record({"version": "4", "status": "FAILED_REGISTRATION", "source": "s3://b/churn-model/4/"})
    why = unavailable(MLFLOW, record, 4, False)
    assert why == ("registration failed in MLflow registered model churn-model in dev (its registration status "
                   "FAILED_REGISTRATION): register the artifact again (a new version) and pin that")


def test_a_pending_mlflow_version_waits_for_ready_and_a_sagemaker_package_for_completed():
    record = mlflow_record({"version": "4", "status": "PENDING_REGISTRATION", "source": "s3://b/churn-model/4/"})
    assert unavailable(MLFLOW, record, 4, False) == (
        "still PENDING_REGISTRATION in MLflow registered model churn-model in dev (its registration status); "
        "plan again once it is READY")
    assert unavailable(GROUP, VersionRecord(4, "Approved", "InProgress"), 4, False) == (
        "still InProgress in group s-staging-m (111111111111/us-east-1) (ModelPackageStatus); "
        "plan again once it is Completed")
    assert unavailable(GROUP, VersionRecord(4, "Approved", "Deleting"), 4, False) == (
        "being deleted from group s-staging-m (111111111111/us-east-1) (ModelPackageStatus Deleting); "
        "pin another version")


def test_mlflow_words_are_the_inverse_of_the_readers_mapping():
    assert {v: k for k, v in MLFLOW_STATUS.items()} == model_versions.MLFLOW_WORDS


@pytest.mark.parametrize(("gated", "sagemaker", "rule"), [
    (False, True, "SageMaker deploys a versioned model package only when it is Approved"),
    (True, True, "this environment serves approved versions only"),
    (True, False, "this environment serves approved versions only"),
    (False, False, None),
])
def test_a_pending_package_serves_only_where_nothing_requires_approval(gated, sagemaker, rule):
    why = unavailable(GROUP, VersionRecord(4, "PendingManualApproval", "Completed"), 4, gated, sagemaker=sagemaker)
    if rule is None:
        assert why is None
    else:
        assert why == (f"PendingManualApproval in group s-staging-m (111111111111/us-east-1), and {rule}"
                       + (", whatever the model's approval mode" if not gated else "")
                       + "; approve it (UpdateModelPackage ModelApprovalStatus=Approved)")
    assert unavailable(GROUP, VersionRecord(4, "Approved", "Completed"), 4, gated, sagemaker=sagemaker) is None
