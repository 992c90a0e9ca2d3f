"""Every compiled role policy fits IAM's quota on a role's inline policies (compile/aws/iam.py).

IAM refuses ``PutRolePolicy`` when a role's inline policies pass 10,240 characters, white space not
counted (IAM User Guide, "IAM and AWS STS quotas"). The rollout runner's, the pipelines' and the
scheduler's roles list one ARN per canary endpoint, drift monitor or training job, so a system of a few
dozen endpoints made a policy IAM refuses, and its first ``pulumi up`` failed. Checked here:

- the moto server refuses what IAM refuses (tests/support/moto_server.py, patch 9);
- every role and role policy of a 120-endpoint system is put to that server, resolved as at apply
  (fails where the compiler does not widen: :data:`iam.ROLE_POLICY_CHARACTERS` raised, as before);
- the widened policy grants at least what the exact one did, only on this environment's resources,
  and nothing else in the graph changes; a policy under the quota stays exact;
- the count: :func:`iam.policy_characters` is at least what IAM counts, and the ARNs refs resolve to
  are spelled as AWS (moto) writes them;
- a policy that cannot fit is a clear error on the console, exit 1, no traceback.
"""

from __future__ import annotations

import fnmatch
import json
import sys
from typing import Any

import botocore.exceptions
import pytest

from mlops_infra.compile.aws import arns, iam
from mlops_infra.errors import UserError
from mlops_infra.graph import DesiredGraph, is_ref
from mlops_infra.spec import parse_system
from tests.compile.aws import cases
from tests.compile.aws.cases import CASES, REPO, compile_text, compiled, of_type
from tests.support.moto_server import client, handler_zip, reset, running_moto_server

REGION = "eu-west-1"
ENDPOINTS = 120
GROWING_ROLES = ("rollout-runner", "pipelines", "scheduler")


def _generated(endpoints: int, env: str = "prod") -> DesiredGraph:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    loaded = parse_system(generate(endpoints), "bench.yaml", env)
    assert loaded.system is not None
    from mlops_infra.compile import compile_system

    return compile_system(loaded.system, env)


@pytest.fixture(scope="module")
def graph() -> DesiredGraph:
    return _generated(ENDPOINTS)


@pytest.fixture(scope="module")
def exact_graph() -> DesiredGraph:
    """The same system compiled as before the quota was counted: no policy is ever widened."""
    saved = iam.ROLE_POLICY_CHARACTERS
    iam.ROLE_POLICY_CHARACTERS = 10**9
    try:
        return _generated(ENDPOINTS)
    finally:
        iam.ROLE_POLICY_CHARACTERS = saved


def _by_urn(graph: DesiredGraph) -> dict[str, Any]:
    return {r.urn: r for r in graph.resources}


def _resolver(graph: DesiredGraph, role_arns: dict[str, str] | None = None):
    """Refs -> the text they resolve to at apply: a role's ARN as the server returned it, any other
    ARN as :func:`arns.resource_arn` spells it (its spelling is checked against moto below), the KMS
    key's ID a UUID."""
    by_urn = _by_urn(graph)

    def resolve(value: Any) -> Any:
        if is_ref(value):
            resource = by_urn[value["$ref"]]
            if value["output"] == "id":
                return resource.inputs.get("name", resource.name)
            assert value["output"] == "arn", value
            if role_arns is not None and resource.urn in role_arns:
                return role_arns[resource.urn]
            spelled = arns.resource_arn(REGION, "222222222222", resource.type, resource.inputs)
            assert spelled is not None, f"a role policy refers to the ARN of a {resource.type}, which iam cannot count"
            return spelled[0].replace("?" * arns.KEY_ID_LENGTH, "0b7e4d7c-5b0a-4c8e-9a54-3f0c1e2d9a11")
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value
    return resolve


def _role_policies(graph: DesiredGraph) -> dict[str, dict[str, Any]]:
    """Role logical name -> its policy document, refs in place."""
    return {r.name.removesuffix("-policy"): r.inputs["policy"]["$json"] for r in of_type(graph, iam.ROLE_POLICY)}


