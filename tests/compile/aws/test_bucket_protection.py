"""Protected buckets are protected whole, and the platform buckets are kept (audit "removal").

removal-1: a protected bucket's versioning, encryption, public access block, lifecycle and TLS-only
policy reference it, so Pulumi deletes them first (pulumi step_generator.go ``ScheduleDeletes``) and
refuses only the bucket's delete (step.go ``DeleteStep.Apply``): they carry ``protect`` too.
removal-2: the platform buckets (artifacts, capture) are protected, and kept while the environment
has a model / an endpoint, not only while a training job / a capture uses them; serving roles read
every training prefix of their own artifacts bucket.
"""

from __future__ import annotations

import json

import pytest

from mlops_infra.compile.aws.storage import BUCKET
from mlops_infra.graph import REF, is_ref
from tests.compile.aws.cases import REFERENCE, compiled, of_type
from tests.support.removals import REFERENCE_TEXT, graph_of, without_capture, without_training_job
from tests.support.text_edits import edit

COMPANIONS = 5


def _companions(graph, bucket):
    return [r for r in graph.resources if r.custom and r.urn != bucket.urn
            and is_ref(r.inputs.get("bucket")) and r.inputs["bucket"][REF] == bucket.urn]


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_every_companion_of_a_protected_bucket_is_protected(env):
    graph = compiled(REFERENCE, env)
    protected = [b for b in of_type(graph, BUCKET) if b.options.protect]
    assert protected
    for bucket in protected:
        companions = _companions(graph, bucket)
        assert len(companions) == COMPANIONS, bucket.name
        assert [c.name for c in companions if not c.options.protect] == [], bucket.name


def test_the_companions_of_an_unprotected_data_source_are_not_protected():
    graph = graph_of(edit(REFERENCE_TEXT, "    retention: 90d\n", "    retention: 90d\n    protect: false\n"), "prod")
    [bucket] = [b for b in of_type(graph, BUCKET) if b.address == "data_sources.feature-snapshots"]
    assert not bucket.options.protect
    assert [c.name for c in _companions(graph, bucket) if c.options.protect] == []


def test_the_platform_buckets_are_protected():
    graph = compiled(REFERENCE, "prod")
    platform = {b.name: b.options.protect for b in of_type(graph, BUCKET) if b.address == "platform"}
    assert platform == {"artifacts-bucket": True, "capture-bucket": True}


def test_the_artifacts_bucket_stays_without_a_training_job_and_the_capture_bucket_only_with_capture():
    """closing-32b-2: an endpoint that never captured gets no (protected, empty) capture bucket."""
    graph = graph_of(without_capture(without_training_job()), "staging")
    assert not of_type(graph, "aws:sagemaker/pipeline:Pipeline")
    assert not any("dataCaptureConfig" in r.inputs for r in graph.resources)
    names = sorted(b.name for b in of_type(graph, BUCKET) if b.address == "platform")
    assert names == ["artifacts-bucket"]
    graph = graph_of(without_training_job(), "staging")
    names = sorted(b.name for b in of_type(graph, BUCKET) if b.address == "platform")
    assert names == ["artifacts-bucket", "capture-bucket"]


def test_the_serving_role_reads_every_training_prefix_of_its_artifacts_bucket_with_or_without_the_job():
    for graph in (compiled(REFERENCE, "prod"), graph_of(without_training_job(), "prod")):
        [policy] = [r for r in of_type(graph, "aws:iam/rolePolicy:RolePolicy") if r.name == "scorer-serving-policy"]
        text = json.dumps(policy.inputs["policy"])
        assert "arn:aws:s3:::fraud-detection-prod-platform-artifacts-222222222222/training/*" in text
