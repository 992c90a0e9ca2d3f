"""Plan files (envelope, round trip, staleness), the atomic writer, and the plan JSON Schema."""

from __future__ import annotations

import enum
import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from hypothesis import strategies as st

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


def test_the_schema_has_no_id_an_editor_cannot_resolve() -> None:
    """No ``$id`` or ``$ref`` anywhere (its base is the file's own URL): the ``urn:mlops-infra:`` id made
    yaml-language-server >= 1.20 throw on Node.js 25 (``url.resolve``, DEP0170), as in the MLSystem schema
    (audit schemas-5; tests/spec/test_schema.py)."""
    text = SCHEMA_FILE.read_text()
    assert "urn:" not in text and '"$ref"' not in text
    assert "$id" not in json.loads(text) and "$id" not in plan_json_schema()


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


class _Name(str):
    pass


class _Colour(enum.Enum):
    RED = "red"


_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [1e-5, 1.5e-7, 2.5e-05, 1e16, 1e22, 0.1, -2.0, 1e15, 123456789.125, float("nan"), float("-inf")])
_TEXT = st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é€\u2028😀\x7f\n\t\"\\/"), max_size=6)
_SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.integers(-1000, 1000) | _FLOATS | _TEXT
            | _TEXT.map(_Name) | st.just(_Colour.RED))
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(_TEXT | _TEXT.map(_Name), inner, max_size=4)
    | st.dictionaries(st.integers(0, 3), inner, min_size=1, max_size=2), max_leaves=25)


