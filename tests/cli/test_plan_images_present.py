"""``plan --refresh`` on AWS looks up the ECR images the environment runs before apply (audit
preflight-6; cli/commands/plan.image_preflight, plan/images_present.py, state/aws_live/ecr_images.py).

The fraud reference's staging retrain runs ``123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2``.
Against the moto server: the repository exists but the tag was never pushed -> one warning naming the
image, the job and the fix; pushed -> none; no repository -> its own warning; ECR unreachable -> the
images were not checked, said as such, and the plan exits 0 as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops_infra.cli.main import main
from tests.support import fixtures
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import client, reset, running_moto_server

REPO = Path(__file__).resolve().parents[2]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("no_stray_reads")]
no_stray_reads = fixtures.no_stray_reads


def _plan(capsys, monkeypatch, url: str, tmp_path: Path, env: str = "staging") -> tuple[int, dict, str]:
    monkeypatch.chdir(tmp_path)
    for key, value in {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    # seeded with moto's test keys: the registry read asks for the environment's account (left43a)
    caller_is(monkeypatch, {"staging": "111111111111", "prod": "222222222222"}[env])
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", str(FRAUD), "--env", env, "--refresh", "--format", "json"])
    out, err = capsys.readouterr()
    return exit_info.value.code, json.loads(out), err


def _image_warnings(data: dict) -> list[str]:
    return [w for w in data["warnings"] if w.startswith("image:")]


def _push(url: str, tag: str) -> None:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": "sha256:" + "1" * 64}, "layers": []})
    client("ecr", url, "us-east-1").put_image(repositoryName="fraud-train", imageManifest=manifest, imageTag=tag)


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_a_tag_never_pushed_is_warned_and_a_pushed_one_is_not(capsys, monkeypatch, tmp_path: Path, env: str):
    with running_moto_server() as url:
        reset(url)
        client("ecr", url, "us-east-1").create_repository(repositoryName="fraud-train")
        _push(url, "1.4.1")  # an older tag: the repository is not empty
        code, missing, err = _plan(capsys, monkeypatch, url, tmp_path, env)
        assert code == 0, err
        _push(url, "1.4.2")
        code, pushed, err = _plan(capsys, monkeypatch, url, tmp_path, env)
        reset(url)
    (warning,) = _image_warnings(missing)
    assert warning.startswith(f"image: {IMAGE} is not in ECR: repository fraud-train in registry 123456789012 in "
                              "us-east-1 has no image with tag 1.4.2 (DescribeImages: ImageNotFoundException), and "
                              "training_jobs.retrain runs it: the first run or endpoint creation that pulls it fails")
    assert f"push it (`docker push {IMAGE}`) before apply, or pin a digest" in warning
    assert code == 0 and pushed["refreshed"] is True and _image_warnings(pushed) == []


def test_a_missing_repository_is_warned(capsys, monkeypatch, tmp_path: Path):
    with running_moto_server() as url:
        reset(url)
        code, data, err = _plan(capsys, monkeypatch, url, tmp_path)
    assert code == 0, err
    (warning,) = _image_warnings(data)
    assert warning.startswith(f"image: {IMAGE} cannot be pulled: ECR has no repository fraud-train in registry "
                              "123456789012 in us-east-1 (DescribeImages: RepositoryNotFoundException)")


def test_an_unreachable_ecr_says_the_images_were_not_checked(capsys, monkeypatch, tmp_path: Path):
    code, data, err = _plan(capsys, monkeypatch, "http://127.0.0.1:9", tmp_path)  # nothing listens
    assert code == 0, err
    (warning,) = _image_warnings(data)
    assert warning.startswith("image: could not check 1 image(s) in ECR (EndpointConnectionError), so whether they "
                              f"are pushed is unknown, not missing: {IMAGE} (training_jobs.retrain).")
