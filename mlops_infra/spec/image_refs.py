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
"""

from __future__ import annotations

import re
from typing import Annotated

from docker_image import reference
from pydantic import AfterValidator, Field

IMAGE_MAX = 255
EXAMPLE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_DIGEST_AT_END = re.compile(r"^[^@]*@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
"""One ``@``, before a digest that ends the reference (distribution/reference ``DigestRegexp``)."""


def image_problem(text: str) -> str:
    """Why ``text`` is not an image reference, in words (never quoting it), or ``""``."""
    if _SPACE_OR_CONTROL.search(text):
        return "it holds whitespace or a control character"
    if "@" in text and not _DIGEST_AT_END.search(text):
        return ("it holds an '@' that does not start a digest (sha256:<64 hex digits>); credentials such as "
                "user:password@ never go in an image reference")
    if len(text) > IMAGE_MAX:
        return f"it is {len(text)} characters; SageMaker takes image references of at most {IMAGE_MAX}"
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


def _check(text: str) -> str:
    problem = image_problem(text)
    if problem:
        raise ValueError(f"not an image reference: {problem}. Write [registry[:port]/]repository[:tag][@digest], "
                         f"for example {EXAMPLE} (no spaces, shell characters or credentials)")
    return text


ImageReference = Annotated[str, Field(min_length=1), AfterValidator(_check)]
"""A container image reference (see the module docstring)."""
