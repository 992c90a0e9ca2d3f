"""``promote`` says, in its preview, what DST will serve a promoted model with, and refuses what DST cannot serve.

Audit finding xpromote-3 (:mod:`mlops_infra.promote.contracts`): llm-platform's reranker is served in dev by
KServe's TorchServe runtime (``model-store/*.mar``, ``config/config.properties``) and would be in staging by
SageMaker's PyTorch container (``model.pt`` or ``code/inference.py``). One artifact can hold both layouts (audit
finding closing-37a-1), so the preview reads the artifact's files (a model.tar.gz's members, a folder's listing:
the moto tests at the end) and refuses when they lack staging's layout; an artifact it did not read is a warning
naming staging's rule. The reference's fraud-model gets a warning (staging runs the training image with ``serve``:
whether it speaks SageMaker's contract cannot be known), exit 0.

Also: a package DST's registry already holds for the promoted digest, with another image than DST serves the model
with, was flagged only when the artifact steps ran (``register-version``); the preview maps to it and shows no
step, and ``--write`` pinned it. Now the preview refuses it. All registries are saved reads (``--registry``).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from mlops_infra.model_versions import ModelRegistry, RegistryView, VersionRecord
from mlops_infra.spec import load_system
from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    DIGEST_V14,
    PROD_SERVING_IMAGE,
    SERVING_IMAGE,
    copy_reference,
    promoted_to_staging,
    reference_registries,
    write_view,
)

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

REPO = Path(__file__).resolve().parents[2]
LLM = REPO / "examples" / "llm-platform" / "mlsystem.yaml"


def llm_platform(folder: Path, reranker_uri: str | None = None) -> tuple[Path, list[str]]:
    """llm-platform copied into ``folder``, with saved reads: dev's MLflow holds every version dev pins (with a
    digest; the reranker's artifact at ``reranker_uri`` when given), staging's groups are empty."""
    file = folder / "mlsystem.yaml"
    shutil.copyfile(LLM, file)
    dev = load_system(file, "dev").system
    src, dst = {}, {}
    for endpoint in dev.endpoints:
        model, version = endpoint.model.name, endpoint.model.version
        digest = "sha256:" + f"{version:02d}" * 32
        uri = reranker_uri if model == "reranker" else None
        src[model] = ModelRegistry(model, f"MLflow registered model {model}", "registry", True,
                                   {version: VersionRecord(version, "Approved", "Completed", digest=digest,
                                                           artifact_uri=uri)})
        dst[model] = ModelRegistry(model, f"group llm-platform-staging-{model}", "registry", True, {})
    dev_file = write_view(folder / "registry-dev.json", RegistryView(src))
    staging_file = write_view(folder / "registry-staging.json", RegistryView(dst))
    return file, ["--to", "staging", "--registry", f"dev={dev_file}", "--registry", f"staging={staging_file}"]


def prod_holding_v14(tmp_path: Path, image: str) -> Path:
    """prod's registry view file: group fraud-detection-prod-fraud-model holding staging's v3 artifact
    (DIGEST_V14) as v1, registered with ``image``."""
    where = "group fraud-detection-prod-fraud-model (222222222222/eu-west-1)"
    record = VersionRecord(1, "Approved", "Completed", digest=DIGEST_V14, image=image)
    return write_view(tmp_path / "registry-prod.json",
                      RegistryView({"fraud-model": ModelRegistry("fraud-model", where, "registry", True, {1: record})}))


def test_the_preview_warns_of_a_model_whose_artifact_it_did_not_read(tmp_path: Path) -> None:
    """closing-37a-1: the reranker was refused from the spec alone, though one artifact holding TorchServe's and
    SageMaker's layouts is served by both. The saved read names no artifact URI, so there are no files to read: a
    warning naming staging's rule, and no refusal for serving."""
    file, args = llm_platform(tmp_path)
    result = run_cli("promote", str(file), *args)
    # exit 1 for staging's gates only (its empty registry approves nothing), not for serving
    assert result.code == 1 and "refused: gate(s) failed" in result.stderr, result.output
    assert "cannot serve" not in result.output
    assert "Serving (dev -> staging):" in result.stdout
    assert ("[warning] reranker (endpoint reranker): served in dev with KServe's pytorch runtime, in staging with "
            "the SageMaker pytorch inference container") in result.stdout
    assert "check that the artifact holds staging's layout" in result.stdout
    assert "[warning] chat-model (endpoint chat)" in result.stdout
    assert "[refused] reranker" not in result.stdout
    assert "Traceback" not in result.output


