"""The program registers exactly a hand-built graph (every feature the compilers use), under mocks."""

from __future__ import annotations

import pulumi_aws
import pulumi_kubernetes
import pytest

from mlops_infra.graph import GraphBuilder, ResourceOptions, archive, json_of, ref
from mlops_infra.program import GraphRegistrationError, register_graph
from mlops_infra.program.components import COMPONENTS, Endpoint, MlComponent, ObjectStore
from mlops_infra.program.register import registration_order
from mlops_infra.program.types import resource_class
from tests.support.pulumi_capture import capture_program, differences, referenced_outputs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TAGS = {"Some Key": "v", "camelCaseKey": "x", "managed-by": "mlops-infra"}


def aws_graph():
    b = GraphBuilder("demo", "staging")
    provider = b.add("pulumi:providers:aws", "aws-staging", {
        "region": "us-east-1", "allowedAccountIds": ["111111111111"], "defaultTags": {"tags": TAGS}})
    store = b.add("mlops:data:ObjectStore", "transactions", {"factsVersion": 1, "kind": "data_source",
                                                            "retentionDays": None, "versioning": True},
                  custom=False, address="data_sources.transactions", role="component")
    key = b.add("aws:kms/key:Key", "transactions-key", {"description": "k", "enableKeyRotation": True,
                                                        "tags": TAGS},
                parent=store, provider=provider, options=ResourceOptions(protect=True))
    bucket = b.add("aws:s3/bucket:Bucket", "transactions", {"bucket": "demo-staging-transactions", "tags": TAGS},
                   parent=store, provider=provider,
                   options=ResourceOptions(protect=True, ignore_changes=("tags",), delete_before_replace=True))
    b.add("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "transactions-sse", {"bucket": ref(bucket), "rules": [{"applyServerSideEncryptionByDefault": {
              "sseAlgorithm": "aws:kms", "kmsMasterKeyId": ref(key, "arn")}, "bucketKeyEnabled": True}]},
          parent=store, provider=provider)
    endpoint = b.add("mlops:serving:Endpoint", "scorer", {"factsVersion": 1, "modelVersion": 12, "gpuType": None},
                     custom=False)
    role = b.add("aws:iam/role:Role", "scorer-role", {"name": "scorer", "assumeRolePolicy": json_of({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "sagemaker.amazonaws.com"}}]})},
                 parent=endpoint, provider=provider)
    b.add("aws:iam/rolePolicy:RolePolicy", "scorer-read", {"role": ref(role), "policy": json_of({
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [ref(bucket, "arn")]}]})},
          parent=endpoint, provider=provider)
    config = b.add("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "scorer-config-abc", {
        "name": "scorer-abc", "productionVariants": [{"variantName": "primary", "modelName": "m",
                                                      "initialInstanceCount": 2, "instanceType": "ml.g5.xlarge"}]},
        parent=endpoint, provider=provider, depends_on=[role],
        options=ResourceOptions(replace_on_changes=("productionVariants",), retain_on_delete=True))
    b.add("aws:sagemaker/endpoint:Endpoint", "scorer", {"name": "demo-staging-scorer",
                                                        "endpointConfigName": ref(config, "name")},
          parent=endpoint, provider=provider,
          options=ResourceOptions(ignore_changes=("deploymentConfig",),
                                  additional_secret_outputs=("arn",)))
    b.add("aws:lambda/function:Function", "controller", {"name": "ctl", "role": ref(role, "arn"),
                                                        "runtime": "python3.12", "handler": "main.handler",
                                                        "code": archive({"main.py": "def handler(e, c):\n    pass\n"})},
          parent=endpoint, provider=provider)
    return b.build()


def kubernetes_graph():
    b = GraphBuilder("demo", "dev")
    provider = b.add("pulumi:providers:kubernetes", "k8s-dev", {"context": "kind-mlops", "namespace": "demo-dev"})
    platform = b.add("mlops:core:Platform", "platform", {"factsVersion": 1, "kind": "platform"}, custom=False)
    ns = b.add("kubernetes:core/v1:Namespace", "demo-dev", {"apiVersion": "v1", "kind": "Namespace",
                                                             "metadata": {"name": "demo-dev",
                                                                          "labels": {"app.kubernetes.io/part-of": "demo"}}},
               parent=platform, provider=provider)
    endpoint = b.add("mlops:serving:Endpoint", "scorer", {"factsVersion": 1}, custom=False)
    b.add("kubernetes:serving.kserve.io/v1beta1:InferenceService", "scorer", {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "scorer", "namespace": ref(ns, "metadata.name")},
        "spec": {"predictor": {"minReplicas": 1, "maxReplicas": 2,
                               "model": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}}}},
          parent=endpoint, provider=provider)
    b.add("kubernetes:apps/v1:Deployment", "scorer-router", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "router", "namespace": "demo-dev"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "router"}},
                 "template": {"metadata": {"labels": {"app": "router"}},
                              "spec": {"containers": [{"name": "router", "image": "router:1"}]}}}},
          parent=endpoint, provider=provider, depends_on=[ns])
    return b.build()


