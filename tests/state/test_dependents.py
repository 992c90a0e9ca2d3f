"""``state_dependents``: what ``pulumi state delete`` refuses on (pulumi/pulumi ``pkg/resource/edit/
operations.go`` ``DeleteResource`` with ``graph.OnlyDependsOn``): the resources of the state that depend
on the given ones through a parent, a dependency or a provider, transitively, in state order
(audit closing-32b-3)."""

from __future__ import annotations

from mlops_infra.state.dependents import state_dependents
from mlops_infra.state.model import PriorState, StateResource

P = "urn:pulumi:prod::sys::"


def _prior(*resources: StateResource) -> PriorState:
    return PriorState("test", 3, "0" * 64, "sys", "prod", {r.urn: r for r in resources})


def test_dependents_follow_dependencies_parents_and_providers_transitively_in_state_order():
    bucket = StateResource(P + "aws:s3/bucket:Bucket::store-bucket", "aws:s3/bucket:Bucket")
    policy = StateResource(P + "aws:s3/bucketPolicy:BucketPolicy::store-tls-only", "aws:s3/bucketPolicy:BucketPolicy",
                           dependencies=(bucket.urn,))
    pipeline = StateResource(P + "aws:sagemaker/pipeline:Pipeline::retrain-pipeline", "aws:sagemaker/pipeline:Pipeline",
                             dependencies=(bucket.urn,))
    child = StateResource(P + "x:y:Z::under-pipeline", "x:y:Z", parent=pipeline.urn)
    schedule = StateResource(P + "aws:scheduler/schedule:Schedule::retrain-schedule", "aws:scheduler/schedule:Schedule",
                             dependencies=(child.urn,))
    via_provider = StateResource(P + "a:b:C::on-provider", "a:b:C", provider=schedule.urn)
    other = StateResource(P + "aws:s3/bucket:Bucket::other-bucket", "aws:s3/bucket:Bucket")
    prior = _prior(bucket, other, policy, pipeline, child, schedule, via_provider)
    assert state_dependents(prior, [bucket.urn]) == [policy.urn, pipeline.urn, child.urn, schedule.urn,
                                                     via_provider.urn]
    assert state_dependents(prior, [bucket.urn, policy.urn, pipeline.urn, child.urn, schedule.urn,
                                    via_provider.urn]) == []
    assert state_dependents(prior, [other.urn]) == []


def test_a_dependent_listed_before_what_it_depends_on_is_still_found():
    bucket = StateResource(P + "aws:s3/bucket:Bucket::b", "aws:s3/bucket:Bucket")
    late = StateResource(P + "x:y:Z::late", "x:y:Z", dependencies=(P + "x:y:Z::middle",))
    middle = StateResource(P + "x:y:Z::middle", "x:y:Z", dependencies=(bucket.urn,))
    assert state_dependents(_prior(late, bucket, middle), [bucket.urn]) == [late.urn, middle.urn]
