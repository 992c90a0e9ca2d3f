"""The AWS target's graph: builds, deterministic, well-formed, and exactly pulumi-aws's inputs.

Runs for every AWS environment of the reference document and of the examples.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import drift_image
from mlops_infra.compile.aws.context import UNTAGGED_TYPES
from mlops_infra.compile.context import COMPONENT_TYPES, PLATFORM_TYPE
from mlops_infra.graph import ROOT_STACK_TYPE, iter_refs, make_urn
from tests.compile.aws.cases import CASES, REFERENCE, compile_text, compiled, of_type, one, system
from tests.compile.aws.pulumi_schema import check_inputs, has_tags_input, output_names

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
IDS = [c[0] for c in CASES]
PARAMS = [c[1:] for c in CASES]
PROVIDER = "pulumi:providers:aws"
COMPONENTS = set(COMPONENT_TYPES.values()) | {PLATFORM_TYPE}


def test_cases_cover_the_reference_and_every_example():
    names = {case_id.rsplit("-", 1)[0] for case_id in IDS}
    assert "reference" in names
    examples = {p.parent.name for p in Path(REFERENCE).parents[2].joinpath("main").glob("examples/*/mlsystem.yaml")}
    assert examples <= names


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_compiling_twice_gives_byte_identical_json(path, env):
    first = compiled(path, env)
    again = compile_system(system(path, env), env)
    assert again.dumps() == first.dumps()
    assert again.digest() == first.digest()


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_urns_follow_the_engine_rule(path, env):
    graph = compiled(path, env)
    by_urn = graph.by_urn()
    for resource in graph.resources:
        chain, parent = [resource.type], resource.parent
        while parent:
            chain.insert(0, by_urn[parent].type)
            parent = by_urn[parent].parent
        assert ROOT_STACK_TYPE not in chain
        assert resource.urn == make_urn(env, graph.project, chain, resource.name)
    assert len({r.urn for r in graph.resources}) == len(graph.resources)
    assert [r.urn for r in graph.resources] == sorted(r.urn for r in graph.resources)


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_every_dependency_exists_and_covers_every_ref(path, env):
    graph = compiled(path, env)
    urns = set(graph.by_urn())
    for resource in graph.resources:
        assert set(resource.dependencies) <= urns, resource.urn
        assert {r["$ref"] for r in iter_refs(resource.inputs)} <= set(resource.dependencies), resource.urn


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_dependency_graph_has_no_cycle(path, env):
    graph = compiled(path, env)
    deps = {r.urn: set(r.dependencies) for r in graph.resources}
    done: set[str] = set()
    while deps:
        ready = {u for u, d in deps.items() if d <= done}
        assert ready, f"cycle among {sorted(deps)[:5]}"
        done |= ready
        deps = {u: d for u, d in deps.items() if u not in ready}


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_every_resource_has_provider_parent_address_and_role(path, env):
    graph = compiled(path, env)
    by_urn = graph.by_urn()
    provider = [r for r in graph.resources if r.type == PROVIDER]
    assert len(provider) == 1 and provider[0].parent is None and provider[0].name == "aws"
    for resource in graph.resources:
        assert resource.address and resource.role, resource.urn
        if resource.type in COMPONENTS:
            assert not resource.custom and resource.parent is None and resource.provider is None
        elif resource.type == drift_image.IMAGE:  # Docker Build's default provider: no AWS settings to pass
            assert resource.custom and resource.provider is None and resource.address == "platform"
        elif resource.type != PROVIDER:
            assert resource.custom
            assert resource.provider == provider[0].urn, resource.urn
            assert by_urn[resource.parent].type in COMPONENTS, resource.urn
            assert by_urn[resource.parent].address == resource.address, resource.urn


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_inputs_are_exactly_pulumi_aws_input_names(path, env):
    graph = compiled(path, env)
    problems = [p for r in graph.resources if r.custom and r.type != drift_image.IMAGE
                for p in check_inputs(r.type, r.inputs)]
    assert problems == []


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_refs_point_at_real_outputs_of_the_referenced_type(path, env):
    graph = compiled(path, env)
    by_urn = graph.by_urn()
    for resource in graph.resources:
        for reference in iter_refs(resource.inputs):
            target = by_urn[reference["$ref"]]
            assert target.custom, (resource.urn, reference)
            assert reference["output"] in output_names(target.type), (resource.urn, reference)


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_tags_on_every_type_that_takes_them(path, env):
    graph = compiled(path, env)
    for resource in graph.resources:
        if not resource.custom or resource.type in (PROVIDER, drift_image.IMAGE):
            continue
        assert has_tags_input(resource.type) == (resource.type not in UNTAGGED_TYPES), resource.type
        if resource.type not in UNTAGGED_TYPES:
            tags = resource.inputs["tags"]
            assert tags["mlops-infra/item"] == resource.address
            if resource.inputs.get("overrideProvider") == {"defaultTags": {"tags": {}}}:
                # the drift contract object opts out of the default tags (S3: at most 10 on an object) and the
                # provider drops a tag equal to a default one from its upload (s3/object.go RemoveDefaultConfig,
                # hashicorp/terraform-provider-aws#45506): it carries the item's tag alone (audit typesets44-2)
                assert tags == {"mlops-infra/item": resource.address}, tags
                continue
            assert tags["managed-by"] == "mlops-infra" and tags["mlops-infra/environment"] == env


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_metadata_and_provider_name_the_target(path, env):
    graph = compiled(path, env)
    target = system(path, env).environments[env].target
    assert graph.metadata == {"cloud": "aws", "region": target.region, "account": target.account}
    provider = of_type(graph, PROVIDER)[0]
    assert provider.inputs["region"] == target.region
    assert provider.inputs["allowedAccountIds"] == [target.account]
    assert provider.inputs["defaultTags"]["tags"]["mlops-infra/system"] == graph.project


NAME_RULES = {
    # type: (input holding the physical name, max length, pattern)
    "aws:s3/bucket:Bucket": ("bucket", 63, r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"),
    "aws:iam/role:Role": ("name", 64, r"^[\w+=,.@-]+$"),
    "aws:sagemaker/endpoint:Endpoint": ("name", 63, r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("name", 63, r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "aws:sagemaker/model:Model": ("name", 63, r"^[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?$"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", 63,
                                                          r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"),
    "aws:sagemaker/pipeline:Pipeline": ("pipelineName", 256, r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$"),
    "aws:scheduler/schedule:Schedule": ("name", 64, r"^[0-9a-zA-Z-_.]+$"),
    "aws:cloudwatch/eventRule:EventRule": ("name", 64, r"^[\.\-_A-Za-z0-9]+$"),
    "aws:lambda/function:Function": ("name", 64, r"^[a-zA-Z0-9-_]+$"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", 255, r"^\S+$"),
    "aws:sns/topic:Topic": ("name", 256, r"^[\w-]+$"),
    "aws:ecr/repository:Repository": ("name", 256, r"^[a-z0-9]+([._-][a-z0-9]+)*$"),
}


@pytest.mark.parametrize(("path", "env"), PARAMS, ids=IDS)
def test_physical_names_are_explicit_valid_and_unique(path, env):
    graph = compiled(path, env)
    for type_, (key, max_len, pattern) in NAME_RULES.items():
        names = [r.inputs[key] for r in of_type(graph, type_)]
        assert len(names) == len(set(names)), type_
        for name in names:
            assert len(name) <= max_len and re.match(pattern, name), (type_, name)
    account = system(path, env).environments[env].target.account
    assert all(r.inputs["bucket"].endswith(f"-{account}") for r in of_type(graph, "aws:s3/bucket:Bucket"))


def test_reference_prod_resources():
    graph = compiled(REFERENCE, "prod")
    counts = Counter(r.type for r in graph.resources)
    # B4: the platform artifacts bucket (6 resources); B11.2: the retrain gate (log group, role, policy, function,
    # the alarm rule's invoke permission); the scorer canary's rollback alarm (rollout runner's notice); a Lambda's
    # failure handling (lambda_failures.py): an Errors alarm and an invoke config for the forwarder, the gate and
    # the runner, a failure queue for the first two; since stop 30 a dropped alarm for each of the three; the drift
    # monitor's silence alarm (contract-4); the failed-run rule, its target, the alarm resolving it and ml-team's
    # TopicPolicy letting the rule publish (training_failures); the drift job's contract file (limits-1)
    assert len(graph.resources) == 111 >= 60
    assert counts == Counter({
        "pulumi:providers:aws": 1, "mlops:core:Platform": 1, "aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1,
        "aws:ecr/repository:Repository": 1, "aws:ecr/lifecyclePolicy:LifecyclePolicy": 1, drift_image.IMAGE: 1,
        "mlops:data:ObjectStore": 2, "aws:s3/bucket:Bucket": 4, "aws:s3/bucketVersioning:BucketVersioning": 4,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 4,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 4,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 4, "aws:s3/bucketPolicy:BucketPolicy": 4,
        "aws:iam/role:Role": 9, "aws:iam/rolePolicy:RolePolicy": 9,
        "mlops:compute:GpuCluster": 1, "mlops:training:Job": 1, "aws:sagemaker/pipeline:Pipeline": 2,
        "aws:scheduler/schedule:Schedule": 3,  # rule + target: on_alerts, and the failed runs told (training_failures)
        "aws:cloudwatch/eventRule:EventRule": 2, "aws:cloudwatch/eventTarget:EventTarget": 2,
        "mlops:registry:Model": 1, "aws:sagemaker/modelPackageGroup:ModelPackageGroup": 1,
        "mlops:serving:Endpoint": 1, "aws:sagemaker/model:Model": 1,
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration": 1, "aws:sagemaker/endpoint:Endpoint": 1,
        "aws:appautoscaling/target:Target": 1, "aws:appautoscaling/policy:Policy": 1,
        "mlops:monitoring:Monitor": 3, "mlops:alerting:Alert": 3, "aws:cloudwatch/metricAlarm:MetricAlarm": 12,
        "mlops:alerting:Channel": 2, "aws:sns/topic:Topic": 2, "aws:sns/topicSubscription:TopicSubscription": 2,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        "aws:lambda/function:Function": 3, "aws:lambda/permission:Permission": 2,
        "aws:cloudwatch/logGroup:LogGroup": 3, "aws:cloudwatch/dashboard:Dashboard": 2,
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 3, "aws:sqs/queue:Queue": 2,
        "aws:s3/bucketObjectv2:BucketObjectv2": 1,
    })


def test_reference_prod_components_carry_ml_facts():
    graph = compiled(REFERENCE, "prod")
    facts = {r.address: r.inputs for r in graph.resources if not r.custom}
    assert facts["endpoints.scorer"]["instanceType"] == "ml.g5.xlarge"
    assert facts["endpoints.scorer"]["minReplicas"] == 3
    assert facts["clusters.gpu-train"]["instanceType"] == "ml.g5.12xlarge"
    assert facts["platform"] == {"factsVersion": 1, "kind": "platform", "cloud": "aws", "region": "eu-west-1",
                                 "account": "222222222222", "keyAlias": "alias/fraud-detection-prod-data"}


def test_the_compiler_never_imports_pulumi():
    package = Path(__file__).resolve().parents[3] / "mlops_infra" / "compile" / "aws"
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        # forwarder.py and retrain_gate.py are Lambda sources (shipped as text), never imported by the compiler
        assert not imported & {"pulumi", "pulumi_aws", "boto3", "botocore"} or module.name in (
            "forwarder.py", "retrain_gate.py"), module


EDGE_CASES = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: edge-cases-with-a-very-long-system-name-to-force-hashing}
data_sources:
  - {name: raw, kind: object_store, versioning: false, encryption: s3}
clusters:
  - {name: cpu, instance_type: ml.m5.xlarge, nodes: {min: 0, max: 1}}
training_jobs:
  - name: a-training-job-with-a-long-name-that-needs-shortening
    cluster: cpu
    image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/example/trainer:1  # SageMaker pulls only private ECR (see spec/containers.py)
    inputs: [raw]
    triggers: {schedule: "0 0 1 * 1"}
    registers: m
models: [{name: m, framework: sklearn, approval: automatic}]
endpoints:
  - {name: api, model: {name: m, version: 3}, instance_type: ml.m5.large, replicas: {min: 0, max: 2},
     autoscaling: {metric: cpu_utilization, target: 50}, rollout: {strategy: rolling, steps: [60, 100], bake: 5m}}
environments:
  prod: {target: {kind: aws, region: us-east-1, account: "123456789012"}}
"""