@pytest.mark.parametrize("make_graph", [aws_graph, kubernetes_graph], ids=["aws", "kubernetes"])
def test_program_registers_exactly_the_graph(make_graph):
    graph = make_graph()
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack,
                              referenced_outputs(graph))
    assert differences(graph, capture) == []
    classes = capture.result.classes
    for resource in graph.resources:
        cls = classes[resource.urn]
        if resource.custom and resource_class(resource.type) is not None:
            assert cls is resource_class(resource.type)
    assert classes[next(r.urn for r in graph.resources if r.type == "aws:s3/bucket:Bucket")] is pulumi_aws.s3.Bucket \
        if graph.stack == "staging" else \
        classes[next(r.urn for r in graph.resources if "InferenceService" in r.type)] \
        is pulumi_kubernetes.apiextensions.CustomResource


def test_components_are_named_classes_per_concept():
    from mlops_infra.compile.context import COMPONENT_TYPES, PLATFORM_TYPE

    assert set(COMPONENTS) == {*COMPONENT_TYPES.values(), PLATFORM_TYPE}
    assert COMPONENTS["mlops:serving:Endpoint"] is Endpoint
    assert COMPONENTS["mlops:data:ObjectStore"] is ObjectStore
    assert all(issubclass(cls, MlComponent) and cls is not MlComponent for cls in COMPONENTS.values())


def test_registration_order_puts_parents_providers_and_dependencies_first():
    graph = aws_graph()
    order = registration_order(graph.resources)
    position = {urn: i for i, urn in enumerate(order)}
    for r in graph.resources:
        for before in (r.parent, r.provider, *r.dependencies):
            if before:
                assert position[before] < position[r.urn]
    assert order == registration_order(reversed(graph.resources))


def test_unknown_input_name_is_reported_as_a_bug():
    b = GraphBuilder("demo", "staging")
    provider = b.add("pulumi:providers:aws", "aws", {"region": "us-east-1"})
    b.add("aws:s3/bucket:Bucket", "b", {"bucketName": "x"}, provider=provider)
    graph = b.build()
    with pytest.raises(GraphRegistrationError, match="has no input bucketName"):
        capture_program(lambda: register_graph(graph), "demo", "staging")


def test_the_comparison_catches_every_kind_of_difference():
    """A capture of the graph compared with altered graphs: each alteration is reported."""
    from dataclasses import replace

    from mlops_infra.graph import DesiredGraph

    graph = aws_graph()
    capture = capture_program(lambda: register_graph(graph), graph.project, graph.stack, referenced_outputs(graph))
    sse = next(r for r in graph.resources if "Encryption" in r.type)
    nested = sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    altered = {
        "inputs": replace(sse, inputs={**sse.inputs, "rules": [{"applyServerSideEncryptionByDefault": {
            **nested, "sseAlgorithm": "AES256"}, "bucketKeyEnabled": True}]}),
        "options": replace(sse, options=ResourceOptions(protect=True)),
        "dependencies": replace(sse, dependencies=()),
        "parent": replace(sse, parent=None),
        "provider": replace(sse, provider=None),
    }
    for what, resource in altered.items():
        resources = tuple(resource if r.urn == sse.urn else r for r in graph.resources)
        problems = differences(DesiredGraph(graph.project, graph.stack, resources), capture)
        assert any(what in p for p in problems), what
    fewer = DesiredGraph(graph.project, graph.stack, tuple(r for r in graph.resources if r.urn != sse.urn))
    assert differences(fewer, capture) == [f"registered but not in the graph: {sse.urn}"]


def test_a_dependency_on_a_component_is_recorded_as_its_custom_children():
    """Pinned SDK behaviour: ``depends_on=[component]`` reaches the engine as the component's custom
    descendants, so a graph edge to a component cannot round-trip; compilers depend on custom resources."""
    b = GraphBuilder("demo", "dev")
    provider = b.add("pulumi:providers:kubernetes", "k8s", {"context": "kind"})
    platform = b.add("mlops:core:Platform", "platform", {"factsVersion": 1}, custom=False)
    ns = b.add("kubernetes:core/v1:Namespace", "ns", {"apiVersion": "v1", "kind": "Namespace",
                                                      "metadata": {"name": "x"}}, parent=platform, provider=provider)
    cm = b.add("kubernetes:core/v1:ConfigMap", "cm", {"apiVersion": "v1", "kind": "ConfigMap",
                                                      "metadata": {"name": "y"}}, provider=provider, depends_on=[platform])
    graph = b.build()
    capture = capture_program(lambda: register_graph(graph), "demo", "dev", referenced_outputs(graph))
    assert capture.resources[cm].dependencies == (ns,)
