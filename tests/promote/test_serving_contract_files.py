"""The files of the artifact a promotion carries (:func:`mlops_infra.promote.contracts.read_artifact_files`),
read from SRC's store (moto), decide the serving-contract finding.

- An AWS SRC's model.tar.gz (SageMaker's layout: ``model.pt`` at the top, aws/sagemaker-python-sdk
  ``using_pytorch.rst`` "Model Directory Structure") promoted to a Kubernetes DST served by KServe's TorchServe
  runtime (``config/config.properties`` + ``model-store/*.mar``, KServe docs "Deploy a PyTorch Model with
  TorchServe InferenceService") is refused; with TorchServe's files beside it, it is not.
- A Kubernetes SRC's folder holding ONE tar object is served unpacked by KServe (kserve v0.15.0 ``storage.py``
  ``_download_s3``): its members are the files. A zip is not listed; a model with no artifact URI is not read;
  neither is a pass: a warning saying why.
- A model.tar.gz of two gzip members (one valid gzip file, RFC 1952 2.2) is read whole, as KServe's
  ``tarfile.open(path, "r")`` and gunzip read it (audit closing-38a-2); a connection lost mid-read is unread,
  not corrupt.
"""

from __future__ import annotations

import io
import zipfile
from types import SimpleNamespace

import pytest

from mlops_infra.errors import UserError
from mlops_infra.model_versions import VersionRecord
from mlops_infra.promote.contracts import read_artifact_files, read_limit, serving_findings
from mlops_infra.spec import load_system, parse_system
from tests.promote.artifact_files import tar
from tests.promote.test_serving_contracts import AWS_TO_KUBE, LLM
from tests.support import fixtures

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
pytestmark = [pytest.mark.moto]


def store(url: str, bucket: str, objects: dict[str, bytes]):
    import boto3

    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return s3


def promotion(src_system, src: str, dst_system, dst: str, uris: dict[str, str | None]) -> SimpleNamespace:
    mappings = [SimpleNamespace(model=e.model.name, endpoint=e.name,
                                src_record=VersionRecord(e.model.version, artifact_uri=uris.get(e.model.name)))
                for e in src_system.endpoints]
    return SimpleNamespace(src=src, dst=dst, src_system=src_system, dst_system=dst_system,
                           versions=SimpleNamespace(mappings=mappings))


def aws_to_kube(uri: str) -> SimpleNamespace:
    systems = {env: parse_system(AWS_TO_KUBE, "contracts.yaml", env).system for env in ("staging", "edge")}
    return promotion(systems["staging"], "staging", systems["edge"], "edge", {"ranker": uri})


def llm(uri: str | None) -> SimpleNamespace:
    return promotion(load_system(LLM, "dev").system, "dev", load_system(LLM, "staging").system, "staging",
                     {"reranker": uri})


def test_an_aws_model_tar_gz_without_torchserves_layout_is_refused_on_kserve(moto_url: str) -> None:
    s3 = store(moto_url, "files-aws-src-models", {
        "ranker/1/model.tar.gz": tar({"model.pt": b"pt" * 100, "code/inference.py": b"x"}, "w:gz"),
        "ranker/2/model.tar.gz": tar({"model.pt": b"pt", "config/config.properties": b"a=b",
                                      "model-store/ranker.mar": b"mar"}, "w:gz")})
    one = aws_to_kube("s3://files-aws-src-models/ranker/1/model.tar.gz")
    files = read_artifact_files(one, lambda: s3, {})
    assert files["ranker"].paths == ("model.pt", "code/inference.py")
    (finding,) = serving_findings(one, files)
    assert finding.refuses and "edge cannot serve the artifact staging serves" in finding.summary
    assert "model-store/<name>.mar and config/config.properties" in finding.detail
    assert ("Read: s3://files-aws-src-models/ranker/1/model.tar.gz holds 2 file(s): code/inference.py, model.pt."
            in finding.detail)
    both = aws_to_kube("s3://files-aws-src-models/ranker/2/model.tar.gz")
    (finding,) = serving_findings(both, read_artifact_files(both, lambda: s3, {}))
    assert not finding.refuses and finding.summary.endswith(": the artifact holds edge's layout")