def test_edge_cases_compile_to_valid_short_names():
    graph = compile_text(EDGE_CASES)
    assert [p for r in graph.resources if r.custom for p in check_inputs(r.type, r.inputs)] == []
    for type_, (key, max_len, pattern) in NAME_RULES.items():
        for resource in of_type(graph, type_):
            assert len(resource.inputs[key]) <= max_len and re.match(pattern, resource.inputs[key])
    buckets = [r.inputs["bucket"] for r in of_type(graph, "aws:s3/bucket:Bucket")]
    # raw, and the platform's artifacts (a model) bucket; no capture bucket: no endpoint captures (closing-32b-2)
    assert len(buckets) == 2 and all(b.endswith("-123456789012") for b in buckets)
    expressions = sorted(r.inputs["scheduleExpression"] for r in of_type(graph, "aws:scheduler/schedule:Schedule"))
    assert expressions == ["cron(0 0 1 * ? *)", "cron(0 0 ? * MON *)"]  # cron's day-of-month OR day-of-week
    (endpoint,) = of_type(graph, "aws:sagemaker/endpoint:Endpoint")
    assert endpoint.inputs["deploymentConfig"]["rollingUpdatePolicy"]["maximumBatchSize"]["value"] == 50
    (config,) = of_type(graph, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert config.inputs["productionVariants"][0]["initialInstanceCount"] == 1  # replicas.min 0
    (policy,) = of_type(graph, "aws:appautoscaling/policy:Policy")
    assert policy.inputs["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 100.0  # 50% x 2 vCPUs
    statements = [s for p in of_type(graph, "aws:iam/rolePolicy:RolePolicy") for s in p.inputs["policy"]["$json"]["Statement"]]
    trainer = "arn:aws:ecr:us-east-1:123456789012:repository/example/trainer"
    assert not [s for s in statements if any(a == "ecr:BatchGetImage" for a in s["Action"])
                and s["Resource"] not in ([{"$ref": one(graph, "aws:ecr/repository:Repository").urn, "output": "arn"}],
                                          [trainer])]


def test_an_empty_system_is_a_provider_and_a_platform():
    graph = compile_text("""
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: tiny}
environments:
  prod: {target: {kind: aws, region: us-east-1, account: "123456789012"}}
""")
    assert sorted(r.type for r in graph.resources) == sorted([
        "pulumi:providers:aws", "mlops:core:Platform", "aws:kms/key:Key", "aws:kms/alias:Alias",
        "aws:ecr/repository:Repository", "aws:ecr/lifecyclePolicy:LifecyclePolicy"])