def test_the_json_and_markdown_reports_carry_the_findings(tmp_path: Path) -> None:
    file, args = llm_platform(tmp_path)
    result = run_cli("promote", str(file), *args, "--format", "json")
    assert result.code == 1 and "cannot serve" not in result.stderr, result.output  # staging's gates
    serving = {f["model"]: f for f in json.loads(result.stdout)["promotion"]["serving"]}
    assert serving["reranker"]["refuses"] is False and serving["chat-model"]["refuses"] is False
    assert serving["reranker"]["endpoints"] == ["reranker"]
    assert "model.pt (or the one .pt/.pth file)" in serving["reranker"]["detail"]
    markdown = run_cli("promote", str(file), *args, "--format", "markdown")
    assert "### Serving (`dev` → `staging`)" in markdown.stdout
    assert "- [warning] reranker (endpoint reranker)" in markdown.stdout


def test_execute_artifacts_is_refused_before_anything_is_done(tmp_path: Path, monkeypatch) -> None:
    """A refusing finding (prod would pin a package registered with another image) refuses --execute-artifacts
    before any step runs (no AWS call is made)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    file, registries = promoted_to_staging(tmp_path)
    prod = prod_holding_v14(tmp_path, SERVING_IMAGE)
    copied = run_cli("promote", str(file), "--to", "prod", *registries, "--registry", f"prod={prod}",
                     "--skip-gate", "no_drift", "--reason", "test", "--execute-artifacts")
    assert copied.code == 1, copied.output
    assert "prod cannot serve what staging serves: fraud-model" in copied.stderr
    assert "Nothing was written or copied." in copied.stderr
    assert "Artifact steps:" not in copied.stdout


def test_a_warning_alone_does_not_refuse(tmp_path: Path) -> None:
    """The reference, dev -> staging: fraud-model is served in staging by the training image (a warning)."""
    file = copy_reference(tmp_path)
    result = run_cli("promote", str(file), "--to", "staging", *reference_registries(tmp_path))
    assert result.code == 0, result.output
    assert ("[warning] fraud-model (endpoint scorer): served in dev with KServe's pytorch runtime, in staging with "
            f"image {SERVING_IMAGE} (the training image, reused to serve)") in result.stdout
    assert "SageMaker runs " + SERVING_IMAGE + " as `docker run IMAGE serve`" in result.stdout


def test_a_package_with_another_image_is_refused_in_the_preview(tmp_path: Path) -> None:
    """prod's registry holds staging's v3 artifact (DIGEST_V14) as v1, registered with the us-east-1 training
    image; prod serves fraud-model with PROD_SERVING_IMAGE. The preview used to map to v1, show no artifact step
    and exit 0."""
    file, registries = promoted_to_staging(tmp_path)
    prod = prod_holding_v14(tmp_path, SERVING_IMAGE)
    result = run_cli("promote", str(file), "--to", "prod", *registries, "--registry", f"prod={prod}",
                     "--skip-gate", "no_drift", "--reason", "test")
    assert result.code == 1, result.output
    assert (f"[refused] fraud-model v1 in prod holds {DIGEST_V14} but serves it with {SERVING_IMAGE}, not "
            f"{PROD_SERVING_IMAGE} (prod's serving image for fraud-model)") in result.stdout
    assert "aws sagemaker delete-model-package" in result.stdout
    assert "the promotion into prod is refused: prod cannot serve what staging serves: fraud-model" in result.stderr
    before = file.read_bytes()
    written = run_cli("promote", str(file), "--to", "prod", *registries, "--registry", f"prod={prod}",
                      "--skip-gate", "no_drift", "--reason", "test", "--write")
    assert written.code == 1 and "prod cannot serve what staging serves: fraud-model" in written.stderr
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()


def test_a_package_with_prods_image_is_no_finding(tmp_path: Path) -> None:
    file, registries = promoted_to_staging(tmp_path)
    prod = prod_holding_v14(tmp_path, PROD_SERVING_IMAGE)
    result = run_cli("promote", str(file), "--to", "prod", *registries, "--registry", f"prod={prod}",
                     "--skip-gate", "no_drift", "--reason", "test")
    assert "Serving (" not in result.stdout and "[refused]" not in result.stdout


def test_declaring_the_contract_silences_promote(tmp_path: Path) -> None:
    """``models.<m>.serving_contracts`` listing DST's contract: no Serving finding, warning or refusal."""
    file, args = llm_platform(tmp_path)
    text = file.read_text(encoding="utf-8")
    for anchor in ('    framework_version: "2.5"', "    serving_image: 123456789012.dkr.ecr.us-east-1.amazonaws.com"):
        assert text.count(anchor) == 1
        text = text.replace(anchor, "    serving_contracts: [kserve, sagemaker]\n" + anchor)
    file.write_text(text, encoding="utf-8")
    result = run_cli("promote", str(file), *args, "--format", "json")
    serving = {f["model"]: f for f in json.loads(result.stdout)["promotion"]["serving"]}
    assert set(serving) == {"embedder"}  # declared for reranker and chat-model only
    assert "cannot serve what dev serves" not in result.stderr


