"""rollout-bake-shorter-than-alert: on Kubernetes a bake shorter than the longest ``for`` of the rollback
alerts plus the 1m rate window is a warning (audit rolloutrun-1; spec/rollout_bake.py says why).

The reference document's dev environment is Kubernetes, staging and prod AWS; its scorer canary bakes
10m and its rollback alerts (scorer-latency, scorer-errors) have ``for: 5m``. That the controller then
waits on a pending alert, and what a too short bake did, is shown on a real Prometheus in
tests/rollout/test_pending_gates.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import monitoring
from mlops_infra.spec import parse_system
from mlops_infra.spec.rollout_bake import RATE_WINDOW_SECONDS
from tests.support.cli import run_cli
from tests.support.text_edits import edit, line_of

CODE = "rollout-bake-shorter-than-alert"
BAKE = "      bake: 10m "
ROOT = Path(__file__).resolve().parents[2]


def _found(text: str) -> list:
    return [d for d in parse_system(text).diagnostics if d.code == CODE]


def _bake(text: str, bake: str) -> str:
    return edit(text, BAKE, f"      bake: {bake} ")


def test_the_window_is_the_compiled_rate_window() -> None:
    """The spec cannot import the compiler (layering); the two constants must agree."""
    assert RATE_WINDOW_SECONDS == monitoring.WINDOW_SECONDS == 60


def test_the_reference_bakes_long_enough(reference_text: str) -> None:
    assert _found(reference_text) == []
    assert _found(_bake(reference_text, "6m")) == []  # exactly for (5m) + the window (1m)


def test_a_bake_shorter_than_for_plus_the_window_warns_at_the_bake_in_kubernetes_only(
        reference_text: str, tmp_path: Path) -> None:
    text = _bake(reference_text, "5m")
    [d] = _found(text)  # dev only: staging and prod are AWS
    assert d.severity == "warning" and d.address == "endpoints.scorer"
    assert d.path == ("endpoints", 0, "rollout", "bake")
    assert d.summary == ('Endpoint "scorer" bakes 5m at each step, less than its rollback alert "scorer-latency" '
                         "needs to fire (5m + 1m)")
    assert d.detail.startswith("In environment dev (Kubernetes)")
    assert d.detail.endswith('Set rollout.bake to at least 6m, or shorten the for of alert "scorer-latency".')
    spec = tmp_path / "mlsystem.yaml"
    spec.write_text(text)
    result = run_cli("validate", str(spec))
    assert result.code == 0 and "Traceback" not in result.output
    assert f"{spec}:{line_of(text, '      bake: 5m')}:13: warning: Endpoint \"scorer\" bakes 5m" in result.stderr


def test_the_longest_for_is_named(reference_text: str) -> None:
    text = edit(reference_text, "    monitor: errors\n    for: 5m", "    monitor: errors\n    for: 20m")
    [d] = _found(text)
    assert '"scorer-errors" needs to fire (20m + 1m)' in d.summary and "at least 21m" in d.detail


def test_a_blue_green_rollout_without_bake_warns_at_its_rollout(reference_text: str) -> None:
    text = edit(reference_text, "      strategy: canary ", "      strategy: blue_green ")
    text = edit(text, "      steps: [2, 5, 10, 25, 75, 100]", "")
    [d] = _found(edit(text, BAKE, "      "))
    assert d.path == ("endpoints", 0, "rollout")
    assert d.summary.startswith('Endpoint "scorer" has no bake, less than')


def test_rollouts_the_controller_does_not_drive_are_not_checked(reference_text: str) -> None:
    text = edit(reference_text, "      strategy: canary ", "      strategy: rolling ")
    assert _found(_bake(text, "1m")) == []


def test_without_rollback_alerts_there_is_nothing_to_wait_for(reference_text: str) -> None:
    text = edit(reference_text, "      rollback_on: [scorer-latency, scorer-errors]", "      rollback_on: []")
    assert _found(_bake(text, "1m")) == []


@pytest.mark.parametrize(("alert_for", "warned"), [("10m", ["dev"]), ("5m", [])])
def test_the_quickstart(alert_for: str, warned: list[str]) -> None:
    """The quickstart baked 10m with churn-api-slow's for 10m: its dev canary could go to 100 % before the
    alert fired. Its alert's for is now 5m (as the other examples' rollback alerts)."""
    text = (ROOT / "examples" / "quickstart" / "mlsystem.yaml").read_text()
    assert "    monitor: churn-api-latency\n    for: 5m\n" in text
    text = edit(text, "    monitor: churn-api-latency\n    for: 5m\n", f"    monitor: churn-api-latency\n    for: {alert_for}\n")
    assert [d.detail.split(" (")[0].removeprefix("In environment ") for d in _found(text)] == warned
