"""Reading Pulumi prior state: real checkpoints and exports, the file backend layout, clean errors."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_infra.errors import UserError
from mlops_infra.state.model import SECRET_MARKER, SECRET_SIG, PriorState
from mlops_infra.state.pulumi_state import (
    StateError,
    check_integrity,
    find_state_file,
    load_state,
    parse_state,
    parse_urn,
    split_provider_reference,
)

CHECKPOINT_V3 = "pulumi_checkpoint-v3.json"
CHECKPOINT_SECRETS = "pulumi_checkpoint-secrets.json"
STRATIFY_EXPORT = "stratify_sample-export.json"
ALIASES_EXPORT = "pulumi_aliases_rename_component_step1_stack.json"
HTTPSTATE = "pulumi_httpstate_snapshot_test.json"


@pytest.fixture(scope="module")
def fixtures(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "pulumi"


def canonical_sha(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def secret_objects(value: object) -> list[dict]:
    """Every secret object (signature key with the secret marker) nested in ``value``."""
    found: list[dict] = []
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_MARKER:
            return [value]
        for item in value.values():
            found += secret_objects(item)
    elif isinstance(value, list):
        for item in value:
            found += secret_objects(item)
    return found


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def assert_state_error(path: Path, *needles: str) -> StateError:
    """load_state(path) raises a StateError mentioning every needle, and leaves the file alone."""
    before = snapshot(path)
    listing = sorted(path.parent.iterdir())
    with pytest.raises(StateError) as info:
        load_state(path)
    err = info.value
    text = f"{err.summary}\n{err.detail}"
    for needle in needles:
        assert needle.lower() in text.lower(), text
    assert err.source == str(path)
    assert snapshot(path) == before
    assert sorted(path.parent.iterdir()) == listing
    return err


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------------------------
# Real fixtures
# --------------------------------------------------------------------------------------------


def test_checkpoint_v3_reads_all_30_resources(fixtures: Path) -> None:
    state = load_state(fixtures / CHECKPOINT_V3)

    assert state.version == 3
    assert len(state.resources) == 30
    assert (state.project, state.stack) == ("countdown", "foo")
    assert state.secrets_provider == "b64"
    assert state.pending_operations == 0
    topic = state.resources["urn:pulumi:foo::countdown::cloud:topic:Topic::countDown"]
    assert topic.custom is False and topic.id is None
    children = [r for r in state.resources.values() if r.parent == topic.urn]
    assert children and all(r.custom for r in children)
    assert all(isinstance(r.dependencies, tuple) for r in state.resources.values())


def test_checkpoint_serial_is_sha256_of_canonical_latest(fixtures: Path) -> None:
    raw = json.loads((fixtures / CHECKPOINT_V3).read_text())
    latest = raw["checkpoint"]["latest"]
    export = json.dumps({"version": 3, "deployment": latest}, indent=4)

    from_checkpoint = load_state(fixtures / CHECKPOINT_V3)
    from_export = parse_state(export, "export.json")

    assert from_checkpoint.serial == canonical_sha(latest)
    assert from_export.serial == from_checkpoint.serial
    assert load_state(fixtures / CHECKPOINT_SECRETS).serial != from_checkpoint.serial


def test_checkpoint_secrets_stay_secret_objects(fixtures: Path) -> None:
    state = load_state(fixtures / CHECKPOINT_SECRETS)

    assert len(state.resources) == 30
    secrets = [s for r in state.resources.values() for s in secret_objects([r.inputs, r.outputs])]
    assert len(secrets) == 10
    assert all(set(s) == {SECRET_SIG, "ciphertext"} for s in secrets)
    role = next(r for r in state.resources.values() if r.urn.endswith("::countDown_watcher-iamrole"))
    assert role.inputs["assumeRolePolicy"][SECRET_SIG] == SECRET_MARKER


def test_stratify_export_reads_17_resources_with_providers(fixtures: Path) -> None:
    state = load_state(fixtures / STRATIFY_EXPORT)

    assert state.version == 3
    assert len(state.resources) == 17
    assert (state.project, state.stack) == ("sample", "dev")
    assert state.secrets_provider == "passphrase"
    provider_urn = "urn:pulumi:dev::sample::pulumi:providers:aws::default_6_63_0"
    assert state.resources[provider_urn].custom is True
    assert state.resources[provider_urn].id
    bucket = state.resources["urn:pulumi:dev::sample::aws:s3/bucket:Bucket::docs"]
    assert bucket.provider == provider_urn
    assert bucket.id and bucket.inputs and bucket.outputs
    with_deps = [r for r in state.resources.values() if r.dependencies]
    assert with_deps and all(isinstance(d, str) for r in with_deps for d in r.dependencies)
    attachments = [r for r in state.resources.values()
                   if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert len(attachments) == 9


def test_aliases_export_from_pulumi_0_17_with_service_secrets(fixtures: Path) -> None:
    state = load_state(fixtures / ALIASES_EXPORT)

    assert len(state.resources) == 4
    assert state.secrets_provider == "service"
    assert (state.project, state.stack) == ("aliases_rename_component", "foo")
    stack_urn = "urn:pulumi:foo::aliases_rename_component::pulumi:pulumi:Stack::aliases_rename_component-foo"
    newcomp = state.resources["urn:pulumi:foo::aliases_rename_component::my:module:ComponentThree::newcomp3"]
    assert newcomp.parent == stack_urn and newcomp.custom is False


def apply_span_edits(text: str, edits: list[dict]) -> str:
    """Apply httpstate's diff-based checkpoint edits ({Span: {start, end offsets}, NewText})."""
    for edit in sorted(edits, key=lambda e: e["Span"]["start"]["offset"], reverse=True):
        start, end = edit["Span"]["start"]["offset"], edit["Span"]["end"]["offset"]
        text = text[:start] + edit["NewText"] + text[end:]
    return text


