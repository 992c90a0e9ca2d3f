"""The ECR images an AWS environment runs, checked present before apply (``plan --refresh``; audit preflight-6).

Why: an image tag never pushed (or pushed to another repository or Region) applies clean, since
nothing in ``pulumi up`` pulls it, and the first run fails later: CreateTrainingJob refuses an image it
cannot find ("Cannot find the requested image: <account>.dkr.ecr.us-west-2.amazonaws.com/...:latest
with tag: latest and digest: null", https://github.com/aws/amazon-sagemaker-examples/issues/2450;
"Cannot find repository: custompipeline/preprocessor in registry ID: ... Please check if your ECR
repository exists", https://github.com/aws/amazon-sagemaker-examples/issues/2534). The scheduled
retrain is often that first run, days after the apply, and in a fresh environment every endpoint
waits for the version it registers.

Contract:
- :func:`graph_images` is pure: a desired graph in, each private ECR image it names
  (``<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:<tag>][@<digest>]``, the form
  :data:`mlops_infra.spec.containers.ECR_IMAGE` matches; no tag and no digest is ``latest``, Docker's
  default) with the addresses that use it, sorted by URI. It looks where the compiled graph puts
  images: the pipelines' definitions (a Training step's ``AlgorithmSpecification.TrainingImage``, a
  Processing step's ``AppSpecification.ImageUri``, a RegisterModel step's ``Containers[].Image``: the
  image that serves the version, ``compile/aws/training.py``, ``monitoring.py``), SageMaker models'
  containers, Lambda functions' ``imageUri``, and the facts of the training job and model components
  (a job's ``image``, a model's ``servingImage``). Not checked: the images the graph builds and pushes itself (the
  ``tags`` of its ``docker-build:index:Image`` resources: the apply pushes them before they run), and
  images in AWS's own registries (:func:`mlops_infra.spec.image_accounts.aws_image_accounts`: SageMaker's
  framework images, which ``validate`` resolves from AWS's tables).
- :func:`image_warnings` turns the answers of ECR (:mod:`mlops_infra.state.aws_live.ecr_images`) into
  one warning per image not found (its repository missing, or no image with that tag or digest in
  it), naming the image, the addresses that use it and the fix (push it, or pin a digest that is
  there), and one warning per cause for the images that could not be checked. An image in another
  account than the environment's that could not be read is "could not be checked", never missing:
  that account's repository policy decides whether this account may read it (audit iam-6,
  :mod:`mlops_infra.spec.image_accounts`), and ``validate`` already warns about the pull.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_infra.graph import DesiredGraph
from mlops_infra.name_lists import join_names
from mlops_infra.spec.containers import ECR_IMAGE
from mlops_infra.state.aws_live.ecr_images import FOUND, NO_IMAGE, NO_REPOSITORY, NOT_ASKED, ImageId

BUILT = "docker-build:index:Image"
PIPELINE = "aws:sagemaker/pipeline:Pipeline"
HOLDERS = frozenset((PIPELINE, "aws:sagemaker/model:Model", "aws:lambda/function:Function", "mlops:training:Job",
                     "mlops:registry:Model"))
"""The resource types whose inputs name images (module contract): the last two are the components of
training jobs (``image``) and models (``servingImage``)."""
DENIED = ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")


@dataclass(frozen=True)
class GraphImage:
    """One ECR image the graph names: its ``uri``, what to ask ECR (``image``) and the ``addresses`` using it."""

    uri: str
    image: ImageId
    addresses: tuple[str, ...]


def parse_image(uri: str) -> ImageId | None:
    """The :class:`ImageId` of a private ECR image URI, or None for any other string."""
    match = ECR_IMAGE.match(uri)
    if match is None or any(c.isspace() for c in uri):
        return None
    rest = uri[match.end():]
    name, _, digest = rest.partition("@")
    repository, _, tag = name.rpartition(":") if ":" in name.rsplit("/", 1)[-1] else (name, "", "")
    if not repository or (digest and not digest.startswith("sha256:")):
        return None
    return ImageId(match.group("account"), match.group("region"), repository,
                   "" if digest else (tag or "latest"), digest)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        if value.startswith("{") and ".dkr.ecr" in value:  # a definition kept as JSON text
            try:
                yield from _strings(json.loads(value))
            except ValueError:
                return
        else:
            yield value


def _step_images(pipeline: Any) -> Iterator[str]:
    """The images of a pipeline's steps, where the SageMaker APIs the steps call take them (botocore
    sagemaker: ``CreateTrainingJob`` ``AlgorithmSpecification.TrainingImage``, ``CreateProcessingJob``
    ``AppSpecification.ImageUri``, ``CreateModelPackage`` ``InferenceSpecification.Containers[].Image``):
    a definition holds hundreds of other values, not walked."""
    from mlops_infra.plan.instance_quotas import _definition

    for step in _definition(pipeline).get("Steps") or []:
        arguments = step.get("Arguments") if isinstance(step, dict) else None
        if not isinstance(arguments, dict):
            continue
        yield from _strings([(arguments.get("AlgorithmSpecification") or {}).get("TrainingImage"),
                             (arguments.get("AppSpecification") or {}).get("ImageUri"),
                             *[c.get("Image") for c in (arguments.get("InferenceSpecification") or {}).get("Containers")
                               or [] if isinstance(c, dict)]])


def graph_images(graph: DesiredGraph) -> list[GraphImage]:
    """Each private ECR image ``graph`` names, with its users, by URI (module contract)."""
    from mlops_infra.spec.image_accounts import aws_image_accounts

    built = {tag for r in graph.resources if r.type == BUILT for tag in _strings(r.inputs.get("tags"))}
    users: dict[str, set[str]] = {}
    for resource in graph.resources:
        if resource.type in HOLDERS:
            for text in _step_images(resource) if resource.type == PIPELINE else _strings(resource.inputs):
                if ".dkr.ecr" in text and text not in built:
                    users.setdefault(text, set()).add(resource.address)
    out = []
    for uri, addresses in sorted(users.items()):
        image = parse_image(uri)
        if image is not None and image.registry not in aws_image_accounts():
            out.append(GraphImage(uri, image, tuple(sorted(addresses))))
    return out


def _named(addresses: tuple[str, ...]) -> str:
    return join_names(addresses) + (" runs" if len(addresses) == 1 else " run")


def image_warnings(images: list[GraphImage], answers: Mapping[ImageId, str], account: str,
                   unanswered: str = "") -> list[str]:
    """One warning per image ECR does not have, then one per cause of images not checked (module
    contract); ``account`` is the environment's, ``unanswered`` why an image without an answer has none."""
    out: list[str] = []
    unchecked: dict[str, list[GraphImage]] = {}
    for item in images:
        image, answer = item.image, answers.get(item.image) or unanswered or NOT_ASKED
        where = f"registry {image.registry} in {image.region}"
        if answer == FOUND:
            continue
        if answer == NO_REPOSITORY:
            out.append(f"image: {item.uri} cannot be pulled: ECR has no repository {image.repository} in {where} "
                       f"(DescribeImages: RepositoryNotFoundException), and {_named(item.addresses)} it: the first "
                       "run or endpoint creation that pulls it fails. Create the repository and push the image "
                       "before apply, or correct the image URI.")
        elif answer == NO_IMAGE:
            what = f"digest {image.digest}" if image.digest else f"tag {image.tag}"
            fix = ("push that image, or pin a digest the repository has" if image.digest else
                   f"push it (`docker push {item.uri}`) before apply, or pin a digest the repository has "
                   f"({item.uri.rsplit(':', 1)[0]}@sha256:...)")
            out.append(f"image: {item.uri} is not in ECR: repository {image.repository} in {where} has no image "
                       f"with {what} (DescribeImages: ImageNotFoundException), and {_named(item.addresses)} it: "
                       f"the first run or endpoint creation that pulls it fails (\"Cannot find the requested image\"). "
                       f"Fix: {fix}.")
        else:
            unchecked.setdefault(answer, []).append(item)
    for cause, items in unchecked.items():
        others = sorted({i.image.registry for i in items if i.image.registry != account})
        if cause in DENIED:
            why = (f"access denied ({cause}): needs ecr:DescribeImages on the repositories"
                   + (f"; for account {', '.join(others)}, that account's repository policy must allow it"
                      if others else ""))
        else:
            why = cause
        listed = join_names([f"{i.uri} ({join_names(i.addresses)})" for i in items], sep="; ")
        out.append(f"image: could not check {len(items)} image(s) in ECR ({why}), so whether they are pushed is "
                   f"unknown, not missing: {listed}. Make sure each is pushed before apply.")
    return out
