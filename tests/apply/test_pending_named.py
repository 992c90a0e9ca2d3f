"""An interrupted apply names the pending operations the state records, not only their count (stop 34, "Noticed
and left").

Pulumi records each step in the checkpoint before it runs (pulumi/pulumi ``pkg/backend/snapshot.go``
``BeginMutation``) as an ``OperationV2`` in ``deployment.pending_operations``: ``{"resource": {"urn", "type",
...}, "type": "creating"|"updating"|"deleting"|"reading"}`` (``sdk/go/common/apitype/core.go``). ``pulumi
refresh`` then asks about each pending create by name; the error said "The state records 7 pending
operation(s)" and nothing of which. Read from a real file-backend stack in a temporary directory (as
``tests/apply/test_interrupt_report.py``), through both state readers (a few resources at a time from bytes,
and whole from text).
"""

from __future__ import annotations

import gzip
import io
import json
import signal

import pytest

from mlops_infra.apply.engine import interrupted
from mlops_infra.state import pulumi_state
from mlops_infra.state.compressed_text import GZIP
from mlops_infra.state.pulumi_state import parse_state
from tests.apply.test_interrupt_report import _guard, _state_text, file_stack  # noqa: F401  (a fixture)

OPS = ["creating", "updating", "deleting", "creating", "reading", "creating", "updating"]


def _with_pending(text: str, indent: int | None = 4) -> str:
    """The applied state with one pending operation per :data:`OPS` on its first resources, and one malformed
    entry (no resource), as a checkpoint laid out with ``indent``."""
    state = json.loads(text)
    latest = state["checkpoint"]["latest"]
    latest["pending_operations"] = [{"resource": {"urn": r["urn"], "type": r["type"], "custom": True}, "type": op}
                                    for r, op in zip(latest["resources"][1:], OPS, strict=False)]
    latest["pending_operations"].append({"type": "creating"})
    return json.dumps(state, indent=indent)


@pytest.mark.parametrize("layout", ["bytes-indented", "bytes-compact", "gzip-compact", "text"])
def test_both_state_readers_keep_each_pending_operation(layout: str) -> None:
    """Compact bytes (plain or gzipped) are read a few resources at a time (``_read_by_resource``,
    ``_read_compressed_by_resource``: checked below); indented ones with ``pending_operations`` after the resources,
    and text, are parsed whole (``resource_texts.outline``: that array's end is taken for the resources')."""
    text = _with_pending(_state_text(), None if layout.endswith("compact") else 4)
    data = {"text": text, "gzip-compact": gzip.compress(text.encode(), mtime=0)}.get(layout, text.encode())
    if layout.endswith("compact"):
        if layout.startswith("gzip"):
            streamed = pulumi_state._read_compressed_by_resource(io.BytesIO(data), "dev.json", GZIP)
        else:
            streamed = pulumi_state._read_by_resource(io.BytesIO(data), "dev.json")
        assert streamed is not None and len(streamed.pending) == len(OPS)
    state = parse_state(data, "dev.json")
    resources = json.loads(text)["checkpoint"]["latest"]["resources"][1:len(OPS) + 1]
    assert state.pending_operations == len(OPS) + 1  # the count is every entry, as before
    assert state.pending == tuple((r["type"], r["urn"], op) for r, op in zip(resources, OPS, strict=True))
    assert parse_state(_state_text(), "dev.json").pending == ()


def test_the_interrupted_error_names_the_first_five_and_counts_the_rest(file_stack) -> None:  # noqa: F811
    """Fails on main bd806b2 (the count only)."""
    options, environ = file_stack
    path = options.stack_dir / ".pulumi" / "stacks" / "fraud-detection" / "dev.json"
    text = _with_pending(path.read_text(encoding="utf-8"))
    path.write_text(text, encoding="utf-8")
    resources = json.loads(text)["checkpoint"]["latest"]["resources"][1:]
    error = interrupted(options, _guard(signal.SIGINT, signal.SIGINT), environ)
    [line] = [line for line in error.detail.splitlines() if "pending operation" in line]
    named = ", ".join(f"{op} {r['type']} {r['urn'].rsplit('::', 1)[-1]}" for r, op in zip(resources, OPS[:5],
                                                                                             strict=False))
    assert line.startswith(f"The state records 8 pending operation(s) ({named} and 2 more): resources Pulumi was")
    assert "pulumi refresh --stack dev" in line
    assert error.exit_code == 130
