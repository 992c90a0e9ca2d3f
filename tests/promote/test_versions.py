"""Versions are mapped by artifact digest, never copied by number (findings A1, B11.1)."""

from __future__ import annotations

import dataclasses

import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.promote.edit import Pin
from mlops_infra.promote.versions import map_versions
from mlops_infra.spec import load_system, parse_system
from tests.support.promotion import DIGEST_V14, REFERENCE, dev_view, prod_view, staging_view

VERSION = "endpoints.scorer.model.version"


@pytest.fixture(scope="module")
def systems():
    return {env: load_system(REFERENCE, env).system for env in ("dev", "staging", "prod")}


def test_an_artifact_staging_holds_is_pinned_by_its_number_there(systems):
    mapped = map_versions("dev", systems["dev"], dev_view(), "staging", systems["staging"], staging_view(7))
    (mapping,) = mapped.mappings
    assert (mapping.model, mapping.src_version, mapping.dst_version, mapping.registered) == ("fraud-model", 14, 7, True)
    assert mapping.sentence("dev", "staging") == f"fraud-model v14 in dev = v7 in staging, {DIGEST_V14}"
    assert mapped.pins == (Pin(VERSION, 7),) and mapped.problems == ()


def test_an_artifact_staging_lacks_gets_the_next_number_and_is_not_registered(systems):
    mapped = map_versions("dev", systems["dev"], dev_view(), "staging", systems["staging"], staging_view())
    (mapping,) = mapped.mappings
    assert (mapping.dst_version, mapping.registered, mapping.dst_record) == (3, False, None)
    assert "not registered in staging yet" in mapping.sentence("dev", "staging")
    assert mapped.pins == (Pin(VERSION, 3),)


def test_an_empty_group_starts_at_one(systems):
    empty = RegistryView({"fraud-model": ModelRegistry("fraud-model", "group g", "registry", True, {})})
    mapped = map_versions("dev", systems["dev"], dev_view(), "staging", systems["staging"], empty)
    assert mapped.pins == (Pin(VERSION, 1),)


def test_no_pin_when_dst_already_serves_the_artifact(systems):
    mapped = map_versions("dev", systems["dev"], dev_view(), "staging", systems["staging"], staging_view(13))
    assert mapped.pins == () and mapped.mappings[0].dst_version == 13


@pytest.mark.parametrize(("case", "message"), [
    ("src-offline", "dev's registry of fraud-model was not read"),
    ("dst-offline", "staging's registry of fraud-model was not read"),
    ("src-missing", "fraud-model v14, which dev pins, is not in MLflow registered model fraud-model"),
    ("no-digest", "carries no artifact digest"),
])
def test_unknowable_mappings_fail_closed(systems, case, message):
    src, dst = dev_view(), staging_view()
    registry = src.models["fraud-model"]
    if case == "src-offline":
        src = RegistryView({"fraud-model": dataclasses.replace(registry, basis="unverified")})
    elif case == "dst-offline":
        dst = RegistryView()
    elif case == "src-missing":
        src = RegistryView({"fraud-model": dataclasses.replace(registry, versions={13: registry.versions[13]})})
    else:
        src = RegistryView({"fraud-model": dataclasses.replace(registry, versions={14: VersionRecord(14, "Approved")})})
    mapped = map_versions("dev", systems["dev"], src, "staging", systems["staging"], dst)
    assert mapped.pins == () and len(mapped.problems) == 1 and message in mapped.problems[0]


def _with(view: RegistryView, version: int, **changes) -> RegistryView:
    """``view`` with fraud-model ``version``'s record changed."""
    registry = view.models["fraud-model"]
    record = dataclasses.replace(registry.versions[version], **changes)
    return RegistryView({"fraud-model": dataclasses.replace(registry, versions={**registry.versions, version: record})})


def _ungated(text: str) -> str:
    """The reference with fraud-model approved automatically: no environment but prod (model_approved)
    serves approved versions only."""
    assert text.count("approval: manual") == 1
    return text.replace("approval: manual", "approval: automatic")


@pytest.mark.parametrize(("src", "version", "changes", "why"), [
    ("dev", 14, {"approval": "Rejected"}, "Rejected in MLflow registered model fraud-model"),
    ("staging", 2, {"approval": "Rejected"}, "Rejected in group fraud-detection-staging-fraud-model"),
    ("staging", 2, {"status": "Failed"}, "registration failed in group fraud-detection-staging-fraud-model"),
    ("staging", 2, {"status": "Pending"}, "still Pending in group"),
    ("staging", 2, {"approval": "PendingManualApproval"}, "PendingManualApproval in group"),  # approval: manual
])
def test_a_version_src_could_not_serve_is_refused(systems, src, version, changes, why):
    """Audit finding 1: SRC's own availability rule (model_versions._unavailable with SRC's gated
    flag) decides; a Rejected, Failed, Pending or (gated) unapproved pin is never carried on."""
    if src == "dev":
        system, src_view, dst, dst_view = systems["dev"], _with(dev_view(), version, **changes), "staging", staging_view()
    else:
        system, src_view, dst, dst_view = _pinned_staging(version), _with(staging_view(), version, **changes), "prod", prod_view()
    mapped = map_versions(src, system, src_view, dst, systems[dst], dst_view)
    assert mapped.mappings == () and mapped.pins == ()
    (problem,) = mapped.problems
    assert f"fraud-model v{version}, which {src} pins on endpoint scorer, cannot be served in {src}: {why}" in problem
    assert f"A promotion carries only what {src} can serve" in problem


def _pinned_staging(version: int):
    text = REFERENCE.read_text().replace("      endpoints.scorer.model.version: 13\n",
                                         f"      endpoints.scorer.model.version: {version}\n")
    return parse_system(text, "<reference>", "staging").system


def test_an_unapproved_version_is_promoted_where_src_serves_unapproved_versions(systems):
    """Not gated (approval: automatic, no model_approved gate in SRC): a Kubernetes SRC (MLflow enforces no
    approval) serves a Pending approval, as its plan would; an AWS SRC does not (SageMaker deploys only
    Approved packages: audit registry-2); a Rejected one is refused whatever the gating."""
    text = _ungated(REFERENCE.read_text()).replace("      endpoints.scorer.model.version: 13\n",
                                                   "      endpoints.scorer.model.version: 2\n")
    dev, staging, prod = (parse_system(text, "<reference>", env).system for env in ("dev", "staging", "prod"))
    mapped = map_versions("dev", dev, _with(dev_view(), 14, approval="PendingManualApproval"), "staging", staging,
                          staging_view())
    assert mapped.problems == () and mapped.pins == (Pin(VERSION, 3),)
    pending = _with(staging_view(), 2, approval="PendingManualApproval")
    refused_aws = map_versions("staging", staging, pending, "prod", prod, prod_view())
    assert refused_aws.pins == () and len(refused_aws.problems) == 1
    assert "SageMaker deploys a versioned model package only when it is Approved" in refused_aws.problems[0]
    rejected = _with(staging_view(), 2, approval="Rejected")
    refused = map_versions("staging", staging, rejected, "prod", prod, prod_view())
    assert len(refused.problems) == 1 and "Rejected in group" in refused.problems[0]
