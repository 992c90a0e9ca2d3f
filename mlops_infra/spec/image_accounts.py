"""Images pulled across AWS accounts: the repository policy this stack cannot set (audit iam-6).

On an AWS environment, SageMaker pulls a training job's image with the job's execution role and a served model's
image with the endpoint's execution role (SageMaker Developer Guide, "How to use SageMaker execution roles",
"CreateTrainingJob API: Execution Role Permissions": "Scope Amazon ECR permissions to the registry path ...
``AlgorithmSpecification.TrainingImage``"; "CreateModel API: Execution Role Permissions"). The compiled roles get
``ecr:BatchGetImage``, ``ecr:GetDownloadUrlForLayer`` and ``ecr:BatchCheckLayerAvailability`` on the image's
repository whatever its account (``compile/aws/policies.ecr_pull``). For a repository in *another* account that
is half of it: a private repository is reachable from another account only when its repository policy allows it
(Amazon ECR User Guide, "Private repository policy examples in Amazon ECR": repository policies control "access to
individual Amazon ECR repositories"; pulumi-aws ``ecr.RepositoryPolicy``'s own example grants these pull actions to
another account's principal), and a cross-account request needs both the caller's identity policy and the
resource's policy (IAM User Guide, "Cross-account policy evaluation logic"). That policy lives in the image's
account, which this environment's stack does not manage, so it is not compiled: an apply succeeds and every
training run, and every endpoint creation, then fails at the pull.

:func:`check_image_accounts` warns ``image-in-other-account`` at the image's field for each ECR image (a job's
``image``, a served model's ``serving_image``, or a training image reused to serve) whose account is not the
environment's, naming the statement to add to that repository's policy: principal the environment's account
(``arn:<partition>:iam::<account>:root``), narrowed by ``aws:PrincipalArn`` (a global condition key, IAM User
Guide, "AWS global condition context keys") to the roles that pull. A role ARN as the principal itself would
be refused until the role exists ("Invalid principal") and would become a unique id if the role were re-created
(IAM User Guide, "AWS JSON policy elements: Principal", IAM roles); the account with a condition holds both ways.
The roles are named as ``compile/aws`` names them (``<system>-<env>-train-<job>``, ``<system>-<env>-serve-<endpoint>``,
:func:`role_arn`). Images resolved from ``framework`` + ``framework_version``, and any image in an account of
SageMaker's framework image tables (:mod:`mlops_infra.ml.images`), are AWS's: every SageMaker user pulls them
across accounts, nothing to add. ``plan --refresh`` reads nothing from the image's account
(``ecr:GetRepositoryPolicy`` there needs that account's credentials or its policy's leave), so this is a warning at
validate, not a preflight. Once the statement is in place, the environment's target lists the image's account in
``image_pulls_allowed_by`` and the warning is gone for that account's repositories (a warning that cannot be cleared
would be one people learn to skip).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.partitions import partition
from mlops_infra.spec.containers import (
    ECR_IMAGE,
    cluster_instance,
    first_registering,
    serving_image,
    serving_instances,
    training_image,
)
from mlops_infra.spec.context import CheckContext
from mlops_infra.spec.environments import Environment
from mlops_infra.spec.fit import DEFAULT_INSTANCE

PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
"""What the execution role pulls with (the compiled ``policies.ECR_PULL_ACTIONS``)."""
ROLE_NAME_MAX = 64
"""IAM role names are at most 64 characters; ``compile/aws/iam.add_role`` cuts longer names (``naming.physical_name``)."""
HASH_SUFFIX = 8
"""What ``naming.physical_name`` appends to a cut name: ``-`` and a 7-character hash."""


def role_arn(region: str, account: str, *parts: str) -> str:
    """The ARN of the role ``compile/aws`` names ``<parts joined by ->``: item names are lowercase DNS labels
    (``spec.base.NAME_PATTERN``), so the name is the parts joined, unless over :data:`ROLE_NAME_MAX`, where the
    compiled name is its first 56 characters and a hash: then the ARN ends in that prefix and ``*`` (an
    ``ArnLike`` pattern; tests/spec/test_image_accounts.py checks both against the compiled roles)."""
    name = "-".join(parts)
    if len(name) > ROLE_NAME_MAX:
        name = name[:ROLE_NAME_MAX - HASH_SUFFIX].rstrip("-") + "-*"
    return f"arn:{partition(region)}:iam::{account}:role/{name}"


ACCOUNTS_FILE = Path(__file__).resolve().parents[1] / "ml" / "image_tables" / "accounts.txt"
"""Every account of SageMaker's framework image tables (all regions), one per line: what
:func:`tables_image_accounts` walks out of ``ml/image_tables/*.json``, kept beside them (a test keeps the two
equal) so that validate reads 101 lines instead of importing and walking the tables (``tests/cli/
test_startup_imports.py``: a spec without framework images never loads :mod:`mlops_infra.ml.images`)."""


@cache
def aws_image_accounts() -> frozenset[str]:
    """AWS's image registries' accounts (:data:`ACCOUNTS_FILE`)."""
    return frozenset(ACCOUNTS_FILE.read_text(encoding="utf-8").split())


def tables_image_accounts() -> frozenset[str]:
    """Every account of SageMaker's framework image tables, walked out of them (what :data:`ACCOUNTS_FILE` holds)."""
    from mlops_infra.ml import images  # the image tables

    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "registries" and isinstance(item, dict):
                    found.update(str(a) for a in item.values())
                else:
                    walk(item)

    for framework in images.FRAMEWORKS:
        walk(json.loads((images.TABLES / f"{framework}.json").read_text(encoding="utf-8")))
    return frozenset(found)


def repository_statement(system: str, env: str, env_account: str, region: str, roles: list[str]) -> dict[str, Any]:
    """The repository policy statement that lets ``roles`` of ``env_account`` pull (module docstring); its Sid
    names the system and environment, so the statements of several environments can share one policy."""
    sid = "".join(part.capitalize() for part in f"{system}-{env}".split("-")) + "Pulls"
    return {"Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition(region)}:iam::{env_account}:root"},
            "Action": list(PULL_ACTIONS), "Condition": {"ArnLike": {"aws:PrincipalArn": sorted(set(roles))}}}


def check_image_accounts(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """A warning per ECR repository of another account than ``env``'s that an item pulls from, at the first
    such image's field, naming every role of ``env`` that pulls from it (module docstring)."""
    if environment.target.kind != "aws":
        return
    region, account = environment.target.region, environment.target.account
    allowed = set(environment.target.image_pulls_allowed_by or ())
    system, name = ctx.system, ctx.system.metadata.name
    pulls: list[tuple[Any, str, list[str]]] = []
    for i, job in enumerate(system.training_jobs):
        image = training_image(job, i, region, cluster_instance(system, job))
        pulls.append((image, f"training_jobs.{job.name}", [role_arn(region, account, name, env, "train", job.name)]))
    instances, registering = serving_instances(system), first_registering(system)
    for model in system.models:
        endpoints = [e.name for e in system.endpoints if e.model.name == model.name]
        if not endpoints:
            continue  # nothing in this environment pulls it
        image = serving_image(system, ctx.names["models"], model.name, region,
                              instances.get(model.name, DEFAULT_INSTANCE), registering)
        if image is not None:
            pulls.append((image, f"models.{model.name}",
                          [role_arn(region, account, name, env, "serve", e) for e in endpoints]))
    repositories: dict[tuple[str, str], list[tuple[Any, str, list[str]]]] = {}
    for image, address, roles in pulls:
        owner = _other_account(image, account)
        if owner is not None and owner not in allowed:
            repository = image.uri.split("/", 1)[1].split("@", 1)[0].rsplit(":", 1)[0]
            repositories.setdefault((owner, repository), []).append((image, address, roles))
    for (owner, repository), found in repositories.items():
        yield _warning(found, owner, repository, name, env, region, account)


def _other_account(image: Any, account: str) -> str | None:
    """The account of ``image``'s ECR registry when it is neither ``account`` nor AWS's (module docstring)."""
    match = ECR_IMAGE.match(image.uri or "")
    if match is None or image.origin == "framework":
        return None  # not ECR (containers.py says so), or AWS's framework image
    owner = match.group("account")
    return None if owner == account or owner in aws_image_accounts() else owner


def _warning(found: list[tuple[Any, str, list[str]]], owner: str, repository: str, system: str, env: str,
             region: str, account: str) -> Diagnostic:
    image, address, _ = found[0]
    roles = sorted({r for _, _, rs in found for r in rs})
    items = " and ".join(dict.fromkeys(a for _, a, _ in found))
    fixes = "; ".join(
        f"give {a} a serving_image there" if i.origin == "training image" else f"override {a}.{i.path[-1]}"
        for i, a, _ in found)
    statement = json.dumps(repository_statement(system, env, account, region, roles), separators=(",", ":"))
    who = ", ".join(r.rsplit("/", 1)[1] for r in roles)
    return warning(
        "image-in-other-account",
        f"{items}: the image repository {repository} is in account {owner}, environment {env} runs in account {account}",
        f"SageMaker pulls from it with the execution role{'s' if len(roles) > 1 else ''} {who} of account {account}; "
        f"across accounts the repository's policy must allow that too (Amazon ECR User Guide, \"Private repository "
        f"policy examples\"; IAM User Guide, \"Cross-account policy evaluation logic\"), and that policy is in "
        f"account {owner}, which this stack does not manage: apply succeeds, then the pull fails. Fix: in account "
        f"{owner}, add this statement to the repository policy of {repository} (`aws ecr set-repository-policy "
        f"--repository-name {repository}`, merged with the statements it has): {statement}, then list the account in "
        f"environments.{env}.target.image_pulls_allowed_by: [\"{owner}\"] (which clears this warning); or push "
        f"the image to ECR in account {account} and, in environment {env}, {fixes}.",
        image.path, address)
