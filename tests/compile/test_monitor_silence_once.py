"""Who hears that a monitor stopped measuring is worked out once per compile, on both targets.

a35a711 asked :func:`mlops_infra.compile.monitor_silence.silent_monitors` (a pass over every monitor,
each over every alert) again for each monitor, and for each channel's Alertmanager route: the
benchmark system's 1,000 drift monitors made ``plan`` take over two minutes (it took 1.5 s before).
Now :meth:`CompileContext.silent_channels` makes it once. Counted here, not timed (the figures belong
to benchmarks/bench_cli.py)."""

from __future__ import annotations

import pytest
import yaml

from mlops_infra.compile import compile_system, monitor_silence
from mlops_infra.spec import parse_system
from tests.compile.test_scale_limits import _generate as _bench


@pytest.mark.parametrize("env", ["dev", "prod"])  # Kubernetes and AWS
def test_silent_monitors_is_worked_out_once_per_compile(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = _bench(30)
    loaded = parse_system(text, "bench.yaml", env)
    assert loaded.ok, [d.message for d in loaded.diagnostics if d.is_error]
    drift = [m for m in yaml.safe_load(text)["monitors"] if m["metric"] in ("feature_drift", "prediction_drift",
                                                                            "data_quality")]
    assert len(drift) >= 30
    calls = []
    real = monitor_silence.silent_monitors
    monkeypatch.setattr(monitor_silence, "silent_monitors", lambda system: calls.append(1) or real(system))
    graph = compile_system(loaded.system, env)
    assert len(calls) == 1
    assert any(r.role in ("silence-alarm", "recording-rule") for r in graph.resources)
