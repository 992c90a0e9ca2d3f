"""The Pulumi Cloud organization a stack name without one is read in is the one `pulumi up` uses (audit
closing-37b-2): pulumi/pulumi ``pkg/backend/httpstate/backend.go`` ``New`` takes ``PULUMI_DEFAULT_ORGANIZATION``
(``sdk/go/common/env/env.go`` ``DefaultOrg``), else the config's ``defaultOrg``, else the service's
``GET /api/user/organizations/default`` (``client.go`` ``GetDefaultOrg``, a 404 = a legacy service);
``ParseStackReference`` falls back to the current user only when that is empty. Read through the loopback Pulumi
Cloud stand-in (tests/support/pulumi_cloud.py), whose answers to the default-organization call a test opener adds.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from mlops_infra.state.backends import read_stack_state
from tests.state.test_backends import TOKEN, export_of, home, plan_staging, staging_checkpoint  # noqa: F401
from tests.support.pulumi_cloud import running_pulumi_cloud

ACME = ("acme", "fraud-detection", "staging")


def test_pulumi_default_organization_is_the_stacks_organization(home: Path, monkeypatch) -> None:  # noqa: F811
    """The audit's reproduction. Fails before: mlops-infra read jdoe/fraud-detection/staging (empty)."""
    with running_pulumi_cloud({ACME: export_of(staging_checkpoint())}, token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("PULUMI_API", cloud.url)
        monkeypatch.setenv("PULUMI_DEFAULT_ORGANIZATION", "acme")
        (home / ".pulumi").mkdir()  # the variable wins over `pulumi org set-default`
        (home / ".pulumi" / "config.json").write_text(json.dumps({"backends": {cloud.url: {"defaultOrg": "other"}}}))
        result = plan_staging()
    assert result.code == 0, result.stderr
    assert [r["path"] for r in cloud.requests] == ["/api/stacks/acme/fraud-detection/staging/export"]
    assert f"Prior state: Pulumi Cloud stack acme/fraud-detection/staging at {cloud.url} (68 resources" \
        in result.stderr


def _with_default_org(answer: bytes | None, seen: list[str]):
    """urlopen, except that GET /api/user/organizations/default answers ``answer`` (None: delegated)."""
    @contextmanager
    def fake(body: bytes):
        response = io.BytesIO(body)
        response.status = 200
        yield response

    def opener(request, timeout=None):
        seen.append(urllib.request.urlparse(request.full_url).path)
        if answer is not None and request.full_url.endswith("/api/user/organizations/default"):
            assert request.headers["Authorization"] == f"token {TOKEN}"
            return fake(answer)
        return urllib.request.urlopen(request, timeout=timeout)
    return opener


def test_the_services_default_organization_comes_before_the_user(home: Path) -> None:  # noqa: F811
    """Fails before: the user (GET /api/user) was asked and jdoe's (absent) stack read."""
    seen: list[str] = []
    environ = {"PULUMI_HOME": str(home / "ph"), "PULUMI_ACCESS_TOKEN": TOKEN}
    with running_pulumi_cloud({ACME: export_of(staging_checkpoint())}, token=TOKEN, user="jdoe") as cloud:
        located = read_stack_state("fraud-detection", "staging", Path("."), {**environ, "PULUMI_API": cloud.url},
                                   opener=_with_default_org(b'{"GitHubLogin": "acme", "Messages": []}', seen))
    assert located.state.source == f"Pulumi Cloud stack acme/fraud-detection/staging at {cloud.url}"
    assert seen == ["/api/user/organizations/default", "/api/stacks/acme/fraud-detection/staging/export"]


def test_no_default_organization_from_the_service_falls_back_to_the_user(home: Path) -> None:  # noqa: F811
    """An empty name (a user in no organization) and a legacy service's 404 both go on to the current user."""
    environ = {"PULUMI_HOME": str(home / "ph"), "PULUMI_ACCESS_TOKEN": TOKEN}
    with running_pulumi_cloud({("jdoe", *ACME[1:]): export_of(staging_checkpoint())}, token=TOKEN,
                              user="jdoe") as cloud:
        for answer in (b'{"GitHubLogin": ""}', None):  # None: the stand-in's 404
            seen: list[str] = []
            located = read_stack_state("fraud-detection", "staging", Path("."), {**environ, "PULUMI_API": cloud.url},
                                       opener=_with_default_org(answer, seen))
            assert located.state.source == f"Pulumi Cloud stack jdoe/fraud-detection/staging at {cloud.url}"
            assert seen == ["/api/user/organizations/default", "/api/user",
                            "/api/stacks/jdoe/fraud-detection/staging/export"]
    assert not os.environ.get("PULUMI_DEFAULT_ORGANIZATION")