def test_plan_file_bytes_by_orjson_are_json_dumps_bytes() -> None:
    """Where planfile._orjson_bytes answers, its bytes are ``json.dumps(value, indent=2, sort_keys=True)``'s
    text with the newline, encoded: NaN and infinities, floats json spells otherwise, non-ASCII and DEL, integers
    beyond 64 bits, tuples, str subclasses, an enum member (json refuses it, orjson writes its value)
    and keys that are not strings are drawn; plain JSON values take the shortcut often."""
    from hypothesis import given, settings

    import mlops_infra.plan.planfile as planfile_module

    taken = []

    @settings(max_examples=800, deadline=None)
    @given(st.dictionaries(_TEXT, _VALUES, max_size=4) | _VALUES)
    def check(value) -> None:
        data = planfile_module._orjson_bytes(value)
        if data is not None:
            taken.append(value)
            assert data == (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()  # raises where json refuses

    check()
    assert len(taken) >= 30


def test_plan_files_are_json_dumps_text_with_the_shortcut_on_and_off(plans) -> None:
    """dumps_plan gives json.dumps' text for every fixture plan (with its graph and without), and for
    a plan holding NaN and infinity (a prior state read leniently): with the shortcut on and off
    (test_normalize's _walk_only switch)."""
    import dataclasses

    import mlops_infra.plan.normalize as normalize_module
    import mlops_infra.plan.planfile as planfile_module
    from mlops_infra.plan.model import AttributeChange
    from tests.plan.test_normalize import _walk_only

    plan, graph = plans["replace"]
    first = dataclasses.replace(plan.changes[0], changes=(AttributeChange("x", float("nan"), float("inf")),))
    odd = dataclasses.replace(plan, changes=(first, *plan.changes[1:]))
    cases = [*plans.values(), *((p, None) for p, _ in plans.values()), (odd, None)]
    for plan, graph in cases:
        envelope = json.loads(dumps_plan(plan, graph))  # NaN and Infinity read back as json writes them
        expected = json.dumps({"planfile": envelope["planfile"], "plan": plan.to_json(),
                               "graph": graph.to_json() if graph is not None else None}, indent=2, sort_keys=True) + "\n"
        assert dumps_plan(plan, graph) == expected
        assert (planfile_module._orjson_bytes(envelope) is None) == (plan is odd)  # the shortcut taken
        with _walk_only(normalize_module):
            assert dumps_plan(plan, graph) == expected
    assert "NaN" in dumps_plan(odd)


# --- the plan file as bytes (plan --out) ---------------------------------------------------------------------


def _orjson_bytes_off(planfile_module):
    """The bytes path's shortcut off: ``dumps_plan_bytes`` (and ``dumps_plan``) written by ``json.dumps``."""
    import contextlib

    @contextlib.contextmanager
    def switched():
        real = planfile_module._orjson_bytes
        planfile_module._orjson_bytes = lambda value, proves=None: None
        try:
            yield
        finally:
            planfile_module._orjson_bytes = real

    return switched()


def test_plan_file_bytes_are_the_text_paths_bytes(plans) -> None:
    """dumps_plan_bytes is dumps_plan's text encoded, for every fixture plan (with its graph and without),
    a plan holding NaN and infinity and one holding text that is not ASCII: against the text path with the
    walk's shortcuts off (test_normalize's _walk_only: json.dumps writes it) and against itself with its own
    shortcut off; and a document passed in gives the same bytes as the one it makes."""
    import dataclasses

    import mlops_infra.plan.normalize as normalize_module
    import mlops_infra.plan.planfile as planfile_module
    from mlops_infra.plan.model import AttributeChange
    from mlops_infra.plan.planfile import dumps_plan_bytes, plan_file_document
    from tests.plan.test_normalize import _walk_only

    plan, graph = plans["replace"]
    first = plan.changes[0]
    odd = dataclasses.replace(plan, changes=(dataclasses.replace(
        first, changes=(AttributeChange("x", float("nan"), float("inf")),)), *plan.changes[1:]))
    accented = dataclasses.replace(plan, changes=(dataclasses.replace(
        first, changes=(AttributeChange("tags.team", "caf\u00e9", "\u00e9quipe \u20ac \U0001f600 \x7f"),)),
        *plan.changes[1:]))
    cases = [*plans.values(), *((p, None) for p, _ in plans.values()), (odd, None), (accented, graph)]
    for plan, graph in cases:
        fast = dumps_plan_bytes(plan, graph)
        assert fast.isascii()
        assert fast == dumps_plan(plan, graph).encode()
        assert fast == dumps_plan_bytes(plan, graph, document=plan_file_document(plan, graph))
        with _walk_only(normalize_module):
            assert fast == dumps_plan(plan, graph).encode()  # json.dumps' text
        with _orjson_bytes_off(planfile_module):
            assert fast == dumps_plan_bytes(plan, graph)
            assert fast == dumps_plan(plan, graph).encode()
    assert planfile_module._orjson_bytes(plan_file_document(*plans["replace"])) is not None  # the shortcut taken


def test_save_plan_writes_the_plan_file_bytes(tmp_path: Path, plans) -> None:
    from mlops_infra.plan.planfile import dumps_plan_bytes

    plan, graph = plans["replace"]
    save_plan(tmp_path / "p.json", plan, graph=graph)
    assert (tmp_path / "p.json").read_bytes() == dumps_plan_bytes(plan, graph)
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


# --- atomic writes of bytes ---------------------------------------------------------------------------------


def test_atomic_bytes_write_replaces_keeps_permissions_and_follows_links(tmp_path: Path) -> None:
    from mlops_infra.fileio import write_bytes_atomic

    target = tmp_path / "out.json"
    write_bytes_atomic(target, b"one\r\n")
    assert target.read_bytes() == b"one\r\n" and stat.S_IMODE(target.stat().st_mode) == 0o644
    os.chmod(target, 0o600)
    write_bytes_atomic(target, b"two\n")
    assert target.read_bytes() == b"two\n" and stat.S_IMODE(target.stat().st_mode) == 0o600
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    write_bytes_atomic(link, b"three\n")
    assert link.is_symlink() and target.read_bytes() == b"three\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "out.json"]


def test_atomic_text_write_is_the_bytes_write_of_the_encoded_text(tmp_path: Path) -> None:
    for text in ("plain\n", "caf\u00e9\r\nline\rend\n", "\U0001f600\x7f", ""):
        write_text_atomic(tmp_path / "a.txt", text)
        assert (tmp_path / "a.txt").read_bytes() == text.encode()
        write_text_atomic(tmp_path / "b.txt", text, encoding="utf-16")
        assert (tmp_path / "b.txt").read_bytes() == text.encode("utf-16")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(tmp_path / "c.txt", "\ud800")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_failed_bytes_write_leaves_the_old_file_and_no_temporary(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_infra.fileio import write_bytes_atomic

    target = tmp_path / "plan.json"
    target.write_bytes(b"old\n")

    def fail(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", fail)
    with pytest.raises(OSError):
        write_bytes_atomic(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


_SHAPES = st.sampled_from(["AKIAIOSFODNN7EXAMPLE", "ghp_" + "Zx9" * 12, "1e-5 AKIA", "caf\u00e9 AKIAIOSFODNN7EXAMPLE",
                           "https://hooks.slack.com/services/T01234567/B01234567/abcdefghijklmnopqrstuvwx", "2.0000",
                           "a" * 39 + "9.00001", "user:p\u00e4sswort@registry.example.com"])
"""Secret shapes, and text where orjson may spell otherwise inside a secret scan's hit (tests/secrets/
test_scan_fast_path.py: a 40-character candidate ending in a digit before ``.00001``, a non-ASCII byte in a
URL's password), where only the check near the hits finds it."""


def test_plan_file_bytes_proved_in_the_secret_scan_are_the_separate_passes() -> None:
    """plan --out's one pass (plan.scanning_proof: the secret scan and where orjson may spell otherwise)
    gives the bytes _orjson_bytes gives with spelled_as_stdlib, and, where it proves them, the findings of
    find_secrets over them: values mixing secret shapes, non-ASCII, DEL, floats json spells otherwise."""
    from hypothesis import given, settings

    import mlops_infra.plan.planfile as planfile_module
    from mlops_infra.cli.commands.plan import scanning_proof
    from mlops_infra.secrets import find_secrets

    taken, found = [], []

    @settings(max_examples=400, deadline=None)
    @given(st.dictionaries(_TEXT | _SHAPES, _VALUES | _SHAPES | st.lists(_SHAPES | _TEXT, max_size=4), max_size=5))
    def check(value) -> None:
        proves, scanned = scanning_proof()
        fast = planfile_module._orjson_bytes(value, proves)
        assert fast == planfile_module._orjson_bytes(value)
        if fast is not None:
            assert len(scanned) == 1 and scanned[0][0] is fast
            assert scanned[0][1] == find_secrets(fast)
            taken.append(value)
            found.extend(scanned[0][1])
        else:
            assert not scanned  # only the bytes it proved go with findings

    check()
    assert len(taken) >= 30 and found


# --- plans written one resource change at a time (Plan.to_json_lazy) ---------------------------------------


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


_ODD = st.sampled_from([float("nan"), float("inf"), 2**64, -(2**63) - 1, 2**70, 1e-5, "caf\u00e9", "\x7f",
                        "\u2028", "AKIAIOSFODNN7EXAMPLE"]) | st.integers(245, 256).map(_nested)
"""Values where orjson and json part ways (NaN, integers beyond 64 bits, small floats, non-ASCII, DEL),
a secret shape, and lists nested near orjson's depth limit (255 levels: the text must fail or pass as
``to_json()``'s does)."""


@st.composite
def lazy_plans(draw):
    """Random plans for the lazy path: resource changes whose attribute changes are drawn from a small pool
    (the same object in several resources, as the planner shares them), sensitive ones, odd values
    (:data:`_ODD`, ``_VALUES``) in changes (their values, reason message, address, blocked), the target
    and ML details, and a ``ResourceChange`` and a
    dataclass inside ML details (written by orjson natively, never as a lazy item)."""
    from mlops_infra.plan.model import REDACTED, Action, AttributeChange, MLChange, Reason, ResourceChange

    values = _VALUES | _ODD
    pool = draw(st.lists(st.builds(AttributeChange, _TEXT, values, values, st.booleans(), st.booleans())
                         | st.builds(AttributeChange, _TEXT, st.just(REDACTED), st.just(REDACTED),
                                     st.booleans(), st.just(True)), min_size=1, max_size=6))
    changes = tuple(ResourceChange(
        f"urn:pulumi:prod::p::t::n{i}", draw(st.sampled_from(["aws:s3/bucket:Bucket", "t\u00e9"])), f"n{i}",
        draw(st.sampled_from(list(Action))), Reason("new", draw(_TEXT | values)),
        tuple(draw(st.lists(st.sampled_from(pool), max_size=5))), draw(_TEXT | _TEXT.map(_Name)), draw(_TEXT),
        draw(st.booleans()), draw(st.booleans()), draw(st.none() | _TEXT | values)) for i in range(draw(st.integers(0, 5))))
    inside = draw(st.sampled_from([None, changes[0] if changes else None, Reason("x", "y")]))
    details = draw(st.dictionaries(_TEXT, values, max_size=3)) | ({"inner": inside} if inside is not None else {})
    return Plan("p", "prod", draw(st.dictionaries(_TEXT, values, max_size=3)), "ab" * 32, "cd" * 32, changes,
                ml=(MLChange("endpoints.a", "endpoint", draw(_TEXT), details),), refreshed=draw(st.booleans()),
                warnings=tuple(draw(st.lists(_TEXT, max_size=2))))


def test_lazy_plan_files_are_the_json_dumps_text_of_the_whole_document() -> None:
    """dumps_plan_bytes (the plan's resource changes written one at a time, Plan.to_json_lazy) gives the
    bytes of ``json.dumps`` of the whole document (``plan.to_json()``), for random plans; with the shortcut
    off (_walk_only: json.dumps with ``default``) too; and orjson writes most of them."""
    from hypothesis import given, settings

    import mlops_infra.plan.normalize as normalize_module
    import mlops_infra.plan.planfile as planfile_module
    from mlops_infra.plan.planfile import dumps_plan_bytes, plan_file_document
    from tests.plan.test_normalize import _walk_only

    taken = []

    @settings(max_examples=300, deadline=None)
    @given(lazy_plans())
    def check(plan) -> None:
        try:
            expected = (json.dumps(plan_file_document(plan), indent=2, sort_keys=True) + "\n").encode()
        except TypeError:  # json refuses the dataclass inside the ML details: so does the lazy path
            with pytest.raises(TypeError):
                dumps_plan_bytes(plan)
            return
        assert dumps_plan_bytes(plan) == expected
        if planfile_module._orjson_bytes(plan_file_document(plan, lazy=True)) is not None:
            taken.append(plan)
        with _walk_only(normalize_module):
            assert dumps_plan_bytes(plan) == expected

    check()
    assert len(taken) >= 30
    from mlops_infra.plan.model import AttributeChange, Reason

    plan = make_plan(Serving().graph, PriorState.empty("fraud", "prod"))
    first = plan.changes[0]
    nan = float("nan")
    for odd in (replace(first, changes=(*first.changes, AttributeChange("x", 1, nan))),
                replace(first, changes=(AttributeChange("x", nan, 1), *first.changes)),
                replace(first, reason=Reason("new", nan)), replace(first, blocked=[1.5, {"a": nan}]),
                replace(first, address=(1, 2))):
        odd_plan = replace(plan, changes=(*plan.changes[:-1], odd))
        expected = (json.dumps(plan_file_document(odd_plan), indent=2, sort_keys=True) + "\n").encode()
        assert planfile_module._orjson_bytes(plan_file_document(odd_plan, lazy=True)) is None
        assert dumps_plan_bytes(odd_plan) == expected

