"""The SageMaker driver stores the rollout status as tag values AWS takes, and reads the same text back
(audit closing-39a-4; ``endpoint_tags.tag_value`` / ``from_tag_value``, ``drivers/sagemaker.py`` ``_write_status`` and
``_fields``).

botocore ``sagemaker`` ``TagValue``: max 256, pattern ``([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)``, checked by AWS on the
server (moto does not). The status is written before the traffic call, so a refused reason ("aborted by the operator
at step 5 (75%)", a quoted SageMaker ``FailureReason``) would leave every AWS rollback and abort unrecorded and its
traffic unmoved. Before the fix the stored reasons held ``(``, ``)`` and ``%``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore
import pytest
import regex

from mlops_infra.endpoint_tags import from_tag_value, tag_value
from mlops_infra.rollout.drivers.sagemaker import SageMakerDriver
from mlops_infra.rollout.runner import reconcile_once
from tests.rollout.aws_world import E, all_tags, canary_percent, deploy
from tests.rollout.sim import Clock, ScriptedGates, spec

REASONS = [
    "aborted by the operator at step 5 (75%)",
    "scorer-latency = 0.42, scorer-errors fired at step 3 (10% on version 13)",
    "update_failed at step 1 (2% on version 13): version 13 has 0% (SageMaker: The primary container for production "
    "variant canary did not pass the ping health check. Please check CloudWatch logs for this endpoint.)",
    'not ready: "ImagePullBackOff"; {reason: <none>} #1 $HOME & 100% \\ done\n\ttab =3D',
    "ünïcødé 名前 ok",
]


def _tag_value_shape() -> dict:
    path = next((Path(botocore.__file__).parent / "data" / "sagemaker").glob("*/service-2.json*"))
    text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(text)["shapes"]["TagValue"]


@pytest.mark.parametrize("reason", REASONS)
def test_a_stored_reason_matches_botocores_tag_value_shape_and_reads_back_the_same(reason: str) -> None:
    shape = _tag_value_shape()
    stored = tag_value(reason)
    assert len(stored) <= shape["max"] and regex.compile(shape["pattern"]).fullmatch(stored), stored
    assert from_tag_value(stored) == reason
    assert from_tag_value("all steps passed") == "all steps passed"  # a value stored before reads as it is


def test_a_long_reason_is_cut_between_whole_characters() -> None:
    stored = tag_value("(" * 200)
    assert len(stored) <= 256 and from_tag_value(stored) == "(" * (len(stored) // 3)


def test_an_abort_on_sagemaker_is_stored_in_allowed_characters_and_observed_as_written(sm) -> None:
    pattern = regex.compile(_tag_value_shape()["pattern"])
    target = deploy(sm)
    clock = Clock()
    gates = ScriptedGates(percent=lambda: canary_percent(sm, E))
    for _ in range(4):
        reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now)
        clock.sleep(600)
    result = reconcile_once(spec("aws"), SageMakerDriver(sm, target), gates, clock.now, "abort")
    assert result.acted
    arn = sm.describe_endpoint(EndpointName=E)["EndpointArn"]
    values = {t["Key"]: t["Value"] for t in all_tags(sm, arn) if t["Key"].startswith("mlops-infra:rollout:")}
    assert values["mlops-infra:rollout:phase"] == "aborted"
    assert all(pattern.fullmatch(v) for v in values.values()), values
    observed = SageMakerDriver(sm, target).observe().status
    assert observed is not None and observed.reason.startswith("aborted by the operator at step ")
    assert "(" in observed.reason and "%)" in observed.reason  # the text as reconcile wrote it
