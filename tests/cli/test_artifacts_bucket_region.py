"""A model's ``artifacts_uri`` bucket in another region than its environment (audit xregion-3): ``plan --refresh``
asks S3 and says so, and promote refuses the copy into it before anything is copied.

Rules encoded (sources in mlops_infra/state/aws_live/bucket_region.py and spec/artifacts_region.py): a bucket is in
one region; SageMaker reads model artifacts only from a bucket in the model's region (botocore
``ContainerDefinition.ModelDataUrl``, ``ModelPackageContainerDefinition.ModelDataUrl``); ``HeadBucket`` answers
the bucket's region in ``x-amz-bucket-region`` (``HeadBucketOutput.BucketRegion``) to any caller of the partition.
The llm-platform example's prod (us-west-2, account 444444444444) takes the reranker's base ``artifacts_uri``;
here its bucket is renamed per test (moto's backends outlive a test) and created in eu-central-1, or in us-west-2.
On the moto server of tests/support (one per module, as every moto test module has).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from mlops_infra.cli.main import main
from mlops_infra.compile import compile_system
from mlops_infra.model_versions import VersionRecord
from mlops_infra.promote.artifacts import execute_steps, plan_steps
from mlops_infra.promote.promote import plan_promotion
from mlops_infra.spec import load_system
from tests.promote.test_serving_image import views
from tests.support import fixtures
from tests.support.moto_accounts import use_account

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("no_stray_reads")]
moto_server, moto_url, no_stray_reads = fixtures.moto_server, fixtures.moto_url, fixtures.no_stray_reads

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
IMPORTS = "llm-platform-model-imports-444444444444"
FILES = {"model.pt": b"reranker weights"}
DIGEST = "sha256:" + hashlib.sha256("".join(f"{hashlib.sha256(b).hexdigest()}  {n}\n"
                                            for n, b in sorted(FILES.items())).encode()).hexdigest()


def _spec(tmp_path: Path) -> tuple[Path, str]:
    """The example with prod's reranker bucket renamed to one no other test uses; (file, bucket)."""
    bucket = f"xr3-imports-{uuid.uuid4().hex[:12]}"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(IMPORTS) == 1
    file = tmp_path / "mlsystem.yaml"
    file.write_text(text.replace(IMPORTS, bucket), encoding="utf-8")
    return file, bucket


def _s3(url: str, region: str) -> object:
    return boto3.Session().client("s3", endpoint_url=url, region_name=region)