def test_httpstate_req1_is_a_v3_deployment_in_a_json_string(fixtures: Path) -> None:
    golden = json.loads((fixtures / HTTPSTATE).read_text())

    state = parse_state(golden["req1"], "req1")

    assert state.version == 3
    assert list(state.resources) == ["urn-1"]
    assert state.resources["urn-1"].type == "" and state.resources["urn-1"].custom is False
    assert (state.project, state.stack) == (None, None)  # "urn-1" is not an engine URN
    assert state.serial == canonical_sha(json.loads(golden["req1"])["deployment"])


def test_the_json_string_itself_is_read_when_double_encoded(fixtures: Path) -> None:
    golden = json.loads((fixtures / HTTPSTATE).read_text())

    assert parse_state(json.dumps(golden["req1"]), "x").resources.keys() == {"urn-1"}


def test_httpstate_req4_is_a_v4_deployment_with_features(fixtures: Path) -> None:
    golden = json.loads((fixtures / HTTPSTATE).read_text())
    text = golden["req1"]
    for req in ("req2", "req3", "req4"):
        text = apply_span_edits(text, json.loads(golden[req]))
        assert hashlib.sha256(text.encode()).hexdigest() == golden[f"{req}.hash"]

    state = parse_state(text, "req4")

    assert json.loads(text)["features"] == ["refreshBeforeUpdate"]
    assert state.version == 4
    assert list(state.resources) == ["urn-1"]


def test_req4_new_text_alone_is_a_fragment_and_says_so(fixtures: Path) -> None:
    """req4's NewText replaces bytes 0-228 of the previous text: alone it lacks the closing `]}}`."""
    golden = json.loads((fixtures / HTTPSTATE).read_text())
    new_text = json.loads(golden["req4"])[0]["NewText"]

    with pytest.raises(StateError) as info:
        parse_state(new_text, "req4.NewText")

    assert "truncated" in info.value.summary and "column" in info.value.summary


def test_gzipped_state_reads_like_plain(fixtures: Path, tmp_path: Path) -> None:
    plain = fixtures / STRATIFY_EXPORT
    zipped = write(tmp_path, "dev.json.gz", gzip.compress(plain.read_bytes()))
    misnamed = write(tmp_path, "dev.json", gzip.compress(plain.read_bytes()))

    expected = load_state(plain)
    for path in (zipped, misnamed):
        state = load_state(path)
        assert state.source == str(path)
        assert state.serial == expected.serial
        assert state.resources == expected.resources


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_bom_and_utf16_exports_read(fixtures: Path, encoding: str) -> None:
    text = (fixtures / ALIASES_EXPORT).read_text()

    state = parse_state(text.encode(encoding), "export.json")

    assert len(state.resources) == 4


