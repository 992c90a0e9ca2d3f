"""Tags of many resources in one call: the Resource Groups Tagging API's ``GetResources`` by ARN, for
the types whose :class:`~mlops_infra.state.aws_live.reader.Reader` says ``tags`` (their own read
carries no tags: CloudWatch ``DescribeAlarms``, SNS ``GetTopicAttributes``, KMS ``DescribeKey``,
SageMaker ``Describe*``, EventBridge ``DescribeRule``, SQS ``GetQueueAttributes``; each service's
own tag call, ``ListTagsForResource``/``ListTags``/``ListResourceTags``/``ListQueueTags``, takes
one resource).

Rules (botocore ``resourcegroupstaggingapi`` ``GetResources``):

- ``ResourceARNList`` holds 1 to :data:`ARNS_PER_CALL` ARNs (``ResourceARNListForGet`` max 100),
  so a scan reads the tags of 100 resources per call, after their reads gave their ARNs.
- "If a resource specified by this parameter doesn't exist, it doesn't generate an error; it simply
  isn't included in the response", and "GetResources does not return untagged resources" (a
  previously tagged one may come back with ``"Tags": []``): an ARN not in the answer has no tags
  (``{}``). A resource deleted between its read and this call reads as untagged; the next scan
  finds it missing.
- The ARN list cannot be sent with ``ResourcesPerPage``, ``TagsPerPage`` or ``PaginationToken``
  ("you get an Invalid Parameter exception"), so no page size is asked for. Should an answer carry
  a ``PaginationToken`` anyway ("You should always check the PaginationToken response value"), the
  next page is asked for with the token alone. moto pages its answer so (``get_resources``: at most
  100 tags per page, ``moto/resourcegroupstaggingapi/models.py``); AWS documents no pages for an
  ARN list.

A scan needs ``tag:GetResources`` for these tags; without it, the resources of those types fail to
read (``AccessDenied`` on their tags) rather than read as untagged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mlops_infra.state.aws_live.shapes import tag_map

SERVICE = "resourcegroupstaggingapi"
"""The boto3 service name of the Resource Groups Tagging API."""
ARNS_PER_CALL = 100
"""ARNs per ``GetResources`` (its ``ResourceARNList`` maximum)."""


def map_tag_mappings(mappings: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """``GetResources.ResourceTagMappingList`` -> ``{ARN: {key: value}}``."""
    return {str(m["ResourceARN"]): tag_map(m.get("Tags")) for m in mappings if m.get("ResourceARN")}


def read_tags(client: Any, arns: Sequence[str]) -> dict[str, dict[str, str]]:
    """The tags of each of ``arns`` (at most :data:`ARNS_PER_CALL`), ``{}`` for an ARN not in the
    answer (see the module rules)."""
    response = client.get_resources(ResourceARNList=list(arns))
    found = map_tag_mappings(response.get("ResourceTagMappingList", []))
    token = response.get("PaginationToken")
    while token:
        response = client.get_resources(PaginationToken=token)
        found |= map_tag_mappings(response.get("ResourceTagMappingList", []))
        token = response.get("PaginationToken")
    return {arn: found.get(arn, {}) for arn in arns}
