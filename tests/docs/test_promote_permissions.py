"""docs/promote.md "Permissions of the promoting roles" names every AWS API call promote makes, in the
table of the role that makes it (audit finding promote-5: the docs listed s3:GetObject for SRC and
nothing for DST, so a least-privilege role failed the copy or the registration).

Two checks: the calls of a whole staging -> prod promotion recorded on moto (every botocore call goes
through ``BaseClient._make_api_call``; SRC is staging in us-east-1, DST prod in eu-west-1, so a call's
region says whose role made it; ``AssumeRole`` is the promoting identity's own call), and, for the
paths that run does not reach (an applied state's endpoint reads, a failed upload), every botocore
operation the promote code names (``client.<operation>(`` or ``get_paginator("<operation>")``).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import re
from pathlib import Path

import botocore.client
import botocore.session
import pytest
from botocore import xform_name

from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.promotion import (
    PROD_BUCKET,
    PROD_GROUP,
    PROD_ROLE,
    STAGING_BUCKET,
    STAGING_GROUP,
    STAGING_ROLE,
    promoted_to_staging,
    reference_accounts,
)
from tests.support.promotion import register_package as register

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "promote.md").read_text(encoding="utf-8")
SERVICES = ("s3", "sagemaker", "cloudwatch", "sts")


def promote_code() -> list[str]:
    """The source of what promote runs against AWS: the modules of promote/ that use AWS clients, the
    registry read its ``read_view`` calls, and the alarm read its ``read_alarm_states`` calls (only that
    function: the module's other reads are the rollout's)."""
    from mlops_infra.rollout.gates.cloudwatch import describe_alarm_chunk

    files = [*sorted((REPO / "mlops_infra" / "promote").glob("*.py")),
             REPO / "mlops_infra" / "state" / "aws_live" / "model_registry.py"]
    texts = [p.read_text(encoding="utf-8") for p in files]
    return [t for t in texts if "client" in t] + [inspect.getsource(describe_alarm_chunk)]


def tables() -> dict[str, set[str]]:
    """role (``SRC``, ``DST``) -> the API calls its table names; ``identity`` -> those of the line after."""
    section = DOC.split("## Permissions of the promoting roles\n", 1)[1].split("\n## ", 1)[0]
    found: dict[str, set[str]] = {}
    for role, block in re.findall(r"\*\*(SRC|DST)'s role\*\*(.*?)(?=\n\*\*|\Z)", section, re.S):
        rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| API")]
        found[role] = {name for row in rows for name in re.findall(r"`([A-Z][A-Za-z0-9]+)`", row.split(" | ")[0])}
    identity = re.search(r"\*\*The identity that runs promote\*\*(.*?)(?=\n\n|\Z)", section, re.S)
    assert identity, "the identity's permissions are documented"
    found["identity"] = set(re.findall(r"API call `([A-Z][A-Za-z0-9]+)`", identity.group(1)))
    assert set(found) == {"SRC", "DST", "identity"}, found.keys()
    return found


def operations() -> dict[str, set[str]]:
    session = botocore.session.get_session()
    return {s: set(session.get_service_model(s).operation_names) for s in SERVICES}


def test_every_documented_call_is_an_aws_operation() -> None:
    """No typo in the tables: each name is an operation of S3, SageMaker, CloudWatch or STS (botocore)."""
    known = set().union(*operations().values())
    for role, calls in tables().items():
        assert calls, role
        assert calls <= known, (role, calls - known)


def test_every_operation_the_promote_code_names_is_documented() -> None:
    by_method = {xform_name(op): op for ops in operations().values() for op in ops}
    named: set[str] = set()
    for text in promote_code():
        named |= {by_method[m] for m in re.findall(r"(?<!\bre)\.([a-z][a-z0-9_]*)\(", text) if m in by_method}
        named |= {by_method[m] for m in re.findall(r"get_paginator\(\"([a-z0-9_]+)\"\)", text)}
    documented = tables()
    assert {"CreateModelPackage", "ListModelPackages", "DescribeAlarms", "DescribeEndpoint"} <= named  # the scan works
    missing = named - documented["SRC"] - documented["DST"] - documented["identity"]
    assert not missing, f"docs/promote.md does not name these calls of the promote code: {sorted(missing)}"


RUN = "training/retrain/run-7/model/"


@pytest.mark.moto
@pytest.mark.timeout(300)
def test_the_calls_of_a_promotion_are_in_the_table_of_the_role_that_makes_them(
        tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """staging -> prod on moto: the preview (both registries, a digest computed and recorded on staging's
    package, the no_drift gate's alarm read), then --execute-artifacts (one small object, one above the
    8 MiB multipart threshold), with prod's group holding a package already (so DST's packages are read)."""
    staging, prod = reference_accounts(moto_url, monkeypatch)
    s3 = staging.client("s3", endpoint_url=moto_url)
    files = {"config.json": b'{"layers": 2}', "model.safetensors": os.urandom(9 << 20)}
    for name, body in files.items():
        s3.put_object(Bucket=STAGING_BUCKET, Key=RUN + name, Body=body)
    sm = staging.client("sagemaker", endpoint_url=moto_url)
    register(sm, STAGING_GROUP, None, f"s3://{STAGING_BUCKET}/{RUN}")  # v3 (staging pins it): trained, no digest
    prod_sm = prod.client("sagemaker", endpoint_url=moto_url)
    register(prod_sm, PROD_GROUP, "sha256:" + "99" * 32, f"s3://{PROD_BUCKET}/training/retrain/run-1/model/")
    file, _ = promoted_to_staging(tmp_path)

    calls: set[tuple[str, str, str]] = set()
    real = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        calls.add((client.meta.service_model.service_name, operation, client.meta.region_name))
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    roles = ["--role", f"staging={STAGING_ROLE}", "--role", f"prod={PROD_ROLE}"]
    preview = run_cli("promote", str(file), "--to", "prod", *roles)
    assert "no_drift" in preview.stdout and "digest" in preview.output, preview.output
    executed = run_cli("promote", str(file), "--to", "prod", *roles, "--execute-artifacts")
    assert executed.code == 0 and "registered as v2" in executed.stdout, executed.output
    monkeypatch.undo()

    digest = "sha256:" + hashlib.sha256("".join(
        f"{hashlib.sha256(body).hexdigest()}  {name}\n" for name, body in sorted(files.items())).encode()).hexdigest()
    assert f"copy fraud-model {digest[:19]} " in executed.stdout  # the digest was computed from staging's objects (SRC's S3 reads ran)
    role_of = {"us-east-1": "SRC", "eu-west-1": "DST"}
    documented = tables()
    made = {(role_of[region] if service != "sts" else "identity", operation) for service, operation, region in calls}
    assert {("SRC", "UpdateModelPackage"), ("SRC", "DescribeAlarms"), ("SRC", "GetObject"),
            ("DST", "CreateModelPackage"), ("DST", "UploadPart"), ("DST", "DescribeModelPackage"),
            ("identity", "AssumeRole")} <= made, made  # the run reached every part
    missing = sorted((role, op) for role, op in made if op not in documented[role])
    assert not missing, f"calls docs/promote.md does not list for the role that made them: {missing}"
