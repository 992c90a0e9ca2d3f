"""Plan files (envelope, round trip, staleness), the atomic writer, and the plan JSON Schema."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import jsonschema
import pytest

import mlops_infra.fileio as fileio
from mlops_infra.errors import UserError
from mlops_infra.fileio import write_text_atomic
from mlops_infra.plan.model import Plan, dump_plan_schema, plan_json_schema
from mlops_infra.plan.planfile import check_fresh, dumps_plan, load_plan, save_plan
from mlops_infra.plan.planner import make_plan
from mlops_infra.state.model import PriorState
from tests.plan.test_planner import Serving

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "plan-v1.schema.json"


@pytest.fixture(scope="module")
def plans() -> dict[str, tuple[Plan, object]]:
    """Plans that exercise every section: creates, replaces with costs and ML, drift, warnings."""
    # to us-east-1: the price catalog has ml.g5.xlarge's hosting price there (the cost section has lines)
    old = Serving(version=12, protect_bucket=True)
    new = Serving(version=14, config_name="scorer-cfg-bbbb", region="us-east-1")
    drift = [{"urn": old.endpoint, "kind": "changed", "summary": "endpoint scorer: changed outside Pulumi",
              "changes": []}]
    return {
        "create": (make_plan(new.graph, PriorState.empty("fraud", "prod")), new.graph),
        "replace": (make_plan(new.graph, old.applied(pending_operations=1), drift=drift), new.graph),
        "noop": (make_plan(old.graph, old.applied()), old.graph),
    }


def test_round_trip_keeps_every_field(tmp_path: Path, plans) -> None:
    for name, (plan, graph) in plans.items():
        path = tmp_path / f"{name}.json"
        save_plan(path, plan, graph=graph)
        saved = load_plan(path)
        assert saved.plan.to_json() == plan.to_json(), name
        assert (saved.state_serial, saved.graph_digest) == (plan.state_serial, plan.graph_digest)
        assert saved.graph == graph.to_json()
        assert saved.plan.counts == plan.counts


def test_equal_plans_give_byte_identical_files(plans) -> None:
    plan, graph = plans["replace"]
    assert dumps_plan(plan, graph) == dumps_plan(Plan.from_json(plan.to_json()), graph)


def test_stale_plans_are_refused(plans) -> None:
    plan, _ = plans["replace"]
    saved = load_plan_from_text(dumps_plan(plan))
    check_fresh(saved, plan.state_serial, plan.graph_digest)
    with pytest.raises(UserError, match="stale plan: the state moved since") as err:
        check_fresh(saved, "f" * 64, plan.graph_digest)
    assert "re-run plan" in err.value.summary
    with pytest.raises(UserError, match="stale plan: the desired system changed"):
        check_fresh(saved, plan.state_serial, "e" * 64)


def load_plan_from_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "plan.json"
        path.write_text(text)
        return load_plan(path)


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not valid JSON"),
    ('{"plan": {}}', 'no "planfile" envelope'),
    ('{"planfile": {"kind": "mlops-infra-plan", "formatVersion": 99}, "plan": {}}', "format 99 is not supported"),
    ('{"planfile": {"kind": "mlops-infra-plan", "formatVersion": 1}, "plan": {"formatVersion": 1}}',
     "does not match the plan schema"),
    ("[]", 'no "planfile" envelope'),
])
def test_corrupt_or_foreign_files_are_user_errors(text: str, message: str) -> None:
    with pytest.raises(UserError) as err:
        load_plan_from_text(text)
    assert message in f"{err.value.summary}: {err.value.detail}"
    assert "Re-run `mlops-infra plan" in err.value.detail


def test_envelope_must_agree_with_the_plan(plans) -> None:
    plan, _ = plans["create"]
    doc = json.loads(dumps_plan(plan))
    doc["planfile"]["stateSerial"] = "0" * 63 + "1"
    with pytest.raises(UserError) as err:
        load_plan_from_text(json.dumps(doc))
    assert "disagrees" in err.value.detail


def test_missing_plan_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_plan(tmp_path / "nope.json")


def test_save_refuses_a_graph_that_is_not_the_plans(tmp_path: Path, plans) -> None:
    plan, _ = plans["create"]
    _, other = plans["noop"]
    with pytest.raises(ValueError, match="bug"):
        save_plan(tmp_path / "p.json", plan, graph=other)


# --- atomic writes ------------------------------------------------------------------------------------------


def test_atomic_write_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_text_atomic(target, "one\n")
    assert target.read_text() == "one\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    os.chmod(target, 0o600)
    write_text_atomic(target, "two\n")
    assert target.read_text() == "two\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan.json"
    target.write_text("old\n")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", fail)
    with pytest.raises(OSError):
        write_text_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_save_plan_reports_an_unwritable_directory(tmp_path: Path, plans) -> None:
    plan, _ = plans["create"]
    with pytest.raises(UserError, match="cannot write the plan file"):
        save_plan(tmp_path / "missing-dir" / "plan.json", plan)


# --- the JSON Schema ----------------------------------------------------------------------------------------


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text() == dump_plan_schema(), (
        "schemas/plan-v1.schema.json is stale; regenerate it with: python -c \"from mlops_infra.plan.model import "
        "dump_plan_schema as d; print(d(), end='')\" > schemas/plan-v1.schema.json")
    jsonschema.Draft202012Validator.check_schema(plan_json_schema())


def test_plans_validate_against_the_schema(plans) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    for name, (plan, _) in plans.items():
        errors = sorted(validator.iter_errors(plan.to_json()), key=lambda e: list(e.absolute_path))
        assert not errors, (name, errors[0].message if errors else None)
    sections = plans["replace"][0].to_json()
    assert sections["drift"] and sections["ml"] and sections["cost"]["lines"] and sections["warnings"]
    assert {c["action"] for c in sections["resourceChanges"]} >= {"replace", "update"}


def test_the_schema_rejects_an_unknown_action(plans) -> None:
    doc = plans["create"][0].to_json()
    doc["resourceChanges"][0]["action"] = "destroy"
    assert list(jsonschema.Draft202012Validator(plan_json_schema()).iter_errors(doc))