def two_members(data: bytes) -> bytes:
    """``data`` gzipped as two members, as ``cat a.gz b.gz``, bgzip or a parallel gzip write it: one valid gzip
    file ("A gzip file consists of a series of 'members'", RFC 1952 2.2), which gunzip and Python's gzip module
    read whole."""
    import gzip

    return gzip.compress(data[: len(data) // 2]) + gzip.compress(data[len(data) // 2:])


def test_a_model_tar_gz_of_two_gzip_members_is_read_whole(moto_url: str) -> None:
    """Audit closing-38a-2: tarfile's stream mode ("r|*") stopped after the first gzip member and called the
    archive corrupt, a refusal; KServe unpacks it whole (kserve aaac4e294 ``kserve_storage.py``
    ``_unpack_archive_file``: ``tarfile.open(file_path, "r")``, random access over the gzip module). Its
    members past the first gzip member are listed: TorchServe's layout beside model.pt, so no refusal; the
    SageMaker layout alone, refused on its files, not as corrupt. The members span both gzip members."""
    weights = bytes(range(256)) * 64
    both = tar({"model.pt": weights, "config/config.properties": b"a=b", "model-store/ranker.mar": weights}, "w")
    sagemaker = tar({"model.pt": weights, "code/inference.py": b"def model_fn(d): ...\n" * 400}, "w")
    s3 = store(moto_url, "files-aws-two-gzip-members", {"ranker/1/model.tar.gz": two_members(both),
                                                         "ranker/2/model.tar.gz": two_members(sagemaker)})
    whole = aws_to_kube("s3://files-aws-two-gzip-members/ranker/1/model.tar.gz")
    files = read_artifact_files(whole, lambda: s3, {})
    assert files["ranker"].corrupt == ""
    assert files["ranker"].paths == ("model.pt", "config/config.properties", "model-store/ranker.mar")
    (finding,) = serving_findings(whole, files)
    assert not finding.refuses and finding.summary.endswith(": the artifact holds edge's layout")
    alone = aws_to_kube("s3://files-aws-two-gzip-members/ranker/2/model.tar.gz")
    files = read_artifact_files(alone, lambda: s3, {})
    assert files["ranker"].corrupt == "" and files["ranker"].paths == ("model.pt", "code/inference.py")
    (finding,) = serving_findings(alone, files)
    assert finding.refuses and "model-store/<name>.mar and config/config.properties" in finding.detail
    assert "not a readable tar archive" not in finding.summary


def test_a_connection_lost_mid_archive_is_unread_not_corrupt(moto_url: str) -> None:
    """A body whose read fails (ConnectionResetError, an OSError like gzip's BadGzipFile) leaves the artifact
    unread, a warning saying why, never the corrupt-archive refusal: the decompressors' OSError is caught only
    when the body read did not fail."""
    s3 = store(moto_url, "files-aws-lost-connection", {"ranker/1/model.tar.gz": two_members(
        tar({"model.pt": bytes(range(256)) * 64, "code/inference.py": b"x"}, "w"))})

    class Cut(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 100:
                raise ConnectionResetError("Connection reset by peer")
            return super().read(size)

    class Client:
        def __getattr__(self, name: str):
            return getattr(s3, name)

        def get_object(self, **kwargs):
            return {"Body": Cut(s3.get_object(**kwargs)["Body"].read())}

    cut = aws_to_kube("s3://files-aws-lost-connection/ranker/1/model.tar.gz")
    files = read_artifact_files(cut, Client, {})
    assert files["ranker"].corrupt == "" and files["ranker"].paths is None
    assert "could not be read" in files["ranker"].why and "Connection reset by peer" in files["ranker"].why
    (finding,) = serving_findings(cut, files)
    assert not finding.refuses and "Not read: s3://files-aws-lost-connection/ranker/1/model.tar.gz could not" \
        in finding.detail


def test_a_kserve_folder_of_one_tar_is_listed_by_its_members(moto_url: str) -> None:
    """KServe unpacks the one plain tar of the folder; its members are TorchServe's layout only: refused."""
    s3 = store(moto_url, "files-kserve-one-tar", {
        "reranker/2/model.tar": tar({"./model-store/reranker.mar": b"m", "./config/config.properties": b"c"}, "w")})
    one = llm("s3://files-kserve-one-tar/reranker/2")
    files = read_artifact_files(one, lambda: s3, {})
    assert files["reranker"].uri == "s3://files-kserve-one-tar/reranker/2/model.tar"
    assert sorted(files["reranker"].paths) == ["./config/config.properties", "./model-store/reranker.mar"]
    reranker = {f.model: f for f in serving_findings(one, files)}["reranker"]
    assert reranker.refuses
    assert "holds 2 file(s): config/config.properties, model-store/reranker.mar." in reranker.detail


def test_a_zip_and_a_missing_uri_are_warnings_saying_why(moto_url: str) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("model-store/reranker.mar", b"m")
    s3 = store(moto_url, "files-kserve-zip", {"reranker/2/model.zip": buffer.getvalue()})
    zipped = llm("s3://files-kserve-zip/reranker/2/model.zip")
    reranker = {f.model: f for f in serving_findings(zipped, read_artifact_files(zipped, lambda: s3, {}))}["reranker"]
    assert not reranker.refuses
    assert "Not read: model.zip is a zip archive, whose file list is at its end and is not read." in reranker.detail
    called = []
    unnamed = llm(None)
    files = read_artifact_files(unnamed, lambda: called.append(1), {})
    reranker = {f.model: f for f in serving_findings(unnamed, files)}["reranker"]
    assert not reranker.refuses and "Not read: its registry names no artifact URI for it." in reranker.detail
    assert called == []  # no store client is made when nothing is read


def test_only_models_decided_by_their_files_are_read(moto_url: str) -> None:
    """chat-model (serving_image) and embedder (training image reused) are not decided by files: not read."""
    s3 = store(moto_url, "files-only-reranker", {"reranker/2/model.pt": b"pt"})
    files = read_artifact_files(llm("s3://files-only-reranker/reranker/2/model.pt"), lambda: s3, {})
    assert set(files) == {"reranker"} and files["reranker"].paths == ("model.pt",)


def test_the_read_limit_is_whole_mib() -> None:
    assert read_limit({}) == 1024 << 20 and read_limit({"MLOPS_INFRA_LAYOUT_READ_MIB": "5"}) == 5 << 20
    with pytest.raises(UserError) as refused:
        read_limit({"MLOPS_INFRA_LAYOUT_READ_MIB": "1.5"})
    assert refused.value.summary == "MLOPS_INFRA_LAYOUT_READ_MIB='1.5' is not a whole number of MiB"
