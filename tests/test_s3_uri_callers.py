"""The ``s3://`` URIs that promote (``promote/digests.py``, ``promote/contracts.py``, ``promote/artifacts.py``)
and the AWS serving compiler (``compile/aws/serving.py``) read go through ``mlops_infra/s3_uri.py`` (split43).
Each caller's answers for the edge forms (the bucket alone, the scheme alone, no bucket, another scheme, no
scheme) are pinned here as they were when each caller sliced the URI itself: the same messages, the same
bucket and key asked of S3, the same preview."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlops_infra import s3_uri
from mlops_infra.compile.aws import serving
from mlops_infra.errors import UserError
from mlops_infra.model_versions import GZIP
from mlops_infra.promote import artifacts, contracts, digests


class FakeS3:
    """The S3 calls the artifact readers make, recorded: ``(call, bucket, prefix or key)``."""

    def __init__(self, keys: tuple[str, ...] = ()) -> None:
        self.keys, self.calls = keys, []

    def get_paginator(self, name: str) -> FakeS3:
        assert name == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> list[dict]:
        self.calls.append(("list", Bucket, Prefix))
        return [{"Contents": [{"Key": key, "ETag": '"e"'} for key in self.keys if key.startswith(Prefix)]}]

    def head_object(self, Bucket: str, Key: str, **_: object) -> dict:
        self.calls.append(("head", Bucket, Key))
        return {"ETag": '"e"', "ContentLength": 0}


@pytest.mark.parametrize(("uri", "located"), [
    ("s3://models/fraud/", True), ("s3://models", True), ("s3:///key", True),  # no bucket: S3 says why
    ("s3://", False), ("gs://models/fraud/", False), ("S3://models/x", False), ("", False), (None, False),
])
def test_in_s3_is_an_s3_uri_naming_more_than_the_scheme(uri, located):
    assert s3_uri.in_s3(uri) is located


# -- promote/digests.py ----------------------------------------------------------------------------------


def package(uri: str) -> dict:
    return {"InferenceSpecification": {"Containers": [{"ModelDataUrl": uri}]}}


@pytest.mark.parametrize("uri", ["gs://models/m.tar.gz", "s3://", "S3://models/m.tar.gz", "models/m.tar.gz"])
def test_a_package_whose_model_data_is_not_in_s3_has_no_digest_to_compute(uri):
    with pytest.raises(UserError) as raised:
        digests.artifact_location(package(uri), "fraud v3")
    assert raised.value.summary == f"cannot compute the artifact digest of fraud v3: its model data is not in S3 ({uri})"


@pytest.mark.parametrize(("uri", "where"), [
    ("s3://models/m.tar.gz", ("s3://models/m.tar.gz", False)), ("s3://models/fraud/", ("s3://models/fraud/", True)),
    ("s3://models", ("s3://models", False)), ("s3:///m.tar.gz", ("s3:///m.tar.gz", False)),
])
def test_a_package_in_s3_is_read_where_its_model_data_says(uri, where):
    assert digests.artifact_location(package(uri), "fraud v3") == where


@pytest.mark.parametrize(("uri", "prefix", "asked"), [
    ("s3://models/fraud/m.tar.gz", False, ("head", "models", "fraud/m.tar.gz")),
    ("s3://models/fraud/", True, ("list", "models", "fraud/")),
    ("s3://models", True, ("list", "models", "")),
    ("s3://models/", True, ("list", "models", "")),
    ("s3:///m.tar.gz", False, ("head", "", "m.tar.gz")),
])
def test_the_artifact_is_listed_in_the_bucket_and_under_the_key_its_uri_names(uri, prefix, asked):
    s3 = FakeS3(("fraud/m.tar.gz", "a.bin"))
    objects = digests.list_artifact(s3, uri, prefix)
    assert s3.calls[0] == asked
    assert objects and all(o.bucket == asked[1] for o in objects)


@pytest.mark.parametrize(("uri", "keys", "layout", "asked"), [
    ("s3://models", (), ("s3://models", True), []),  # the bucket: a folder as written, S3 not asked
    ("s3://models/", (), ("s3://models/", True), []),
    ("s3://models/fraud/14", ("fraud/14/model.pkl",), ("s3://models/fraud/14/", True), [("list", "models", "fraud/14/")]),
    ("s3://models/fraud/14", (), ("s3://models/fraud/14", False),
     [("list", "models", "fraud/14/"), ("head", "models", "fraud/14")]),
])
def test_the_layout_asks_s3_of_the_bucket_and_key_its_uri_names(uri, keys, layout, asked):
    s3 = FakeS3(keys)
    assert digests.artifact_layout(s3, uri) == layout
    assert s3.calls == asked


# -- promote/contracts.py --------------------------------------------------------------------------------


def unreachable_store():
    raise RuntimeError("no store here")


@pytest.mark.parametrize("uri", ["gs://models/fraud/", "s3://", "S3://models/x", "/local/models/"])
def test_an_artifact_uri_not_in_s3_is_unread_with_why(uri):
    assert contracts._files(unreachable_store, uri, None, 1 << 20, False) == contracts.ArtifactFiles(
        uri, None, f"its artifact URI {uri} is not in S3 (s3://)")


def test_an_artifact_uri_with_no_bucket_is_asked_of_s3():
    files = contracts._files(unreachable_store, "s3:///fraud/", None, 1 << 20, False)
    assert files.paths is None and files.why.startswith("s3:///fraud/ could not be read: ")


@pytest.mark.parametrize(("uri", "keys", "files", "asked"), [
    ("s3://models", ("a.bin", "b/c.bin"), contracts.ArtifactFiles("s3://models", ("a.bin", "b/c.bin")),
     [("list", "models", "")]),
    ("s3://models/fraud/14", ("fraud/14/model.pkl",), contracts.ArtifactFiles("s3://models/fraud/14/", ("model.pkl",)),
     [("list", "models", "fraud/14/"), ("list", "models", "fraud/14/")]),
    ("s3://models/fraud/model.pkl", (), contracts.ArtifactFiles("s3://models/fraud/model.pkl", ("model.pkl",)),
     [("list", "models", "fraud/model.pkl/"), ("head", "models", "fraud/model.pkl")]),
])
def test_an_artifact_in_s3_is_listed_in_the_bucket_and_under_the_key_its_uri_names(uri, keys, files, asked):
    s3 = FakeS3(keys)
    assert contracts._files(lambda: s3, uri, None, 1 << 20, False) == files
    assert s3.calls == asked


# -- promote/artifacts.py --------------------------------------------------------------------------------

DST = "s3://dst-artifacts/training/promoted/fraud/abc/"


@pytest.mark.parametrize(("source", "compression", "copied"), [
    ("s3://models", None, DST), ("s3://models/", None, DST), ("s3://models/fraud/14/", None, DST),
    ("s3://models/fraud/14", None, DST),  # an MLflow folder source, no trailing /
    ("s3://models/fraud/model.tar.gz", GZIP, DST + "model.tar.gz"),
    ("s3://models/fraud/model.pkl", None, DST + "model.pkl"),
    ("s3://", None, DST), ("s3:///model.pkl", None, DST + "model.pkl"),
    # not s3:// (refused when the steps run, _refusals): the preview as before
    ("", None, DST), ("model.pkl", None, DST), ("runs:/abc/model", None, DST + "model"),
    ("gs://models/fraud/model.pkl", None, DST + "model.pkl"), ("gs://models", None, DST + "models"),
])
def test_the_copy_is_registered_where_the_preview_says(source, compression, copied):
    assert artifacts.copied_uri(source, DST, compression) == copied


@pytest.mark.parametrize(("source", "destination", "refused"), [
    ("gs://models/fraud/", DST, "only s3:// artifact URIs are copied, not 'gs://models/fraud/'"),
    ("s3://models/fraud/", "/local/dst/", "only s3:// artifact URIs are copied, not '/local/dst/'"),
    ("", DST, "only s3:// artifact URIs are copied, not ''"),
    ("s3://", DST, None), ("s3://models", DST, None),  # S3 answers those (_copy)
])
def test_a_copy_of_an_artifact_not_in_s3_is_refused_before_anything_runs(source, destination, refused):
    step = artifacts.ArtifactStep("copy-artifact", "fraud", "sha256:abc", 4, source, destination)
    assert artifacts._refusals([step], None, None) == ({0: refused} if refused else {})


# -- compile/aws/serving.py ------------------------------------------------------------------------------


@pytest.mark.parametrize(("uri", "reads"), [
    ("s3://imports", [("imports", "")]), ("s3://imports/", [("imports", "")]),
    ("s3://imports/fraud", [("imports", "fraud/")]), ("s3://imports/fraud/", [("imports", "fraud/")]),
    ("s3://imports/a/b/c", [("imports", "a/b/c/")]), (None, []),
])
def test_the_serving_role_reads_the_bucket_and_prefix_artifacts_uri_names(uri, reads):
    model = SimpleNamespace(artifacts_uri=uri)
    aws = SimpleNamespace(ctx=SimpleNamespace(system=SimpleNamespace(item=lambda kind, name: model)))
    assert serving._imported_artifacts(aws, "fraud") == reads
