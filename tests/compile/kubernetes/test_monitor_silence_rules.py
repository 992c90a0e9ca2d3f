"""Kubernetes: each drift monitor's ``monitor_silent_<monitor>`` rule and who it is routed to (audit contract-4).

The rule fires in a real Prometheus in tests/monitoring/test_monitor_silence_live.py; here the compiled
text: in the monitor's rule group, over the job's pushed last success or the CronJob's creation, the
horizon two schedules + the job's deadline + 5 minutes (``for`` included), and routed only to the
channels the monitor's alerts notify (else all); nothing without channels.
"""

from __future__ import annotations

from pathlib import Path

from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.rule_tests import rule_file
from mlops_infra.spec import parse_system
from tests.support.kube_cases import REFERENCE, compile_text, compiled

REPO = Path(__file__).resolve().parents[3]
QUICKSTART = REPO / "examples" / "quickstart" / "mlsystem.yaml"


def _silent(graph) -> dict[str, tuple[str, dict]]:
    return {r["alert"]: (g["name"], r) for g in rule_file(graph)["groups"] for r in g["rules"]
            if r.get("alert", "").startswith("monitor_silent_")}


def test_the_reference_drift_monitor_has_a_silence_rule_in_its_group_routed_to_its_alerts_channel() -> None:
    graph = compiled(REFERENCE, "dev")
    [(group, rule)] = _silent(graph).values()
    assert group == "monitor-drift" and rule["alert"] == "monitor_silent_drift"
    # schedule 1h: 2h + 1h deadline + 5m = 11100 s, 600 of them as `for`
    assert rule["expr"] == (
        'time() - (max(mlops_monitor_last_success_timestamp_seconds{namespace="fraud-dev", job="mlops-monitor", '
        'system="fraud-detection", environment="dev", monitor="drift"}) or max(kube_cronjob_created{namespace="fraud-dev", '
        'cronjob="monitor-drift"})) > 10500')
    assert rule["for"] == "10m" and rule["labels"]["severity"] == "warning"
    assert rule["annotations"]["mlops_notify"] == "ml-team"
    routes = {r.config: r.alertnames for r in routing.system_routes(parse_system(REFERENCE.read_text(), str(REFERENCE), "dev").system, "dev")}
    assert "monitor_silent_drift" in routes["channel-ml-team"]
    assert "monitor_silent_drift" not in routes["channel-oncall"]


def test_the_quickstart_six_hour_monitor_waits_thirteen_hours_and_no_channel_means_no_rule() -> None:
    [(_, rule)] = _silent(compiled(QUICKSTART, "dev")).values()
    assert rule["expr"].endswith(") > 46500")  # 2 x 6h + 1h + 5m = 47100 s, less the 10m `for`
    assert "run every 6h" in rule["annotations"]["description"]
    assert "has published no value for 13h5m" in rule["annotations"]["description"]
    text = QUICKSTART.read_text()
    text = text[:text.index("alerts:\n")] + text[text.index("environments:\n"):]
    assert _silent(compile_text(text.replace("      rollback_on: [churn-api-slow]\n", ""))) == {}
