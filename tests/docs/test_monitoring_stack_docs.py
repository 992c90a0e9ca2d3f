"""docs/compile-kubernetes.md says what the cluster's monitoring stack really does (audits k8smon-1,
-2, -5 and secrets-4): a missing retrain token Secret makes prometheus-operator reject AlertmanagerConfig
``retrain-<job>`` (v0.89.0 ``checkWebhookConfigs`` -> ``AddSafeAuthorizationCredentials``, "skipping
alertmanagerconfig"), so there is no 503 and ``notify_failed_retrain_<job>`` cannot fire; section 4
lists kube-prometheus-stack's InfoInhibitor and ``overrideHonorLabels`` with what ``plan --refresh`` checks.
"""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "compile-kubernetes.md"


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(title)
    following = re.search(r"\n##+ \d", text[start + len(title):])
    return text[start: start + len(title) + (following.start() if following else len(text))]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_no_section_promises_a_503_for_a_missing_token_secret():
    for title in ("### 3.7 Alerts and channels", "## 4. What the cluster must provide"):
        flat = _flat(_section(title))
        assert not re.search(r"503[^.]{0,40}while (its token Secret|it is)[^.]{0,60}missing", flat), title
    alerts = _flat(_section("### 3.7 Alerts and channels"))
    assert ("A **missing** token Secret is not one of those failures: prometheus-operator then rejects the whole "
            "AlertmanagerConfig `retrain-<job>`") in alerts
    assert "`notify_failed_retrain_<job>` cannot fire" in alerts
    assert 'prometheus_operator_managed_resources{resource="AlertmanagerConfig", state="rejected"}' in alerts
    cluster = _flat(_section("## 4. What the cluster must provide"))
    assert "While it is missing, prometheus-operator rejects AlertmanagerConfig `retrain-<job>` altogether" in cluster


def test_section_4_lists_the_info_inhibitor_and_override_honor_labels_with_their_checks():
    cluster = _flat(_section("## 4. What the cluster must provide"))
    assert ("| kube-prometheus-stack's InfoInhibitor inhibit rule removed from `alertmanager.config.inhibit_rules`"
            in cluster)
    # closing-38a-1: disabling the alerting rule alone leaves the inhibit rule the plan reads: not offered as enough
    assert "the chart still writes the inhibit rule into the Alertmanager's Secret" in cluster
    assert "`mlops_infra/plan/alertmanager_inhibit.py`" in cluster
    assert "does not set `spec.overrideHonorLabels: true`" in cluster


def test_section_3_8_names_the_dashboard_key_the_compiler_writes():
    """The dashboard ConfigMaps' data key as section 3.8 states it is the one compiled for the reference's
    Kubernetes environment (``dashboards.file_name``; the old text said ``<name>.json``)."""
    from mlops_infra.compile import compile_system
    from mlops_infra.spec import load_system

    spec = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
    loaded = load_system(spec, "dev")
    graph = compile_system(loaded.system, "dev")
    keys = {(r.inputs["metadata"]["name"], key) for r in graph.resources if r.role == "dashboard"
            for key in r.inputs["data"]}
    assert keys
    system = loaded.system.metadata.name
    for name, key in keys:
        kind, item = re.fullmatch(r"dashboard-(endpoint|training)-(.+)", name).groups()
        assert key == f"{system}.dev.{kind}.{item}.json"
    section = _flat(_section("### 3.8 Dashboards"))
    assert "(key `<system>.<env>.<kind>.<name>.json`, `<kind>` `endpoint` or `training`" in section
    assert "(key `<name>.json`)" not in section