def _bucket(url: str, bucket: str, region: str) -> None:
    _s3(url, region).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def test_head_bucket_gives_the_region_from_any_region_and_404_as_missing(
        moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.state.aws_live.bucket_region import BucketRegion, bucket_region

    use_account(moto_url, "444444444444", monkeypatch)
    bucket = f"xr3-reader-{uuid.uuid4().hex[:12]}"
    _bucket(moto_url, bucket, "eu-central-1")
    asked_from = _s3(moto_url, "us-west-2")
    assert bucket_region(asked_from, bucket) == BucketRegion(bucket, "eu-central-1")
    assert bucket_region(asked_from, bucket + "-none") == BucketRegion(bucket + "-none", missing=True)


class _Unreachable:
    def head_bucket(self, **_: str) -> None:
        raise EndpointConnectionError(endpoint_url="https://s3.us-west-2.amazonaws.com")


def test_no_answer_is_a_problem_and_findings_say_each_case() -> None:
    from mlops_infra.spec.artifacts_region import bucket_region_findings
    from mlops_infra.state.aws_live.bucket_region import BucketRegion, bucket_region

    assert bucket_region(_Unreachable(), "b").problem == "EndpointConnectionError"
    buckets = {"far": ["a", "b"], "near": ["c"], "gone": ["d"], "mute": ["e"]}
    answers = [BucketRegion("far", "eu-central-1"), BucketRegion("near", "us-west-2"), BucketRegion("gone", missing=True),
               BucketRegion("mute", problem="AccessDenied")]
    far, gone, mute = bucket_region_findings(answers, buckets, "prod", "us-west-2")
    assert far.startswith("artifacts bucket far (models.a.artifacts_uri, models.b.artifacts_uri) is in eu-central-1, "
                          "environment prod is in us-west-2")
    assert gone.startswith("artifacts bucket gone (models.d.artifacts_uri) does not exist (S3 HeadBucket: 404)")
    assert mute.startswith("artifacts buckets not checked: S3 did not say the region of mute (AccessDenied)")


def _plan(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, file: Path, tmp_path: Path) -> dict:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(file), "--env", "prod", "--refresh", "--format", "json"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    return json.loads(out)


def _bucket_warnings(plan: dict) -> list[str]:
    return [w for w in plan["warnings"] if w.startswith("artifacts bucket")]


def test_plan_refresh_warns_of_an_artifacts_bucket_in_another_region(
        moto_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    use_account(moto_url, "444444444444", monkeypatch)
    file, bucket = _spec(tmp_path)
    _bucket(moto_url, bucket, "eu-central-1")
    (warning,) = _bucket_warnings(_plan(capsys, monkeypatch, file, tmp_path))
    assert warning.startswith(f"artifacts bucket {bucket} (models.reranker.artifacts_uri) is in eu-central-1, "
                              "environment prod is in us-west-2: SageMaker reads model artifacts only from a bucket "
                              "in the model's region (botocore ContainerDefinition.ModelDataUrl"), warning
    assert warning.endswith("Fix: override models.reranker.artifacts_uri in environment prod with a bucket in "
                            "us-west-2 (kept in step with S3 replication).")


def test_promote_refuses_the_copy_into_an_artifacts_bucket_of_another_region_before_copying(
        moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_account(moto_url, "444444444444", monkeypatch, "us-west-2")
    file, bucket = _spec(tmp_path)
    src_view, dst_view = views(file, "staging", "prod")
    reranker = src_view.models["reranker"]
    source = f"xr3-source-{uuid.uuid4().hex[:12]}"
    for version, record in list(reranker.versions.items()):
        reranker.versions[version] = VersionRecord(record.version, record.approval, record.status,
                                                   artifact_uri=f"s3://{source}/reranker/{version}/",
                                                   image=record.image, digest=DIGEST)
    promotion = plan_promotion(file.read_text(encoding="utf-8"), str(file), "staging",
                               load_system(file, "staging").system, src_view, "prod",
                               load_system(file, "prod").system, dst_view)
    steps = [s for s in plan_steps(promotion, compile_system(promotion.dst_system, "prod")) if s.model == "reranker"]
    assert [s.kind for s in steps] == ["copy-artifact", "register-version"]
    assert steps[0].destination.startswith(f"s3://{bucket}/reranker/promoted/reranker/")
    _bucket(moto_url, source, "us-west-2")
    for name, body in FILES.items():
        _s3(moto_url, "us-west-2").put_object(Bucket=source, Key=f"reranker/{max(reranker.versions)}/{name}", Body=body)
    _bucket(moto_url, bucket, "eu-central-1")
    session = boto3.Session(region_name="us-west-2")
    session.client("sagemaker", endpoint_url=moto_url).create_model_package_group(
        ModelPackageGroupName=steps[1].detail["group"])
    done = execute_steps(steps, src_session=session, dst_session=session, endpoint_url=moto_url)
    assert [s.status for s in done] == ["failed", "failed"], [s.outcome for s in done]
    assert done[0].outcome.startswith(f"artifacts bucket {bucket} (models.reranker.artifacts_uri) is in eu-central-1, "
                                      "environment DST is in us-west-2"), done[0].outcome
    assert done[1].outcome.startswith("not run: copy-artifact reranker is refused, and nothing is copied")
    assert _s3(moto_url, "eu-central-1").list_objects_v2(Bucket=bucket).get("KeyCount") == 0  # nothing copied
    packages = session.client("sagemaker", endpoint_url=moto_url).list_model_packages(
        ModelPackageGroupName=steps[1].detail["group"])["ModelPackageSummaryList"]
    assert packages == []
