"""``data_sources[].retention`` is a whole number of days, at least 1d (audit datasources-3, spec/data.py).

Both targets compile it to S3 lifecycle days (botocore ``s3`` ``LifecycleExpiration.Days``: "The value must be a
non-zero positive integer."). Before, ``12h`` and ``90m`` validated and compiled to 0 days, i.e. no expiration
rule at all (kept forever), and ``36h`` to 1 day. Now each is a diagnostic naming the file, the line and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_infra.spec import parse_system

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
RETENTION = "    retention: 400d"


def with_retention(value: str) -> tuple[str, int]:
    text = FRAUD.read_text()
    lines = text.splitlines()
    [index] = [i for i, line in enumerate(lines) if line.startswith(RETENTION)]
    return text.replace(RETENTION, f"    retention: {value}", 1), index + 1


@pytest.mark.parametrize(("value", "suggested"), [("12h", "1d"), ("90m", "1d"), ("36h", "2d")])
def test_a_retention_that_is_not_whole_days_is_refused_at_its_line(value, suggested):
    text, line = with_retention(value)
    loaded = parse_system(text, str(FRAUD), "prod")
    assert not loaded.ok
    [found] = [d for d in loaded.diagnostics if "not a whole number of days" in f"{d.summary} {d.detail}"]
    said = f"{found.summary} {found.detail}"
    assert f"{value} is not a whole number of days" in said
    assert "Expiration.Days: a non-zero positive integer" in said
    assert f"write whole days, at least 1d; {suggested} keeps at least {value}" in said
    assert found.location.line == line and str(FRAUD) in str(found.location)


@pytest.mark.parametrize(("value", "days"), [("400d", 400), ("720h", 30), ("1d", 1), ("2w", 14)])
def test_whole_days_are_accepted(value, days):
    text, _ = with_retention(value)
    loaded = parse_system(text, str(FRAUD), "prod")
    assert loaded.ok, [d.summary for d in loaded.diagnostics]
    [transactions] = [d for d in loaded.system.data_sources if d.name == "transactions"]
    assert transactions.retention.seconds == days * 86400


def test_no_example_or_doc_writes_a_retention_that_is_not_whole_days():
    root = FRAUD.parents[2]
    found = []
    for path in [*root.glob("examples/**/*.yaml"), *root.glob("docs/**/*.md"), *root.glob("tests/**/*.yaml")]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.search(r"\bretention:\s*['\"]?([0-9]+)([smhdw])\b", line)
            if match and int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)] % 86400:
                found.append(f"{path}:{number}")
    assert not found
