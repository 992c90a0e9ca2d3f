"""``DescribeImages`` of the images a plan checks (state/aws_live/ecr_images.py, audit preflight-6).

Against the moto server (moto implements ECR ``PutImage`` and ``DescribeImages``): a pushed tag and a
pushed digest are found, a tag never pushed is ``ImageNotFoundException`` (also inside a batch, which
is then asked one image at a time), a repository that does not exist, or one of another registry id,
is ``RepositoryNotFoundException``; more than 100 images of one repository take one call per 100.
A refusal (``AccessDeniedException``, botocore's Stubber) is the error code, never "not found", and
no call starts once the time given ran out.
"""

from __future__ import annotations

import json
import time

import pytest

from mlops_infra.state.aws_live.ecr_images import (
    BATCH,
    FOUND,
    NO_IMAGE,
    NO_REPOSITORY,
    NOT_ASKED,
    ImageId,
    image_presence,
)
from tests.support import fixtures
from tests.support.moto_server import client, session

pytestmark = pytest.mark.moto
moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
ACCOUNT = "123456789012"
"""moto's account: the registry its repositories are in."""


def _push(url: str, region: str, repository: str, tag: str) -> str:
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": f"sha256:{'0' * 63}1"}, "layers": [], "tag": tag})
    return client("ecr", url, region).put_image(repositoryName=repository, imageManifest=manifest,
                                                imageTag=tag)["image"]["imageId"]["imageDigest"]


def _calls(s) -> list[dict]:
    seen: list[dict] = []
    s.events.register("provide-client-params.ecr.DescribeImages", lambda params, **_: seen.append(params))
    return seen


def test_found_missing_tag_and_missing_repository_each_answered(moto_url: str):
    ecr = client("ecr", moto_url, "eu-west-1")
    ecr.create_repository(repositoryName="pf46-train")
    digest = _push(moto_url, "eu-west-1", "pf46-train", "1.0.0")
    pushed, by_digest = ImageId(ACCOUNT, "eu-west-1", "pf46-train", "1.0.0"), ImageId(ACCOUNT, "eu-west-1",
                                                                                      "pf46-train", digest=digest)
    never = ImageId(ACCOUNT, "eu-west-1", "pf46-train", "1.4.2")
    no_repo = ImageId(ACCOUNT, "eu-west-1", "pf46-absent", "1.0.0")
    other_registry = ImageId("210987654321", "eu-west-1", "pf46-train", "1.0.0")
    other_region = ImageId(ACCOUNT, "us-east-1", "pf46-train", "1.0.0")  # pushed to eu-west-1 only
    s = session("eu-west-1")
    calls = _calls(s)
    answers = image_presence([pushed, by_digest, never, no_repo, other_registry, other_region],
                             endpoint_url=moto_url, session=s)
    assert answers == {pushed: FOUND, by_digest: FOUND, never: NO_IMAGE, no_repo: NO_REPOSITORY,
                       other_registry: NO_REPOSITORY, other_region: NO_REPOSITORY}
    # per (registry, region, repository): one call for pf46-train's three images in eu-west-1, then one
    # each after its ImageNotFoundException; the other registry id is named in its call
    assert [(c["registryId"], c["repositoryName"], len(c["imageIds"])) for c in calls] == [
        (ACCOUNT, "pf46-absent", 1), (ACCOUNT, "pf46-train", 3), (ACCOUNT, "pf46-train", 1),
        (ACCOUNT, "pf46-train", 1), (ACCOUNT, "pf46-train", 1), (ACCOUNT, "pf46-train", 1),
        ("210987654321", "pf46-train", 1)]


def test_more_than_a_hundred_images_of_one_repository_take_one_call_per_hundred(moto_url: str):
    client("ecr", moto_url, "eu-west-1").create_repository(repositoryName="pf46-many")
    tags = [f"v{i}" for i in range(BATCH + 20)]
    for tag in tags:
        _push(moto_url, "eu-west-1", "pf46-many", tag)
    s = session("eu-west-1")
    calls = _calls(s)
    answers = image_presence([ImageId(ACCOUNT, "eu-west-1", "pf46-many", t) for t in tags], endpoint_url=moto_url,
                             session=s)
    assert set(answers.values()) == {FOUND} and len(answers) == BATCH + 20
    assert [len(c["imageIds"]) for c in calls] == [BATCH, 20]


def test_a_refusal_is_its_code_and_no_call_starts_past_the_time_given():
    from botocore.stub import Stubber

    s = session("eu-west-1")
    ecr = s.client("ecr", region_name="eu-west-1")
    stub = Stubber(ecr)
    stub.add_client_error("describe_images", service_error_code="AccessDeniedException", http_status_code=400)
    stub.activate()

    class OneClient:
        def client(self, *args, **kwargs):
            return ecr

    image = ImageId("210987654321", "eu-west-1", "shared", "1.0.0")
    assert image_presence([image], session=OneClient()) == {image: "AccessDeniedException"}
    stub.assert_no_pending_responses()
    assert image_presence([image], session=OneClient(), until=time.monotonic() - 1) == {image: NOT_ASKED}
