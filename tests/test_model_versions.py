"""The registry view's decisions (finding A1): ready, holding or waiting, and why, from each kind of evidence.

SageMaker numbers model packages per group (1, 2, 3... in one account and region) and serves a
versioned package only once it exists; its ``ModelApprovalStatus`` is Approved, Rejected or
PendingManualApproval (botocore ``ModelPackageSummary``;
https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-approve.html).
"""

from __future__ import annotations

import json

import pytest

from mlops_infra.model_versions import (
    ASSUME_AVAILABLE,
    ModelRegistry,
    RegistryView,
    VersionRecord,
    compression_of,
    container_model_data,
)

WHERE = "group s-prod-m (222222222222/eu-west-1)"


def _view(basis: str, complete: bool, versions: dict[int, VersionRecord], serving: dict[str, int] | None = None):
    return RegistryView({"m": ModelRegistry("m", WHERE, basis, complete, versions)}, serving or {})


def test_a_group_created_by_this_apply_holds_no_version_so_a_new_endpoint_waits():
    decision = _view("created-now", True, {}).decide("api", "m", 12, gated=False)
    assert (decision.state, decision.serve, decision.basis) == ("waiting", None, "created-now")
    assert "created by this apply" in decision.why and "register v12" in decision.why


def test_an_existing_endpoint_holds_its_served_version_instead_of_being_deleted():
    view = _view("registry", True, {12: VersionRecord(12, "Approved", "Completed")}, serving={"api": 12})
    decision = view.decide("api", "m", 13, gated=True)
    assert (decision.state, decision.serve, decision.pinned) == ("holding", 12, 13)
    assert "not registered in " + WHERE in decision.why and "keeps serving v12" in decision.why


@pytest.mark.parametrize("record", [VersionRecord(12, "PendingManualApproval", "Completed"),
                                    VersionRecord(12, "Rejected", "Completed"), None])
def test_an_endpoint_keeps_the_version_it_already_serves_whatever_the_registry_now_says(record):
    """Closing audit closing-c-1: the pinned version is the one the endpoint serves, and the registry no longer shows
    it available (approval not read, withdrawn, or the version gone): the endpoint is held on it, never deleted."""
    view = _view("registry", True, {12: record} if record else {}, serving={"api": 12})
    decision = view.decide("api", "m", 12, gated=True)
    assert (decision.state, decision.serve, decision.pinned) == ("holding", 12, 12)
    assert "already serves it: it keeps serving v12" in decision.why and "pin another version" in decision.why


@pytest.mark.parametrize("record", [VersionRecord(12, "PendingManualApproval", "Completed"),
                                    VersionRecord(12, "Rejected", "Completed"), None])
def test_an_endpoint_switched_to_another_model_with_the_served_number_keeps_serving_the_served_model(record):
    """closing-41a-1's follow-up: a version number names a version only within its registered model (MLflow
    numbers each registered model's versions from 1, "MLflow Model Registry", "Concepts"). The endpoint served
    ``other`` v12 and is switched to ``m`` v12, which is not available: it is not "already served" (which held
    ``m`` v12, served it unapproved, and said it kept serving it), and the hold keeps ``other`` v12, naming it."""
    view = RegistryView({"m": ModelRegistry("m", WHERE, "registry", True, {12: record} if record else {})},
                        {"api": 12}, serving_models={"api": "other"})
    decision = view.decide("api", "m", 12, gated=True)
    assert (decision.state, decision.serve, decision.pinned, decision.model) == ("holding", 12, 12, "m")
    assert (decision.serve_model, decision.served_model) == ("other", "other")
    assert "already serves" not in decision.why and decision.why.endswith("; api keeps serving other v12 until then")
    assert decision.to_json()["serveModel"] == "other"
    same = RegistryView(view.models, {"api": 12}, serving_models={"api": "m"}).decide("api", "m", 12, gated=True)
    assert "already serves it: it keeps serving v12" in same.why and same.serve_model is None
    assert "serveModel" not in same.to_json() and same.served_model == "m"


