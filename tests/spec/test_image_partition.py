"""An ECR image in another AWS partition than its environment's is an error at the image (audit xregion-1).

Rules encoded (sources in mlops_infra/spec/containers.py): IAM refuses a policy naming another partition's
resource ARN (the compiled pull grant on ``arn:aws:ecr:...`` in an ``aws-cn``/``aws-us-gov`` role), and accounts and
credentials do not cross partitions, so neither a repository policy naming the other partition's account nor ECR
replication gives the environment the image: the only fix is pushing it to ECR in the environment's partition.
The reference's images are in us-east-1 (partition ``aws``); its prod moved to cn-north-1 or us-gov-west-1.
"""

from __future__ import annotations

import pytest

from mlops_infra.spec import parse_system
from tests.support.shared_files import REFERENCE
from tests.support.text_edits import line_of

TEXT = REFERENCE.read_text(encoding="utf-8")
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"


def moved(region: str) -> str:
    assert TEXT.count("region: eu-west-1") == 1
    return TEXT.replace("region: eu-west-1", f"region: {region}")


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_an_image_of_another_partition_is_an_error_at_the_image_with_both_partitions_and_the_fix(
        region: str, partition: str) -> None:
    result = parse_system(moved(region), "ref.yaml")
    assert not result.ok
    found = {d.address: d for d in result.diagnostics if d.code == "image-in-other-partition"}
    assert sorted(found) == ["models.fraud-model", "training_jobs.retrain"], result.diagnostics
    job = found["training_jobs.retrain"]
    assert str(job.severity) == "error"
    assert job.summary == (f"training_jobs.retrain: the training image is in us-east-1 (partition aws), "
                           f"environment prod is in {region} (partition {partition})")
    assert job.location.file == "ref.yaml" and job.location.line == line_of(TEXT, f"image: {IMAGE}")
    assert (f"Fix: push the image to ECR in {region} of account 222222222222 and override "
            "training_jobs.retrain.image in environment prod with that URI.") in job.detail
    assert f"arn:{partition}: account (MalformedPolicyDocument)" in job.detail
    serving = found["models.fraud-model"]  # the training image, reused to serve
    assert "give the model a serving_image there (override models.fraud-model.serving_image in environment prod)" \
        in serving.detail
    # not also advised as another region (replication cannot cross partitions)
    assert not [d for d in result.diagnostics if d.code == "image-in-other-region" and "prod" in d.summary]


def test_another_region_of_the_same_partition_stays_a_warning() -> None:
    result = parse_system(TEXT, "ref.yaml")  # prod in eu-west-1, image in us-east-1: both aws
    assert result.ok
    assert [d.address for d in result.diagnostics if d.code == "image-in-other-region"] == \
        ["models.fraud-model", "training_jobs.retrain"]
    assert not [d for d in result.diagnostics if d.code == "image-in-other-partition"]
    gov = parse_system(moved("us-gov-west-1").replace(IMAGE, "222222222222.dkr.ecr.us-gov-east-1.amazonaws.com/t:1"))
    assert [d.code for d in gov.diagnostics if d.code.startswith("image-in-other-") and "environment prod" in d.summary
            ] == ["image-in-other-region"] * 2  # us-gov-east-1 for us-gov-west-1: one partition, replication works
def test_no_cross_account_statement_is_offered_across_partitions() -> None:
    """The repository-policy fix (an ``arn:aws-cn:`` principal in an ``aws`` account's policy) cannot work, and
    ``image_pulls_allowed_by`` must not clear the partition error."""
    result = parse_system(moved("cn-north-1"), "ref.yaml")
    found = [d for d in result.diagnostics if d.code == "image-in-other-account"]
    assert [d.summary for d in found if "environment staging" in d.summary]  # staging (aws) still gets its fix
    assert [d.summary for d in found if "environment prod" in d.summary] == []
    assert "arn:aws-cn:" not in "".join(d.detail for d in found)
    allowed = moved("cn-north-1").replace(
        'target: {kind: aws, region: cn-north-1, account: "222222222222"}',
        'target: {kind: aws, region: cn-north-1, account: "222222222222", image_pulls_allowed_by: ["123456789012"]}')
    assert allowed != moved("cn-north-1")
    again = parse_system(allowed, "ref.yaml")
    assert sorted(d.address for d in again.diagnostics if d.code == "image-in-other-partition") == \
        ["models.fraud-model", "training_jobs.retrain"]
