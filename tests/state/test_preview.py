"""Reading Pulumi's own plan: `pulumi preview --json` output and engine event logs."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.state.preview import (
    Preview,
    PreviewStep,
    PropertyDiff,
    parse_engine_events,
    parse_preview,
)
from mlops_infra.state.pulumi_state import StateError

UP_3 = "pulumi_display_not-truncated_up-3.events.jsonl"
TEMPLATE_BODY = "pulumi_display_not-truncated_template-body.events.jsonl"


@pytest.fixture(scope="module")
def fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "pulumi"


def read_preview(fixtures: Path, kind: str) -> Preview:
    path = fixtures / f"stratify_sample-preview-{kind}.json"
    return parse_preview(path.read_bytes(), str(path))


# --------------------------------------------------------------------------------------------
# pulumi preview --json
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "counts"), [
    ("creates", {"create": 16}),
    ("update", {"update": 1, "same": 15}),
    ("deletes", {"delete": 14, "same": 2}),
])
def test_preview_fixtures_step_counts(fixtures: Path, kind: str, counts: dict[str, int]) -> None:
    preview = read_preview(fixtures, kind)

    assert len(preview.steps) == 16
    assert preview.op_counts() == counts
    assert preview.change_summary == counts
    assert not preview.failed
    assert all(step.type and step.urn.startswith("urn:pulumi:dev::sample::") for step in preview.steps)


def test_preview_update_step_has_reasons_and_detailed_diff(fixtures: Path) -> None:
    preview = read_preview(fixtures, "update")

    (update,) = [step for step in preview.steps if step.op == "update"]

    assert update.type == "aws:lambda/function:Function"
    assert update.urn.endswith("$aws:lambda/function:Function::docsHandler")
    assert update.diff_reasons == ("code",)
    assert update.replace_reasons == ()
    assert update.detailed_diff == {"code": PropertyDiff("update", input_diff=False)}
    assert all(step.detailed_diff is None for step in preview.steps if step.op == "same")


def test_preview_creates_start_with_the_stack(fixtures: Path) -> None:
    preview = read_preview(fixtures, "creates")

    assert preview.steps[0] == PreviewStep("create", "urn:pulumi:dev::sample::pulumi:pulumi:Stack::sample-dev",
                                           "pulumi:pulumi:Stack")


def test_preview_delete_steps_take_their_type_from_the_old_state(fixtures: Path) -> None:
    preview = read_preview(fixtures, "deletes")

    types = Counter(step.type for step in preview.steps if step.op == "delete")

    assert types["aws:iam/rolePolicyAttachment:RolePolicyAttachment"] == 9
    assert "" not in types


def test_gzipped_preview(fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / "stratify_sample-preview-update.json").read_bytes()

    assert parse_preview(gzip.compress(data), "p.json.gz") == parse_preview(data, "p.json")


def test_preview_with_replace_and_error_diagnostics() -> None:
    urn = "urn:pulumi:prod::ml::aws:sagemaker/endpointConfig:EndpointConfig::scorer"
    doc = {
        "steps": [{
            "op": "replace", "urn": urn,
            "diffReasons": ["productionVariants"], "replaceReasons": ["productionVariants"],
            "detailedDiff": {"productionVariants[0].instanceType": {"kind": "update-replace", "inputDiff": True}},
        }],
        "changeSummary": {"replace": 1},
        "diagnostics": [{"urn": urn, "prefix": "error: ", "message": "AccessDenied", "severity": "error"},
                        {"message": "hello from the program", "severity": "info"}],
    }

    preview = parse_preview(json.dumps(doc))

    (step,) = preview.steps
    assert step.type == "aws:sagemaker/endpointConfig:EndpointConfig"  # from the URN: no states given
    assert step.replace_reasons == ("productionVariants",)
    assert step.detailed_diff == {"productionVariants[0].instanceType": PropertyDiff("update-replace", True)}
    assert preview.failed
    assert [d.severity for d in preview.diagnostics] == ["error", "info"]
    assert preview.diagnostics[0].urn == urn


def test_a_failed_preview_with_only_diagnostics() -> None:
    preview = parse_preview('{"diagnostics": [{"message": "boom", "severity": "error"}]}')

    assert preview.steps == () and preview.change_summary == {} and preview.failed


# --------------------------------------------------------------------------------------------
# Engine event logs
# --------------------------------------------------------------------------------------------


def test_up_3_events(fixtures: Path) -> None:
    path = fixtures / UP_3

    preview = parse_engine_events(path.read_text(), str(path))

    assert len(preview.steps) == 6
    assert preview.op_counts() == {"create": 6} == preview.change_summary
    assert preview.steps[0].type == "pulumi:pulumi:Stack"
    assert "aws:eks/cluster:Cluster" in {step.type for step in preview.steps}


def test_template_body_events(fixtures: Path) -> None:
    path = fixtures / TEMPLATE_BODY

    preview = parse_engine_events(path.read_bytes(), str(path))

    assert len(preview.steps) == 58
    assert preview.op_counts() == {"same": 57, "update": 1} == preview.change_summary
    (update,) = [step for step in preview.steps if step.op == "update"]
    assert update.type == "aws:cloudformation/stack:Stack"
    assert update.diff_reasons == ("templateBody",)
    assert update.detailed_diff == {"templateBody": PropertyDiff("update", False)}  # events say diffKind
    assert any(step.type.startswith("kubernetes:") for step in preview.steps)


def test_events_from_an_open_file_and_from_a_list_of_lines(fixtures: Path) -> None:
    path = fixtures / UP_3
    expected = parse_engine_events(path.read_text(), str(path))

    with path.open("rb") as handle:
        assert parse_engine_events(handle, str(path)) == expected
    assert parse_engine_events(path.read_text().splitlines(), str(path)) == expected
    assert parse_engine_events(path.read_text().replace("\n", "\r\n\n"), str(path)) == expected


def test_events_diagnostics_and_unknown_event_kinds() -> None:
    lines = [
        json.dumps({"sequence": 1, "preludeEvent": {"config": {}}}),
        json.dumps({"sequence": 2, "someFutureEvent": {"x": 1}}),
        json.dumps({"sequence": 3, "diagnosticEvent": {"message": "denied", "severity": "error",
                                                        "urn": "urn:pulumi:d::p::t:m:T::n"}}),
        json.dumps({"sequence": 4, "cancelEvent": {}}),
    ]

    preview = parse_engine_events(lines)

    assert preview.steps == () and preview.change_summary == {}
    assert preview.failed and preview.diagnostics[0].urn == "urn:pulumi:d::p::t:m:T::n"


# --------------------------------------------------------------------------------------------
# Clean errors
# --------------------------------------------------------------------------------------------


def test_truncated_preview(fixtures: Path) -> None:
    data = (fixtures / "stratify_sample-preview-deletes.json").read_bytes()

    with pytest.raises(StateError) as info:
        parse_preview(data[: len(data) // 2], "preview.json")

    assert "truncated" in info.value.summary and "line" in info.value.summary


def test_state_file_is_not_a_preview(fixtures: Path) -> None:
    with pytest.raises(StateError) as info:
        parse_preview((fixtures / "stratify_sample-export.json").read_bytes(), "export.json")

    assert "state" in info.value.detail


@pytest.mark.parametrize(("doc", "needle"), [
    ({"steps": [{"urn": "urn:pulumi:d::p::t:m:T::n"}]}, 'no "op"'),
    ({"steps": [{"op": "create"}]}, 'no "urn"'),
    ({"steps": {"op": "create"}}, "an array"),
    ({"steps": [{"op": "update", "urn": "u", "detailedDiff": {"a": {"inputDiff": True}}}]}, '"kind"'),
    ({"steps": [{"op": "update", "urn": "u", "diffReasons": "a"}]}, "an array"),
    ({"steps": [], "changeSummary": {"create": "1"}}, "whole number"),
])
def test_bad_previews_are_clean_errors(doc: dict, needle: str) -> None:
    with pytest.raises(StateError) as info:
        parse_preview(json.dumps(doc), "preview.json")

    assert needle in f"{info.value.summary} {info.value.detail}"


def test_event_log_cut_off_on_its_last_line(fixtures: Path, tmp_path: Path) -> None:
    path = tmp_path / "up.events.jsonl"
    path.write_text((fixtures / UP_3).read_text()[:-40])
    before = path.read_bytes()

    with pytest.raises(StateError) as info:
        parse_engine_events(path.read_bytes(), str(path))

    assert info.value.summary == "line 15 of the event log is not JSON"
    assert "cut off" in info.value.detail
    assert path.read_bytes() == before


def test_event_log_with_a_broken_line_in_the_middle(fixtures: Path) -> None:
    lines = (fixtures / UP_3).read_text().splitlines()
    lines[3] = lines[3][:50]

    with pytest.raises(StateError) as info:
        parse_engine_events(lines, "up.events.jsonl")

    assert info.value.summary == "line 4 of the event log is not JSON"
    assert "cut off" not in info.value.detail


@pytest.mark.parametrize(("lines", "needle"), [
    (["[1, 2]"], "not an engine event"),
    ([json.dumps({"resourcePreEvent": {"metadata": {"op": "create"}}})], 'no "urn"'),
    ([json.dumps({"resourcePreEvent": {}})], "an object"),
    ([json.dumps({"summaryEvent": {"resourceChanges": {"create": None}}})], "whole number"),
])
def test_bad_event_lines_are_clean_errors(lines: list[str], needle: str) -> None:
    with pytest.raises(StateError) as info:
        parse_engine_events(lines, "events.jsonl")

    assert needle in f"{info.value.summary} {info.value.detail}"


def test_binary_event_log() -> None:
    with pytest.raises(StateError) as info:
        parse_engine_events(bytes(range(128, 256)), "events.jsonl")

    assert info.value.summary == "not a text file"


# --------------------------------------------------------------------------------------------
# Any input: a Preview or a StateError, nothing else
# --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
step_like = st.fixed_dictionaries({}, optional={
    key: json_values | st.just("update")
    for key in ("op", "urn", "type", "oldState", "newState", "old", "new", "diffReasons", "replaceReasons",
                "diffs", "keys", "detailedDiff")
})


@settings(max_examples=200, deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={"steps": st.lists(step_like, max_size=3) | json_values,
                                               "changeSummary": json_values,
                                               "diagnostics": json_values}) | json_values)
def test_any_json_is_a_preview_or_a_state_error(doc: object) -> None:
    with contextlib.suppress(StateError):
        assert isinstance(parse_preview(json.dumps(doc)), Preview)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.dictionaries(
    st.sampled_from(["resourcePreEvent", "resOutputsEvent", "summaryEvent", "diagnosticEvent", "x"]),
    json_values | st.fixed_dictionaries({}, optional={"metadata": step_like, "resourceChanges": json_values}),
    max_size=2) | json_values, max_size=4))
def test_any_event_lines_are_a_preview_or_a_state_error(events: list) -> None:
    with contextlib.suppress(StateError):
        assert isinstance(parse_engine_events([json.dumps(e) for e in events]), Preview)
