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

:func:`check_image_accounts` warns ``image-in-other-account`` once per account and environment: for the ECR images
(a job's ``image``, a served model's ``serving_image``, or a training image reused to serve) of an account that is
not the environment's, at the first such image's field, naming the repositories of that account pulled (sorted: each
needs the statement), the items that pull from them (the first six of each list, then how many more:
:mod:`mlops_infra.name_lists`; ``validate --format json`` carries every name in the diagnostic's ``names``), and ONE
statement to add to each of those repositories' policies: principal the environment's account (``arn:<partition>:iam::<account>:root``), narrowed by
``aws:PrincipalArn`` (a global condition key, IAM User Guide, "AWS global condition context keys") to the roles that
pull from any of them (one statement for all keeps the fix one paste; a role that pulls one repository is thereby
allowed by the others' policies too, where its own identity policy grants nothing: both are needed). A role ARN as
the principal itself would be refused until the role exists ("Invalid principal") and would become a unique id if
the role were re-created (IAM User Guide, "AWS JSON policy elements: Principal", IAM roles); the account with a
condition holds both ways. A repository policy holds at most 10,240 characters (:data:`POLICY_TEXT_MAX`), one such
statement per environment that pulls beside its own: the statement lists the roles' ARNs while it takes at most an
eighth of that (:data:`STATEMENT_BUDGET`), and past it names them by pattern, ``<system>-<env>-train-*`` and
``<system>-<env>-serve-*`` (:func:`role_pattern`), a few hundred characters whatever the number of roles. A pattern
allows any role of the environment's account whose name starts so: compile names so only this system's training and
serving roles of this environment (a role of another system or environment would need a name starting with this
system's and environment's names; when those two take nearly all of the 56 characters the compiler keeps of a cut
name, its other roles too, :func:`role_pattern`), and a role so named still pulls nothing without its own identity
policy's grant (IAM User Guide, "Cross-account policy evaluation logic"), which compile gives only to the roles that
pull; it is not ``<system>-<env>-*``, which would also admit this environment's other roles (pipelines, monitors,
Lambdas). The roles are named as ``compile/aws`` names them (``<system>-<env>-train-<job>``,
``<system>-<env>-serve-<endpoint>``, :func:`role_arn`). Images resolved from ``framework`` + ``framework_version``,
and any image in an account of SageMaker's framework image tables (:mod:`mlops_infra.ml.images`), are AWS's: every
SageMaker user pulls them across accounts, nothing to add. ``plan --refresh`` reads nothing from the image's account
(``ecr:GetRepositoryPolicy`` there needs that account's credentials or its policy's leave), so this is a warning at
validate, not a preflight. Once the statement is in place, the environment's target lists the image's account in
``image_pulls_allowed_by`` and the warning is gone for that account (a warning that cannot be cleared would be one
people learn to skip). An image in another partition than the environment's gets no statement: accounts do not cross
partitions, and :mod:`mlops_infra.spec.containers` makes it an error (``image-in-other-partition``, audit xregion-1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from mlops_infra.diagnostics import Diagnostic, warning
from mlops_infra.name_lists import NAMES_SHOWN, join_names
from mlops_infra.partitions import partition
from mlops_infra.spec.containers import (
    ECR_IMAGE,
    cluster_instance,
    first_registering,
    other_partition,
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
POLICY_TEXT_MAX = 10_240
"""The most characters of a repository policy: botocore ``RepositoryPolicyText`` (``max`` 10240), the
``policyText`` of ECR's SetRepositoryPolicy ("Maximum length of 10240")."""
STATEMENT_BUDGET = POLICY_TEXT_MAX // 8
"""The most characters of a statement that lists its roles' ARNs: one repository policy holds one such statement
per environment that pulls (their Sids differ) beside the statements it has already, so one environment's takes at
most an eighth of :data:`POLICY_TEXT_MAX`; past it the statement names the roles by pattern (:func:`role_pattern`)."""
KINDS = {"train": "training job", "serve": "endpoint"}
"""The middle part of a pulling role's name (``compile/aws/training``: ``("train", job)``, ``compile/aws/serving``:
``("serve", endpoint)``) and the item each role is of."""


def role_arn(region: str, account: str, *parts: str) -> str:
    """The ARN of the role ``compile/aws`` names ``<parts joined by ->``: item names are lowercase DNS labels
    (``spec.base.NAME_PATTERN``), so the name is the parts joined, unless over :data:`ROLE_NAME_MAX`, where the
    compiled name is its first 56 characters and a hash: then the ARN ends in that prefix and ``*`` (an
    ``ArnLike`` pattern; tests/spec/test_image_accounts.py checks both against the compiled roles)."""
    name = "-".join(parts)
    if len(name) > ROLE_NAME_MAX:
        name = name[:ROLE_NAME_MAX - HASH_SUFFIX].rstrip("-") + "-*"
    return f"arn:{partition(region)}:iam::{account}:role/{name}"


def role_pattern(region: str, account: str, system: str, env: str, kind: str) -> str:
    """An ``ArnLike`` pattern of every role ``compile/aws`` names ``<system>-<env>-<kind>-<item>``, cut or not.

    A name of at most :data:`ROLE_NAME_MAX` characters starts with the prefix ``<system>-<env>-<kind>-``; a longer
    one is its first 56 characters, ``-`` stripped from their end, then ``-`` and a hash (``naming.physical_name``),
    which starts with the prefix too when the prefix has at most 56 characters (the ``-`` stripped is given back).
    A longer prefix is cut as the names are, to its first 56 characters less their trailing ``-``: both kinds of
    names start with that, and so may this environment's other roles when the cut falls inside or before ``<kind>``
    (``-s*`` also matches ``-scheduler``), which then pull nothing still: their own policies grant no pull (module
    docstring)."""
    prefix = f"{system}-{env}-{kind}-"
    if len(prefix) > ROLE_NAME_MAX - HASH_SUFFIX:
        prefix = prefix[:ROLE_NAME_MAX - HASH_SUFFIX].rstrip("-")
    return f"arn:{partition(region)}:iam::{account}:role/{prefix}*"


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
    """The repository policy statement that lets ``roles`` (ARNs or ``ArnLike`` patterns) of ``env_account`` pull
    (module docstring); its Sid names the system and environment, so the statements of several environments can
    share one policy."""
    sid = "".join(part.capitalize() for part in f"{system}-{env}".split("-")) + "Pulls"
    return {"Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition(region)}:iam::{env_account}:root"},
            "Action": list(PULL_ACTIONS), "Condition": {"ArnLike": {"aws:PrincipalArn": sorted(set(roles))}}}


def fitted_statement(system: str, env: str, env_account: str, region: str, roles: list[str],
                     kinds: list[str]) -> tuple[dict[str, Any], bool]:
    """The statement of ``roles`` when it takes at most :data:`STATEMENT_BUDGET` characters (compact JSON), else
    the one of the :func:`role_pattern` of each of ``kinds`` (``train``, ``serve``); and whether it is that."""
    exact = repository_statement(system, env, env_account, region, roles)
    if len(_compact(exact)) <= STATEMENT_BUDGET:
        return exact, False
    patterns = [role_pattern(region, env_account, system, env, kind) for kind in kinds]
    return repository_statement(system, env, env_account, region, patterns), True


Pull = tuple[Any, str, list[str], str]
"""(image, item address, the ARNs of the roles that pull it, the roles' kind: ``train`` or ``serve``)."""


def check_image_accounts(ctx: CheckContext, env: str, environment: Environment) -> Iterator[Diagnostic]:
    """A warning per account other than ``env``'s whose ECR repositories items pull from, at the first such
    image's field, naming every such repository, the items that pull and one statement for every repository's
    policy (module docstring)."""
    if environment.target.kind != "aws":
        return
    region, account = environment.target.region, environment.target.account
    allowed = set(environment.target.image_pulls_allowed_by or ())
    system, name = ctx.system, ctx.system.metadata.name
    pulls: list[Pull] = []
    for i, job in enumerate(system.training_jobs):
        image = training_image(job, i, region, cluster_instance(system, job))
        pulls.append((image, f"training_jobs.{job.name}", [role_arn(region, account, name, env, "train", job.name)],
                      "train"))
    instances, registering = serving_instances(system), first_registering(system)
    serving = _endpoints_by_model(system)
    for model in system.models:
        endpoints = serving.get(model.name)
        if not endpoints:
            continue  # nothing in this environment pulls it
        image = serving_image(system, ctx.names["models"], model.name, region,
                              instances.get(model.name, DEFAULT_INSTANCE), registering)
        if image is not None:
            pulls.append((image, f"models.{model.name}",
                          [role_arn(region, account, name, env, "serve", e) for e in endpoints], "serve"))
    owners: dict[str, list[Pull]] = {}
    for pull in pulls:
        owner = _other_account(pull[0], account, region)
        if owner is not None and owner not in allowed:
            owners.setdefault(owner, []).append(pull)
    for owner, found in owners.items():
        yield _warning(found, owner, name, env, region, account)


def _endpoints_by_model(system: Any) -> dict[str, list[str]]:
    """Model name -> the names of the endpoints serving it, in the system's order: one pass over the endpoints
    (not one per model: 100 models and 1,000 endpoints were 100,000 visits, ``benchmarks/bench_cli.py``'s spec)."""
    serving: dict[str, list[str]] = {}
    for endpoint in system.endpoints:
        serving.setdefault(endpoint.model.name, []).append(endpoint.name)
    return serving


def _other_account(image: Any, account: str, region: str) -> str | None:
    """The account of ``image``'s ECR registry when it is neither ``account`` nor AWS's (module docstring), and in
    ``region``'s partition: across partitions no repository policy can let the environment pull (accounts do not
    cross partitions), and :mod:`mlops_infra.spec.containers` makes such an image an error
    (``image-in-other-partition``, audit xregion-1), which ``image_pulls_allowed_by`` does not clear."""
    match = ECR_IMAGE.match(image.uri or "")
    if match is None or image.origin == "framework" or other_partition(image.uri, region) is not None:
        return None  # not ECR or another partition (containers.py says so), or AWS's framework image
    owner = match.group("account")
    return None if owner == account or owner in aws_image_accounts() else owner


def _repository(image: Any) -> str:
    """The repository of an ECR image URI: after the registry, before the digest or tag."""
    return image.uri.split("/", 1)[1].split("@", 1)[0].rsplit(":", 1)[0]


def _compact(statement: dict[str, Any]) -> str:
    return json.dumps(statement, separators=(",", ":"))


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _warning(found: list[Pull], owner: str, system: str, env: str, region: str, account: str) -> Diagnostic:
    """The warning of ``owner``'s repositories: its summary names the first three items and repositories, its detail
    the first :data:`~mlops_infra.name_lists.NAMES_SHOWN` of each list (``mlops_infra.name_lists``), then how many
    more; when a list is cut, the detail says where every name is: ``validate --format json`` carries them whole in
    the diagnostic's ``names`` (``repositories``, ``overrides``, ``serving_images``), for a script to loop over."""
    image, address, _, _ = found[0]
    repositories = sorted({_repository(i) for i, _, _, _ in found})
    items = list(dict.fromkeys(a for _, a, _, _ in found))
    roles = sorted({r for _, _, rs, _ in found for r in rs})
    kinds = [k for k in KINDS if any(kind == k for _, _, _, kind in found)]
    statement, by_pattern = fitted_statement(system, env, account, region, roles, kinds)
    one = len(repositories) == 1
    overrides = [f"{a}.{i.path[-1]}" for i, a, _, _ in found if i.origin != "training image"]
    reused = [a for i, a, _, _ in found if i.origin == "training image"]
    fixes = "; ".join(([f"override {join_names(overrides)}"] if overrides else [])
                      + ([f"give {join_names(reused)} a serving_image there"] if reused else []))
    if by_pattern:
        counts = [(len({r for _, _, rs, k in found if k == kind for r in rs}), KINDS[kind]) for kind in kinds]
        patterns = ", ".join(p.rsplit("/", 1)[1] for p in statement["Condition"]["ArnLike"]["aws:PrincipalArn"])
        who = (f"roles of its {' and '.join(f'{n} {what}{_s(n)}' for n, what in counts)} (named by pattern, "
               f"{patterns}: their {len(roles)} ARNs would take more than {STATEMENT_BUDGET} characters, an eighth "
               f"of the {POLICY_TEXT_MAX} a repository policy may hold)")
    else:
        who = f"role{_s(len(roles))} {join_names([r.rsplit('/', 1)[1] for r in roles])}"
    where = repositories[0] if one else f"each of its {len(repositories)} repositories {join_names(repositories)}"
    command = f"--repository-name {repositories[0]}`" if one else "--repository-name NAME` for each"
    cut = any(len(names) > NAMES_SHOWN + 1 for names in (repositories, overrides, reused))
    every = ("; `mlops-infra validate --format json` lists every repository, override and model in this "
             "diagnostic's names" if cut else "")
    return warning(
        "image-in-other-account",
        f"{join_names(items, 3, last=' and ')}: the image repositor{'y' if one else 'ies'} "
        f"{join_names(repositories, 3, last=' and ')} {'is' if one else 'are'} in account {owner}, environment {env} "
        f"runs in account {account}",
        f"SageMaker pulls from {'it' if one else 'them'} with the execution {who} of account {account}; across "
        f"accounts the repository's policy must allow that too (Amazon ECR User Guide, \"Private repository policy "
        f"examples\"; IAM User Guide, \"Cross-account policy evaluation logic\"), and that policy is in account "
        f"{owner}, which this stack does not manage: apply succeeds, then the pull fails. Fix: in account {owner}, "
        f"add this statement to the repository policy of {where} (`aws ecr set-repository-policy "
        f"{command}, "
        f"merged with the statements it has{every}): {_compact(statement)}, then list the account in "
        f"environments.{env}.target.image_pulls_allowed_by: [\"{owner}\"] (which clears this warning); or push "
        f"the image{'' if one else 's'} to ECR in account {account} and, in environment {env}, {fixes}.",
        image.path, address, {"repositories": repositories, "overrides": overrides, "serving_images": reused})
