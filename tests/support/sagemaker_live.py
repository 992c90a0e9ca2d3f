"""A SageMaker endpoint as the rollout controller leaves it mid-canary, seeded on a moto server.

:func:`live_endpoint` makes, for each variant, a model on its model package (``PrimaryContainer.ModelPackageName``,
as ``mlops_infra.rollout.drivers.sagemaker`` does), one endpoint config with those variants and the endpoint on
it: what the registry's live read (``state/aws_live/model_registry.read_live``) describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def live_endpoint(sagemaker: Any, name: str, variants: Iterable[tuple[str, str]], role: str) -> None:
    """Endpoint ``name`` on config ``<name>-canary-cfg`` whose variants are ``(variant name, model package ARN)``,
    each on its own model ``<name>-<variant>`` run with ``role``."""
    production = []
    for variant, package in variants:
        sagemaker.create_model(ModelName=f"{name}-{variant}", ExecutionRoleArn=role,
                               PrimaryContainer={"ModelPackageName": package})
        production.append({"VariantName": variant, "ModelName": f"{name}-{variant}", "InitialInstanceCount": 1,
                           "InstanceType": "ml.g5.xlarge", "InitialVariantWeight": 1.0})
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-canary-cfg", ProductionVariants=production)
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-canary-cfg")
