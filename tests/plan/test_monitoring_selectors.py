"""Which Prometheus/Alertmanager loads the system's monitoring objects (plan/monitoring_selectors.py).

Each selector rule the module cites has a test here: null object selector = nothing and empty = all
(apimachinery ``LabelSelectorAsSelector``), null namespace selector = the owner's own namespace
(prometheus-operator ``SelectNamespacesFromCache``, ``selectAlertmanagerConfigs``), the four
operators (``Requirement.Matches``: NotIn matches an absent label), the ``kubernetes.io/metadata.name``
namespace label, and the warnings: one per kind none selects, naming the effect, the nearest owner and
the fix; one when there is none at all; one when the loading Prometheus sends alerts nowhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_infra.plan.monitoring_selectors import (
    BY_KIND,
    METADATA_NAME,
    Monitored,
    configured_release,
    has_alerts,
    image_release,
    matches,
    monitoring_objects,
    namespace_labels,
    pushed_alerts,
    selector_warnings,
    unmet,
    verdict,
)

REPO = Path(__file__).resolve().parents[2]
OURS = {"app.kubernetes.io/managed-by": "mlops-infra", "team": "risk"}
RULE = Monitored("alerts.a", "PrometheusRule", "alert-a", "fraud-dev", OURS)
NS = {METADATA_NAME: "fraud-dev", "team": "risk"}


def _prometheus(namespace: str = "monitoring", name: str = "kps", **spec) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _alertmanager(namespace: str = "monitoring", name: str = "kps", **spec) -> dict:
    return {**_prometheus(namespace, name, **spec), "kind": "Alertmanager"}


# -- label selectors (apimachinery LabelSelectorAsSelector, Requirement.Matches) ------------------------


def test_a_null_selector_selects_nothing_and_an_empty_one_everything():
    assert unmet(None, OURS) is None and not matches(None, OURS) and not matches(None, {})
    assert matches({}, OURS) and matches({}, {})
    assert matches({"matchLabels": {}, "matchExpressions": []}, {})  # len(matchLabels)+len(matchExpressions) == 0


def test_match_labels_need_the_label_with_that_value_and_requirements_are_anded():
    assert matches({"matchLabels": {"team": "risk"}}, OURS)
    assert not matches({"matchLabels": {"team": "other"}}, OURS)
    (miss,) = unmet({"matchLabels": {"team": "risk", "release": "kps"}}, OURS)
    assert miss.requirement == "release=kps" and miss.add == ("release", "kps")


@pytest.mark.parametrize(("expression", "labels", "expected"), [
    ({"key": "team", "operator": "In", "values": ["risk", "ops"]}, OURS, True),
    ({"key": "team", "operator": "In", "values": ["ops"]}, OURS, False),
    ({"key": "release", "operator": "In", "values": ["kps"]}, OURS, False),
    ({"key": "team", "operator": "NotIn", "values": ["ops"]}, OURS, True),
    ({"key": "team", "operator": "NotIn", "values": ["risk"]}, OURS, False),
    ({"key": "release", "operator": "NotIn", "values": ["kps"]}, OURS, True),  # absent label: NotIn matches
    ({"key": "team", "operator": "Exists"}, OURS, True),
    ({"key": "release", "operator": "Exists"}, OURS, False),
    ({"key": "release", "operator": "DoesNotExist"}, OURS, True),
    ({"key": "team", "operator": "DoesNotExist"}, OURS, False),
    ({"key": "team", "operator": "Gt", "values": ["1"]}, OURS, False),  # not a LabelSelector operator: refused
])
def test_match_expressions_follow_requirement_matches(expression, labels, expected):
    assert matches({"matchExpressions": [expression]}, labels) is expected


def test_a_miss_says_which_label_change_would_meet_it():
    misses = unmet({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["risk"]},
                                         {"key": "tier", "operator": "Exists"},
                                         {"key": "release", "operator": "In", "values": ["kps", "x"]}]}, OURS)
    assert [(m.add, m.remove) for m in misses] == [(None, "team"), (("tier", "<any value>"), None),
                                                   (("release", "kps"), None)]


# -- namespace selectors (SelectNamespacesFromCache) ---------------------------------------------------


def test_a_null_namespace_selector_selects_only_the_owners_own_namespace():
    selection = BY_KIND["PrometheusRule"]
    assert verdict(selection, _prometheus("fraud-dev", ruleSelector={}), RULE, NS).selects
    elsewhere = verdict(selection, _prometheus("monitoring", ruleSelector={}), RULE, NS)
    assert not elsewhere.selects and elsewhere.set_namespace_selector
    assert elsewhere.problems == ("spec.ruleNamespaceSelector is unset, which selects only its own namespace "
                                  "monitoring",)
    assert verdict(selection, _prometheus(ruleSelector={}, ruleNamespaceSelector={}), RULE, NS).selects


def test_a_namespace_selector_matches_the_namespaces_labels():
    selection = BY_KIND["ServiceMonitor"]
    obj = Monitored("platform", "ServiceMonitor", "mlops-pushgateway", "fraud-dev", OURS)
    by_name = _prometheus(serviceMonitorSelector={},
                          serviceMonitorNamespaceSelector={"matchLabels": {METADATA_NAME: "fraud-dev"}})
    assert verdict(selection, by_name, obj, NS).selects
    monitored = _prometheus(serviceMonitorSelector={}, serviceMonitorNamespaceSelector={"matchLabels": {"mon": "on"}})
    missed = verdict(selection, monitored, obj, NS)
    assert missed.problems == ("spec.serviceMonitorNamespaceSelector needs namespace fraud-dev to match mon=on",)
    assert missed.adds == (("mon", "on"),) and not missed.set_namespace_selector


def test_the_namespace_is_judged_with_its_live_labels_ours_over_them_and_its_name_label():
    from tests.scenarios.harness import compile_file

    graph = compile_file(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    live = {"metadata": {"name": "fraud-dev", "labels": {"monitoring": "on", "team": "someone-else"}}}
    labels = namespace_labels(graph, "fraud-dev", live)
    assert labels[METADATA_NAME] == "fraud-dev" and labels["monitoring"] == "on" and labels["team"] == "risk"
    assert namespace_labels(graph, "fraud-dev", None)[METADATA_NAME] == "fraud-dev"


def test_an_alertmanager_with_a_null_config_selector_loads_no_alertmanager_config():
    selection = BY_KIND["AlertmanagerConfig"]
    obj = Monitored("channels.oncall", "AlertmanagerConfig", "channel-oncall", "fraud-dev", OURS)
    null = verdict(selection, _alertmanager("fraud-dev"), obj, NS)
    assert null.problems == ("spec.alertmanagerConfigSelector is unset, which selects no AlertmanagerConfig",)
    assert verdict(selection, _alertmanager("fraud-dev", alertmanagerConfigSelector={}), obj, NS).selects


# -- warnings -------------------------------------------------------------------------------------------


def _graph_objects() -> tuple[list[Monitored], dict, bool]:
    from tests.scenarios.harness import compile_file

    graph = compile_file(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    return monitoring_objects(graph), {"fraud-dev": namespace_labels(graph, "fraud-dev", None)}, has_alerts(graph)


KPS = {"ruleSelector": {"matchLabels": {"release": "kps"}}, "ruleNamespaceSelector": {},
       "serviceMonitorSelector": {"matchLabels": {"release": "kps"}}, "serviceMonitorNamespaceSelector": {},
       "podMonitorSelector": {"matchLabels": {"release": "kps"}}, "podMonitorNamespaceSelector": {},
       "alerting": {"alertmanagers": [{"namespace": "monitoring", "name": "alertmanager-operated", "port": "web"}]}}
ALL = {"ruleSelector": {}, "ruleNamespaceSelector": {}, "serviceMonitorSelector": {},
       "serviceMonitorNamespaceSelector": {}, "podMonitorSelector": {}, "podMonitorNamespaceSelector": {},
       "alerting": KPS["alerting"]}


def test_the_reference_gets_one_warning_per_kind_a_release_selector_leaves_out():
    objects, labels, alerts = _graph_objects()
    assert {o.kind for o in objects} == {"PrometheusRule", "ServiceMonitor", "PodMonitor", "AlertmanagerConfig"}
    rules, service, pod, configs = selector_warnings(
        objects, [_prometheus(**KPS)], [_alertmanager(alertmanagerConfigSelector={"matchLabels": {"release": "kps"}})],
        labels, alerts=alerts)
    assert rules.startswith("monitoring: no Prometheus in the cluster loads this system's PrometheusRules "
                            "(alert-fraud-drift, alert-scorer-errors, alert-scorer-latency, monitor-drift, "
                            "monitor-errors, monitor-latency and 4 more in namespace fraud-dev), so their recording rules are "
                            "never evaluated and the alerts of this system will never fire. The nearest, Prometheus "
                            'monitoring/kps (spec.ruleSelector {"matchLabels": {"release": "kps"}}, '
                            "spec.ruleNamespaceSelector {}): spec.ruleSelector needs release=kps. Add release: kps "
                            "to metadata.labels of the spec")
    assert "or set spec.ruleSelector to {} (every PrometheusRule)" in rules
    assert "ServiceMonitors (mlops-pushgateway in namespace fraud-dev)" in service and "not scraped" in service
    assert "PodMonitors (metrics-scorer in namespace fraud-dev)" in pod and "not scraped" in pod
    assert "no notification will be sent" in configs
    assert ("spec.alertmanagerConfigNamespaceSelector is unset, which selects only its own namespace monitoring"
            in configs)
    assert "set spec.alertmanagerConfigNamespaceSelector to {} (every namespace)" in configs


def test_owners_that_select_everything_give_no_warning():
    objects, labels, alerts = _graph_objects()
    own_namespace = _alertmanager("fraud-dev", alertmanagerConfigSelector={})
    everywhere = _alertmanager(alertmanagerConfigSelector={}, alertmanagerConfigNamespaceSelector={})
    for alertmanager in (own_namespace, everywhere):
        assert selector_warnings(objects, [_prometheus(**KPS), _prometheus(name="all", **ALL)], [alertmanager],
                                 labels, alerts=alerts) == []


def test_an_empty_cluster_gets_one_warning_per_owner_and_unread_owners_none():
    objects, labels, alerts = _graph_objects()
    prometheus, alertmanager = selector_warnings(objects, [], [], labels, alerts=alerts)
    assert prometheus.startswith("monitoring: the cluster has no Prometheus object (monitoring.coreos.com/v1 "
                                 "prometheuses, all namespaces), so nothing loads this system's PrometheusRules, "
                                 "ServiceMonitors, PodMonitors: the alerts of this system will never fire")
    assert "no Alertmanager object" in alertmanager and "no notification will be sent" in alertmanager
    assert selector_warnings(objects, None, None, labels, alerts=alerts) == []


def test_a_prometheus_that_loads_the_rules_but_has_no_alertmanager_notifies_no_one():
    objects, labels, alerts = _graph_objects()
    silent = {k: v for k, v in ALL.items() if k != "alerting"}
    (warning,) = selector_warnings(objects, [_prometheus(**silent)], [_alertmanager(
        alertmanagerConfigSelector={}, alertmanagerConfigNamespaceSelector={})], labels, alerts=alerts)
    assert warning.startswith("monitoring: Prometheus monitoring/kps loads this system's PrometheusRules but sends "
                              "alerts to no Alertmanager")
    extra = {**silent, "additionalAlertManagerConfigs": {"name": "am", "key": "config.yaml"}}
    assert selector_warnings(objects, [_prometheus(**extra)], None, labels, alerts=alerts) == []


def test_the_nearest_owner_is_the_one_with_the_fewest_unmet_requirements():
    far = _prometheus("other", "far", ruleSelector={"matchLabels": {"a": "1", "b": "2"}})
    near = _prometheus("monitoring", "near", ruleSelector={"matchLabels": {"release": "kps"}},
                       ruleNamespaceSelector={})
    (warning,) = selector_warnings([RULE], [far, near], None, {"fraud-dev": NS})
    assert "The nearest, Prometheus monitoring/near" in warning


def test_an_unread_namespace_is_said_to_be_judged_by_our_labels():
    owner = _prometheus(ruleSelector={}, ruleNamespaceSelector={"matchLabels": {"mon": "on"}})
    (warning,) = selector_warnings([RULE], [owner], None, {"fraud-dev": NS}, unread_namespaces=["fraud-dev"])
    assert warning.endswith("(The namespace's live labels could not be read: it was judged by the labels this "
                            "system gives it.)")


def test_a_paused_owner_loads_nothing_new():
    """prometheus-operator ``sync`` returns before selecting when ``spec.paused`` is true."""
    paused = _prometheus("fraud-dev", ruleSelector={}, paused=True)
    selection = BY_KIND["PrometheusRule"]
    assert not verdict(selection, paused, RULE, NS).selects
    assert verdict(selection, _prometheus("fraud-dev", ruleSelector={}, paused=False), RULE, NS).selects
    (warning,) = selector_warnings([RULE], [paused], None, {"fraud-dev": NS})
    assert warning.endswith("spec.paused is true, so the operator takes no action on it and loads no new object. "
                            "Unpause Prometheus fraud-dev/kps (spec.paused: false).")


# -- overrideHonorLabels (prometheus-operator v0.89.0 AddHonorLabels; audit k8smon-2) -------------------


def test_the_alerts_over_pushed_series_are_found_directly_and_through_a_drift_monitors_recorded_value():
    from tests.scenarios.harness import compile_file

    graph = compile_file(REPO / "examples" / "fraud-detection" / "mlsystem.yaml", "dev")
    # fraud-drift reads the drift monitor's mlops:monitor_value, recorded from the pushed mlops_monitor_value;
    # scorer-latency/-errors read the latency/errors monitors' value, recorded from queue-proxy metrics
    assert pushed_alerts(graph) == ["fraud-drift", "monitor_silent_drift", "rolled_back_scorer"]


def test_a_prometheus_that_overrides_honor_labels_on_the_pushgateways_scrape_names_what_cannot_fire():
    objects, labels, alerts = _graph_objects()
    pushed = ["fraud-drift", "monitor_silent_drift", "rolled_back_scorer"]
    (warning,) = selector_warnings(objects, [_prometheus(**ALL, overrideHonorLabels=True)], None, labels,
                                   alerts=alerts, pushed=pushed)
    assert warning.startswith("monitoring: Prometheus monitoring/kps sets spec.overrideHonorLabels: true, which scrapes "
                              "ServiceMonitor mlops-pushgateway with honor_labels: false whatever its honorLabels: "
                              "true says: the Pushgateway's pushed job and endpoint labels become exported_job and "
                              "exported_endpoint, so the rules over pushed series find nothing and these alerts cannot "
                              "work: fraud-drift, monitor_silent_drift, rolled_back_scorer")
    assert warning.endswith("Fix: unset spec.overrideHonorLabels on Prometheus monitoring/kps, or load this namespace's "
                            "ServiceMonitors and PrometheusRules into a Prometheus without it.")
    for spec in ({**ALL, "overrideHonorLabels": False}, ALL):
        assert selector_warnings(objects, [_prometheus(**spec)], None, labels, alerts=alerts, pushed=pushed) == []


def test_only_a_prometheus_that_selects_the_pushgateways_service_monitor_is_judged():
    objects, labels, alerts = _graph_objects()
    elsewhere = _prometheus("team-b", "other", serviceMonitorSelector={"matchLabels": {"team": "b"}},
                            overrideHonorLabels=True)
    assert not any("overrideHonorLabels" in w for w in selector_warnings(
        objects, [_prometheus(**ALL), elsewhere], None, labels, alerts=alerts, pushed=["fraud-drift"]))


# -- keep_firing_for needs Prometheus 2.42 (audit kubevers-1; prometheus-operator pkg/operator/rules.go) --------


def test_the_rules_that_set_keep_firing_for_are_known_per_prometheus_rule():
    objects, _, _ = _graph_objects()
    kept = {o.name: o.keeps_firing for o in objects if o.keeps_firing}
    assert kept == {"alert-fraud-drift": ("fraud-drift",), "rolled-back-scorer": ("rolled_back_scorer",)}


@pytest.mark.parametrize(("spec", "warns"), [
    ({"version": "v2.41.0"}, True), ({"version": "2.41"}, True),
    ({"version": "v2.41.0", "image": "quay.io/prometheus/prometheus:v3.5.0"}, True),  # the operator reads spec.version
    ({"version": "v2.42.0"}, False), ({"version": "v3.5.0"}, False), ({}, False),
    ({"image": "quay.io/prometheus/prometheus:v3.5.0"}, False),
])
def test_a_prometheus_older_than_2_42_loading_rules_with_keep_firing_for_is_told_what_it_drops(spec, warns):
    objects, labels, alerts = _graph_objects()
    found = [w for w in selector_warnings(objects, [_prometheus(**ALL, **spec)], None, labels, alerts=alerts)
             if "keep_firing_for" in w]
    if not warns:
        assert found == []
        return
    (warning,) = found
    assert warning.startswith("monitoring: Prometheus monitoring/kps runs Prometheus v2.")
    assert "older than 2.42, the first that knows keep_firing_for" in warning
    assert "so fraud-drift, rolled_back_scorer resolve as soon as their condition is not met" in warning
    assert "a rollback notice fires for 5 minutes instead of 15" in warning
    assert warning.endswith("Fix: run Prometheus 2.42 or later on Prometheus monitoring/kps (spec.version).")


@pytest.mark.parametrize("spec", [
    {"image": "quay.io/prometheus/prometheus:v2.41.0"},
    {"version": "v3.5.0", "image": "quay.io/prometheus/prometheus:v2.37.8@sha256:" + "0" * 64},
])
def test_an_old_prometheus_image_the_operator_writes_newer_rules_for_refuses_the_rule_files(spec):
    """prometheus-operator judges by spec.version alone (unset: its default, the latest), so it keeps keep_firing_for
    for an older image, whose Prometheus refuses the rule file and the whole reload (closing-43a-3; before: the image
    tag was taken as the operator's and the warning said the field is removed)."""
    objects, labels, alerts = _graph_objects()
    (warning,) = [w for w in selector_warnings(objects, [_prometheus(**ALL, **spec)], None, labels, alerts=alerts)
                  if "keep_firing_for" in w]
    running = "v2.41.0" if "version" not in spec else "v2.37.8"
    assert warning.startswith(f"monitoring: Prometheus monitoring/kps runs the image {spec['image']} (Prometheus "
                              f"{running}, older than 2.42")
    configured = "spec.version v3.5.0" if "version" in spec else "no spec.version, so the operator's default release"
    assert f"prometheus-operator writes its rules for the release spec.version names ({configured}" in warning
    assert "so it keeps keep_firing_for (on fraud-drift, rolled_back_scorer)" in warning
    assert ("the rule files of PrometheusRule fraud-dev/alert-fraud-drift, fraud-dev/rolled-back-scorer are refused, "
            "and with them the whole rule reload") in warning
    assert "removes the field" not in warning and "resolve as soon as their condition is not met" in warning
    assert f"Fix: set spec.version: {running} on Prometheus monitoring/kps" in warning


def test_the_operators_release_is_spec_version_and_the_image_only_says_what_runs():
    assert configured_release({"spec": {"image": "quay.io/prometheus/prometheus:v2.41.0"}}) is None
    assert configured_release({"spec": {"version": "v2.41.0", "image": "x/prometheus:v3.5.0"}}) == (2, 41, 0)
    assert image_release({"spec": {"image": "registry:5000/prometheus/prometheus:v2.41.0"}}) == (2, 41, 0)
    assert image_release({"spec": {"image": "quay.io/prometheus/prometheus@sha256:" + "0" * 64}}) is None


def test_an_old_prometheus_that_loads_none_of_those_rules_is_not_judged():
    objects, labels, alerts = _graph_objects()
    elsewhere = _prometheus("team-b", "old", version="v2.30.0", ruleSelector={"matchLabels": {"team": "b"}})
    assert not any("keep_firing_for" in w for w in selector_warnings(
        objects, [_prometheus(**ALL), elsewhere], None, labels, alerts=alerts))
