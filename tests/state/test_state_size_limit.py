"""The state size limit against the states real systems write (``pulumi_state.MAX_STATE_BYTES``).

The limit exists to stop devices, endless pipes and gzip bombs, not stacks. Issue 14 plans a system
of 10,000 endpoints (``benchmarks/bench_cli.py --endpoints 10000``, 182k resources); its state grew
past the old 1 GiB limit (1,109,724,064 bytes as the benchmark wrote it on 2026-12-05, 43f5c4b), and
``plan --state`` refused it as "too large" after reading 1 GiB of it into memory (2.3 GB peak).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from mlops_infra.compile import compile_system
from mlops_infra.state import pulumi_state
from mlops_infra.state.pulumi_state import MAX_STATE_BYTES, StateError, load_state

REPO = Path(__file__).resolve().parents[2]
SCALE = 10_000
"""The largest system issue 14 plans (endpoints)."""


def _state_bytes(endpoints: int) -> int:
    """The size of the state the benchmark system of ``endpoints`` endpoints has once applied, written
    as ``bench_cli.py --write-inputs`` writes it (the file backend's layout: indent 4, keys of inputs
    and outputs sorted, pulumi-aws's default-filled ``region``)."""
    sys.path[:0] = [str(REPO / "benchmarks")]
    try:
        from bench_plan import applied_checkpoint, engine_order
        from bench_validate import load_generated
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    with tempfile.TemporaryDirectory() as tmp:
        system = load_generated(endpoints, "prod", Path(tmp))
    graph = compile_system(system, "prod")
    return len(json.dumps(engine_order(applied_checkpoint(graph)), indent=4).encode()) + 1


def test_the_state_of_the_largest_planned_system_fits_with_room_to_grow() -> None:
    """Linear in the endpoints (each brings the same resources): two small systems give the bytes per
    endpoint, and so the 10,000-endpoint state (this estimate gave 113.2 MB for 1,000 endpoints,
    where the benchmark wrote 112.0 MB). It must stay under half the limit, so that the graph can
    grow (each stop adds resources per endpoint) before the limit refuses real states again."""
    small, large = _state_bytes(10), _state_bytes(20)
    per_endpoint = (large - small) / 10
    estimate = small + per_endpoint * (SCALE - 10)
    assert estimate <= MAX_STATE_BYTES / 2, (
        f"a {SCALE:,}-endpoint state is about {estimate / 2**20:,.0f} MiB, over half of MAX_STATE_BYTES "
        f"({MAX_STATE_BYTES >> 20:,} MiB)")


def test_an_oversized_regular_file_is_refused_before_it_is_read(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A regular file over the limit that is not laid out as Pulumi writes it (so not streamed) is
    refused from its size, not after holding the limit's worth of it in memory. The file is sparse:
    it takes no disk space."""
    path = tmp_path / "state.json"
    with open(path, "wb") as handle:
        handle.write(b'{"version": 3, "deployment": {"resources": [')
        handle.truncate(MAX_STATE_BYTES + 1)

    def no_whole_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the oversized file was read whole")

    monkeypatch.setattr(pulumi_state, "read_limited", no_whole_read)
    with pytest.raises(StateError) as info:
        load_state(path)
    assert info.value.summary == "the state file is too large"
    assert f"more than {MAX_STATE_BYTES >> 20} MiB" in info.value.detail
    assert os.path.getsize(path) == MAX_STATE_BYTES + 1  # read only


def test_a_file_at_the_limit_is_read_whole_when_not_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size check refuses only what is over the limit: a compact (not streamed) state under it is
    read whole as before."""
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": []}}))
    monkeypatch.setattr(pulumi_state, "MAX_STATE_BYTES", path.stat().st_size)
    assert load_state(path).resources == {}
    monkeypatch.setattr(pulumi_state, "MAX_STATE_BYTES", path.stat().st_size - 1)
    with pytest.raises(StateError, match="too large"):
        load_state(path)
