"""Which Secrets a Kubernetes environment requires, and what the plan says when one is missing or holds a
value that will not work (plan/secret_refs.py, whose docstring cites prometheus-operator v0.89.0 and the
kubelet; stop 30's secrets audit, findings secrets-1 and secrets-2)."""

from __future__ import annotations

from mlops_infra.plan.secret_refs import (
    ENV,
    KEY,
    ROUTING_KEY,
    TOKEN,
    URL,
    SecretRead,
    SecretRef,
    secret_refs,
    secret_warnings,
)
from tests.support.kube_cases import graph_of


def test_the_references_of_channels_the_retrain_trigger_and_workloads():
    refs = {(r.name, r.key, r.use): r.users for r in secret_refs(graph_of("variety-dev"))}
    assert refs == {
        ("hook-token", "token", TOKEN): ("AlertmanagerConfig channel-hook",),
        ("hook-url", "value", URL): ("AlertmanagerConfig channel-hook",),
        ("mlops-retrain-trigger-token", "value", TOKEN): ("AlertmanagerConfig retrain-tabular",),
        ("pd-routing", "routing_key", ROUTING_KEY): ("AlertmanagerConfig channel-pager",),
        ("slack-url", "value", KEY): ("AlertmanagerConfig channel-chat",),
    }
    # mlops-object-store is referenced optionally (envFrom optional: true): not required, not listed; so is the
    # trigger's token, an optional secret volume of its Deployment (audit firstapply-1): only Alertmanager needs it
    assert all(r.namespace == "variety-dev" for r in secret_refs(graph_of("variety-dev")))


def test_a_system_without_channels_or_triggers_requires_no_secret():
    assert secret_refs(graph_of("quickstart-dev")) == []


HOOK_URL = SecretRef("ns", "hook-url", "value", URL, ("AlertmanagerConfig channel-hook",))
HOOK_TOKEN = SecretRef("ns", "hook-token", "token", TOKEN, ("AlertmanagerConfig channel-hook",))
SLACK = SecretRef("ns", "slack-url", "value", KEY, ("AlertmanagerConfig channel-chat",))
TRIGGER_ENV = SecretRef("ns", "mlops-retrain-trigger-token", "value", ENV, ("Deployment mlops-retrain-trigger",))
TRIGGER_TOKEN = SecretRef("ns", "mlops-retrain-trigger-token", "value", TOKEN, ("AlertmanagerConfig retrain-tabular",))


def test_a_missing_secret_is_one_warning_with_every_consequence():
    (warning,) = secret_warnings([TRIGGER_ENV, TRIGGER_TOKEN], {("ns", "mlops-retrain-trigger-token"): SecretRead(missing=True)})
    assert warning.startswith("secrets: Secret ns/mlops-retrain-trigger-token does not exist (needs key value): ")
    assert "the pods of Deployment mlops-retrain-trigger do not start (CreateContainerConfigError)" in warning
    assert "prometheus-operator skips AlertmanagerConfig retrain-tabular (event InvalidConfiguration)" in warning
    assert warning.endswith("Create it in namespace ns (docs/compile-kubernetes.md section 4).")


def test_a_missing_key_names_the_keys_held():
    (warning,) = secret_warnings([SLACK], {("ns", "slack-url"): SecretRead(keys={"url": False})})
    assert warning.startswith("secrets: Secret ns/slack-url has no key value (keys: url): prometheus-operator skips "
                              "AlertmanagerConfig channel-chat")
    assert warning.endswith("Add key value.")


def test_whitespace_matters_for_webhook_urls_and_tokens_only():
    reads = {("ns", "hook-url"): SecretRead(keys={"value": True}), ("ns", "hook-token"): SecretRead(keys={"token": True}),
             ("ns", "slack-url"): SecretRead(keys={"value": True})}  # the operator trims a Slack apiURL
    url, token = secret_warnings([HOOK_URL, HOOK_TOKEN, SLACK], reads)
    assert url.startswith("secrets: key value of Secret ns/hook-url has leading or trailing whitespace")
    assert "generates no configuration for the Alertmanager that loads AlertmanagerConfig channel-hook" in url
    assert "other teams' included" in url and "--from-file=value=FILE.clean" in url
    assert token.startswith("secrets: key token of Secret ns/hook-token has leading or trailing whitespace")
    assert "every delivery of AlertmanagerConfig channel-hook fails" in token
    assert secret_warnings([HOOK_URL, HOOK_TOKEN, SLACK], {k: SecretRead(keys={"value": False, "token": False})
                                                            for k in reads}) == []


def test_a_padded_pagerduty_routing_key_warns_that_every_page_fails():
    # audit secrets-2: the operator copies routingKey as stored and Alertmanager sends an inline routing_key as is;
    # PagerDuty refuses a key that is not 32 characters (400), so `--from-file` of a file ending in "\n" loses pages
    (pager,) = [ref for ref in secret_refs(graph_of("variety-dev")) if ref.name == "pd-routing"]
    (warning,) = secret_warnings([pager], {("variety-dev", "pd-routing"): SecretRead(keys={"routing_key": True})})
    assert warning.startswith("secrets: key routing_key of Secret variety-dev/pd-routing has leading or trailing "
                              "whitespace")
    assert "every page of AlertmanagerConfig channel-pager fails" in warning
    assert "PagerDuty refuses a routing key that is not 32 characters" in warning
    assert "--from-file=routing_key=FILE.clean" in warning
    assert secret_warnings([pager], {("variety-dev", "pd-routing"): SecretRead(keys={"routing_key": False})}) == []


def test_an_unreadable_namespace_is_one_warning_naming_the_permission():
    forbidden = SecretRead(error="403 Forbidden: secrets is forbidden", forbidden=True)
    (warning,) = secret_warnings([HOOK_URL, SLACK], {("ns", "hook-url"): forbidden, ("ns", "slack-url"): forbidden})
    assert warning == ("secrets: could not read the Secrets this environment refers to in namespace ns (403 Forbidden: "
                       "secrets is forbidden); whether they exist and hold working values was not checked; needs RBAC "
                       "permission to get secrets in namespace ns; check with `kubectl auth can-i get secrets -n ns`")


def test_a_secret_a_hundred_workloads_use_names_six_and_how_many_more():
    """A missing Secret every endpoint's pods take their environment from named every Deployment: the first six,
    then how many more (:mod:`mlops_infra.name_lists`)."""
    users = tuple(f"Deployment e{i:03}-predictor" for i in range(100))
    ref = SecretRef("ns", "shared-env", None, ENV, users)
    (warning,) = secret_warnings([ref], {("ns", "shared-env"): SecretRead(missing=True)})
    assert ("the pods of Deployment e000-predictor, Deployment e001-predictor, Deployment e002-predictor, Deployment "
            "e003-predictor, Deployment e004-predictor, Deployment e005-predictor and 94 more do not start") in warning
    assert "e006" not in warning
