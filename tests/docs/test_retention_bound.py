"""What ``retention`` keeps on a versioned bucket, said where users read it (audit contract-5).

The AWS lifecycle rule of a data source with ``retention: 400d`` expires current versions after 400
days and noncurrent versions after 400 noncurrent days (compile/aws/storage.py
``_lifecycle_rules``). On a versioned bucket expiring a current version only adds a delete marker
(S3 User Guide, "Expiring objects": "This makes the current version noncurrent"), and
``NoncurrentDays`` is "the number of days an object is noncurrent before Amazon S3 can perform the
associated action" (botocore ``s3`` ``NoncurrentVersionExpiration.NoncurrentDays``): an object's
last version is deleted up to 800 days after it was written. The numbers stay (the undo window for
an overwritten object is the retention); the docs, the field description (and so the JSON schema)
and the plan's data-store line state the real bound instead of "objects and old versions are
deleted after 400d".
"""

from __future__ import annotations

import json
from pathlib import Path

from mlops_infra.spec.data import DataSource
from tests.compile.aws.cases import REFERENCE, compiled, one
from tests.plan.test_ml import facts, summarize

REPO = Path(__file__).resolve().parents[2]
BOUND = "objects expire after 400d; on a versioned bucket their last version is deleted up to 400d later"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_the_compiled_numbers_on_a_versioned_reference_bucket() -> None:
    graph = compiled(REFERENCE, "prod")
    versioning = one(graph, "aws:s3/bucketVersioning:BucketVersioning", "data_sources.transactions")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    lifecycle = one(graph, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                    "data_sources.transactions")
    [rule] = [r for r in lifecycle.inputs["rules"] if r["id"] == "retention"]
    assert rule["filter"] == {}
    assert rule["expiration"] == {"days": 400}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 400}  # counted from becoming noncurrent


def test_the_docs_state_the_bound() -> None:
    spec = _flat((REPO / "docs" / "spec.md").read_text())
    [row] = [line for line in (REPO / "docs" / "spec.md").read_text().splitlines() if line.startswith("| `retention` |")]
    assert BOUND in row and "NoncurrentDays" in row
    assert "duration after which objects and old versions are deleted" not in spec
    storage = _flat((REPO / "docs" / "compile-aws.md").read_text())
    assert "with `retention: 400d` " + BOUND in storage


def test_the_field_description_and_schema_state_the_bound() -> None:
    description = DataSource.model_fields["retention"].description
    assert description.startswith("Objects expire after this long")
    assert "on a versioned bucket their last version is deleted up to this long again later" in description
    schema = (REPO / "schemas" / "mlsystem-v1.schema.json").read_text()
    assert json.dumps(description) in schema


def test_the_plan_line_states_the_bound() -> None:
    created = {c.address: c.summary for c in summarize([], [
        facts("data_source", "transactions", encryption="kms", versioning=True, retentionDays=400),
        facts("data_source", "scratch", encryption="kms", versioning=False, retentionDays=30),
        facts("data_source", "raw", encryption="kms", versioning=True, retentionDays=None)])}
    assert created["data_sources.transactions"] == (
        "transactions: new data store, kms encryption, versioning on, retention 400 days (objects expire after "
        "400 days; on a versioned bucket their last version is deleted up to 400 days later)")
    assert created["data_sources.scratch"].endswith("versioning off, retention 30 days")
    assert created["data_sources.raw"].endswith("retention none")
