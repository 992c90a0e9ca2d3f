"""The release record: one JSON line per written promotion, appended atomically, listed by `releases`."""

from __future__ import annotations

import json

import pytest

from mlops_infra.errors import UserError
from mlops_infra.promote.gates import GateResult
from mlops_infra.promote.promote import plan_promotion
from mlops_infra.promote.record import append_release, read_releases, release_entry, release_line, who_am_i
from mlops_infra.spec import load_system
from tests.support.promotion import DIGEST_V14, REFERENCE, dev_view, staging_view


def promotion():
    systems = {env: load_system(REFERENCE, env).system for env in ("dev", "staging")}
    return plan_promotion(REFERENCE.read_text(), "mlsystem.yaml", "dev", systems["dev"], dev_view(), "staging",
                          systems["staging"], staging_view())


def test_entry_traces_versions_digests_gates_skips_and_plan():
    gates = [GateResult("model_approved", "pass", "ok", ("fraud-model v3: Approved",))]
    entry = release_entry(promotion(), gates, {"no_drift": "dev is Kubernetes"}, who="Ann <ann@example.com>",
                          when="2026-12-03T18:00:00Z", plan_sha="sha256:00")
    assert entry["who"] == "Ann <ann@example.com>" and (entry["src"], entry["dst"]) == ("dev", "staging")
    (version,) = entry["versions"]
    assert (version["model"], version["srcVersion"], version["dstVersion"], version["digest"]) == \
        ("fraud-model", 14, 3, DIGEST_V14)
    assert version["lineage"]["srcRegistry"].startswith("MLflow registered model fraud-model")
    assert entry["skippedGates"] == [{"name": "no_drift", "reason": "dev is Kubernetes"}]
    assert entry["gates"][0]["evidence"] == ["fraud-model v3: Approved"] and entry["planDigest"] == "sha256:00"


def test_append_keeps_earlier_lines_byte_for_byte(tmp_path):
    file = tmp_path / "mlsystem.yaml"
    file.write_text("x: 1\n")
    (tmp_path / "releases.jsonl").write_text('{"src": "a", "dst": "b", "note": "kept  as written"}')
    append_release(file, {"src": "dev", "dst": "staging"})
    text = (tmp_path / "releases.jsonl").read_text()
    assert text.startswith('{"src": "a", "dst": "b", "note": "kept  as written"}\n')
    assert [r["src"] for r in read_releases(tmp_path / "releases.jsonl")] == ["a", "dev"]


def test_a_broken_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "releases.jsonl"
    path.write_text('{"src": "a"}\nnot json\n')
    with pytest.raises(UserError, match="line 2 is not a JSON release record"):
        read_releases(path)


def test_who_comes_from_git_config_else_user(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "none"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("USER", "ci-bot")
    assert who_am_i(tmp_path) == "ci-bot"
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Ann\n\temail = ann@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    assert who_am_i(tmp_path) == "Ann <ann@example.com>"


def test_release_line_shows_the_mapping():
    record = json.loads(json.dumps(release_entry(promotion(), [], {}, who="u", when="t", plan_sha="s")))
    assert "dev -> staging  by u" in release_line(record)
    assert "scorer: fraud-model v14 -> v3" in release_line(record)
