"""The model data a promoted version is registered with, in the form SageMaker can deploy.

``ModelDataUrl`` "must point to a single gzip compressed tar archive (.tar.gz suffix)" (botocore
``ModelPackageContainerDefinition.ModelDataUrl``). A Kubernetes-trained version is a folder (the
training runtime uploads the model folder and registers its prefix in MLflow), so it is registered
as ``ModelDataSource.S3DataSource`` with ``S3DataType`` ``S3Prefix`` and ``CompressionType`` ``None``
("under which all objects represents the uncompressed ML model to deploy",
``S3ModelDataSource.CompressionType``). Each form is checked against botocore's own request shape.
"""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlops_infra.promote.artifacts import model_data

FOLDER = "s3://dst/training/retrain/promoted/fraud-model/1414141414141414/"


def _create_model_package_errors(data: dict) -> str:
    """botocore's client-side validation of a CreateModelPackage request holding ``data`` ('' = valid)."""
    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model(
        "CreateModelPackage").input_shape
    params = {"ModelPackageGroupName": "g", "InferenceSpecification": {
        "Containers": [{"Image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/serve:1", **data}],
        "SupportedContentTypes": ["application/json"], "SupportedResponseMIMETypes": ["application/json"]}}
    return ParamValidator().validate(params, shape).generate_report()


@pytest.mark.parametrize(("uri", "compression", "expected"), [
    (FOLDER, None, {"ModelDataSource": {"S3DataSource": {"S3Uri": FOLDER, "S3DataType": "S3Prefix",
                                                         "CompressionType": "None"}}}),
    # a folder is uncompressed whatever a registry said of the archive it came from: it is no archive
    (FOLDER, "Gzip", {"ModelDataSource": {"S3DataSource": {"S3Uri": FOLDER, "S3DataType": "S3Prefix",
                                                           "CompressionType": "None"}}}),
    (FOLDER + "model.tar.gz", None, {"ModelDataUrl": FOLDER + "model.tar.gz"}),
    (FOLDER + "model.tar.gz", "Gzip", {"ModelDataUrl": FOLDER + "model.tar.gz"}),
    (FOLDER + "model.pt", None, {"ModelDataSource": {"S3DataSource": {"S3Uri": FOLDER + "model.pt",
                                                                      "S3DataType": "S3Object",
                                                                      "CompressionType": "None"}}}),
    (FOLDER + "model.tar.gz", "None", {"ModelDataSource": {"S3DataSource": {"S3Uri": FOLDER + "model.tar.gz",
                                                                            "S3DataType": "S3Object",
                                                                            "CompressionType": "None"}}}),
])
def test_each_artifact_form_is_registered_as_sagemaker_deploys_it(uri, compression, expected):
    data = model_data(uri, compression)
    assert data == expected
    assert _create_model_package_errors(data) == ""


def test_a_folder_is_never_a_model_data_url():
    """What the promotion registered before: a prefix as ModelDataUrl, which botocore's pattern accepts
    (so nothing failed until SageMaker tried to unpack it as an archive)."""
    assert _create_model_package_errors({"ModelDataUrl": FOLDER}) == ""
    assert "ModelDataUrl" not in model_data(FOLDER, None)