def test_a_switch_to_another_models_unavailable_version_holds_the_served_model_and_names_it():
    view = RegistryView({"m": ModelRegistry("m", WHERE, "registry", True, {})}, {"api": 7},
                        serving_models={"api": "other"})
    decision = view.decide("api", "m", 12, gated=True)
    assert (decision.state, decision.serve, decision.serve_model) == ("holding", 7, "other")
    assert decision.why.endswith("; api keeps serving other v7 until then")


@pytest.mark.parametrize(("approval", "status", "gated", "state"), [
    ("Approved", "Completed", True, "ready"),
    ("PendingManualApproval", "Completed", False, "ready"),
    ("PendingManualApproval", "Completed", True, "waiting"),
    ("Rejected", "Completed", False, "waiting"),
    ("Approved", "InProgress", False, "waiting"),
    (None, None, True, "ready"),  # proven by the prior state: it was served, so it was deployable
])
def test_availability_follows_approval_and_package_status(approval, status, gated, state):
    view = _view("registry", True, {13: VersionRecord(13, approval, status)})
    assert view.decide("api", "m", 13, gated=gated).state == state


def test_unproven_versions_are_assumed_and_said_to_be_unchecked():
    decision = _view("prior-state", False, {12: VersionRecord(12)}).decide("api", "m", 13, gated=True)
    assert (decision.state, decision.basis) == ("ready", "unverified")
    assert "not checked" in decision.why
    assert ASSUME_AVAILABLE.decide("api", "m", 1, gated=True).basis == "unverified"


def test_find_digest_maps_an_artifact_to_this_registrys_number():
    view = _view("registry", True, {3: VersionRecord(3, digest="sha256:aa"), 4: VersionRecord(4, digest="sha256:bb")})
    assert view.find_digest("m", "sha256:bb").version == 4
    assert view.find_digest("m", "sha256:cc") is None and view.find_digest("other", "sha256:aa") is None


def test_views_round_trip_through_json():
    view = RegistryView({"m": ModelRegistry("m", WHERE, "registry", True, {
        7: VersionRecord(7, "Approved", "Completed", "arn:x", "s3://b/k", "img:1", "sha256:i", "sha256:a")})},
        {"api": 7}, ("a warning",))
    assert RegistryView.from_json(json.loads(json.dumps(view.to_json()))) == view


@pytest.mark.parametrize(("container", "expected"), [
    ({"Image": "i", "ModelDataUrl": "s3://b/run/output/model.tar.gz"}, ("s3://b/run/output/model.tar.gz", "Gzip")),
    ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/m/", "S3DataType": "S3Prefix", "CompressionType": "None"}}},
     ("s3://b/m/", "None")),
    # "A valid key name prefix identified by S3Uri always ends with a forward slash" (S3ModelDataSource.S3DataType)
    ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/m", "S3DataType": "S3Prefix", "CompressionType": "None"}}},
     ("s3://b/m/", "None")),
    ({"ModelDataSource": {"S3DataSource": {"S3Uri": "s3://b/m.bin", "S3DataType": "S3Object",
                                           "CompressionType": "None"}}}, ("s3://b/m.bin", "None")),
    ({"Image": "i"}, (None, None)),
])
def test_a_containers_model_data_is_read_from_either_form(container, expected):
    assert container_model_data(container) == expected


@pytest.mark.parametrize(("uri", "said", "expected"), [
    ("s3://b/14/", None, "None"),             # an MLflow version's source: the folder the runtime uploaded
    ("s3://b/model.tar.gz", None, "Gzip"),
    ("s3://b/model.tgz", None, "Gzip"),
    ("s3://b/model.safetensors", None, "None"),
    ("s3://b/model.tar.gz", "None", "None"),  # what the registry says wins over the name
    ("s3://b/weights", "Gzip", "Gzip"),
])
def test_compression_is_the_registrys_word_else_read_from_the_name(uri, said, expected):
    assert compression_of(uri, said) == expected


def test_a_records_compression_round_trips_through_json():
    record = VersionRecord(3, artifact_uri="s3://b/m/", artifact_compression="None")
    assert VersionRecord.from_json(json.loads(json.dumps(record.to_json()))) == record
    assert VersionRecord.from_json({"version": 3}).artifact_compression is None  # a registry file saved before
