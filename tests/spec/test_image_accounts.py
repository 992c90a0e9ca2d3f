"""Images pulled from another account's ECR: validate names the repository policy to add there (audit iam-6).

Rules encoded (sources in mlops_infra/spec/image_accounts.py): a cross-account pull needs the repository's
policy in the image's account besides the execution role's grant, and this stack cannot set it; AWS's framework
images are pulled across accounts by every SageMaker user.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.spec import load_system, parse_system
from mlops_infra.spec.image_accounts import aws_image_accounts
from tests.support.text_edits import edit, line_of

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(REPO.glob("examples/*/mlsystem.yaml"))
CODE = "image-in-other-account"
SYSTEM = """\
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: imgs}
clusters:
  - {name: gpu, accelerator: {type: A10G, count: 1}, nodes: {min: 0, max: 1}}
training_jobs:
  - name: train
    cluster: gpu
    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1
    registers: scorer
models:
  - {name: scorer, framework: pytorch}
endpoints:
  - {name: api, model: {name: scorer, version: 1}, instance_type: ml.m5.xlarge, replicas: {min: 1, max: 1}}
  - {name: api-b, model: {name: scorer, version: 1}, instance_type: ml.m5.xlarge, replicas: {min: 1, max: 1}}
environments:
  staging: {target: {kind: aws, region: us-east-1, account: "111111111111"}}
  prod: {target: {kind: aws, region: us-east-1, account: "222222222222"}}
