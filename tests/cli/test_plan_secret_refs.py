"""``plan --refresh`` on Kubernetes reads the Secrets the environment requires and says which are missing
or hold values that will not work (cli/commands/plan.secret_reference_preflight, kube/secret_keys.py,
plan/secret_refs.py; stop 30's secrets audit, secrets-1 and secrets-2).

Against the Kubernetes API stand-in: the fraud-detection example's dev environment requires Secret
``slack-oncall-webhook`` (its Slack channel) and ``mlops-retrain-trigger-token`` (the bearer token
Alertmanager sends the retrain trigger; the trigger's Deployment mounts it as an optional volume, so its
pods start without it: audit firstapply-1). Missing -> a warning naming what stops; present
-> none; a token stored with a file's trailing newline -> the warning; a refused read -> "not checked"
with the permission. No Secret value appears in any output.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.cli.test_plan_monitoring_selectors import NAMESPACE, _crds, refresh_warnings
from tests.support import fixtures
from tests.support.kube_api import KubeApiStandIn

pytestmark = pytest.mark.usefixtures("no_stray_reads")
no_stray_reads = fixtures.no_stray_reads

TOKEN_VALUE = "f3c1b2a9d8e7f6a5b4c3d2e1f0a9b8c7"


def _secret(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NAMESPACE}, "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _warnings(capsys, monkeypatch, tmp_path: Path, server: str, token: str = "t") -> list[str]:
    return refresh_warnings(capsys, monkeypatch, tmp_path, server, token, prefixes=("secrets",))


@pytest.mark.timeout(120)
def test_missing_secrets_are_named_with_what_stops(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds()) as api:
        warnings = _warnings(capsys, monkeypatch, tmp_path, api.url)
        assert len(api.requests_for("GET", f"/api/v1/namespaces/{NAMESPACE}/secrets/slack-oncall-webhook")) == 1
    trigger, slack = warnings
    assert trigger.startswith(f"secrets: Secret {NAMESPACE}/mlops-retrain-trigger-token does not exist (needs key value)")
    assert "Deployment mlops-retrain-trigger" not in trigger  # its pods start: the token is an optional volume
    assert "prometheus-operator skips AlertmanagerConfig retrain-retrain" in trigger
    assert slack.startswith(f"secrets: Secret {NAMESPACE}/slack-oncall-webhook does not exist (needs key value): "
                            "prometheus-operator skips AlertmanagerConfig channel-oncall")


@pytest.mark.timeout(120)
def test_present_secrets_pass_and_a_token_with_a_trailing_newline_is_named(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(_secret("slack-oncall-webhook", value="https://hooks.slack.com/services/T000/B000/XXXX\n"))
        api.seed(_secret("mlops-retrain-trigger-token", value=TOKEN_VALUE))
        assert _warnings(capsys, monkeypatch, tmp_path, api.url) == []  # a Slack URL is trimmed by the operator
    with KubeApiStandIn(crds=_crds()) as api:
        api.seed(_secret("slack-oncall-webhook", value="https://hooks.slack.com/services/T000/B000/XXXX"))
        api.seed(_secret("mlops-retrain-trigger-token", value=TOKEN_VALUE + "\n"))
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url)
    assert warning.startswith(f"secrets: key value of Secret {NAMESPACE}/mlops-retrain-trigger-token has leading or "
                              "trailing whitespace")
    assert "every delivery of AlertmanagerConfig retrain-retrain fails" in warning
    assert TOKEN_VALUE not in warning


@pytest.mark.timeout(120)
def test_a_refused_read_says_the_check_was_not_made(capsys, monkeypatch, tmp_path: Path):
    with KubeApiStandIn(crds=_crds(), tokens={"nobody": []}) as api:
        api.seed(_secret("slack-oncall-webhook", value="x"))
        (warning,) = _warnings(capsys, monkeypatch, tmp_path, api.url, token="nobody")
    assert warning.startswith(f"secrets: could not read the Secrets this environment refers to in namespace {NAMESPACE} "
                              "(403 Forbidden: secrets ")
    assert warning.endswith(f"was not checked; needs RBAC permission to get secrets in namespace {NAMESPACE}; check with "
                            f"`kubectl auth can-i get secrets -n {NAMESPACE}`")
