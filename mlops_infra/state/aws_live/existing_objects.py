"""Whether SageMaker models and endpoint configs exist under given names, and which a rollout keeps (audit
rolloutaws-7: the previous version set back in the spec compiles the names of the objects the rollout controller
kept; ``plan/adopted.py`` says why, ``apply/adoption.py`` what apply does with the answer).

Contract: :func:`read_existing` asks, for each ``(kind, name)`` (``model`` or ``config``), ``DescribeModel``
(``ModelName``) or ``DescribeEndpointConfig`` (``EndpointConfigName``) (botocore sagemaker 2017-07-24): an
answer is ``found``; SageMaker's not-found answer (a ValidationException "Could not find model ...",
:func:`~mlops_infra.state.aws_live.retry.is_not_found`; terraform-provider-aws reads any ValidationException of
``DescribeModel`` as not found too, ``internal/service/sagemaker/model.go`` ``findModelByName``) is not; any other
error is ``unread`` with a secret-free description (:func:`~mlops_infra.state.aws_live.retry.describe_error`), never
a guess. For each endpoint named in ``endpoints`` it then reads the endpoint's tags (``DescribeEndpoint`` for its
ARN, every ``ListTags`` page) and collects the names of the rollout controller's kept entries
(``mlops-infra:kept:<kind>:<name>``, :data:`mlops_infra.endpoint_tags.KEPT_TAG_PREFIX`); an endpoint that cannot be
read keeps nothing (the words only: "kept by the last rollout" or not). Only reads: needs
``sagemaker:DescribeModel``, ``sagemaker:DescribeEndpointConfig``, ``sagemaker:DescribeEndpoint`` and
``sagemaker:ListTags``. :func:`sagemaker_client` is the bounded client ``plan --refresh`` and ``apply`` ask with
(connect 5 s, read 10 s, botocore standard retries, 3 attempts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlops_infra.endpoint_tags import KEPT_TAG_PREFIX
from mlops_infra.state.aws_live.retry import describe_error, is_not_found

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0


def sagemaker_client(region: str | None, endpoint_url: str | None = None) -> Any:
    """A SageMaker client for ``region`` (``endpoint_url``: ``AWS_ENDPOINT_URL``, e.g. a moto server), each call
    bounded (see the module contract)."""
    import boto3
    from botocore.config import Config

    return boto3.client("sagemaker", region_name=region, endpoint_url=endpoint_url, config=Config(
        connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries={"max_attempts": 3, "mode": "standard"}))


@dataclass
class ExistingRead:
    """What :func:`read_existing` found."""

    found: set[tuple[str, str]] = field(default_factory=set)
    """``(kind, name)`` of each object SageMaker has."""
    kept: set[str] = field(default_factory=set)
    """Names the given endpoints record as kept by a rollout (their ``mlops-infra:kept:*`` tags)."""
    unread: dict[tuple[str, str], str] = field(default_factory=dict)
    """``(kind, name)`` -> why it could not be read."""


def read_existing(sagemaker: Any, objects: Sequence[tuple[str, str]], endpoints: Iterable[str] = ()) -> ExistingRead:
    """Which of ``objects`` exist, and what ``endpoints`` keep (see the module contract)."""
    result = ExistingRead()
    for kind, name in objects:
        try:
            if kind == "model":
                sagemaker.describe_model(ModelName=name)
            else:
                sagemaker.describe_endpoint_config(EndpointConfigName=name)
        except Exception as exc:  # botocore errors: not found, or said
            if not is_not_found(exc):
                result.unread[(kind, name)] = describe_error(exc)
            continue
        result.found.add((kind, name))
    for endpoint in sorted(set(endpoints)):
        try:
            result.kept |= kept_names(sagemaker, endpoint)
        except Exception:  # the words only: never stops a plan or an apply
            continue
    return result


def kept_names(sagemaker: Any, endpoint: str) -> set[str]:
    """The names of the kept entries on the endpoint named ``endpoint`` (every ``ListTags`` page)."""
    request = {"ResourceArn": sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointArn"]}
    names: set[str] = set()
    while True:
        page = sagemaker.list_tags(**request)
        for tag in page.get("Tags", []):
            kind, _, name = tag["Key"][len(KEPT_TAG_PREFIX):].partition(":")
            if tag["Key"].startswith(KEPT_TAG_PREFIX) and kind in ("config", "model") and name:
                names.add(name)
        if not page.get("NextToken"):
            return names
        request["NextToken"] = page["NextToken"]