def _iam_count(document: Any) -> int:
    """What IAM counts: the policy as the program sends it (compact JSON) without white space."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return sum(not c.isspace() for c in text)


# -- the stand-in refuses what IAM refuses ---------------------------------------------------------


def _policy_of(characters: int) -> str:
    head = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::'
    tail = '"}]}'
    return head + "b" * (characters - len(head) - len(tail)) + tail


def test_the_moto_server_refuses_a_role_whose_inline_policies_pass_iams_quota() -> None:
    with running_moto_server() as url:
        client_ = client("iam", url)
        client_.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))
        client_.put_role_policy(RoleName="r", PolicyName="a", PolicyDocument=_policy_of(6_000))
        client_.put_role_policy(RoleName="r", PolicyName="b", PolicyDocument=_policy_of(4_240))  # 10,240: allowed
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            client_.put_role_policy(RoleName="r", PolicyName="b", PolicyDocument=_policy_of(4_241))
        error = refused.value.response
        assert error["Error"]["Code"] == "LimitExceeded"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert error["Error"]["Message"] == "Maximum policy size of 10240 bytes exceeded for role r"
        assert len(client_.get_role_policy(RoleName="r", PolicyName="b")["PolicyDocument"]["Statement"]) == 1
        # white space is not counted; replacing a policy does not count the one it replaces
        spaced = json.dumps(json.loads(_policy_of(4_240)), indent=8)
        client_.put_role_policy(RoleName="r", PolicyName="b", PolicyDocument=spaced)
        client_.put_role_policy(RoleName="r", PolicyName="a", PolicyDocument=_policy_of(6_000))


# -- the compiled roles apply ----------------------------------------------------------------------


def _put_roles(graph: DesiredGraph, url: str) -> list[str]:
    """Create every role of ``graph`` and put its policy, as ``pulumi up`` does; the refused roles."""
    iam_client = client("iam", url)
    role_arns: dict[str, str] = {}
    for role in of_type(graph, iam.ROLE):
        trust = json.dumps(role.inputs["assumeRolePolicy"]["$json"], separators=(",", ":"), sort_keys=True)
        made = iam_client.create_role(RoleName=role.inputs["name"], AssumeRolePolicyDocument=trust)
        role_arns[role.urn] = made["Role"]["Arn"]
    resolve = _resolver(graph, role_arns)
    refused = []
    for policy in of_type(graph, iam.ROLE_POLICY):
        document = json.dumps(resolve(policy.inputs["policy"]["$json"]), separators=(",", ":"), sort_keys=True)
        try:
            iam_client.put_role_policy(RoleName=resolve(policy.inputs["role"]), PolicyName=policy.inputs["name"],
                                       PolicyDocument=document)
        except botocore.exceptions.ClientError as error:
            assert error.response["Error"]["Code"] == "LimitExceeded", error
            refused.append(policy.name)
    return refused


def test_every_role_of_a_120_endpoint_system_applies(graph: DesiredGraph, exact_graph: DesiredGraph) -> None:
    with running_moto_server() as url:
        assert _put_roles(graph, url) == []
        reset(url)  # moto's backends are the process's: forget the roles made above
        # the exact policies, as compiled before the quota was counted: IAM refuses the growing ones
        assert sorted(_put_roles(exact_graph, url)) == sorted(f"{name}-policy" for name in GROWING_ROLES)


# -- what widening grants --------------------------------------------------------------------------


def test_only_the_growing_policies_are_widened_and_nothing_else_changes(graph, exact_graph) -> None:
    exact, fitted = _by_urn(exact_graph), _by_urn(graph)
    assert exact.keys() == fitted.keys()
    changed = sorted(fitted[u].name for u in fitted if fitted[u].to_json() != exact[u].to_json())
    assert changed == sorted(f"{name}-policy" for name in GROWING_ROLES)
    for name, document in _role_policies(graph).items():
        assert iam.policy_characters(_context(graph), document) <= iam.ROLE_POLICY_CHARACTERS, name


def _context(graph: DesiredGraph) -> Any:
    """What :func:`iam.policy_characters` reads of an AwsContext: the graph's resources, region, account."""
    by_urn = _by_urn(graph)

    class Builder:
        resource = staticmethod(by_urn.get)

    class Ctx:
        builder = Builder()

    class Aws:
        ctx = Ctx()
        region = REGION
        account = "222222222222"

        def __init__(self) -> None:
            self.ref_deltas: dict[bytes, int] = {}
            self.ref_arns: dict[str, Any] = {}

    return Aws()