def test_a_package_prod_already_pins_is_a_warning_and_the_no_op_exits_0(tmp_path: Path) -> None:
    """Audit finding closing-37a-5: prod already pins v1 (staging's artifact, DIGEST_V14), registered with the
    us-east-1 training image before prod's serving image moved to PROD_SERVING_IMAGE. The promotion changes
    nothing ("No edit"), so it exits 0; the package prod's endpoint serves is never advised for deletion (bf48960
    refused it, exit 1, "Delete the package")."""
    file, registries = promoted_to_staging(tmp_path)
    replicas = "      endpoints.scorer.replicas: {min: 3, max: 20}\n"
    text = file.read_text(encoding="utf-8")
    assert text.count(replicas) == 1
    file.write_text(text.replace(replicas, f"{replicas}      endpoints.scorer.model.version: 1\n"), encoding="utf-8")
    prod = prod_holding_v14(tmp_path, SERVING_IMAGE)
    result = run_cli("promote", str(file), "--to", "prod", *registries, "--registry", f"prod={prod}",
                     "--skip-gate", "no_drift", "--reason", "test")
    assert result.code == 0, result.output
    assert "No edit: prod already pins what staging serves." in result.stdout
    assert (f"[warning] fraud-model v1 in prod holds {DIGEST_V14} but serves it with {SERVING_IMAGE}, not "
            f"{PROD_SERVING_IMAGE} (prod's serving image for fraud-model)") in result.stdout
    assert "prod already pins v1 (endpoint scorer)" in result.stdout
    assert "promoting again does not change that" in result.stdout
    assert "delete-model-package" not in result.output and "[refused]" not in result.stdout


# -- the artifact's files, read from SRC's store (moto): a layout mismatch refuses ---------------------------------

TORCHSERVE = {"model-store/reranker.mar": b"mar-bytes" * 64, "config/config.properties": b"inference_address=:8080\n"}
SAGEMAKER = {"model.pt": b"torchscript-bytes" * 64, "code/inference.py": b"def model_fn(model_dir):\n    ...\n"}


