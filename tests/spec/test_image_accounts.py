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
from mlops_infra.spec import image_accounts, load_system, parse_system
from mlops_infra.spec.context import CheckContext
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
    (found,) = warnings_of(SYSTEM)  # prod only: staging runs in the image's account
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


SERVED = edit(SYSTEM, "  - {name: scorer, framework: pytorch}", "  - name: scorer\n    framework: pytorch\n"
              "    serving_image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/serve:1")


def test_two_repositories_of_one_account_are_one_warning_naming_both_and_every_role() -> None:
    """The served image's repository and the training image's, both of account 111111111111: one warning in prod,
    at the first image, naming both repositories (sorted), both items, and one statement for both policies."""
    (found,) = warnings_of(SERVED)
    assert found.address == "training_jobs.train" and found.location.line == line_of(SERVED, "image: 111111111111")
    assert found.summary == ("training_jobs.train and models.scorer: the image repositories serve and train are in "
                             "account 111111111111, environment prod runs in account 222222222222")
    assert "add this statement to the repository policy of each of its 2 repositories serve, train (" in found.detail
    assert "`aws ecr set-repository-policy --repository-name NAME` for each," in found.detail
    roles = statement_of(found.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert roles == ["arn:aws:iam::222222222222:role/imgs-prod-serve-api",
                     "arn:aws:iam::222222222222:role/imgs-prod-serve-api-b",
                     "arn:aws:iam::222222222222:role/imgs-prod-train-train"]
    assert found.detail.endswith("in environment prod, override training_jobs.train.image, "
                                 "models.scorer.serving_image.")


def test_two_accounts_are_two_warnings_each_with_its_own_repositories_and_roles() -> None:
    """Two repositories of account 111111111111 (two jobs) and one of 333333333333 (the served image): prod warns
    once per account (not once per repository), each naming only the roles that pull from that account."""
    text = edit(SERVED, "    serving_image: 111111111111.dkr", "    serving_image: 333333333333.dkr")
    text = edit(text, "    registers: scorer\n", "    registers: scorer\n  - name: prep\n    cluster: gpu\n"
                "    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/prep:1\n")
    found = {d.summary.split(" are in account " if " are in " in d.summary else " is in account ")[1]: d
             for d in warnings_of(text, "prod")}
    assert sorted(found) == ["111111111111, environment prod runs in account 222222222222",
                             "333333333333, environment prod runs in account 222222222222"]
    first, served = found["111111111111, environment prod runs in account 222222222222"], found[
        "333333333333, environment prod runs in account 222222222222"]
    assert first.summary.startswith("training_jobs.train and training_jobs.prep: the image repositories prep and "
                                    "train are in account ")
    assert statement_of(first.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::222222222222:role/imgs-prod-train-prep", "arn:aws:iam::222222222222:role/imgs-prod-train-train"]
    assert served.summary.startswith("models.scorer: the image repository serve is in account ")
    assert served.location.line == line_of(text, "serving_image: 333333333333")
    assert statement_of(served.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::222222222222:role/imgs-prod-serve-api", "arn:aws:iam::222222222222:role/imgs-prod-serve-api-b"]
    # staging runs in 111111111111: only the served image's account warns there
    assert [d.summary.split(": ")[1] for d in warnings_of(text, "staging")] == [
        "the image repository serve is in account 333333333333, environment staging runs in account 111111111111"]


def many_repositories(count: int, system: str = "imgs", job: str = "job", api: str = "api") -> str:
    """``count`` jobs, each with its own repository of account 111111111111 and registering its own model, served
    (by the training image) by one endpoint each: ``count`` repositories, ``2 * count`` pulling roles per AWS
    environment; staging (333333333333) and prod (222222222222) both pull across accounts."""
    jobs = "".join(f"  - name: {job}-{i:03}\n    cluster: gpu\n    image: 111111111111.dkr.ecr.us-east-1.amazonaws.com"
                   f"/repo-{i:03}:1\n    registers: model-{i:03}\n" for i in range(count))
    models = "".join(f"  - {{name: model-{i:03}, framework: pytorch}}\n" for i in range(count))
    endpoints = "".join(f"  - {{name: {api}-{i:03}, model: {{name: model-{i:03}, version: 1}}, instance_type: "
                        f"ml.m5.xlarge, replicas: {{min: 1, max: 1}}}}\n" for i in range(count))
    text = SYSTEM.replace("metadata: {name: imgs}", f"metadata: {{name: {system}}}")
    text = text.replace(text[text.index("training_jobs:\n"):text.index("environments:\n")],
                        f"training_jobs:\n{jobs}models:\n{models}endpoints:\n{endpoints}")
    return text.replace('account: "111111111111"}}', 'account: "333333333333"}}')


def test_one_hundred_repositories_and_two_hundred_roles_are_one_warning_whose_statement_fits_the_policy() -> None:
    """The statement's ARNs would not fit (200 roles, about 11,000 characters, over a whole repository policy's
    10,240): it names the roles by the train and serve patterns, which match exactly the compiled training and
    serving roles, and both environments' statements fit one policy many times over."""
    text = many_repositories(100)
    loaded = parse_system(text, "case.yaml")
    found = [d for d in loaded.diagnostics if d.code == CODE]
    assert [d.summary for d in found] == [
        f"training_jobs.job-000, training_jobs.job-001, training_jobs.job-002 and 197 more: the image repositories "
        f"repo-000, repo-001, repo-002 and 97 more are in account 111111111111, environment {env} runs in account "
        f"{account}" for env, account in (("prod", "222222222222"), ("staging", "333333333333"))]
    statements = []
    for diagnostic in found:
        assert "each of its 100 repositories repo-000, repo-001, repo-002, repo-003, repo-004, repo-005 and 94 more (" \
            in diagnostic.detail
        assert "roles of its 100 training jobs and 100 endpoints (named by pattern" in diagnostic.detail
        statement = statement_of(diagnostic.detail)
        assert len(json.dumps(statement, separators=(",", ":"))) <= image_accounts.STATEMENT_BUDGET
        statements.append(statement)
    prod = statements[0]["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert prod == ["arn:aws:iam::222222222222:role/imgs-prod-serve-*", "arn:aws:iam::222222222222:role/imgs-prod-train-*"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))
    assert len(policy) <= image_accounts.POLICY_TEXT_MAX // 4
    roles = {r.inputs["name"] for r in compile_system(parse_system(text, "case.yaml", "prod").system, "prod").resources
             if r.type == "aws:iam/role:Role"}
    matched = {n for n in roles if any(fnmatchcase(f"arn:aws:iam::222222222222:role/{n}", p) for p in prod)}
    assert len(matched) == 200 and matched == {n for n in roles if "-train-job-" in n or "-serve-api-" in n}


def test_one_hundred_repositories_are_six_names_and_how_many_more_and_every_name_is_in_the_json() -> None:
    """The bench system's warning (100 repositories, 100 image overrides, 100 models, benchmarks/bench_cli.py) was
    one sentence of about 6,000 characters naming every one of them: the detail names the first six of each list
    and how many more, says where the rest are, and ``names`` (``validate --format json``) carries all of them,
    sorted as the text shows them, for a script to loop over."""
    (found,) = warnings_of(many_repositories(100), "prod")
    shown = ", ".join(f"{{}}-{i:03}{{}}" for i in range(6))
    assert f"repositories {shown.format(*['repo', ''] * 6)} and 94 more (" in found.detail
    assert f"override {shown.format(*['training_jobs.job', '.image'] * 6)} and 94 more; " in found.detail
    assert f"give {shown.format(*['models.model', ''] * 6)} and 94 more a serving_image there." in found.detail
    assert ("merged with the statements it has; `mlops-infra validate --format json` lists every repository, "
            "override and model in this diagnostic's names): ") in found.detail
    assert len(found.detail) < 2_000, len(found.detail)
    names = found.to_json()["names"]
    assert names == {"repositories": [f"repo-{i:03}" for i in range(100)],
                     "overrides": [f"training_jobs.job-{i:03}.image" for i in range(100)],
                     "serving_images": [f"models.model-{i:03}" for i in range(100)]}


def test_a_list_of_up_to_seven_names_is_written_whole_and_says_nothing_of_json() -> None:
    """Seven repositories (``and 1 more`` would hide nothing): every name, as before, and no pointer to the JSON;
    the JSON carries the names all the same."""
    (found,) = warnings_of(many_repositories(7), "prod")
    repositories = ", ".join(f"repo-{i:03}" for i in range(7))
    assert f"each of its 7 repositories {repositories} (`aws ecr set-repository-policy" in found.detail
    assert "merged with the statements it has): " in found.detail and "--format json" not in found.detail
    assert found.to_json()["names"]["repositories"] == [f"repo-{i:03}" for i in range(7)]


def test_few_roles_are_listed_by_arn_and_the_patterns_keep_the_cut_prefix_of_long_names() -> None:
    """Up to the statement budget the roles are exact ARNs; past it, patterns, which keep matching the compiled
    roles when the prefix itself is over the 56 characters the compiler keeps of a cut name."""
    (few,) = warnings_of(many_repositories(3), "prod")
    assert all("*" not in a for a in statement_of(few.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"])
    assert len(json.dumps(statement_of(few.detail), separators=(",", ":"))) <= image_accounts.STATEMENT_BUDGET
    system = "a-system-named-so-its-role-prefixes-pass-56ch"  # "<system>-prod-train-" has 57 characters
    assert len(system) == 45
    # role names of 64 characters (uncut: 16 ARNs, over the budget, so the patterns, cut to 56 characters), then of
    # 69 (cut: each ARN is its name's first 56 characters and "-*", two of them, under the budget)
    for job, api, end in (("job", "api", "*"), ("a-longer-job", "a-longer-api", "-*")):
        text = many_repositories(8, system, job, api)
        (found,) = warnings_of(text, "prod")
        patterns = statement_of(found.detail)["Condition"]["ArnLike"]["aws:PrincipalArn"]
        assert patterns == [f"arn:aws:iam::222222222222:role/{system}-prod-{kind}{end}" for kind in ("serve", "train")]
        assert ("named by pattern" in found.detail) == (end == "*")
        roles = {r.inputs["name"] for r in compile_system(parse_system(text, "case.yaml", "prod").system,
                                                         "prod").resources if r.type == "aws:iam/role:Role"}
        matched = {n for n in roles if any(fnmatchcase(f"arn:aws:iam::222222222222:role/{n}", p) for p in patterns)}
        assert len(matched) == 16 and all(len(n) == 64 for n in matched)
        assert {n for n in matched if f"-{job}-" in n or f"-{api}-" in n} == (matched if job == "job" else set())


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


class _Visits(tuple):
    """A system's endpoints that count how many of them are visited (each item an iteration yields)."""

    visited = 0

    def __iter__(self):
        for item in tuple.__iter__(self):
            _Visits.visited += 1
            yield item


def test_the_endpoints_are_visited_once_not_once_per_model() -> None:
    """The check finds each model's endpoints from one pass over the endpoints: 40 models, each served by one
    endpoint in another account's repository, visit at most a few times 40 endpoints (each model's own scan of every
    endpoint was 40 x 40; 100,000 visits for the 100 models and 1,000 endpoints of benchmarks/bench_cli.py's spec),
    with the same warning: every model, every repository."""
    count = 40
    models = "".join(f"  - {{name: m{i}, framework: pytorch, artifacts_uri: s3://imgs-models/m{i}/, "
                     f"serving_image: 111111111111.dkr.ecr.us-east-1.amazonaws.com/r{i}:1}}\n" for i in range(count))
    endpoints = "".join(f"  - {{name: e{i}, model: {{name: m{i}, version: 1}}, instance_type: ml.m5.xlarge, "
                        f"replicas: {{min: 1, max: 1}}}}\n" for i in range(count))
    text = ("apiVersion: mlops-infra/v1\nkind: MLSystem\nmetadata: {name: imgs}\nmodels:\n" + models
            + "endpoints:\n" + endpoints
            + 'environments:\n  prod: {target: {kind: aws, region: us-east-1, account: "222222222222"}}\n')
    loaded = parse_system(text, "case.yaml", "prod")
    assert loaded.system is not None
    system = loaded.system.model_copy(update={"endpoints": _Visits(loaded.system.endpoints)})
    ctx = CheckContext.build(system, "prod")
    _Visits.visited = 0
    found = list(image_accounts.check_image_accounts(ctx, "prod", system.environments["prod"]))

    assert _Visits.visited <= 3 * count, _Visits.visited
    assert [d.code for d in found] == [CODE]
    assert dict(found[0].names)["repositories"] == tuple(sorted(f"r{i}" for i in range(count)))
    assert found[0].summary.startswith("models.m0, models.m1, models.m2 and 37 more: ")