def test_a_widened_policy_grants_what_the_exact_one_did_on_this_environments_resources_only(
        graph, exact_graph) -> None:
    prefix = "bench-platform-prod-"  # <system>-<env>- of the generated system
    exact_docs, fitted_docs = _role_policies(exact_graph), _role_policies(graph)
    resolve_exact, resolve_fitted = _resolver(exact_graph), _resolver(graph)
    widened = 0
    for role, document in fitted_docs.items():
        before = {s["Sid"]: s for s in resolve_exact(exact_docs[role])["Statement"]}
        after = {s["Sid"]: s for s in resolve_fitted(document)["Statement"]}
        assert before.keys() == after.keys(), role
        for sid, statement in after.items():
            old = before[sid]
            assert (statement["Action"], statement.get("Condition")) == (old["Action"], old.get("Condition"))
            for resource in old["Resource"]:  # IAM's * and ? are fnmatch's, and ARNs hold no [
                assert any(fnmatch.fnmatchcase(resource, granted) for granted in statement["Resource"]), (
                    role, sid, resource)
            for granted in set(statement["Resource"]) - set(old["Resource"]):
                widened += 1
                assert granted.endswith(f"{prefix}*"), (role, sid, granted)
                resource_part = granted.split(":", 5)[5]
                assert prefix in resource_part and "*" not in resource_part[:-1], granted
    assert widened >= 5


def test_a_policy_under_the_quota_is_left_exact() -> None:
    """The examples' policies are all under the quota: the same as when nothing is ever widened."""
    from mlops_infra.compile import compile_system

    for _, path, env in CASES:
        saved = iam.ROLE_POLICY_CHARACTERS
        iam.ROLE_POLICY_CHARACTERS = 10**9
        try:
            exact = compile_system(cases.system(path, env), env)
        finally:
            iam.ROLE_POLICY_CHARACTERS = saved
        assert _role_policies(exact) == _role_policies(compiled(path, env))


# -- the count -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["examples", "generated"])
def test_the_count_is_at_least_what_iam_counts_and_every_ref_is_spelled(case: str, graph) -> None:
    graphs = [compiled(path, env) for _, path, env in CASES] if case == "examples" else [graph, _generated(3)]
    counted = 0
    for each in graphs:
        resolve, aws = _resolver(each), _context(each)
        for role, document in _role_policies(each).items():
            ours, theirs = iam.policy_characters(aws, document), _iam_count(resolve(document))
            text = json.dumps(resolve(document), separators=(",", ":"))
            assert ours == theirs + sum(c.isspace() for c in text), (role, ours, theirs)  # it counts white space
            counted += 1
    assert counted > 10


def test_the_arns_refs_resolve_to_are_spelled_as_aws_writes_them() -> None:
    """Each type :func:`arns.resource_arn` spells, made on the moto server: the same ARN (the KMS key:
    the same length)."""
    account = "123456789012"
    with running_moto_server() as url:
        role = client("iam", url).create_role(RoleName="bench-platform-prod-x", AssumeRolePolicyDocument="{}")
        role_arn = role["Role"]["Arn"]
        made = {
            "aws:iam/role:Role": ({"name": "bench-platform-prod-x"}, role_arn),
            "aws:ecr/repository:Repository": ({"name": "bench-platform-prod-drift-job"}, client(
                "ecr", url, REGION).create_repository(repositoryName="bench-platform-prod-drift-job")[
                "repository"]["repositoryArn"]),
            "aws:sns/topic:Topic": ({"name": "bench-platform-prod-pager"}, client("sns", url, REGION).create_topic(
                Name="bench-platform-prod-pager")["TopicArn"]),
            "aws:sagemaker/modelPackageGroup:ModelPackageGroup": (
                {"modelPackageGroupName": "bench-platform-prod-model-000"},
                client("sagemaker", url, REGION).create_model_package_group(
                    ModelPackageGroupName="bench-platform-prod-model-000")["ModelPackageGroupArn"]),
            "aws:sagemaker/pipeline:Pipeline": (
                {"pipelineName": "bench-platform-prod-train-000"},
                client("sagemaker", url, REGION).create_pipeline(
                    PipelineName="bench-platform-prod-train-000", RoleArn=role_arn,
                    PipelineDefinition=json.dumps({"Version": "2020-12-01", "Steps": []}),
                    ClientRequestToken="t" * 32)["PipelineArn"]),
            "aws:lambda/function:Function": (
                {"name": "bench-platform-prod-retrain-x"},
                client("lambda", url, REGION).create_function(
                    FunctionName="bench-platform-prod-retrain-x", Runtime="python3.12", Role=role_arn,
                    Handler="h.handler", Code={"ZipFile": handler_zip()})["FunctionArn"]),
        }
        key = client("kms", url, REGION).create_key()["KeyMetadata"]["Arn"]
    for type_, (inputs, arn) in made.items():
        assert arns.resource_arn(REGION, account, type_, inputs) == (arn, True), type_
    spelled, exact = arns.resource_arn(REGION, account, "aws:kms/key:Key", {})
    assert not exact and len(spelled) == len(key) and spelled.rsplit("/", 1)[0] == key.rsplit("/", 1)[0]




