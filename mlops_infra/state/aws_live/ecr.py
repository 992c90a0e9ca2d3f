"""ECR image repositories: pure ``map_*`` mappers, ``_read_*`` readers and their :data:`READERS`
entries.

``DescribeRepositories`` carries no tags (botocore ``ecr`` ``Repository``), so a repository's tags come
from ``ListTagsForResource`` by its ARN, in its read (one more call per repository; a system has one
repository per image). Not from the Resource Groups Tagging API (:mod:`.tagging`): moto does not answer
it for ECR (its ECR backend is not a ``TaggableResourcesMixin``), so that read could not be tested here.

A lifecycle policy (``aws:ecr/lifecyclePolicy:LifecyclePolicy``; pulumi-aws keeps the repository's name
as its id) is read with ``GetLifecyclePolicy(repositoryName=...)`` (botocore ``ecr``:
``lifecyclePolicyText``); a deleted policy answers ``LifecyclePolicyNotFoundException`` and a deleted
repository ``RepositoryNotFoundException``: gone (untagged images are then never expired). Drift
compares the policy as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_infra.state.aws_live.context import ScanContext
from mlops_infra.state.aws_live.reader import Reader, Reading
from mlops_infra.state.aws_live.shapes import drop_none, tag_map
from mlops_infra.state.aws_live.tracking import TAGS, Tracking
from mlops_infra.state.aws_live.tracking import Tracked as T
from mlops_infra.state.model import StateResource


def map_ecr_repository(repository: Mapping[str, Any]) -> Reading:
    """One ``DescribeRepositories`` entry -> ``aws:ecr/repository:Repository``."""
    inputs = drop_none({
        "name": repository.get("repositoryName"),
        "imageTagMutability": repository.get("imageTagMutability"),
        "imageScanningConfiguration": repository.get("imageScanningConfiguration"),
        "encryptionConfigurations": (
            [drop_none(repository["encryptionConfiguration"])] if repository.get("encryptionConfiguration") else None
        ),
    })
    outputs = drop_none({"arn": repository.get("repositoryArn"), "repositoryUrl": repository.get("repositoryUri")})
    return Reading(inputs, outputs)


def _read_ecr_repository(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    repositories = client.describe_repositories(repositoryNames=[res.id]).get("repositories", [])
    if not repositories:
        return None
    reading = map_ecr_repository(repositories[0])
    tags = tag_map(client.list_tags_for_resource(resourceArn=reading.outputs["arn"]).get("tags"))
    return Reading({**reading.inputs, "tags": tags}, reading.outputs)


def map_lifecycle_policy(response: Mapping[str, Any]) -> Reading:
    """``GetLifecyclePolicy`` -> ``aws:ecr/lifecyclePolicy:LifecyclePolicy``."""
    inputs = drop_none({"repository": response.get("repositoryName"), "policy": response.get("lifecyclePolicyText")})
    return Reading(inputs, drop_none({"registryId": response.get("registryId")}))


def _read_lifecycle_policy(client: Any, res: StateResource, ctx: ScanContext) -> Reading | None:
    return map_lifecycle_policy(client.get_lifecycle_policy(repositoryName=str(res.inputs.get("repository") or res.id)))


READERS: dict[str, Reader] = {
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": Reader("ecr", Tracking("image lifecycle policy", (
        T("policy", "policy", "json"),
    )), read_one=_read_lifecycle_policy),
    "aws:ecr/repository:Repository": Reader("ecr", Tracking("image repository", (
        T("imageTagMutability", "tag mutability", default="MUTABLE"),
        T("imageScanningConfiguration.scanOnPush", "scan on push", default=False),
        T("encryptionConfigurations", "encryption", computed=True), TAGS,
    )), read_one=_read_ecr_repository),
}