def test_v4_checkpoint_with_features_and_pending_operations() -> None:
    doc = {
        "version": 4,
        "features": ["refreshBeforeUpdate"],
        "checkpoint": {
            "stack": "organization/ml/prod",
            "config": {"aws:region": "us-east-1"},
            "latest": {
                "manifest": {"time": "2026-01-01T00:00:00Z", "magic": "", "version": "v3.200.0"},
                "secrets_providers": {"type": "passphrase", "state": {"salt": "x"}},
                "resources": [
                    {"urn": "urn:pulumi:prod::ml::pulumi:providers:aws::default", "custom": True,
                     "type": "pulumi:providers:aws", "id": "abc", "protect": True,
                     "refreshBeforeUpdate": True, "someFutureField": {"x": 1}},
                ],
                "pending_operations": [{"resource": {}, "type": "creating"}, {"resource": {}, "type": "updating"}],
                "metadata": {"integrity_error": None},
            },
        },
    }

    state = parse_state(json.dumps(doc), "prod.json")

    assert state.version == 4 and state.pending_operations == 2
    assert (state.project, state.stack) == ("ml", "prod")
    assert state.resources["urn:pulumi:prod::ml::pulumi:providers:aws::default"].protect is True


@pytest.mark.parametrize("doc", [
    {"version": 3, "checkpoint": {"stack": "dev", "latest": None}},
    {"version": 3, "checkpoint": {"stack": "dev"}},
    {"version": 3, "deployment": None},
    {"version": 3, "deployment": {"manifest": {}, "resources": None}},
])
def test_empty_stacks(doc: dict) -> None:
    state = parse_state(json.dumps(doc), "dev.json")

    assert state.resources == {}
    assert (state.project, state.stack) == (None, None)
    assert state.pending_operations == 0
    if doc.get("deployment") is None and not doc.get("checkpoint", {}).get("latest"):
        assert state.serial == PriorState.empty().serial


def test_stack_identity_prefers_the_root_stack_urn() -> None:
    resources = [
        {"urn": "urn:pulumi:other::elsewhere::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket"},
        {"urn": "urn:pulumi:dev::proj::pulumi:pulumi:Stack::proj-dev", "type": "pulumi:pulumi:Stack"},
    ]

    state = parse_state(json.dumps({"version": 3, "deployment": {"resources": resources}}), "s")

    assert (state.project, state.stack) == ("proj", "dev")
    with pytest.raises(StateError, match="mixes resources of several stacks"):  # and it cannot be planned
        check_integrity(state)


def test_a_resource_pending_deletion_yields_to_its_replacement() -> None:
    urn = "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b"
    resources = [
        {"urn": urn, "type": "aws:s3/bucket:Bucket", "custom": True, "id": "old", "delete": True},
        {"urn": urn, "type": "aws:s3/bucket:Bucket", "custom": True, "id": "new"},
    ]

    state = parse_state(json.dumps({"version": 3, "deployment": {"resources": resources}}), "s")

    assert state.resources[urn].id == "new"


def test_urn_and_provider_reference_helpers() -> None:
    urn = "urn:pulumi:dev::proj::a:b:Parent$aws:s3/bucket:Bucket::name::with::colons"
    parts = parse_urn(urn)

    assert parts is not None
    assert (parts.stack, parts.project, parts.type, parts.name) == (
        "dev", "proj", "aws:s3/bucket:Bucket", "name::with::colons")
    assert parse_urn("urn-1") is None
    provider = "urn:pulumi:dev::proj::pulumi:providers:aws::default_6_63_0"
    assert split_provider_reference(f"{provider}::42a75fb0-5a64") == (provider, "42a75fb0-5a64")
    assert split_provider_reference("not-a-reference") == ("not-a-reference", "")


# --------------------------------------------------------------------------------------------
# Clean errors, and the source is never touched
# --------------------------------------------------------------------------------------------


