"""Which ECR images a graph runs, and the warnings ECR's answers make (plan/images_present.py, audit preflight-6).

The llm-platform prod graph names its training, serving and registered images; the drift image it
builds itself and AWS's framework image are not checked. Answers: found is silent, a missing tag or
repository is one warning per image naming it, its users and the fix; an image that could not be
read (another account's, access denied) is "could not check", never missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.plan.images_present import graph_images, image_warnings, parse_image
from mlops_infra.state.aws_live.ecr_images import FOUND, NO_IMAGE, NO_REPOSITORY, NOT_ASKED, ImageId
from tests.compile.aws.cases import compiled

REPO = Path(__file__).resolve().parents[2]
LLM = REPO / "examples" / "llm-platform" / "mlsystem.yaml"
DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(("uri", "expected"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2",
     ImageId("123456789012", "us-east-1", "fraud-train", "1.4.2")),
    ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/nested/train", ImageId("123456789012", "eu-west-1",
                                                                                "team/nested/train", "latest")),
    (f"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/train@{DIGEST}",
     ImageId("123456789012", "us-gov-west-1", "train", digest=DIGEST)),
    (f"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/train:1.0@{DIGEST}",
     ImageId("123456789012", "cn-north-1", "train", digest=DIGEST)),  # a digest wins over the tag
    ("ghcr.io/acme/train:1.0", None),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1.0 and more", None),
    ("arn:aws:ecr:us-east-1:123456789012:repository/train", None),
])
def test_parse_image(uri: str, expected: ImageId | None):
    assert parse_image(uri) == expected


def test_the_graph_s_own_images_with_their_users_not_the_built_or_aws_ones():
    graph = compiled(LLM, "prod")
    found = {i.uri: i.addresses for i in graph_images(graph)}
    registry = "123456789012.dkr.ecr.us-west-2.amazonaws.com"
    assert found == {f"{registry}/chat-serve:1.0.0": ("models.chat-model", "training_jobs.finetune-chat"),
                     f"{registry}/embedder-train:1.1.0": ("training_jobs.train-embedder",),
                     f"{registry}/llm-finetune:2.3.0": ("training_jobs.finetune-chat",)}
    texts = str([r.inputs for r in graph.resources])
    assert "763104351884.dkr.ecr.us-west-2.amazonaws.com/pytorch-inference" in texts  # AWS's, not checked
    assert "llm-platform-prod-drift-job:drift-job-" in texts  # built by the apply, not checked


def test_each_answer_s_warning():
    graph = compiled(LLM, "prod")
    images = graph_images(graph)
    chat, embedder, finetune = (i.image for i in images)
    warnings = image_warnings(images, {chat: FOUND, embedder: NO_IMAGE, finetune: NO_REPOSITORY}, "444444444444")
    assert len(warnings) == 2
    missing, no_repo = warnings
    assert missing.startswith("image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/embedder-train:1.1.0 is not in "
                              "ECR: repository embedder-train in registry 123456789012 in us-west-2 has no image with "
                              "tag 1.1.0 (DescribeImages: ImageNotFoundException), and training_jobs.train-embedder "
                              "runs it")
    assert "`docker push 123456789012.dkr.ecr.us-west-2.amazonaws.com/embedder-train:1.1.0`" in missing
    assert "pin a digest the repository has (123456789012.dkr.ecr.us-west-2.amazonaws.com/embedder-train@sha256:" \
           in missing
    assert no_repo.startswith("image: 123456789012.dkr.ecr.us-west-2.amazonaws.com/llm-finetune:2.3.0 cannot be "
                              "pulled: ECR has no repository llm-finetune in registry 123456789012 in us-west-2")
    assert "training_jobs.finetune-chat runs it" in no_repo and "chat-serve" not in " ".join(warnings)


def test_an_image_that_could_not_be_read_is_unchecked_never_missing():
    graph = compiled(LLM, "prod")
    images = graph_images(graph)
    answers = {i.image: "AccessDeniedException" for i in images}
    (warning,) = image_warnings(images, answers, "444444444444")
    assert warning.startswith("image: could not check 3 image(s) in ECR (access denied (AccessDeniedException): "
                              "needs ecr:DescribeImages on the repositories; for account 123456789012, that "
                              "account's repository policy must allow it), so whether they are pushed is unknown, "
                              "not missing: ")
    assert "123456789012.dkr.ecr.us-west-2.amazonaws.com/chat-serve:1.0.0 (models.chat-model, " \
           "training_jobs.finetune-chat)" in warning
    assert "is not in ECR" not in warning and "cannot be pulled" not in warning
    (late,) = image_warnings(images, {}, "444444444444", "no answer within 3 s")
    assert late.startswith("image: could not check 3 image(s) in ECR (no answer within 3 s)")
    (part,) = image_warnings(images[:1], {images[0].image: NOT_ASKED}, "123456789012")
    assert f"({NOT_ASKED})" in part and "for account" not in part


def test_a_hundred_images_and_users_are_six_names_and_how_many_more():
    """An image a hundred endpoints run named all of them, and a hundred unchecked images were all listed, each with
    all its users: the first six of each list, then how many more (:mod:`mlops_infra.name_lists`)."""
    from mlops_infra.plan.images_present import GraphImage

    users = tuple(f"endpoints.e{i:03}" for i in range(100))
    uris = [f"123456789012.dkr.ecr.us-east-1.amazonaws.com/r{i:03}:1" for i in range(100)]
    images = [GraphImage(uri, parse_image(uri), users) for uri in uris]
    missing, *_ = image_warnings(images[:1], {images[0].image: NO_REPOSITORY}, "123456789012")
    assert ("and endpoints.e000, endpoints.e001, endpoints.e002, endpoints.e003, endpoints.e004, endpoints.e005 and "
            "94 more run it") in missing and "e006" not in missing
    (unchecked,) = image_warnings(images, {}, "123456789012", "no answer within 3 s")
    first = "endpoints.e000, endpoints.e001, endpoints.e002, endpoints.e003, endpoints.e004, endpoints.e005 and 94 more"
    assert f"not missing: {uris[0]} ({first}); {uris[1]} ({first}); " in unchecked
    assert f"{uris[5]} ({first}) and 94 more. Make sure each is pushed" in unchecked and "r006" not in unchecked
    assert len(unchecked) < 2_000, len(unchecked)
