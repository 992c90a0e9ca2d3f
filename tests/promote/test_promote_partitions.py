"""A promotion between AWS targets in different partitions is refused before any AWS call (audit xregion-6).

Rule encoded (sources in mlops_infra/promote/registries.py ``check_partitions``): accounts and credentials of one
partition (``aws``, ``aws-cn``, ``aws-us-gov``) do not work in another, and a promotion reads both registries and
copies SRC's artifact into DST with one credential chain (``--role`` is assumed with it), so one side's calls
would fail with an error that does not say why. The reference's staging is us-east-1 (``aws``); its prod moved to
cn-north-1 with images of its own partition (so that validate passes: audit xregion-1).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest

from mlops_infra.errors import UserError
from tests.support.cli import assert_clear_error, run_cli
from tests.support.promotion import PROD_SERVING_IMAGE, promoted_to_staging
from tests.support.text_edits import line_of

CN_IMAGE = "222222222222.dkr.ecr.cn-north-1.amazonaws.com.cn/fraud-train:1.4.2"


def _systems(**regions: str) -> dict[str, SimpleNamespace]:
    """env -> a stand-in effective system whose ``environments[env].target`` is in that region (``k8s``: Kubernetes)."""
    def target(region: str) -> SimpleNamespace:
        if region == "k8s":
            return SimpleNamespace(kind="kubernetes")
        return SimpleNamespace(kind="aws", region=region, account="222222222222")

    return {env: SimpleNamespace(environments={env: SimpleNamespace(target=target(r))}) for env, r in regions.items()}


@pytest.mark.parametrize(("src", "dst"), [("us-east-1", "cn-north-1"), ("cn-northwest-1", "us-gov-west-1"),
                                          ("us-gov-east-1", "eu-west-1")])
def test_targets_in_two_partitions_are_refused_naming_both(src: str, dst: str) -> None:
    from mlops_infra.promote.registries import check_partitions

    with pytest.raises(UserError) as refused:
        check_partitions(_systems(staging=src, prod=dst), "staging", "prod")
    assert refused.value.summary.startswith(f"cannot promote staging ({src}, partition ")
    assert f"to prod ({dst}, partition " in refused.value.summary
    assert "AWS credentials do not cross partitions" in refused.value.summary
    assert "Nothing was read or written" in refused.value.detail


@pytest.mark.parametrize(("src", "dst"), [("us-east-1", "eu-west-1"), ("cn-north-1", "cn-northwest-1"),
                                          ("us-gov-west-1", "us-gov-east-1"), ("k8s", "cn-north-1"),
                                          ("cn-north-1", "k8s")])
def test_one_partition_or_a_kubernetes_side_is_not_refused(src: str, dst: str) -> None:
    from mlops_infra.promote.registries import check_partitions

    check_partitions(_systems(staging=src, prod=dst), "staging", "prod")


def test_promote_staging_to_a_china_prod_exits_1_at_prods_region_before_any_aws_call(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file, registries = promoted_to_staging(tmp_path)
    text = file.read_text(encoding="utf-8")
    assert text.count("region: eu-west-1") == 1 and text.count(PROD_SERVING_IMAGE) == 1
    text = text.replace("region: eu-west-1", "region: cn-north-1").replace(
        f"      models.fraud-model.serving_image: {PROD_SERVING_IMAGE}\n",
        f"      models.fraud-model.serving_image: {CN_IMAGE}\n      training_jobs.retrain.image: {CN_IMAGE}\n")
    file.write_text(text, encoding="utf-8")
    assert run_cli("validate", str(file)).code == 0  # images of prod's partition: only the promotion is refused
    made: list[str] = []
    real = boto3.session.Session.client

    def client(self, service, *args, **kwargs):
        made.append(service)
        return real(self, service, *args, **kwargs)

    monkeypatch.setattr(boto3.session.Session, "client", client)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # a call made anyway reaches nothing real
    before = file.read_bytes()
    result = run_cli("promote", str(file), "--to", "prod", registries[0], registries[1])  # prod read from AWS
    assert_clear_error(result, "cannot promote staging (us-east-1, partition aws) to prod (cn-north-1, partition "
                       "aws-cn): AWS credentials do not cross partitions",
                       "Nothing was read or written", "with aws-cn credentials push its image to ECR")
    assert f"{file}:{line_of(text, 'region: cn-north-1')}:" in result.stderr, result.stderr
    assert made == []
    assert file.read_bytes() == before