"""


def warnings_of(text: str, env: str | None = None) -> list:
    return [d for d in parse_system(text, "case.yaml", env).diagnostics if d.code == CODE]


def statement_of(detail: str) -> dict:
    return json.loads(re.search(r"(\{\"Sid\".*\}), then list", detail).group(1))


def test_an_image_in_another_account_warns_with_the_repository_statement_naming_the_roles() -> None:
    (found,) = warnings_of(SYSTEM)
    assert str(found.severity) == "warning"
    # the training image also serves (the model names no serving image): one repository, one warning
    assert found.summary == ("training_jobs.train and models.scorer: the image repository train is in account "
                             "111111111111, environment prod runs in account 222222222222")
    assert found.location.line == line_of(SYSTEM, "image: 111111111111")
    statement = statement_of(found.detail)
    assert statement == {
        "Sid": "ImgsProdPulls", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "Condition": {"ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:role/imgs-prod-serve-api",
                                                       "arn:aws:iam::222222222222:role/imgs-prod-serve-api-b",
                                                       "arn:aws:iam::222222222222:role/imgs-prod-train-train"]}}}
    assert "in account 111111111111, add this statement to the repository policy of train" in found.detail
    assert "override training_jobs.train.image; give models.scorer a serving_image there." in found.detail


def test_a_served_image_names_every_endpoint_role_that_pulls_it_and_one_warning_per_repository() -> None:
    served = edit(SYSTEM, "  - {name: scorer, framework: pytorch}", "  - name: scorer\n    framework: pytorch\n"
                  "    serving_image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/serve:1")
    found = {d.address: d for d in warnings_of(served)}
    assert sorted(found) == ["models.scorer", "training_jobs.train"]
    roles = statement_of(found["models.scorer"].detail)["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert roles == ["arn:aws:iam::222222222222:role/imgs-prod-serve-api",
                     "arn:aws:iam::222222222222:role/imgs-prod-serve-api-b"]
    assert found["models.scorer"].summary.startswith("models.scorer: the image repository serve is in account ")


def test_the_same_account_and_aws_framework_images_do_not_warn() -> None:
    same = edit(SYSTEM, 'account: "222222222222"', 'account: "111111111111"')
    assert warnings_of(same) == []
    dlc = next(iter(sorted(aws_image_accounts())))
    assert warnings_of(SYSTEM.replace("111111111111.dkr", f"{dlc}.dkr")) == []
    framework = edit(SYSTEM, "    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/train:1\n",
                     "    framework: pytorch\n    framework_version: '2.1'\n")
    assert warnings_of(framework) == []
    assert "763104351884" in aws_image_accounts()  # the Deep Learning Containers' account of most regions


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_every_role_a_warning_names_is_a_role_the_compiler_makes(path: Path) -> None:
    """The statement's ``aws:PrincipalArn`` patterns match the compiled roles' names, env by env."""
    loaded = load_system(path)
    assert loaded.system is not None
    for env, environment in loaded.system.environments.items():
        if environment.target.kind != "aws":
            continue
        warned = [d for d in load_system(path, env).diagnostics if d.code == CODE and f"environment {env} " in d.summary]
        system = load_system(path, env).system
        names = {r.inputs["name"] for r in compile_system(system, env).resources if r.type == "aws:iam/role:Role"}
        account = environment.target.account
        for diagnostic in warned:
            for arn in statement_of(diagnostic.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"]:
                assert any(fnmatchcase(f"arn:aws:iam::{account}:role/{n}", arn) for n in names), (env, arn)


def test_the_examples_warn_where_their_images_live_in_a_shared_registry_account() -> None:
    """fraud-detection pulls fraud-train (account 123456789012) in staging and prod; the quickstart has no image
    of its own account elsewhere (framework image, model trained outside)."""
    fraud = REPO / "examples/fraud-detection/mlsystem.yaml"
    found = [d.summary for d in load_system(fraud, "prod").diagnostics if d.code == CODE]
    assert found == ["training_jobs.retrain and models.fraud-model: the image repository fraud-train is in account "
                     "123456789012, environment prod runs in account 222222222222"]
    assert [d for d in load_system(REPO / "examples/quickstart/mlsystem.yaml").diagnostics if d.code == CODE] == []


def test_a_long_role_name_is_matched_by_its_cut_prefix() -> None:
    """Role names over 64 characters are cut and hashed by the compiler: the pattern ends at the cut."""
    job = "a-training-job-with-a-rather-long-name-indeed-x"
    text = SYSTEM.replace("name: train\n", f"name: {job}\n").replace("metadata: {name: imgs}",
                                                                   "metadata: {name: imgs-system-x}")
    (found,) = warnings_of(text, "prod")
    (arn,) = [a for a in statement_of(found.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"] if "-train-" in a]
    assert arn.endswith("-*")
    loaded = parse_system(text, "case.yaml", "prod")
    names = {r.inputs["name"] for r in compile_system(loaded.system, "prod").resources if r.type == "aws:iam/role:Role"}
    assert [n for n in names if fnmatchcase(f"arn:aws:iam::222222222222:role/{n}", arn)] == [
        n for n in names if "-train-" in n]


def test_listing_the_account_in_image_pulls_allowed_by_clears_the_warning_for_that_account_only() -> None:
    """Once the repository policy holds the statement, the user says so on the environment's target and the
    warning is gone; another account's repository still warns (a warning that never clears is one people skip)."""
    assert "environments.prod.target.image_pulls_allowed_by: [\"111111111111\"]" in warnings_of(SYSTEM)[0].detail
    prod = '  prod: {target: {kind: aws, region: us-east-1, account: "222222222222"'
    cleared = edit(SYSTEM, prod + "}}", prod + ', image_pulls_allowed_by: ["111111111111"]}}')
    assert warnings_of(cleared) == []
    other = edit(cleared, "    image: 111111111111.dkr", "    image: 333333333333.dkr")
    assert sorted(d.summary.split(", ")[1] for d in warnings_of(other)) == [
        "environment prod runs in account 222222222222", "environment staging runs in account 111111111111"]
    loaded = parse_system(cleared, "case.yaml")
    assert loaded.system is not None and [str(d.severity) for d in loaded.diagnostics] == []
    bad = parse_system(edit(cleared, '["111111111111"]', '["1111"]'), "case.yaml")
    assert bad.system is None and [d.location.line for d in bad.diagnostics] == [line_of(cleared, "image_pulls_allowed_by")]


def test_the_accounts_file_is_the_image_tables_accounts() -> None:
    """ml/image_tables/accounts.txt (what validate reads) holds exactly the accounts of the image tables."""
    from mlops_infra.spec.image_accounts import ACCOUNTS_FILE, tables_image_accounts

    assert aws_image_accounts() == tables_image_accounts() and len(aws_image_accounts()) > 50
    assert ACCOUNTS_FILE.read_text() == "".join(f"{a}\n" for a in sorted(tables_image_accounts())), (
        "regenerate it: python -c \"from mlops_infra.spec.image_accounts import tables_image_accounts as t; "
        "print(*sorted(t()), sep='\\n')\" > mlops_infra/ml/image_tables/accounts.txt")
