"""The Alertmanager SMTP check's rules (plan/alertmanager_smtp.py; prometheus-operator v0.89.0
``convertEmailConfig``, ``provisionAlertmanagerConfiguration``, ``defaultConfigSecretName``): an
emailConfig that sets its own ``smarthost`` and ``from`` needs nothing global; the
``alertmanagerConfiguration`` form is read from the Alertmanager and no Secret is asked for; the
Secret's ``global.smtp_smarthost`` needs a host (``config.HostPort``); a Secret that is not YAML, or
was refused, is "could not check"; only the Alertmanagers that select an email AlertmanagerConfig are
judged. The stand-in cluster tests are tests/cli/test_plan_alertmanager_smtp.py.
"""

from __future__ import annotations

from mlops_infra.graph import DesiredGraph, DesiredResource
from mlops_infra.plan.alertmanager_smtp import (
    EmailObject,
    SecretAnswer,
    config_secret,
    email_objects,
    load_config,
    secrets_to_read,
    smtp_warnings,
)
from mlops_infra.plan.monitoring_selectors import METADATA_NAME, Monitored

OURS = {"app.kubernetes.io/managed-by": "mlops-infra"}
EMAIL = EmailObject(Monitored("channels.ml-team", "AlertmanagerConfig", "channel-ml-team", "fraud-dev", OURS),
                    frozenset({"smarthost", "from"}))
LABELS = {"fraud-dev": {METADATA_NAME: "fraud-dev"}}
GLOBAL = "global:\n  smtp_smarthost: smtp.example.com:587\n  smtp_from: alerts@example.com\n"


def _alertmanager(name: str = "main", **spec) -> dict:
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "Alertmanager",
            "metadata": {"name": name, "namespace": "monitoring"},
            "spec": {"alertmanagerConfigSelector": {}, "alertmanagerConfigNamespaceSelector": {}, **spec}}


def _graph(*email_configs: dict) -> DesiredGraph:
    obj = {"apiVersion": "monitoring.coreos.com/v1alpha1", "kind": "AlertmanagerConfig",
           "metadata": {"name": "channel-ml-team", "namespace": "fraud-dev", "labels": OURS},
           "spec": {"receivers": [{"name": "ml-team", "emailConfigs": list(email_configs)}]}}
    resource = DesiredResource("urn:a", "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig",
                               "channel-ml-team", True, None, obj, address="channels.ml-team")
    return DesiredGraph("p", "dev", (resource,))


def test_an_email_config_with_its_own_smarthost_and_from_needs_nothing_global():
    assert email_objects(_graph({"to": "a@example.com", "smarthost": "smtp.example.com:587",
                                 "from": "alerts@example.com"})) == []
    (needs_from,) = email_objects(_graph({"to": "a@example.com", "smarthost": "smtp.example.com:587"}))
    assert needs_from.needs == {"from"}
    (needs_both,) = email_objects(_graph({"to": "a@example.com"}))
    assert needs_both.needs == {"smarthost", "from"} and needs_both.obj.name == "channel-ml-team"


def test_the_config_secret_defaults_to_alertmanager_name_and_is_not_read_with_alertmanager_configuration():
    assert config_secret(_alertmanager()) == ("monitoring", "alertmanager-main")
    assert config_secret(_alertmanager(configSecret="am-config")) == ("monitoring", "am-config")
    assert secrets_to_read([EMAIL], [_alertmanager()], LABELS) == [("monitoring", "alertmanager-main")]
    assert secrets_to_read([EMAIL], [_alertmanager(alertmanagerConfiguration={"name": "base"})], LABELS) == []
    assert secrets_to_read([], [_alertmanager()], LABELS) == []


def test_only_the_alertmanagers_that_select_the_email_objects_are_judged():
    other = _alertmanager("other", alertmanagerConfigSelector={"matchLabels": {"release": "kps"}})
    assert secrets_to_read([EMAIL], [other, _alertmanager()], LABELS) == [("monitoring", "alertmanager-main")]
    assert smtp_warnings([EMAIL], [other], LABELS, {}) == []
    assert smtp_warnings([EMAIL], None, LABELS, {}) == []
    (warning,) = smtp_warnings([EMAIL], [other, _alertmanager()], LABELS,
                               {("monitoring", "alertmanager-main"): SecretAnswer(text="")})
    assert warning.startswith("notifications: Alertmanager monitoring/main has no global SMTP smarthost and from")