def targz(files: dict[str, bytes]) -> bytes:
    """A real gzip tar of ``files`` (path -> bytes), as ``tar -czf model.tar.gz -C <folder> .`` writes it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def dev_store(url: str, monkeypatch: pytest.MonkeyPatch, bucket: str, objects: dict[str, bytes]) -> None:
    """dev's models store on moto at ``url`` (read through AWS_ENDPOINT_URL, as --execute-artifacts reads a SRC
    without --source-store), holding ``objects`` (key -> bytes) in ``bucket``."""
    import boto3

    for name, value in (("AWS_ENDPOINT_URL", url), ("AWS_ACCESS_KEY_ID", "testing"),
                        ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


SKIPS = ["--skip-gate", "model_approved", "--skip-gate", "tests_passed", "--reason", "test"]


@pytest.mark.moto
def test_a_torchserve_archive_is_refused_into_sagemaker(tmp_path: Path, moto_url: str, monkeypatch) -> None:
    """dev serves the reranker with KServe's TorchServe runtime from a model.tar.gz holding model-store/*.mar and
    config/config.properties; staging's SageMaker PyTorch container loads neither. The preview read the archive's
    members and refuses (exit 1) naming the artifact, the layout staging expects, the files found and the fixes;
    --write is refused with FILE unchanged. Before: a warning, exit 0 with the gates skipped."""
    bucket = "layout-refused-dev-models"
    dev_store(moto_url, monkeypatch, bucket, {"reranker/2/model.tar.gz": targz(TORCHSERVE)})
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/2/model.tar.gz")
    result = run_cli("promote", str(file), *args, *SKIPS)
    assert result.code == 1, result.output
    assert "the promotion into staging is refused: staging cannot serve what dev serves: reranker" in result.stderr
    assert "[refused] reranker (endpoint reranker): staging cannot serve the artifact dev serves" in result.stdout
    assert "does not hold model.pt (or the one .pt/.pth file) at the top of /opt/ml/model" in result.stdout
    assert (f"Read: s3://{bucket}/reranker/2/model.tar.gz holds 2 file(s): config/config.properties, "
            "model-store/reranker.mar.") in result.stdout
    assert "override models.reranker.serving_image in staging" in result.stdout
    assert "models.reranker.serving_contracts listing sagemaker" in result.stdout
    assert "Traceback" not in result.output
    before = file.read_bytes()
    written = run_cli("promote", str(file), *args, *SKIPS, "--write")
    assert written.code == 1 and "staging cannot serve what dev serves: reranker" in written.stderr, written.output
    assert "Nothing was written or copied." in written.stderr
    assert file.read_bytes() == before and not (tmp_path / "releases.jsonl").exists()


@pytest.mark.moto
def test_a_sagemaker_archive_proceeds(tmp_path: Path, moto_url: str, monkeypatch) -> None:
    """model.pt and code/inference.py in the model.tar.gz: staging's container loads it; no refusal, exit 0."""
    bucket = "layout-holds-dev-models"
    dev_store(moto_url, monkeypatch, bucket, {"reranker/2/model.tar.gz": targz(SAGEMAKER)})
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/2/model.tar.gz")
    result = run_cli("promote", str(file), *args, *SKIPS)
    assert result.code == 0, result.output
    assert ("[warning] reranker (endpoint reranker): served in dev with KServe's pytorch runtime, in staging with the "
            "SageMaker pytorch inference container") in result.stdout
    assert "SageMaker pytorch inference container 763104351884" in result.stdout
    assert "the artifact holds staging's layout\n" in result.stdout and ": the artifact holds it." in result.stdout
    assert "check that the artifact holds" not in result.stdout  # the unread warning (before: always)
    assert "[refused]" not in result.stdout and "cannot serve" not in result.output


