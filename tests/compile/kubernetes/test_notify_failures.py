"""PrometheusRule ``notify-failures``: who is told that a channel cannot deliver (``alerting.notify_failure_rules``).

The rules' behaviour over Alertmanager's counters is pinned by their promtool tests
(``rule_tests.notify_failure_tests``, run in test_rule_tests.py) and on a real Alertmanager 0.25 in
tests/monitoring/test_notify_failures_live.py; here: the object, its routing and the receiver names
it reads agreeing with the Alertmanager configuration the routes amount to.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from mlops_infra.compile.kubernetes import routing
from mlops_infra.compile.kubernetes.alerting import NOTIFY_FAILURES_RULE
from mlops_infra.graph import DesiredGraph
from mlops_infra.spec import load_system, parse_system
from tests.support.kube_cases import by_kind, compile_text

REPO = Path(__file__).resolve().parents[3]
FRAUD = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

ONE_CHANNEL = """
apiVersion: mlops-infra/v1
kind: MLSystem
metadata: {name: solo, owner: a@example.com}
channels:
  - {name: only, kind: slack, webhook_url: {secret: slack-url}}
environments:
  dev:
    target: {kind: kubernetes, context: kind, namespace: solo-dev}
"""


def _rules(graph: DesiredGraph) -> dict[str, dict]:
    [obj] = [o for o in by_kind(graph, "PrometheusRule") if o["metadata"]["name"] == NOTIFY_FAILURES_RULE]
    [group] = obj["spec"]["groups"]
    assert group["name"] == NOTIFY_FAILURES_RULE
    return {r["alert"]: r for r in group["rules"]}


def _routes(text: str, env: str = "dev") -> dict[str, set[str]]:
    system = parse_system(text, "mlsystem.yaml", env).system
    return {r.receiver.name: set(r.alertnames) for r in routing.system_routes(system, env)}


def test_each_channel_reads_its_own_receiver_as_the_operator_names_it() -> None:
    system = load_system(FRAUD, "dev").system
    rules = _rules(compile_text(FRAUD.read_text()))
    config = routing.alertmanager_config(routing.system_routes(system, "dev"), "fraud-dev")
    receivers = {r["name"] for r in config["receivers"]}
    for channel in ("oncall", "ml-team"):
        expr = rules[f"notify_failed_{channel}"]["expr"]
        name = f"fraud-dev/channel-{channel}/{channel}"  # <namespace>/<object>/<receiver> (amcfg.go)
        assert f'receiver_name="{name}"' in expr and name in receivers
        assert rules[f"notify_failed_{channel}"]["labels"]["mlops_channel"] == channel
    assert rules["notify_failed_slack_receivers"]["expr"] == (
        'sum by (integration) (increase(alertmanager_notifications_failed_total{integration="slack", '
        'receiver_name=""}[15m])) > 0')
    assert rules["notify_failures_unobserved"]["expr"] == "absent(alertmanager_notifications_total)"
    for rule in rules.values():
        assert {"mlops_system": "fraud-detection", "mlops_environment": "dev", "namespace": "fraud-dev"}.items() \
            <= rule["labels"].items()
        assert "keep_firing_for" not in rule  # scraped counters, not pushed values
    assert {r["labels"]["severity"] for n, r in rules.items() if n != "notify_failures_unobserved"} == {"critical"}


def test_a_failing_channel_is_told_to_the_others_never_to_itself() -> None:
    routes = _routes(FRAUD.read_text())
    assert "notify_failed_oncall" in routes["ml-team"] and "notify_failed_oncall" not in routes["oncall"]
    assert "notify_failed_ml-team" in routes["oncall"] and "notify_failed_ml-team" not in routes["ml-team"]
    # which slack receiver fails is unknown without receiver_name: the email channel hears it, and the reverse
    assert "notify_failed_slack_receivers" in routes["ml-team"] and "notify_failed_slack_receivers" not in routes[
        "oncall"]
    assert "notify_failed_email_receivers" in routes["oncall"]
    assert all("notify_failures_unobserved" in told for name, told in routes.items() if name != "retrain-retrain")
    assert not any(n.startswith("notify_fail") for n in routes["retrain-retrain"])


def test_a_system_with_one_channel_has_nobody_to_tell_of_its_failure() -> None:
    rules = _rules(compile_text(ONE_CHANNEL))
    assert set(rules) == {"notify_failed_only", "notify_failed_slack_receivers", "notify_failures_unobserved"}
    assert rules["notify_failed_only"]["annotations"]["mlops_notify"] == ""
    assert "no other channel to tell" in rules["notify_failed_only"]["annotations"]["description"]
    routes = _routes(ONE_CHANNEL)
    assert "notify_failed_only" not in routes["only"]
    # all its channels are Slack: the integration's alert goes to them (another system's receiver may be failing)
    assert {"notify_failed_slack_receivers", "notify_failures_unobserved"} <= routes["only"]


def test_all_channels_of_one_kind_hear_that_kind_fail() -> None:
    doc = yaml.safe_load(ONE_CHANNEL)
    doc["channels"].append({"name": "second", "kind": "slack", "webhook_url": {"secret": "slack-2"}})
    routes = _routes(yaml.safe_dump(doc))
    assert "notify_failed_second" in routes["only"] and "notify_failed_only" in routes["second"]
    assert all("notify_failed_slack_receivers" in told for told in routes.values())


def test_no_channels_no_rule() -> None:
    doc = yaml.safe_load(ONE_CHANNEL)
    del doc["channels"]
    graph = compile_text(yaml.safe_dump(doc))
    assert not [o for o in by_kind(graph, "PrometheusRule") if o["metadata"]["name"] == NOTIFY_FAILURES_RULE]