def test_a_smarthost_without_a_host_is_no_smarthost():
    secrets = {("monitoring", "alertmanager-main"): SecretAnswer(text=GLOBAL.replace("smtp.example.com:587", "':587'"))}
    (warning,) = smtp_warnings([EMAIL], [_alertmanager()], LABELS, secrets)
    assert "has no global SMTP smarthost (" in warning and "sets no smtp_smarthost)" in warning
    secrets = {("monitoring", "alertmanager-main"): SecretAnswer(text=GLOBAL)}
    assert smtp_warnings([EMAIL], [_alertmanager()], LABELS, secrets) == []


def test_a_secret_that_is_not_yaml_or_was_refused_could_not_be_checked():
    for answer, why in ((SecretAnswer(text="global: [\n"), "key alertmanager.yaml is not valid YAML"),
                        (SecretAnswer(error="403 Forbidden: no", forbidden=True), "needs RBAC permission to get secrets")):
        (warning,) = smtp_warnings([EMAIL], [_alertmanager()], LABELS, {("monitoring", "alertmanager-main"): answer})
        assert warning.startswith("notifications: could not check the SMTP settings of Alertmanager monitoring/main (")
        assert why in warning and "every route of the Alertmanager stops loading" in warning


def test_the_alertmanager_configuration_form_is_judged_from_the_alertmanager_object():
    both = {"name": "base", "global": {"smtp": {"from": "a@example.com", "smartHost": {"host": "smtp", "port": "25"}}}}
    assert smtp_warnings([EMAIL], [_alertmanager(alertmanagerConfiguration=both)], LABELS, {}) == []
    (warning,) = smtp_warnings([EMAIL], [_alertmanager(alertmanagerConfiguration={"name": "base"})], LABELS, {})
    assert "(spec.alertmanagerConfiguration.global.smtp sets no smartHost.host and from)" in warning


def test_an_unquoted_impossible_date_is_text_as_alertmanager_reads_it():
    """secrets-5: PyYAML's implicit timestamp resolver raised ValueError ("day is out of range for month")
    on ``2024-02-30`` and ``plan --refresh`` stopped with an internal error; Alertmanager decodes the
    configuration into Go strings and loads it. Read as text, the check goes on; the value is quoted nowhere."""
    text = GLOBAL + "  smtp_hello: 2024-02-30\n  smtp_auth_password: 2024-02-31\n"
    assert smtp_warnings([EMAIL], [_alertmanager()], LABELS, {("monitoring", "alertmanager-main"): SecretAnswer(text=text)}) == []
    missing = "global:\n  smtp_from: 2024-02-30\n"
    (warning,) = smtp_warnings([EMAIL], [_alertmanager()], LABELS,
                               {("monitoring", "alertmanager-main"): SecretAnswer(text=missing)})
    assert warning.startswith("notifications: Alertmanager monitoring/main has no global SMTP smarthost (") and "2024" not in warning


def test_whatever_else_the_loader_raises_is_could_not_check_by_its_type_only():
    assert load_config("[" * 5000 + "]" * 5000) == "key alertmanager.yaml is not valid YAML (RecursionError)"
    assert load_config("") == {} and load_config("- a\n") == {}
    (warning,) = smtp_warnings([EMAIL], [_alertmanager()], LABELS,
                               {("monitoring", "alertmanager-main"): SecretAnswer(text="[" * 5000)})
    assert "could not check the SMTP settings of Alertmanager monitoring/main (key alertmanager.yaml is not valid YAML (" in warning


def test_a_hundred_email_channels_are_six_names_and_how_many_more():
    """The AlertmanagerConfigs of a hundred email channels were all named: the first six, then how many more
    (:mod:`mlops_infra.name_lists`)."""
    from types import SimpleNamespace

    from mlops_infra.plan.alertmanager_smtp import _channels

    emails = [SimpleNamespace(obj=SimpleNamespace(namespace="ns", name=f"c{i:03}")) for i in range(100)]
    assert _channels(emails) == "AlertmanagerConfigs ns/c000, ns/c001, ns/c002, ns/c003, ns/c004, ns/c005 and 94 more"
    assert _channels(emails[:2]) == "AlertmanagerConfigs ns/c000, ns/c001"