@pytest.mark.moto
def test_a_folder_is_decided_from_its_listing(tmp_path: Path, moto_url: str, monkeypatch) -> None:
    """A folder (MLflow's source, no trailing /), read through --source-store dev=URL: TorchServe's layout alone
    is refused; with model.pt beside it (both layouts), it proceeds."""
    bucket = "layout-folder-dev-models"
    objects = {f"reranker/2/{k}": v for k, v in TORCHSERVE.items()}
    dev_store(moto_url, monkeypatch, bucket, {**objects, "reranker/3/model.pt": b"pt",
                                              **{f"reranker/3/{k}": v for k, v in TORCHSERVE.items()}})
    monkeypatch.setenv("MLOPS_SOURCE_AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("MLOPS_SOURCE_AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL")  # the store is reached through --source-store only
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/2")
    refused = run_cli("promote", str(file), *args, *SKIPS, "--source-store", f"dev={moto_url}")
    assert refused.code == 1, refused.output
    assert "staging cannot serve what dev serves: reranker" in refused.stderr
    assert (f"Read: s3://{bucket}/reranker/2/ holds 2 file(s): config/config.properties, "
            "model-store/reranker.mar.") in refused.stdout
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/3")
    both = run_cli("promote", str(file), *args, *SKIPS, "--source-store", f"dev={moto_url}")
    assert both.code == 0, both.output
    assert ": the artifact holds it." in both.stdout and "check that the artifact holds" not in both.stdout
    assert "[refused]" not in both.stdout


@pytest.mark.moto
@pytest.mark.parametrize("damage", ["truncated", "not a tar"])
def test_a_corrupt_archive_is_a_clear_refusal(tmp_path: Path, moto_url: str, monkeypatch, damage: str) -> None:
    """A model.tar.gz cut short, or bytes that are no tar: neither server can unpack it. Refused with the
    archive named and tarfile's reason, no traceback."""
    bucket = f"layout-corrupt-{'cut' if damage == 'truncated' else 'junk'}-dev-models"
    whole = targz({"model.pt": bytes(range(256)) * 4096, "code/inference.py": b"def model_fn(d): ...\n"})
    body = whole[: len(whole) // 2] if damage == "truncated" else b"this is not an archive\n" * 40
    dev_store(moto_url, monkeypatch, bucket, {"reranker/2/model.tar.gz": body})
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/2/model.tar.gz")
    result = run_cli("promote", str(file), *args, *SKIPS)
    assert result.code == 1, result.output
    assert "staging cannot serve what dev serves: reranker" in result.stderr
    assert (f"[refused] reranker (endpoint reranker): staging cannot serve the artifact dev serves: s3://{bucket}/"
            "reranker/2/model.tar.gz is not a readable tar archive") in result.stdout
    assert "Reading its members failed: tarfile: " in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.moto
def test_an_archive_over_the_read_limit_is_a_warning(tmp_path: Path, moto_url: str, monkeypatch) -> None:
    """An archive larger than MLOPS_INFRA_LAYOUT_READ_MIB is not downloaded: a warning saying so and how to check
    it (TorchServe's layout, which would be refused when read), exit 0."""
    import os

    bucket = "layout-over-limit-dev-models"
    dev_store(moto_url, monkeypatch, bucket,
              {"reranker/2/model.tar.gz": targz({**TORCHSERVE, "model-store/weights.bin": os.urandom(3 << 19)})})
    monkeypatch.setenv("MLOPS_INFRA_LAYOUT_READ_MIB", "1")
    file, args = llm_platform(tmp_path, f"s3://{bucket}/reranker/2/model.tar.gz")
    result = run_cli("promote", str(file), *args, *SKIPS)
    assert result.code == 0, result.output
    assert "check that the artifact holds staging's layout" in result.stdout
    assert (f"Not read: s3://{bucket}/reranker/2/model.tar.gz is 2 MiB, over the 1 MiB mlops-infra reads to list a "
            "tar's members") in result.stdout
    assert "Raise MLOPS_INFRA_LAYOUT_READ_MIB to check it" in result.stdout
    assert "[refused]" not in result.stdout and "cannot serve" not in result.output
