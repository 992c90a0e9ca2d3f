"""Removing things from the spec (audit "removal"): what the plan says about kept data.

removal-1: a protected data source removed from the spec is blocked as a whole (its bucket and the
five configuration resources, all protected since the compiler protects them with the bucket), and
the summary counts nothing to destroy. removal-2: removing the last training job plans no delete of
the platform artifacts bucket, and the serving role keeps reading the served version's artifacts;
any bucket delete warns what it discards.
"""

from __future__ import annotations

import pytest

from mlops_infra.plan.model import Action
from mlops_infra.render import render_json, render_text
from tests.support.removals import (
    REFERENCE_TEXT,
    removal_plan,
    without_capture,
    without_feature_snapshots,
    without_training_job,
)
from tests.support.text_edits import edit

BUCKET = "aws:s3/bucket:Bucket"


def _deletes(plan, address=None):
    return [c for c in plan.changes if c.custom and c.action is Action.DELETE
            and (address is None or c.address == address)]


def test_a_removed_protected_data_source_is_blocked_whole_and_nothing_is_destroyed():
    plan = removal_plan(without_feature_snapshots())
    store = _deletes(plan, "data_sources.feature-snapshots")
    assert sorted(c.name for c in store) == [
        "feature-snapshots-bucket", "feature-snapshots-encryption", "feature-snapshots-lifecycle",
        "feature-snapshots-public-access-block", "feature-snapshots-tls-only", "feature-snapshots-versioning"]
    assert all(c.blocked and c.reason.code == "protected" for c in store), [(c.name, c.blocked) for c in store]
    counts = plan.counts
    assert (counts.destroy, counts.blocked) == (0, 6)
    summary = render_json(plan)
    assert '"destroy": 0' in summary and '"blocked": 6' in summary
    text = render_text(plan, color=False)
    assert "# data_sources.feature-snapshots  (6 blocked)" in text
    # the 2 changes: the training role's policy (it may no longer write the store) and the pipeline (its Train step
    # no longer names MLOPS_OUTPUT_FEATURE_SNAPSHOTS, 611fb1e)
    assert sorted(c.name for c in plan.changes if c.action is Action.UPDATE) == ["retrain-pipeline",
                                                                                 "retrain-training-policy"]
    assert text.rstrip().endswith("Plan: 0 to add, 2 to change, 0 to replace, 0 to destroy, 6 blocked.")
    bucket = next(c for c in store if c.type == BUCKET)
    assert "every object in it" in bucket.blocked  # what deleting it would discard


def test_removing_the_last_training_job_plans_no_bucket_delete_and_keeps_the_served_artifacts_readable():
    plan = removal_plan(without_training_job())
    assert [c.name for c in _deletes(plan) if c.address == "platform"] == []
    assert not any(c.type.startswith("aws:s3/") for c in _deletes(plan))
    assert not any(c.blocked for c in plan.changes)
    serving = next(c for c in plan.changes if c.name == "scorer-serving-policy")
    removed = [a.before for a in serving.changes if a.after is None]  # nothing of the old grant is taken away
    assert not any("training/" in str(value) for value in removed), removed
    assert not any("artifacts-bucket" in w for w in plan.warnings)


def test_an_unprotected_bucket_delete_warns_what_it_discards():
    unprotected = edit(REFERENCE_TEXT, "    retention: 90d\n", "    retention: 90d\n    protect: false\n")
    plan = removal_plan(without_feature_snapshots(unprotected), before=unprotected)
    store = _deletes(plan, "data_sources.feature-snapshots")
    assert len(store) == 6 and not any(c.blocked for c in store)  # unprotected: the companions are not either
    assert plan.counts.destroy == 6
    assert any(w.startswith("feature-snapshots-bucket is deleted, which discards every object in it")
               for w in plan.warnings), plan.warnings


def test_removing_the_last_capture_blocks_the_capture_bucket_delete():
    """closing-32b-2: the capture bucket is desired only while an endpoint captures; the captured
    payloads are data, so turning the last capture off is a blocked delete (apply refuses it), never a
    destroy."""
    plan = removal_plan(without_capture(), "staging")
    s3 = [c for c in _deletes(plan) if c.type.startswith("aws:s3/")]
    # the removed drift monitor's contract file (compile/aws/monitoring.py add_contract) is an ordinary delete
    [contract] = [c for c in s3 if c.type == "aws:s3/bucketObjectv2:BucketObjectv2"]
    assert (contract.name, contract.address, contract.blocked) == ("drift-drift-contract", "monitors.drift", None)
    s3.remove(contract)
    assert sorted(c.name for c in s3) == [
        "capture-bucket", "capture-encryption", "capture-lifecycle", "capture-public-access-block",
        "capture-tls-only", "capture-versioning"]
    assert all(c.blocked and c.address == "platform" for c in s3)
    assert plan.counts.blocked == 6  # counted apart, not as destroys


@pytest.mark.moto
def test_s3_deletes_a_bucket_only_once_every_version_and_delete_marker_is_gone():
    """What the bucket rule's ``loses`` and apply's refusal say (botocore s3 DeleteBucket: "All objects
    (including all object versions and delete markers) in the bucket must be deleted before the bucket
    itself can be deleted"), on a moto server: an object deleted from a versioned bucket leaves a
    version and a delete marker, and the bucket is still not deletable until both are gone."""
    from botocore.exceptions import ClientError

    from tests.support.moto_server import client, running_moto_server

    with running_moto_server() as url:
        s3 = client("s3", url)
        s3.create_bucket(Bucket="removalfix-kept-store")
        s3.put_bucket_versioning(Bucket="removalfix-kept-store", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="removalfix-kept-store", Key="training/retrain/model.tar.gz", Body=b"v12")
        s3.delete_object(Bucket="removalfix-kept-store", Key="training/retrain/model.tar.gz")  # a delete marker
        with pytest.raises(ClientError) as refused:
            s3.delete_bucket(Bucket="removalfix-kept-store")
        assert refused.value.response["Error"]["Code"] == "BucketNotEmpty"
        listed = s3.list_object_versions(Bucket="removalfix-kept-store")
        for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
            s3.delete_object(Bucket="removalfix-kept-store", Key=entry["Key"], VersionId=entry["VersionId"])
        s3.delete_bucket(Bucket="removalfix-kept-store")
        assert "removalfix-kept-store" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
