"""Audit finding promote-4: ``promote --write`` pins only versions DST's registry holds.

SageMaker numbers a group's packages in registration order, and DST's own retrain pipeline registers
into the same group (the compiled ``RegisterModel`` step). A pin written before the promoted artifact
is registered is a forecast: when the pipeline registers first, the reviewed pin serves the pipeline's
model. So ``--write`` is refused (exit 1, FILE byte-identical, no release record) until
``--execute-artifacts`` has registered the artifact; the promotion then pins the number SageMaker gave
it, found by its digest.

On a moto server with two accounts (staging 111111111111 us-east-1, prod 222222222222 eu-west-1), each
reached by assuming a role through moto's STS.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mlops_infra.model_versions import DIGEST_PROPERTY
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_BUCKET,
    PROD_GROUP,
    PROD_ROLE,
    STAGING_BUCKET,
    STAGING_GROUP,
    STAGING_ROLE,
    promoted_to_staging,
    reference_accounts,
)
from tests.support.promotion import register_package as register
from tests.support.text_edits import edit

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto, pytest.mark.timeout(300)]

RUN = "training/retrain/run-7/model/"
FILES = {"config.json": b'{"layers": 2}', "model.safetensors": b"the weights staging tested"}
DIGEST = "sha256:" + hashlib.sha256("".join(
    f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(FILES.items())).encode()).hexdigest()
"""The manifest digest of FILES (docs/promote.md: one ``<sha256>  <path>`` line per file, sorted)."""
RETRAINED = "sha256:" + "99" * 32
ROLES = ["--role", f"staging={STAGING_ROLE}", "--role", f"prod={PROD_ROLE}"]
PROD_GATES = "    gates: [model_approved, no_drift, progressive_rollout, alerts_routed]\n"


@pytest.fixture
def accounts(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Staging's group holds v1, v2 and v3 (v3: FILES, the version staging pins); prod's group is empty."""
    staging, prod = reference_accounts(moto_url, monkeypatch)
    s3 = staging.client("s3", endpoint_url=moto_url)
    for name, body in FILES.items():
        s3.put_object(Bucket=STAGING_BUCKET, Key=RUN + name, Body=body)
    sm = staging.client("sagemaker", endpoint_url=moto_url)
    assert register(sm, STAGING_GROUP, DIGEST, f"s3://{STAGING_BUCKET}/{RUN}").endswith("/3")
    return {"url": moto_url, "prod": prod.client("sagemaker", endpoint_url=moto_url)}


def test_write_is_refused_until_registered_then_pins_the_number_sagemaker_gave(tmp_path: Path, accounts: dict) -> None:
    """Prod without gates here, as the reference's staging (no gate could refuse the pin instead)."""
    file, _ = promoted_to_staging(tmp_path)  # staging pins v3
    file.write_text(edit(file.read_text(encoding="utf-8"), PROD_GATES, ""), encoding="utf-8")
    before = file.read_bytes()

    preview = run_cli("promote", str(file), "--to", "prod", *ROLES)
    assert preview.code == 0, preview.output
    assert f"fraud-model v3 in staging = v1 in prod, {DIGEST} (not registered in prod yet" in preview.stdout

    refused = run_cli("promote", str(file), "--to", "prod", *ROLES, "--write")
    assert refused.code == 1, refused.output
    assert "refusing to write the promotion into prod: 1 artifact(s) are not registered there yet" in refused.stderr
    assert f"fraud-model v3 in staging ({DIGEST}) is not in group {PROD_GROUP}" in refused.stderr
    assert "v1 is only the number its next registration would get" in refused.stderr
    assert "--execute-artifacts" in refused.stderr and "Nothing was written; FILE is unchanged." in refused.stderr
    assert "Traceback" not in refused.output
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()

    # prod's own retrain pipeline registers first: it takes v1, the number the preview forecast
    sm = accounts["prod"]
    assert register(sm, PROD_GROUP, RETRAINED, f"s3://{PROD_BUCKET}/training/retrain/run-1/model/").endswith("/1")

    executed = run_cli("promote", str(file), "--to", "prod", *ROLES, "--execute-artifacts")
    assert executed.code == 0, executed.output
    arn = f"arn:aws:sagemaker:eu-west-1:222222222222:model-package/{PROD_GROUP}/2"
    assert f"registered as v2 ({arn})" in executed.stdout
    assert file.read_bytes() == before
    assert sm.describe_model_package(ModelPackageName=arn)["CustomerMetadataProperties"][DIGEST_PROPERTY] == DIGEST

    written = run_cli("promote", str(file), "--to", "prod", *ROLES, "--write")
    assert written.code == 0, written.output
    assert f"fraud-model v3 in staging = v2 in prod, {DIGEST}" in written.stdout
    assert file.read_text(encoding="utf-8") == before.decode().replace(
        "      endpoints.scorer.replicas: {min: 3, max: 20}\n",
        "      endpoints.scorer.replicas: {min: 3, max: 20}\n      endpoints.scorer.model.version: 2\n")
    (record,) = [json.loads(line) for line in (tmp_path / "releases.jsonl").read_text().splitlines()]
    (version,) = record["versions"]
    assert (version["dstVersion"], version["digest"], version["registeredInDst"]) == (2, DIGEST, True)


def test_a_kubernetes_dst_says_to_register_by_hand(tmp_path: Path) -> None:
    """The refusal for a DST whose artifact steps are manual (Kubernetes, MLflow): saved registry reads."""
    from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
    from tests.support.promotion import copy_reference, write_view

    file = copy_reference(tmp_path)
    text = edit(file.read_text(encoding="utf-8"), "  staging:\n    target: {kind: aws, region: us-east-1, "
                'account: "111111111111"}\n', "  staging:\n    target: {kind: kubernetes, context: kind-staging, "
                "namespace: fraud-staging}\n")
    file.write_text(text, encoding="utf-8")
    before = file.read_bytes()
    dev = RegistryView({"fraud-model": ModelRegistry("fraud-model", "dev MLflow", "registry", True, {
        14: VersionRecord(14, "Approved", "Completed", artifact_uri="s3://dev-models/fraud-model/14/", digest=DIGEST)})})
    staging = RegistryView({"fraud-model": ModelRegistry("fraud-model", "staging MLflow", "registry", True, {
        1: VersionRecord(1, "Approved", "Completed", digest=RETRAINED)})})
    result = run_cli("promote", str(file), "--to", "staging", "--write",
                     "--registry", f"dev={write_view(tmp_path / 'dev.json', dev)}",
                     "--registry", f"staging={write_view(tmp_path / 'staging.json', staging)}")
    assert result.code == 1, result.output
    assert "fraud-model v14 in dev (" + DIGEST + ") is not in staging MLflow; v2 is only the number" in result.stderr
    assert "Register each artifact in staging's registry first" in result.stderr
    # the tag promote finds a version by (closing audit closing-b-2: a version registered without it is not found)
    assert "each version tagged mlops-infra.artifact-digest=<its digest above>" in result.stderr
    preview = run_cli("promote", str(file), "--to", "staging", "--format", "json",
                      "--registry", f"dev={write_view(tmp_path / 'dev.json', dev)}",
                      "--registry", f"staging={write_view(tmp_path / 'staging.json', staging)}")
    [manual] = [s for s in json.loads(preview.stdout)["promotion"]["artifactSteps"] if s["kind"] == "manual"]
    assert f"the version tagged mlops-infra.artifact-digest={DIGEST}" in manual["outcome"]
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()
