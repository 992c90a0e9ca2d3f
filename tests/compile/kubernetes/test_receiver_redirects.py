"""A compiled webhook receiver that sends a bearer token never follows a redirect (audit secrets-3,
``routing.FOLLOW_REDIRECTS``).

Alertmanager's HTTP client follows redirects by default, and before prometheus/common v0.69.0 re-sends the
bearer token to the redirect target. Every webhook receiver with a token (channels and retrain triggers) of
every Kubernetes case therefore sets ``httpConfig.followRedirects: false`` beside its ``authorization``,
valid against the prometheus-operator v0.89.0 CRD, and ``http_config.follow_redirects: false`` in the
Alertmanager file written from the same routes. Slack, PagerDuty, token-less webhook and email receivers
set no ``httpConfig``, so they keep the Alertmanager's global ``http_config`` (a proxy, a CA). The
behaviour on a real Alertmanager is ``tests/monitoring/test_receiver_redirects_live.py``.
"""

from __future__ import annotations

from collections import Counter

from mlops_infra.compile.kubernetes import routing
from tests.support import crds
from tests.support.kube_cases import CASE_IDS, by_kind, graph_of, system_of

NO_REDIRECTS = {"followRedirects": False}


def _kind(kind: str, item: dict) -> str:
    return f"{kind}+token" if "authorization" in item.get("httpConfig", {}) else kind


def test_token_webhooks_refuse_redirects_and_the_others_keep_the_global_http_config() -> None:
    seen: Counter[str] = Counter()
    for case in CASE_IDS:
        for config in by_kind(graph_of(case), "AlertmanagerConfig"):
            assert crds.errors(config) == [], config["metadata"]["name"]
            for receiver in config["spec"]["receivers"]:
                for kind, items in receiver.items():
                    for item in items if kind != "name" else ():
                        seen[_kind(kind, item)] += 1
                        if _kind(kind, item) == "webhookConfigs+token":
                            assert item["httpConfig"].items() >= NO_REDIRECTS.items(), (case, receiver["name"])
                        else:
                            assert "httpConfig" not in item, (case, receiver["name"])
    assert set(seen) == {"webhookConfigs+token", "webhookConfigs", "slackConfigs", "pagerdutyConfigs",
                         "emailConfigs"}, seen  # the cases hold every receiver shape


def test_the_token_and_the_redirect_rule_share_one_http_config() -> None:
    configs = {c["metadata"]["name"]: c for c in by_kind(graph_of("variety-dev"), "AlertmanagerConfig")}
    for name, token in (("channel-hook", {"key": "token", "name": "hook-token"}),
                        ("retrain-tabular", {"key": "value", "name": "mlops-retrain-trigger-token"})):
        (webhook,) = configs[name]["spec"]["receivers"][0]["webhookConfigs"]
        assert webhook["httpConfig"] == {"authorization": {"credentials": token, "type": "Bearer"},
                                         "followRedirects": False}


def test_the_alertmanager_file_says_the_same() -> None:
    config = routing.alertmanager_config(routing.system_routes(system_of("variety-dev"), "dev"), "variety-dev")
    settings: Counter[tuple[str, object]] = Counter()
    for receiver in config["receivers"]:
        for kind in ("slack_configs", "pagerduty_configs", "webhook_configs", "email_configs"):
            for item in receiver.get(kind, []):
                http_config = item.get("http_config")
                token = "+token" if http_config and "authorization" in http_config else ""
                settings[(kind + token, None if http_config is None else http_config.get("follow_redirects"))] += 1
    assert set(settings) == {("webhook_configs+token", False), ("webhook_configs", None), ("slack_configs", None),
                             ("pagerduty_configs", None), ("email_configs", None)}, settings
