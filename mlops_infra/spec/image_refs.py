"""Container image references: parsed by the grammar registries and runtimes use, checked at the field.

A training job's ``image`` and a model's ``serving_image`` reach SageMaker (``TrainingImage``,
``PrimaryContainer.Image``) and Kubernetes pods (``image``) unchanged. Each must be an image
reference as Docker and containerd read it: ``[registry[:port]/]repository[:tag][@digest]``, the
grammar of distribution/reference (``reference.ParseNormalizedNamed``, the parser the kubelet and
containerd use), implemented here by the ``docker-image-py`` package, a port of it (lowercase
repository path, tag ``[\\w][\\w.-]{0,127}``, ``algorithm:hex`` digest, repository name at most 255
characters, no whitespace, ``;``, ``|``, quotes or credentials ``user:password@``).

The whole reference is also at most :data:`IMAGE_MAX` characters: botocore ``sagemaker``
``ContainerImage`` and ``AlgorithmImage`` have ``max 255`` (the strictest target; a document is
promoted across targets, spec/limits.py). Messages never quote the reference (it may hold a
credential, which :mod:`mlops_infra.spec.secrets` reports by kind and place).

Cost: importing ``docker-image-py`` compiles its whole grammar (and the ``regex`` module) at every
start. A reference in the common shape, a registry host with a dot (or ``localhost``), lowercase
path components and an optional tag, is accepted by :data:`PLAIN_REFERENCE` (the same grammar,
restricted: every string it matches ``parse_normalized_named`` accepts unchanged, which a property
test checks); only other references load the parser.

:func:`image_pin` tells whether a valid reference names a fixed image (a digest, or a tag other
than ``latest``): without a tag a reference means ``:latest`` ("If you don't specify a tag,
Kubernetes assumes you mean the tag latest", Kubernetes docs, Concepts > Containers > Images,
"Image names"; Docker and SageMaker read it the same way).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

IMAGE_MAX = 255
EXAMPLE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
# compiled when first used (re's cache), not at import: see mlops_infra.secrets.rules.CREDENTIAL_NAME
_DIGEST_AT_END = r"^[^@]*@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$"
"""One ``@``, before a digest that ends the reference (distribution/reference ``DigestRegexp``)."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST_PART = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
PLAIN_REFERENCE = re.compile(
    rf"(?:{_HOST_PART}(?:\.{_HOST_PART})+|localhost)(?::[0-9]+)?/{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?")
"""The common shape of a reference, matched whole: distribution/reference's grammar (regexp.go:
``domainNameComponent``, ``optionalPort``, ``pathComponent`` with ``separator``, ``tag``) with a
lowercase domain that holds a dot (so Docker's ``splitDockerDomain`` takes it as the registry and
nothing is normalised) or ``localhost``, and no digest."""


def image_problem(text: str) -> str:
    """Why ``text`` is not an image reference, in words (never quoting it), or ``""``."""
    if _SPACE_OR_CONTROL.search(text):
        return "it holds whitespace or a control character"
    if "@" in text and not re.search(_DIGEST_AT_END, text):
        return ("it holds an '@' that does not start a digest (sha256:<64 hex digits>); credentials such as "
                "user:password@ never go in an image reference")
    if len(text) > IMAGE_MAX:
        return f"it is {len(text)} characters; SageMaker takes image references of at most {IMAGE_MAX}"
    if PLAIN_REFERENCE.fullmatch(text):
        return ""
    from docker_image import reference  # compiles the whole grammar: only for the other shapes

    try:
        reference.Reference.parse_normalized_named(text)
    except reference.NameTooLong:
        return f"its repository name is over {reference.NAME_TOTAL_LENGTH_MAX} characters"
    except reference.InvalidReference as exc:
        message = str(exc)
        if "lowercase" in message:
            return "its repository path has capital letters; repository paths are lowercase"
        if "hexadecimal" in message:
            return "its repository name is a 64-character hex string, which names an image id, not a repository"
        return "it does not follow the image reference grammar"
    return ""


def image_pin(text: str) -> str:
    """What a valid image reference ``text`` pins: ``"digest"``, ``"tag"``, or ``""`` when it means
    whatever ``latest`` is when pulled (no tag, or the tag ``latest``, without a digest)."""
    if "@" in text:
        return "digest"
    tag = text.rsplit("/", 1)[-1].partition(":")[2]  # a registry port is before the first "/"
    return "tag" if tag and tag != "latest" else ""


def _check(text: str) -> str:
    problem = image_problem(text)
    if problem:
        raise ValueError(f"not an image reference: {problem}. Write [registry[:port]/]repository[:tag][@digest], "
                         f"for example {EXAMPLE} (no spaces, shell characters or credentials)")
    return text


ImageReference = Annotated[str, Field(min_length=1), AfterValidator(_check)]
"""A container image reference (see the module docstring)."""
