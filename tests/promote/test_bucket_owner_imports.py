"""The bucket owner condition names an account only for buckets that account's environment creates
(finding closing-32a-1; mlops_infra/promote/bucket_owner.py).

A model trained elsewhere has its artifacts in a bucket neither environment's graph creates: here the
reranker's versions in staging's registry point into the prod account's imports bucket
``llm-platform-model-imports-444444444444`` (the llm-platform example's prod ``artifacts_uri``; the example's
staging now names a bucket of its own region, 110f2a8), and staging -> prod copies them into that same bucket,
prod's ``artifacts_uri``. The test checks that the copy step claims no owner for either side (``sourceOwner``, ``destinationOwner`` None,
``ownerNotChecked`` naming the bucket for both environments) and that its requests carry no
``ExpectedBucketOwner`` yet both steps are done. A bucket has one owner, so naming each environment's own
account on it made one side's every request a 403 on real S3 (moto does not enforce the header: the
requests are recorded as serialized, and a request that names an owner other than the bucket's is answered
403 here as S3 would, https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-owner-condition.html).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import boto3
import botocore.client
import botocore.exceptions
import pytest

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import VersionRecord
from mlops_infra.promote.artifacts import execute_steps, plan_steps
from mlops_infra.promote.promote import plan_promotion
from mlops_infra.spec import load_system
from tests.promote.test_serving_image import REPO, views
from tests.support import fixtures

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

IMPORTS = "llm-platform-model-imports-444444444444"
OWNERS = {IMPORTS: "444444444444"}
FILES = {"model.pt": b"reranker weights"}
DIGEST = "sha256:" + hashlib.sha256("".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n"
                                            for n, b in sorted(FILES.items())).encode()).hexdigest()


def _owner_checked_like_s3(monkeypatch: pytest.MonkeyPatch, owners: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """Record (operation, bucket, expected owner) of every S3 request, and refuse one that names an owner
    other than ``owners[bucket]`` (S3's 403 for a bucket owner condition that does not hold)."""
    sent: list[tuple[str, str, str | None]] = []
    real = botocore.client.BaseClient._make_request

    def checked(client, operation_model, request_dict, request_context):
        if client.meta.service_model.service_name == "s3":
            bucket = urlsplit(request_dict["url"]).path.lstrip("/").split("/", 1)[0]
            header = request_dict["headers"].get("x-amz-expected-bucket-owner")
            sent.append((operation_model.name, bucket, header))
            if header is not None and owners.get(bucket) not in (None, header):
                raise botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                                                      operation_model.name)
        return real(client, operation_model, request_dict, request_context)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_request", checked)
    return sent


@pytest.mark.moto
@pytest.mark.timeout(300)
@pytest.mark.parametrize(("src", "dst"), [("staging", "prod")])
def test_an_artifacts_uri_bucket_of_another_account_is_copied_without_a_wrong_owner(
        moto_url: str, monkeypatch: pytest.MonkeyPatch, src: str, dst: str) -> None:
    path = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
    src_view, dst_view = views(path, src, dst)
    reranker = src_view.models["reranker"]
    for version, record in list(reranker.versions.items()):
        reranker.versions[version] = VersionRecord(record.version, record.approval, record.status,
                                                   artifact_uri=f"s3://{IMPORTS}/reranker/{version}/",
                                                   image=record.image, digest=DIGEST)
    promotion = plan_promotion(path.read_text(encoding="utf-8"), str(path), src, load_system(path, src).system,
                               src_view, dst, load_system(path, dst).system, dst_view)
    steps = [s for s in plan_steps(promotion, compile_system(promotion.dst_system, dst)) if s.model == "reranker"]
    copy = steps[0]
    assert copy.kind == "copy-artifact" and copy.destination.startswith(f"s3://{IMPORTS}/")
    assert copy.detail["sourceOwner"] is None and copy.detail["destinationOwner"] is None  # neither graph creates it
    assert f"s3://{IMPORTS} is not a bucket {src} creates" in copy.detail["ownerNotChecked"]
    assert f"s3://{IMPORTS} is not a bucket {dst} creates" in copy.detail["ownerNotChecked"]

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-west-2")
    s3 = session.client("s3", endpoint_url=moto_url)
    s3.create_bucket(Bucket=IMPORTS, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    version = max(reranker.versions)
    for name, body in FILES.items():
        s3.put_object(Bucket=IMPORTS, Key=f"reranker/{version}/{name}", Body=body)
    session.client("sagemaker", endpoint_url=moto_url).create_model_package_group(
        ModelPackageGroupName=steps[1].detail["group"])
    sent = _owner_checked_like_s3(monkeypatch, OWNERS)
    done = execute_steps(steps, src_session=session, dst_session=session, endpoint_url=moto_url)
    monkeypatch.undo()
    assert [s.status for s in done] == ["done", "done"], [s.outcome for s in done]
    assert sent and {bucket for _, bucket, _ in sent} == {IMPORTS}
    assert {header for _, _, header in sent} == {None}, sent  # no account is claimed for a bucket no graph creates
