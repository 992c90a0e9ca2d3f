"""The numeric limits of :mod:`mlops_infra.spec.limits` are the ones the targets publish.

Each figure is read from its source: botocore's service models (installed with boto3) and the CRDs
in ``shared/fixtures/crds``. A botocore ``integer`` shape is a 32-bit Java Integer.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import pytest

from mlops_infra.spec import limits
from tests.support.crds import load_crd

BOTOCORE_DATA = Path(botocore.__file__).parent / "data"


@cache
def shapes(service: str) -> dict[str, Any]:
    """The shapes of the newest API version of ``service`` in the installed botocore."""
    newest = sorted((BOTOCORE_DATA / service).iterdir())[-1]
    plain = newest / "service-2.json"
    if plain.exists():
        return json.loads(plain.read_text())["shapes"]
    import gzip

    return json.loads(gzip.decompress((newest / "service-2.json.gz").read_bytes()))["shapes"]


@pytest.mark.parametrize(("service", "shape"), [
    ("application-autoscaling", "ResourceCapacity"),
    ("sagemaker", "ModelPackageVersion"),
    ("sagemaker", "InitialTaskCount"),
    ("sagemaker", "TrainingInstanceCount"),
    ("sagemaker", "MaxRuntimeInSeconds"),
])
def test_counts_and_versions_are_32_bit_integers(service: str, shape: str) -> None:
    assert shapes(service)[shape]["type"] == "integer"
    assert limits.INT32_MAX == 2**31 - 1 == limits.MAX_DURATION_SECONDS


def test_application_auto_scaling_capacities_use_the_integer_shape() -> None:
    members = shapes("application-autoscaling")["RegisterScalableTargetRequest"]["members"]
    assert members["MinCapacity"]["shape"] == members["MaxCapacity"]["shape"] == "ResourceCapacity"


def test_hyperparameter_limits_are_sagemakers() -> None:
    sm = shapes("sagemaker")
    assert sm["HyperParameters"]["max"] == limits.HYPERPARAMETERS_MAX
    assert sm["HyperParameterKey"]["max"] == limits.HYPERPARAMETER_KEY_MAX
    assert sm["HyperParameterValue"]["max"] == limits.HYPERPARAMETER_VALUE_MAX


@pytest.mark.parametrize("field", ["minReplicas", "maxReplicas", "scaleTarget"])
def test_kserve_replicas_and_scale_target_are_int32(field: str) -> None:
    crd = load_crd("serving.kserve.io", "InferenceService")
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    predictor = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["predictor"]
    assert predictor["properties"][field] == {"format": "int32", "type": "integer"}


def test_pytorchjob_replicas_are_int32() -> None:
    crd = load_crd("kubeflow.org", "PyTorchJob")
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    replicas = spec["properties"]["pytorchReplicaSpecs"]["additionalProperties"]["properties"]["replicas"]
    assert replicas["format"] == "int32"


def test_alarm_actions_limit_is_cloudwatchs() -> None:
    """PutMetricAlarm's three action lists are ``ResourceList``, at most AWS_ALARM_ACTIONS_MAX items."""
    cw = shapes("cloudwatch")
    members = cw["PutMetricAlarmInput"]["members"]
    assert {members[k]["shape"] for k in ("AlarmActions", "OKActions", "InsufficientDataActions")} == {"ResourceList"}
    assert cw["ResourceList"]["max"] == limits.AWS_ALARM_ACTIONS_MAX


def test_rollback_alarms_limit_is_sagemakers() -> None:
    """``AutoRollbackConfig.Alarms`` is ``AlarmList``, at most SAGEMAKER_ROLLBACK_ALARMS_MAX items."""
    sm = shapes("sagemaker")
    assert sm["AutoRollbackConfig"]["members"]["Alarms"]["shape"] == "AlarmList"
    assert sm["AlarmList"]["max"] == limits.SAGEMAKER_ROLLBACK_ALARMS_MAX


def test_input_channels_limit_is_sagemakers() -> None:
    """``CreateTrainingJob``'s ``InputDataConfig`` holds at most SAGEMAKER_INPUT_CHANNELS_MAX channels."""
    sm = shapes("sagemaker")
    assert sm["CreateTrainingJobRequest"]["members"]["InputDataConfig"]["shape"] == "InputDataConfig"
    assert sm["InputDataConfig"]["max"] == limits.SAGEMAKER_INPUT_CHANNELS_MAX
