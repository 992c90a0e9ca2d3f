"""Lambda permission statement ids never collide by truncation (audit limits-6; compile/aws/gates.py
``statement_id``).

botocore lambda ``AddPermissionRequest.StatementId`` is at most 100 characters, and AddPermission refuses an id
the function's policy already holds (ResourceConflictException, 409). The retrain gate's permission per
``on_alerts`` alert was ``Allow-<job>-on-<alert>`` cut at 100: a 63-character job retraining on two alerts whose
names share their first 27 characters got two permissions on its one gate with the same id (the second
AddPermission fails mid-apply). Before the fix the first test below found that duplicate.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import yaml

from mlops_infra.compile import compile_system
from mlops_infra.compile.aws import gates
from mlops_infra.spec import parse_system
from tests.compile.aws.cases import REPO

JOB = "fraud-detection-transaction-scorer-retrain-nightly-full-history"
ALERTS = ("fraud-detection-scorer-feature-drift-eu-cards", "fraud-detection-scorer-feature-drift-us-cards")
STATEMENT_ID = re.compile(r"[a-zA-Z0-9-_]+")


def _permissions(doc: dict) -> list[dict]:
    loaded = parse_system(yaml.safe_dump(doc, sort_keys=False), "mlsystem.yaml", "prod")
    assert loaded.ok, [d.summary for d in loaded.diagnostics if d.is_error]
    graph = compile_system(loaded.effective["prod"], "prod")
    return [r.inputs for r in graph.resources if r.type == "aws:lambda/permission:Permission"]


def _long_names() -> dict:
    doc = yaml.safe_load((REPO / "examples" / "fraud-detection" / "mlsystem.yaml").read_text())
    assert len(JOB) == 63
    doc["training_jobs"][0]["name"] = JOB
    drift = next(a for a in doc["alerts"] if a["name"] == "fraud-drift")
    doc["alerts"] = [a for a in doc["alerts"] if a["name"] != "fraud-drift"]
    doc["alerts"] += [{**drift, "name": name} for name in ALERTS]
    doc["training_jobs"][0]["triggers"]["on_alerts"] = list(ALERTS)
    return json.loads(json.dumps(doc))


def test_two_long_permissions_on_one_gate_get_distinct_ids_that_lambda_takes() -> None:
    permissions = _permissions(_long_names())
    ids = Counter((json.dumps(p["function"], sort_keys=True), p["statementId"]) for p in permissions)
    assert [key for key, count in ids.items() if count > 1] == []
    on_alerts = [p["statementId"] for p in permissions if p["statementId"].startswith(f"Allow-{JOB}-on-")]
    assert len(on_alerts) == 2
    for sid in (p["statementId"] for p in permissions):
        assert 1 <= len(sid) <= 100 and STATEMENT_ID.fullmatch(sid), sid


def test_an_id_is_the_bare_cut_unless_that_is_taken_on_the_function() -> None:
    """Audit closing-39a-2: ids a stack could apply before (unique on their function) are kept, so no working
    permission is replaced; only the second of two colliding cuts gets a hash of its whole name."""
    assert gates.statement_id("retrain-on-fraud-drift") == "Allow-retrain-on-fraud-drift"
    first, second = (f"{JOB}-on-{alert}" for alert in ALERTS)
    cut = gates.statement_id(first)
    assert cut == f"Allow-{first}"[:100]  # as before the fix: no replacement on upgrade
    assert gates.statement_id(second) == cut  # the collision the taken set resolves
    hashed = gates.statement_id(second, {cut})
    assert len(hashed) == 100 and hashed != cut and hashed.startswith(f"Allow-{JOB}-on-fraud-detection")
    assert gates.statement_id(second, {cut}) == hashed  # deterministic
    assert gates.statement_id(first, {hashed}) == cut