# -- a policy that cannot fit ------------------------------------------------------------------------


def _many_training_jobs(jobs: int) -> str:
    """A system whose training jobs each pull their image from a repository of their own: the
    pipelines role must name every repository, and no name prefix of this environment covers them."""
    lines = [
        "apiVersion: mlops-infra/v1", "kind: MLSystem", "metadata: {name: many-jobs}",
        "data_sources:", "  - {name: data, kind: object_store, encryption: kms}",
        "clusters:", "  - {name: gpu, accelerator: {type: A10G, count: 1}, nodes: {min: 0, max: 2}}",
        "models:", "  - {name: m, framework: pytorch, approval: manual}",
        "training_jobs:",
    ]
    lines += [f"  - {{name: job-{i:03d}, cluster: gpu, image: "
              f"'123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-{i:03d}-trainer:1', inputs: [data], "
              f"registers: m}}" for i in range(jobs)]
    lines += ["environments:", "  prod: {target: {kind: aws, region: eu-west-1, account: '222222222222'}}"]
    return "\n".join(lines) + "\n"


def test_the_pipelines_role_of_many_repositories_reads_no_image_and_fits() -> None:
    """200 training jobs, each pulling from a repository of its own: the pipelines role names none of them
    (its RegisterModel step, ``CreateModelPackage``, needs no ECR action: audit iam-3), so its policy holds no
    ``ecr:`` action and fits IAM's quota; each job's own role pulls exactly its repository."""
    graph = compile_text(_many_training_jobs(200))
    policies = {p.name: p.inputs["policy"]["$json"] for p in of_type(graph, iam.ROLE_POLICY)}
    pipelines = policies["pipelines-policy"]
    assert [s["Sid"] for s in pipelines["Statement"] if any(a.startswith("ecr:") for a in s["Action"])] == []
    assert iam.policy_characters(_context(graph), pipelines) <= iam.ROLE_POLICY_CHARACTERS
    pulls = {s["Sid"]: s for s in policies["job-007-training-policy"]["Statement"]}
    assert pulls["TrainingImagePull"]["Resource"] == ["arn:aws:ecr:eu-west-1:123456789012:repository/team-007-trainer"]


def test_a_policy_that_cannot_fit_is_a_user_error_naming_the_role(monkeypatch) -> None:
    """No spec here passes the quota once widened; a smaller quota shows the error (the reference's
    runner policy names one endpoint: nothing to widen)."""
    monkeypatch.setattr(iam, "ROLE_POLICY_CHARACTERS", 2_000)
    with pytest.raises(UserError) as raised:
        compiled.__wrapped__(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "prod")
    message = f"{raised.value.summary}\n{raised.value.detail}"
    assert "environment prod: the IAM role fraud-detection-prod-" in message
    assert "over IAM's 2,000" in message and "Fix: split the system" in message


def test_the_console_says_so_without_a_traceback(monkeypatch) -> None:
    from tests.support.cli import run_cli

    monkeypatch.setattr(iam, "ROLE_POLICY_CHARACTERS", 2_000)
    result = run_cli("plan", str(REPO / "examples" / "fraud-detection" / "mlsystem.yaml"), "--env", "prod")
    assert result.code == 1
    assert "the IAM role fraud-detection-prod-" in result.output and "Traceback" not in result.output


def test_a_widened_policy_depends_on_what_it_still_names() -> None:
    """The ref hints give the graph of searching every input (tests/compile/test_ref_hints.py) with
    widened policies too: a policy waits for the resources it still refers to, not for those its
    widening dropped."""
    from tests.compile.test_ref_hints import _same_both_ways

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_validate import generate
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    loaded = parse_system(generate(ENDPOINTS), "bench.yaml", "prod")
    assert loaded.system is not None
    _same_both_ways(loaded.system, "prod")


def test_fits_answers_as_the_count_does(graph, exact_graph) -> None:
    """:func:`iam.fits` skips resolving the refs of short policies: the same answer as counting them,
    for every policy here and for each cut short of the quota by a made-up limit."""
    documents = [(g, d) for g in (graph, exact_graph, *[compiled(p, e) for _, p, e in CASES])
                 for d in _role_policies(g).values()]
    saved = iam.ROLE_POLICY_CHARACTERS
    try:
        for limit in (saved, 30_000, 6_000, 3_000, 1_500, 800):
            iam.ROLE_POLICY_CHARACTERS = limit
            for each, document in documents:
                aws = _context(each)
                assert iam.fits(aws, document) == (iam.policy_characters(aws, document) <= limit)
    finally:
        iam.ROLE_POLICY_CHARACTERS = saved
