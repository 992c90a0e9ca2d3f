"""docs/compile-kubernetes.md section 3.1 says exactly what is enforced of a Kubernetes store's declared
requirements: nothing (stop-36 datasources audit, item 4: it said a post-apply verification "can"
check them, and none does).

The claims, checked against the code: mlops-infra reads a bucket's versioning, encryption or lifecycle
only in ``state/aws_live/s3.py``, the live refresh of the AWS target's own ``aws:s3`` resources, which a
Kubernetes environment has none of; ``apply/verify.py`` reads SageMaker endpoints only; and a
shortened ``retentionDays`` is warned by ``plan`` (``plan/retention.shortened_requirement``).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "compile-kubernetes.md"
STORE_READS = re.compile(r"\.get_bucket_(versioning|encryption|lifecycle_configuration)\(")


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index("### 3.1 "):text.index("### 3.2 ")]


def test_the_table_says_no_requirement_is_enforced() -> None:
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (.+?) \| (yes|no) \|", _section(), re.MULTILINE)}
    assert rows == {"the bucket exists": "no", "`versioning`": "no", "`encryption`": "no", "`retention`": "no",
                    "`contract.freshness`": "no"}
    assert "can." not in _section() and "No post-apply verification reads a Kubernetes store" in _section()


def test_only_the_aws_live_refresh_reads_a_buckets_configuration() -> None:
    readers = sorted(str(p.relative_to(REPO)) for p in (REPO / "mlops_infra").rglob("*.py")
                     if STORE_READS.search(p.read_text(encoding="utf-8")))
    assert readers == ["mlops_infra/state/aws_live/s3.py"]
    verify = (REPO / "mlops_infra" / "apply" / "verify.py").read_text(encoding="utf-8")
    assert "describe_endpoint" in verify and not re.search(r"\bs3\b", verify, re.IGNORECASE)
