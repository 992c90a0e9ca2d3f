"""B5, promoted in: a promoted version's artifact is copied where DST's serving role may read it.

SageMaker's ``CreateModel`` reads the version's ``ModelDataUrl`` with the endpoint's execution role
(botocore ``CreateModelInput.ExecutionRoleArn``: the role SageMaker assumes "to access model
artifacts and docker image for deployment"), so the copy's destination must lie under a prefix the
compiled serving role policy grants ``s3:GetObject`` on; and, after B4, it must be in the platform
artifacts bucket (never expired), not in a data source with a retention.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from types import SimpleNamespace

from mlops_infra.compile import compile_system
from mlops_infra.model_versions import VersionRecord
from mlops_infra.promote.artifacts import plan_steps
from mlops_infra.spec import load_system
from tests.support.promotion import DIGEST_V14, copy_reference
from tests.support.text_edits import edit

SOURCE = "s3://fraud-detection-staging-platform-artifacts-111111111111/training/retrain/run-7/model/"


def promotion_into(path: Path, dst: str = "prod"):
    system = load_system(path, dst).system
    mapping = SimpleNamespace(model="fraud-model", digest=DIGEST_V14, registered=False, dst_version=1, src_version=3,
                              dst_where="prod", src_record=VersionRecord(3, "Approved", "Completed", digest=DIGEST_V14,
                                                                         artifact_uri=SOURCE))
    promotion = SimpleNamespace(src="staging", dst=dst, dst_system=system, src_system=system,
                                versions=SimpleNamespace(mappings=[mapping]))
    return promotion, compile_system(system, dst)


def serving_reads(graph) -> list[str]:
    """The object ARNs (patterns) the endpoints' serving roles may GetObject."""
    found = []
    for r in graph.resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy" and r.urn.endswith("-serving-policy"):
            found += [arn for s in r.inputs["policy"]["$json"]["Statement"] if "s3:GetObject" in s["Action"]
                      for arn in s["Resource"]]
    return found


def readable(uri: str, patterns: list[str]) -> bool:
    arn = "arn:aws:s3:::" + uri.removeprefix("s3://") + "model.tar.gz"
    return any(fnmatchcase(arn, p) for p in patterns)


def test_a_version_promoted_into_prod_is_copied_under_the_prefix_its_serving_role_reads(tmp_path: Path) -> None:
    promotion, graph = promotion_into(copy_reference(tmp_path))
    copy = next(s for s in plan_steps(promotion, graph) if s.kind == "copy-artifact")
    assert copy.destination == ("s3://fraud-detection-prod-platform-artifacts-222222222222/training/retrain/"
                                f"promoted/fraud-model/{'14' * 8}/")
    assert readable(copy.destination, serving_reads(graph))
    register = next(s for s in plan_steps(promotion, graph) if s.kind == "register-version")
    assert register.detail["modelData"] == {"ModelDataSource": {"S3DataSource": {  # a folder: see test_model_data
        "S3Uri": copy.destination, "S3DataType": "S3Prefix", "CompressionType": "None"}}}


def test_a_model_no_job_registers_is_copied_under_its_artifacts_uri(tmp_path: Path) -> None:
    path = copy_reference(tmp_path)
    text = edit(path.read_text(), "    registers: fraud-model          # each successful run registers a new model version\n",
                "")
    text = edit(text, "  - name: fraud-model\n", "  - name: fraud-model\n"
                "    artifacts_uri: s3://fraud-imports-222222222222/fraud-model/\n")
    # a bucket is in one region: staging (us-east-1) reads its own (validate's artifacts-uri-region, audit envs-4)
    text = edit(text, "      endpoints.scorer.model.version: 13\n", "      endpoints.scorer.model.version: 13\n"
                "      models.fraud-model.artifacts_uri: s3://fraud-imports-us-east-1-111111111111/fraud-model/\n")
    path.write_text(text)
    promotion, graph = promotion_into(path)
    copy = next(s for s in plan_steps(promotion, graph) if s.kind == "copy-artifact")
    assert copy.destination == f"s3://fraud-imports-222222222222/fraud-model/promoted/fraud-model/{'14' * 8}/"
    assert readable(copy.destination, serving_reads(graph))
