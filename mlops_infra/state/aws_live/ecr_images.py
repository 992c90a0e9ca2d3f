"""Whether ECR images exist, read live with ``plan --refresh`` (``DescribeImages``; audit preflight-6).

Contract: :func:`image_presence` answers, for each :class:`ImageId` (registry account, Region,
repository, and a tag or a digest), :data:`FOUND`, :data:`NO_IMAGE` (``ImageNotFoundException``:
"The image requested does not exist in the specified repository"), :data:`NO_REPOSITORY`
(``RepositoryNotFoundException``: "The specified repository could not be found"), or why it could not
be asked: the AWS error code (``AccessDeniedException``: another account's repository whose policy
does not allow this account, or a role without ``ecr:DescribeImages``), the botocore exception's class
name, or :data:`NOT_ASKED` when the time given ran out first. Never a guess: only an answer of ECR
itself is found or not found.

How it asks (botocore ``ecr`` 2015-09-21): ``DescribeImages(registryId, repositoryName, imageIds)``,
in the image's own Region (a client per Region: an ECR registry is regional) with ``registryId`` the
URI's account (a cross-account registry is named so: "The Amazon Web Services account ID associated
with the registry that contains the repository ... If you do not specify a registry, the default
registry is assumed"), one call per repository for up to 100 images (``ImageIdentifierList``: min 1,
max 100), each ``ImageIdentifier`` an ``imageTag`` or an ``imageDigest``. An image is found when an
``imageDetails`` entry lists its tag in ``imageTags`` or has its ``imageDigest``. One image not found
fails the whole call with ``ImageNotFoundException`` (moto raises it for the first identifier it
cannot find, ``moto/ecr/models.py`` ``Repository._get_image``; botocore documents only the error), so
a batch so answered is asked again one image at a time. Short timeouts and two attempts per call,
as :mod:`.service_quotas` reads; no call starts after ``until`` (a ``time.monotonic()`` value), so
the caller's bound on the whole read is kept. Needs ``ecr:DescribeImages`` on the repositories.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

CONNECT_TIMEOUT = 5
READ_TIMEOUT = 10
BATCH = 100
"""The most ``imageIds`` of one ``DescribeImages`` call (botocore ``ImageIdentifierList`` ``max``)."""
FOUND = "found"
NO_IMAGE = "ImageNotFoundException"
NO_REPOSITORY = "RepositoryNotFoundException"
NOT_ASKED = "not asked in time"


@dataclass(frozen=True, order=True)
class ImageId:
    """One image to look for: ``registry`` (the account of the URI), ``region``, ``repository``, and its
    ``tag`` or, when pinned, its ``digest`` (``sha256:...``; then the tag is not asked)."""

    registry: str
    region: str
    repository: str
    tag: str = ""
    digest: str = ""

    def identifier(self) -> dict[str, str]:
        """The ``ImageIdentifier`` of a ``DescribeImages`` call."""
        return {"imageDigest": self.digest} if self.digest else {"imageTag": self.tag}

    def found_in(self, details: Iterable[dict[str, Any]]) -> bool:
        """Whether an ``imageDetails`` entry is this image."""
        return any((d.get("imageDigest") == self.digest) if self.digest else (self.tag in (d.get("imageTags") or []))
                   for d in details)


def image_presence(images: Iterable[ImageId], *, endpoint_url: str | None = None, session: Any = None,
                   until: float | None = None) -> dict[ImageId, str]:
    """Each image of ``images`` -> :data:`FOUND`, :data:`NO_IMAGE`, :data:`NO_REPOSITORY` or why it
    could not be asked (module contract)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=CONNECT_TIMEOUT,
                    read_timeout=READ_TIMEOUT)
    session = session or boto3.Session()
    clients: dict[str, Any] = {}
    by_repository: dict[tuple[str, str, str], list[ImageId]] = {}
    for image in sorted(set(images)):
        by_repository.setdefault((image.registry, image.region, image.repository), []).append(image)
    answers: dict[ImageId, str] = {}
    for (registry, region, repository), wanted in by_repository.items():
        if region not in clients:
            clients[region] = session.client("ecr", region_name=region, endpoint_url=endpoint_url, config=config)
        for start in range(0, len(wanted), BATCH):
            answers.update(_ask(clients[region], registry, repository, wanted[start:start + BATCH], until))
    return answers


def _ask(client: Any, registry: str, repository: str, batch: list[ImageId], until: float | None) -> dict[ImageId, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    if until is not None and time.monotonic() >= until:
        return dict.fromkeys(batch, NOT_ASKED)
    try:
        details = client.describe_images(registryId=registry, repositoryName=repository,
                                         imageIds=[i.identifier() for i in batch]).get("imageDetails") or []
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
        if code == NO_IMAGE and len(batch) > 1:  # which one: ask each
            return {k: v for image in batch for k, v in _ask(client, registry, repository, [image], until).items()}
        return dict.fromkeys(batch, code)
    except BotoCoreError as exc:
        return dict.fromkeys(batch, type(exc).__name__)
    return {image: FOUND if image.found_in(details) else NO_IMAGE for image in batch}