def test_truncated_state_says_where_and_that_it_looks_truncated(fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / CHECKPOINT_V3).read_bytes()
    path = write(tmp_path, "dev.json", data[: len(data) // 2])

    err = assert_state_error(path, "truncated", "line", "column", "pulumi stack export")

    assert isinstance(err, UserError)


def test_broken_json_in_the_middle_is_not_called_truncated(fixtures: Path, tmp_path: Path) -> None:
    text = (fixtures / ALIASES_EXPORT).read_text().replace('"custom": false,', '"custom": false,,', 1)
    path = write(tmp_path, "dev.json", text)

    err = assert_state_error(path, "not valid JSON", "line 21")

    assert "truncated" not in err.summary


def test_truncated_gzip_is_a_corrupt_gzip_error(fixtures: Path, tmp_path: Path) -> None:
    data = gzip.compress((fixtures / STRATIFY_EXPORT).read_bytes())
    path = write(tmp_path, "dev.json.gz", data[: len(data) // 2])

    assert_state_error(path, "corrupt gzip", ".pulumi/backups")


def test_gzip_with_garbage_inside_is_a_corrupt_gzip_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.json.gz", b"\x1f\x8b" + bytes(range(256)) * 4)

    assert_state_error(path, "corrupt gzip")


def test_binary_garbage_is_not_a_text_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.json", bytes([0xFF, 0xD8, 0xFF, 0xE0]) + bytes(range(256)) * 8)

    assert_state_error(path, "not a text file", "binary")


def test_gzipped_binary_garbage_is_not_a_text_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.json.gz", gzip.compress(b"{\x00garbage\x80\x81"))

    assert_state_error(path, "not a text file", "after gunzip")


@pytest.mark.parametrize("data", [b"\xff\xfe\x00garbage\x80\x81", b"PK\x03\x04 zip?", b"version: 3\n"])
def test_text_that_is_not_json_at_all(tmp_path: Path, data: bytes) -> None:
    err = assert_state_error(write(tmp_path, "dev.json", data), "not a JSON document")

    assert "truncated" not in err.summary


def test_empty_file(tmp_path: Path) -> None:
    assert_state_error(write(tmp_path, "dev.json", b""), "empty")


def test_newer_version_says_which_versions_and_to_upgrade(fixtures: Path, tmp_path: Path) -> None:
    doc = json.loads((fixtures / STRATIFY_EXPORT).read_text())
    doc["version"] = 99
    path = write(tmp_path, "dev.json", json.dumps(doc))

    err = assert_state_error(path, "version 99", "3 and 4", "upgrade mlops-infra")

    assert err.summary == "unsupported state version 99"


def test_older_version_says_to_export_with_a_current_pulumi(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.json", json.dumps({"version": 1, "checkpoint": {"latest": None}}))

    assert_state_error(path, "version 1", "3 and 4", "pulumi stack export")


@pytest.mark.parametrize("missing", ["urn", "type"])
def test_resource_without_urn_or_type(fixtures: Path, tmp_path: Path, missing: str) -> None:
    doc = json.loads((fixtures / STRATIFY_EXPORT).read_text())
    del doc["deployment"]["resources"][5][missing]
    path = write(tmp_path, "dev.json", json.dumps(doc))

    err = assert_state_error(path, "resources[5]", f'no "{missing}"', "pulumi stack import")

    assert "aws:" in err.detail  # names what it can of the broken entry


@pytest.mark.parametrize(("doc", "needle"), [
    ([1, 2, 3], "JSON array"),
    ({"checkpoint": {}}, 'no "version"'),
    ({"version": "3", "deployment": {}}, "whole number"),
    ({"version": 3}, 'neither "checkpoint" nor "deployment"'),
    ({"version": 3, "checkpoint": [], "x": 1}, '"checkpoint" is a JSON array'),
    ({"version": 3, "deployment": {}, "checkpoint": {}}, "both"),
    ({"version": 3, "deployment": {"resources": {}}}, '"resources" is a JSON object'),
    ({"version": 3, "deployment": {"resources": ["urn:x"]}}, "resources[0] is a JSON string"),
    ({"version": 3, "deployment": {"resources": [{"urn": "u", "type": "t", "inputs": []}]}}, '"inputs"'),
    ({"version": 3, "deployment": {"resources": [{"urn": "u", "type": "t", "dependencies": [1]}]}},
     "dependencies"),
    ({"version": 4, "features": "x", "deployment": {}}, '"features"'),
    ({"manifest": {}, "resources": []}, "bare deployment"),
    ({"steps": [], "changeSummary": {}}, "pulumi preview --json"),
])
def test_wrong_shapes_are_clean_errors(tmp_path: Path, doc: object, needle: str) -> None:
    path = write(tmp_path, "dev.json", json.dumps(doc))

    assert_state_error(path, needle)


def test_duplicate_live_resources_are_refused(tmp_path: Path) -> None:
    entry = {"urn": "urn:pulumi:dev::p::aws:s3/bucket:Bucket::b", "type": "aws:s3/bucket:Bucket"}
    path = write(tmp_path, "dev.json", json.dumps({"version": 3, "deployment": {"resources": [entry, entry]}}))

    assert_state_error(path, "twice", "pulumi state delete")


def test_deeply_nested_json_is_a_clean_error(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.json", "[" * 100_000 + "]" * 100_000)

    assert_state_error(path, "not a Pulumi JSON document")


def test_preview_fixture_and_httpstate_golden_are_not_state(fixtures: Path) -> None:
    for name, needle in (("stratify_sample-preview-update.json", "preview"), (HTTPSTATE, "version")):
        assert_state_error(fixtures / name, needle)


def test_unreadable_paths_are_state_errors(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.json", tmp_path):
        with pytest.raises(StateError) as info:
            load_state(path)
        assert info.value.source == str(path)
        assert "cannot read" in info.value.summary


# --------------------------------------------------------------------------------------------
# File backend layout
# --------------------------------------------------------------------------------------------


def place(root: Path, relative: str, data: bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_project_layout_in_the_stack_dir(fixtures: Path, tmp_path: Path) -> None:
    data = (fixtures / STRATIFY_EXPORT).read_bytes()
    place(tmp_path, ".pulumi/meta.yaml", b"version: 1\n")
    expected = place(tmp_path, ".pulumi/stacks/sample/dev.json", data)

    found = find_state_file(tmp_path, "sample", "dev")

    assert found == expected
    assert len(load_state(found).resources) == 17
    assert find_state_file(tmp_path, "ignored", "organization/sample/dev") == expected
    assert find_state_file(tmp_path, "sample", "prod") is None


def test_project_layout_without_meta_yaml(tmp_path: Path) -> None:
    expected = place(tmp_path, ".pulumi/stacks/sample/dev.json", b"{}")

    assert find_state_file(tmp_path, "sample", "dev") == expected


def test_legacy_layout(fixtures: Path, tmp_path: Path) -> None:
    expected = place(tmp_path, ".pulumi/stacks/dev.json", (fixtures / CHECKPOINT_V3).read_bytes())

    found = find_state_file(tmp_path, "countdown", "dev")

    assert found == expected
    assert load_state(found).project == "countdown"


def test_project_mode_ignores_stray_legacy_files(tmp_path: Path) -> None:
    place(tmp_path, ".pulumi/meta.yaml", b"version: 1\n")
    place(tmp_path, ".pulumi/stacks/dev.json", b"{}")

    assert find_state_file(tmp_path, "sample", "dev") is None


def test_gzipped_stack_file_and_which_wins(tmp_path: Path) -> None:
    place(tmp_path, ".pulumi/meta.yaml", b"version: 1\n")
    zipped = place(tmp_path, ".pulumi/stacks/p/dev.json.gz", gzip.compress(b"{}"))
    assert find_state_file(tmp_path, "p", "dev") == zipped

    plain = place(tmp_path, ".pulumi/stacks/p/dev.json", b"{}")
    os.utime(zipped, ns=(1_000_000_000, 1_000_000_000))
    os.utime(plain, ns=(2_000_000_000, 2_000_000_000))
    assert find_state_file(tmp_path, "p", "dev") == plain

    os.utime(plain, ns=(1_000_000_000, 1_000_000_000))
    assert find_state_file(tmp_path, "p", "dev") == zipped


def test_backend_url_absolute_relative_and_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack_dir, elsewhere, home = tmp_path / "stack", tmp_path / "state", tmp_path / "home"
    stack_dir.mkdir()
    place(stack_dir, ".pulumi/stacks/p/dev.json", b"{}")  # must not be used when the URL points elsewhere
    expected = place(elsewhere, ".pulumi/stacks/p/dev.json", b"{}")
    in_home = place(home, ".pulumi/stacks/p/dev.json", b"{}")
    place(tmp_path / "dollar-home", ".pulumi/stacks/p/dev.json", b"{}")  # $HOME: not where `pulumi` looks
    from tests.state.test_backends import passwd_home

    passwd_home(monkeypatch, home)  # `file://~` is Go's user.Current().HomeDir (audit stateformats-6)
    monkeypatch.setenv("HOME", str(tmp_path / "dollar-home"))

    assert find_state_file(stack_dir, "p", "dev", f"file://{elsewhere}") == expected
    assert find_state_file(stack_dir, "p", "dev", f"file://{elsewhere}?no_tmp_dir=false") == expected
    assert find_state_file(stack_dir, "p", "dev", "file://../state") == stack_dir / "../state/.pulumi/stacks/p/dev.json"
    assert find_state_file(stack_dir, "p", "dev", "file://~") == in_home
    assert find_state_file(stack_dir, "p", "dev", "file://~/") == in_home
    assert find_state_file(stack_dir, "p", "dev", None) == stack_dir / ".pulumi/stacks/p/dev.json"
    assert find_state_file(stack_dir, "p", "dev", "") == stack_dir / ".pulumi/stacks/p/dev.json"


@pytest.mark.parametrize("url", ["s3://bucket/prefix", "https://api.pulumi.com", "azblob://c"])
def test_remote_backends_say_to_export(tmp_path: Path, url: str) -> None:
    with pytest.raises(StateError) as info:
        find_state_file(tmp_path, "p", "dev", url)

    assert "pulumi stack export" in info.value.detail


def test_backend_passwords_stay_out_of_errors(tmp_path: Path) -> None:
    with pytest.raises(StateError) as info:
        find_state_file(tmp_path, "p", "dev", "postgres://pulumi:hunter2@db.internal:5432/state")

    assert "hunter2" not in str(info.value)
    assert "postgres://pulumi:***@db.internal:5432/state" in info.value.detail


@pytest.mark.parametrize(("project", "stack"), [("p", "../../etc/passwd"), ("..", "dev"), ("p", "")])
def test_bad_names_are_refused_before_touching_paths(tmp_path: Path, project: str, stack: str) -> None:
    with pytest.raises(StateError):
        find_state_file(tmp_path, project, stack)


@pytest.mark.parametrize(("meta", "needle"), [(b"version: 2\n", "upgrade"), (b"nope: [", "no version")])
def test_unusable_meta_yaml(tmp_path: Path, meta: bytes, needle: str) -> None:
    place(tmp_path, ".pulumi/meta.yaml", meta)

    with pytest.raises(StateError) as info:
        find_state_file(tmp_path, "p", "dev")

    assert needle in f"{info.value.summary} {info.value.detail}".lower()


# --------------------------------------------------------------------------------------------
# Any input: a PriorState or a StateError, nothing else
# --------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
resource_like = st.fixed_dictionaries(
    {},
    optional={key: json_values | st.just("urn:pulumi:d::p::t:m:T::n")
              for key in ("urn", "type", "custom", "id", "parent", "provider", "inputs", "outputs",
                          "dependencies", "protect", "delete")},
)
state_like = st.fixed_dictionaries(
    {"version": st.sampled_from([3, 4]) | json_values},
    optional={
        "features": json_values,
        "checkpoint": st.fixed_dictionaries({}, optional={"latest": json_values | st.fixed_dictionaries(
            {}, optional={"resources": st.lists(resource_like, max_size=4) | json_values,
                          "secrets_providers": json_values, "pending_operations": json_values})}),
        "deployment": json_values | st.fixed_dictionaries(
            {}, optional={"resources": st.lists(resource_like, max_size=4) | json_values}),
    },
)


@settings(max_examples=300, deadline=None)
@given(doc=state_like | json_values)
def test_any_json_is_a_state_or_a_state_error(doc: object) -> None:
    try:
        state = parse_state(json.dumps(doc), "fuzz.json")
    except StateError as err:
        assert err.summary and err.detail
    else:
        assert all(isinstance(r.inputs, dict) and isinstance(r.dependencies, tuple)
                   for r in state.resources.values())


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64), gzipped=st.booleans())
def test_any_bytes_are_a_state_or_a_state_error(data: bytes, gzipped: bool) -> None:
    with contextlib.suppress(StateError):
        parse_state(gzip.compress(data) if gzipped else data, "fuzz.bin")


# --------------------------------------------------------------------------------------------
# Outputs that repeat an input share its object (memory), and stay exactly what the file says
# --------------------------------------------------------------------------------------------


def test_outputs_repeating_an_input_share_it_and_keep_their_json_types() -> None:
    inputs = {"a": 1, "b": True, "c": 1.0, "d": [1], "e": "s", "f": {"x": [1, {"y": None}]}, "g": 2**64 - 1}
    outputs = {"a": True, "b": 1, "c": 1, "d": [True], "e": "s", "f": {"x": [1, {"y": None}]}, "g": 2**64 - 1,
               "h": "only an output"}
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:p::ml::t:m:T::a", "type": "t:m:T", "inputs": inputs, "outputs": outputs}]}}

    for text in (json.dumps(doc), json.dumps(doc, indent=4)):
        state = parse_state(text.encode(), "s.json")
        resource = state.resources["urn:pulumi:p::ml::t:m:T::a"]

        assert json.dumps(resource.outputs, sort_keys=True) == json.dumps(outputs, sort_keys=True)
        assert json.dumps(resource.inputs, sort_keys=True) == json.dumps(inputs, sort_keys=True)
        assert list(resource.outputs) == list(outputs)  # Pulumi's order, as read
        assert all(type(resource.outputs[k]) is type(outputs[k]) for k in outputs)
        if isinstance(resource._outputs, dict):  # read whole: one object for both
            assert resource.outputs["e"] is resource.inputs["e"] and resource.outputs["f"] is resource.inputs["f"]
            assert all(resource.outputs[k] is not resource.inputs[k] for k in "abcd")
        else:  # read resource by resource: packed, the repeated outputs stored once (with the inputs)
            assert sorted(orjson.loads(resource._outputs)) == ["a", "b", "c", "d", "h"]


# integers within 64 bits: orjson reads larger ones as floats, whichever way the state is read
json_values_64 = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(inputs=st.dictionaries(st.sampled_from("abcd"), json_values_64),
       outputs=st.dictionaries(st.sampled_from("abcde"), json_values_64))
def test_shared_outputs_are_the_same_json(inputs: dict, outputs: dict) -> None:
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:p::ml::t:m:T::a", "type": "t:m:T", "inputs": inputs, "outputs": outputs}]}}

    resource = parse_state(json.dumps(doc, indent=4).encode(), "s.json").resources["urn:pulumi:p::ml::t:m:T::a"]

    assert json.dumps(resource.outputs, sort_keys=True) == json.dumps(outputs, sort_keys=True)
    assert list(resource.outputs) == list(outputs) and list(resource.inputs) == list(inputs)


def _numeric_twin(value: Any) -> Any:
    """``value`` with its numbers of another type but equal in Python (``1.0`` for ``1``, ``1`` for
    ``True``, ``-0.0`` for ``0.0``): equal, not the same JSON, when it holds any."""
    if isinstance(value, dict):
        return {k: _numeric_twin(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numeric_twin(v) for v in value]
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and abs(value) < 2**53:
        return float(value)
    if isinstance(value, float) and value == 0:
        return -value
    return value


@settings(max_examples=300, deadline=None)
@given(inputs=st.dictionaries(st.sampled_from("abcd"), json_values_64),
       outputs=st.dictionaries(st.sampled_from("abcde"), json_values_64), same=st.sets(st.sampled_from("abcd")),
       twins=st.sets(st.sampled_from("abcd")), copied=st.booleans())
def test_outputs_apart_keeps_what_does_not_repeat_an_input_as_json(inputs: dict, outputs: dict, same: set,
                                                                    twins: set, copied: bool) -> None:
    """The outputs :func:`_outputs_apart` keeps are those whose JSON differs from the input of the
    same name (or that have none), checked one by one, equal numbers of other types included; the
    order of names is shared between resources. Given the inputs' bytes too (its shortcut for
    outputs that are the inputs), it answers the same; ``copied``: the outputs are the inputs, some
    nearly (numbers of another type)."""
    from mlops_infra.state.pulumi_state import _outputs_apart

    if copied:
        outputs = {k: _numeric_twin(v) if k in twins else json.loads(json.dumps(v)) for k, v in inputs.items()}
    else:
        outputs = {**outputs, **{k: json.loads(json.dumps(inputs[k])) for k in same if k in inputs},
                   **{k: _numeric_twin(inputs[k]) for k in twins if k in inputs}}  # some repeat, some nearly
    names: dict = {}

    def repeats(key: str) -> bool:
        try:
            return key in inputs and orjson.dumps(inputs[key]) == orjson.dumps(outputs[key])
        except TypeError:
            return False

    expected = {k: v for k, v in outputs.items() if not repeats(k)}
    try:
        packed_inputs = orjson.dumps(inputs)
    except TypeError:
        packed_inputs = None
    for given_bytes in (None, packed_inputs):
        own, order = _outputs_apart(outputs, inputs, names, given_bytes)
        assert list(own) == list(expected) and all(own[k] is outputs[k] for k in own)
        if len(expected) == len(outputs):
            assert own is outputs and order is None
        else:
            assert order == tuple(outputs) and _outputs_apart(dict(outputs), inputs, names, given_bytes)[1] is order


def test_a_packed_resource_is_the_frozen_resource_its_fields_make() -> None:
    """:meth:`StateResource.packed` (built without a setattr per slot) gives what the constructor
    gives: equal, the same repr, frozen, pickled back equal."""
    import dataclasses
    import pickle

    from mlops_infra.state.model import StateResource

    packed = StateResource.packed("urn:a", "t:m:T", True, "id-1", "urn:p", "urn:prov", b'{"a":1,"b":[2]}',
                                  b'{"c":"x"}', ("c", "a"), ("urn:d",), True)
    plain = StateResource("urn:a", "t:m:T", True, "id-1", "urn:p", "urn:prov", {"a": 1, "b": [2]},
                          {"c": "x", "a": 1}, ("urn:d",), True)
    assert type(packed) is StateResource and packed == plain and repr(packed) == repr(plain)
    assert pickle.loads(pickle.dumps(packed)) == plain
    for field in ("urn", "inputs", "protect"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(packed, field, None)


@settings(max_examples=200, deadline=None)
@given(inputs=st.dictionaries(st.sampled_from("abcd"), json_values_64),
       outputs=st.dictionaries(st.sampled_from("abcde"), json_values_64))
def test_one_output_is_what_the_outputs_hold(inputs: dict, outputs: dict) -> None:
    """``StateResource.output`` (decoding only what one name needs) answers as ``outputs.get``,
    types included, whether the state was read resource by resource (packed) or whole."""
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:p::ml::t:m:T::a", "type": "t:m:T", "inputs": inputs, "outputs": outputs}]}}
    for text in (json.dumps(doc, indent=4).encode(), json.dumps(doc)):  # bytes are streamed, text read whole
        resource = parse_state(text, "s.json").resources["urn:pulumi:p::ml::t:m:T::a"]
        whole = resource.outputs
        for name in "abcdef":
            one, expected = resource.output(name, "absent"), whole.get(name, "absent")
            assert json.dumps(one) == json.dumps(expected) and type(one) is type(expected)


def test_stored_inputs_are_the_inputs_as_kept() -> None:
    """``StateResource.stored_inputs``: a state file's resource gives the compact JSON bytes orjson
    writes of its inputs (decoding them gives ``inputs``, types included), whether the file was read
    resource by resource or whole; a resource made with dicts gives its inputs dict itself."""
    from mlops_infra.state.model import StateResource

    inputs = {"b": 1.0, "a": [True, None, "x"], "c": {"z": 1, "y": -0.0}}
    doc = {"version": 3, "deployment": {"resources": [
        {"urn": "urn:pulumi:p::ml::t:m:T::a", "type": "t:m:T", "inputs": inputs, "outputs": {"b": 1.0}}]}}
    kinds = []
    for text in (json.dumps(doc, indent=4).encode(), json.dumps(doc)):  # bytes are streamed, text read whole
        resource = parse_state(text, "s.json").resources["urn:pulumi:p::ml::t:m:T::a"]
        stored = resource.stored_inputs
        kinds.append(type(stored))
        if type(stored) is bytes:
            assert stored == orjson.dumps(inputs) and json.dumps(orjson.loads(stored)) == json.dumps(inputs)
        else:
            assert json.dumps(stored) == json.dumps(inputs)
    assert kinds == [bytes, dict]  # read resource by resource (packed), then whole
    plain = StateResource("urn:a", "t:m:T", inputs=inputs)
    assert plain.stored_inputs is inputs


def _stacks_counted(urns: list[str]) -> set[tuple[str, str]]:
    """The (project, stack) of every URN :func:`parse_urn` reads, each parsed (the slow path)."""
    from mlops_infra.state.pulumi_state import parse_urn

    return {(parts.project, parts.stack) for urn in urns if (parts := parse_urn(urn)) is not None}


urn_like = st.lists(st.sampled_from(["urn:pulumi:", "prod", "dev", "::", "ml", "other", ":", "t:m:T", "$", "x",
                                     "urn-1", ""]), max_size=10).map("".join).filter(bool) | st.sampled_from([
    "urn:pulumi:prod::ml::t:m:T::a", "urn:pulumi:prod::ml::t:m:T::b", "urn:pulumi:dev::ml::t:m:T::a",
    "urn:pulumi:prod::other::t:m:T::a", "urn:pulumi:prod::ml::", "urn:pulumi:prod::ml::::x",
    "urn:pulumi:prod::ml:::t::x", "urn:pulumi:prod::ml::t::"])


@settings(max_examples=400, deadline=None)
@given(st.lists(urn_like, unique=True, max_size=8))
def test_a_state_of_one_stack_is_found_as_counting_every_urn_finds_it(urns: list[str]) -> None:
    """``_of_one_stack`` (parsing only URNs without the first well-formed one's prefix) answers as
    parsing every URN does, and ``check_integrity`` refuses exactly the states of several stacks."""
    from mlops_infra.state.model import StateResource
    from mlops_infra.state.pulumi_state import _of_one_stack

    one = len(_stacks_counted(urns)) <= 1
    assert _of_one_stack(urns) is one
    state = PriorState("s.json", 3, "0" * 64, None, None, {urn: StateResource(urn, "t:m:T") for urn in urns})
    if one:
        check_integrity(state)
    else:
        with pytest.raises(StateError, match="mixes resources of several stacks"):
            check_integrity(state)
