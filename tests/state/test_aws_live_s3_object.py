"""The live read of the S3 object the stack writes, the drift job's contract file (state/aws_live/s3.py
``_read_object``; the type came with 6339c45, and ``tests/state/test_aws_live_alert_path_reads.py``'s "every AWS type
the examples compile is read" failed without it). On the moto server: content, content type and tags read back as
the inputs Pulumi holds; an object deleted by hand reads as gone."""

from __future__ import annotations

import json
import uuid

from mlops_infra.state.aws_live.s3 import READERS
from mlops_infra.state.model import StateResource
from tests.support.moto_server import client, running_moto_server

TYPE = "aws:s3/bucketObjectv2:BucketObjectv2"
CONTRACT = json.dumps({"columns": ["amount", "is_fraud"], "types": {"amount": "float", "is_fraud": "bool"}})


def test_the_contract_file_reads_back_as_its_inputs_and_gone_when_deleted() -> None:
    bucket, key = f"contract-{uuid.uuid4().hex[:12]}", "drift-jobs/drift/contract.json"
    with running_moto_server() as url:
        s3 = client("s3", url)
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=key, Body=CONTRACT.encode(), ContentType="application/json",
                      Tagging="managed-by=mlops-infra")
        res = StateResource(f"urn:pulumi:prod::p::{TYPE}::drift-drift-contract", TYPE, id=key,
                            inputs={"bucket": bucket, "key": key, "content": CONTRACT,
                                    "contentType": "application/json", "tags": {"managed-by": "mlops-infra"}})
        reading = READERS[TYPE].read_one(s3, res, None)
        assert reading is not None
        assert reading.inputs == {"bucket": bucket, "key": key, "content": CONTRACT,
                                  "contentType": "application/json", "tags": {"managed-by": "mlops-infra"}}
        s3.delete_object(Bucket=bucket, Key=key)
        assert READERS[TYPE].read_one(s3, res, None) is None
