"""Registry views (finding A1): offline from the prior state, and read from SageMaker on a moto server.

SageMaker calls used, as botocore 1.44 models them: ``DescribeModelPackageGroup`` (a missing group
is a ``ValidationException`` "... does not exist"), ``ListModelPackages`` with
``ModelPackageGroupName`` and ``ModelPackageType=Versioned`` (``ModelPackageSummary``:
``ModelPackageVersion``, ``ModelApprovalStatus``, ``ModelPackageStatus``) and
``DescribeModelPackage`` (``InferenceSpecification.Containers[].ModelDataUrl``/``Image``,
``CustomerMetadataProperties``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from mlops_infra.model_versions import DIGEST_PROPERTY
from mlops_infra.state.aws_live.model_registry import read_registry
from mlops_infra.state.model import PriorState
from mlops_infra.state.model_registry import group_of, offline_registry_view
from mlops_infra.state.pulumi_state import parse_state
from tests.scenarios.harness import compile_file, load_file
from tests.support import fixtures
from tests.support.applied_state import applied_state, dumps
from tests.support.moto_server import client, session

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
BASE = Path(__file__).resolve().parents[1] / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"
ENV = "staging"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def system():
    return load_file(BASE, ENV)


@pytest.fixture(scope="module")
def applied() -> PriorState:
    return parse_state(dumps(applied_state(compile_file(BASE, ENV))).encode(), "applied.json")


def test_offline_a_fresh_stack_creates_the_group_so_no_version_exists(system):
    view = offline_registry_view(system, ENV, PriorState.empty())
    registry = view.models["fraud-model"]
    assert (registry.basis, registry.complete, dict(registry.versions)) == ("created-now", True, {})
    assert view.decide("scorer", "fraud-model", 12, gated=True).state == "waiting"


def test_offline_the_prior_state_proves_what_it_served(system, applied):
    view = offline_registry_view(system, ENV, applied)
    registry = view.models["fraud-model"]
    assert (registry.basis, registry.complete, sorted(registry.versions)) == ("prior-state", False, [12])
    assert registry.versions[12].arn.endswith(f"model-package/{group_of(system, ENV, 'fraud-model')}/12")
    assert dict(view.serving) == {"scorer": 12}
    assert view.decide("scorer", "fraud-model", 12, gated=True).basis == "prior-state"
    assert view.decide("scorer", "fraud-model", 13, gated=True).basis == "unverified"


def _register(url: str, group: str, approvals: list[str], digest: str | None = None) -> None:
    sagemaker = client("sagemaker", url, REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    for approval in approvals:
        sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus=approval,
            InferenceSpecification={"Containers": [{"Image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/m:1",
                                                    "ModelDataUrl": "s3://artifacts/m/model.tar.gz"}],
                                    "SupportedContentTypes": ["application/json"],
                                    "SupportedResponseMIMETypes": ["application/json"]},
            **({"CustomerMetadataProperties": {DIGEST_PROPERTY: digest}} if digest else {}))


def _read(system, prior, url: str):
    return read_registry(system, ENV, prior, session_factory=lambda: session(REGION), endpoint_url=url)


@pytest.mark.moto
def test_read_a_missing_group_holds_no_versions(moto_url, system):
    view = _read(system, PriorState.empty(), moto_url)
    registry = view.models["fraud-model"]
    assert (registry.basis, registry.complete, dict(registry.versions)) == ("registry", True, {})
    assert "does not exist yet" in registry.where
    assert view.decide("scorer", "fraud-model", 12, gated=True).state == "waiting"


@pytest.mark.moto
def test_read_versions_with_approval_and_the_pinned_ones_in_detail(moto_url, system, applied):
    group = group_of(system, ENV, "fraud-model")
    _register(moto_url, group, ["Approved"] * 12 + ["PendingManualApproval"], digest="sha256:feed")
    view = _read(system, applied, moto_url)
    registry = view.models["fraud-model"]
    assert sorted(registry.versions) == list(range(1, 14))
    assert registry.versions[13].approval == "PendingManualApproval"
    pinned = registry.versions[12]  # the scenario pins v12: described in full
    assert (pinned.artifact_uri, pinned.digest) == ("s3://artifacts/m/model.tar.gz", "sha256:feed")
    assert registry.versions[1].artifact_uri is None  # not pinned: the summary is enough
    assert view.decide("scorer", "fraud-model", 12, gated=True).state == "ready"
    held = view.decide("scorer", "fraud-model", 13, gated=True)
    assert (held.state, held.serve) == ("holding", 12)
    assert view.find_digest("fraud-model", "sha256:feed").version == 12  # only pinned versions were described
    every = read_registry(system, ENV, applied, session_factory=lambda: session(REGION), endpoint_url=moto_url,
                          describe_all=True)
    assert every.find_digest("fraud-model", "sha256:feed").version == 13  # what a promotion asks


@pytest.mark.moto
def test_a_version_registered_as_a_folder_is_read_with_its_prefix(moto_url, system, applied):
    """A promoted Kubernetes-trained version carries ``ModelDataSource`` (an uncompressed ``S3Prefix``),
    not ``ModelDataUrl``: its artifact is read from there, so promoting it on to the next environment
    knows what to copy."""
    group = group_of(system, ENV, "fraud-model")
    sagemaker = client("sagemaker", moto_url, REGION)
    sagemaker.create_model_package_group(ModelPackageGroupName=group)
    for _ in range(12):
        sagemaker.create_model_package(
            ModelPackageGroupName=group, ModelApprovalStatus="Approved",
            InferenceSpecification={"Containers": [{"Image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/m:1",
                                                    "ModelDataSource": {"S3DataSource": {
                                                        "S3Uri": "s3://artifacts/promoted/m", "S3DataType": "S3Prefix",
                                                        "CompressionType": "None"}}}],
                                    "SupportedContentTypes": ["application/json"],
                                    "SupportedResponseMIMETypes": ["application/json"]})
    pinned = _read(system, applied, moto_url).models["fraud-model"].versions[12]
    assert (pinned.artifact_uri, pinned.artifact_compression) == ("s3://artifacts/promoted/m/", "None")


@pytest.mark.moto
def test_a_failed_read_falls_back_on_offline_evidence_and_warns(moto_url, system, applied, monkeypatch):
    import mlops_infra.state.aws_live.model_registry as reader

    def denied(*args, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed: ASIAABCDEFGHIJKLMNOP"}},
                          "DescribeModelPackageGroup")

    monkeypatch.setattr(reader, "_read_model", denied)
    view = _read(system, applied, moto_url)
    assert view.models["fraud-model"].basis == "prior-state"
    (warning,) = view.warnings
    assert "AccessDeniedException" in warning and "ASIAABCDEFGHIJKLMNOP" not in warning
