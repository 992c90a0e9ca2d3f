"""Prior state found where Pulumi keeps it (issue 11 item 3): PULUMI_BACKEND_URL, the project's
backend.url, the current login (credentials.json); file backends at their real location, s3://
read with boto3 on the moto server, Pulumi Cloud through the REST API's stack export (a loopback
stand-in serving a recorded export). A configured backend that cannot be read is an error."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from mlops_infra.state.backends import choose_backend, read_stack_state
from mlops_infra.state.pulumi_state import StateError
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps
from tests.support.cli import run_cli
from tests.support.pulumi_cloud import running_pulumi_cloud
from tests.support.shared_files import SHARED

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "tests" / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"  # fraud-detection
RECORDED_EXPORT = SHARED / "fixtures" / "pulumi" / "stratify_sample-export.json"
TOKEN = "pul-0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home with no Pulumi login, no backend URL, no token; cwd = an empty repo directory. The home is
    both $HOME and the user's passwd home, as on a workstation (Pulumi reads the latter: stateformats-6)."""
    home = tmp_path / "home"
    home.mkdir()
    passwd_home(monkeypatch, home)
    for name in ("PULUMI_HOME", "PULUMI_CREDENTIALS_PATH", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN",
                 "AWS_ENDPOINT_URL", "MLOPS_INFRA_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")
    repo = tmp_path / "repo"
    (repo / "stacks" / "staging").mkdir(parents=True)
    monkeypatch.chdir(repo)
    return home


def passwd_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Make ``home`` this uid's home in the passwd database (``pwd.getpwuid``, what Go's user.Current() reads)."""
    import pwd

    lookup = pwd.getpwuid
    real = lookup(os.getuid())
    fake = pwd.struct_passwd((real.pw_name, real.pw_passwd, real.pw_uid, real.pw_gid, real.pw_gecos, str(home),
                              real.pw_shell))
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: fake if uid == real.pw_uid else lookup(uid))


def login(home: Path, current: str, **accounts: dict) -> None:
    (home / ".pulumi").mkdir(exist_ok=True)
    (home / ".pulumi" / "credentials.json").write_text(json.dumps({
        "current": current, "accessTokens": {k: v.get("accessToken", "") for k, v in accounts.items()},
        "accounts": accounts}))


def staging_checkpoint() -> dict:
    return applied_state(compile_file(BASE, "staging"))


def export_of(checkpoint: dict) -> bytes:
    return json.dumps({"version": 3, "deployment": checkpoint["checkpoint"]["latest"]}).encode()


def plan_staging(*extra: str):
    return run_cli("plan", str(BASE), "--env", "staging", "--format", "json", *extra)


# -- the review's case: `pulumi login --local` keeps stacks in ~/.pulumi ------------------------------


def test_local_login_state_in_the_home_directory_is_found(home: Path):
    login(home, "file://~")
    stack_file = home / ".pulumi" / "stacks" / "fraud-detection" / "staging.json"
    stack_file.parent.mkdir(parents=True)
    (home / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    stack_file.write_text(dumps(staging_checkpoint()))
    result = plan_staging()
    assert result.code == 0, result.stderr
    assert f"Prior state: {stack_file} (68 resources; backend: the current `pulumi login` " \
           "(~/.pulumi/credentials.json))" in result.stderr
    assert json.loads(result.stdout)["summary"]["add"] == 0


def test_local_login_without_the_stack_names_the_file_pulumi_would_write(home: Path):
    login(home, "file://~")
    result = plan_staging()
    assert result.code == 0, result.stderr
    assert ("Prior state: none found (no stack file for fraud-detection/staging in the file backend ~: "
            "no ~/.pulumi/stacks/fraud-detection/staging.json(.gz|.zst); backend: the current `pulumi login`") in result.stderr


def test_without_any_login_the_line_says_where_it_looked(home: Path):
    result = plan_staging()
    assert result.code == 0, result.stderr
    assert "Prior state: none found (no stack file for fraud-detection/staging in the file backend" in result.stderr
    assert ("backend: the stack directory (no `pulumi login`, no PULUMI_BACKEND_URL and no PULUMI_ACCESS_TOKEN)"
            in result.stderr)


def test_backend_url_beats_the_project_file_which_beats_the_login(home: Path, tmp_path: Path, monkeypatch):
    stack_dir = Path("stacks/staging")
    login(home, "https://api.pulumi.com")
    assert choose_backend(stack_dir, os.environ).chosen_by.startswith("the current `pulumi login`")
    (stack_dir / "Pulumi.yaml").write_text("name: fraud-detection\nruntime: python\nbackend:\n  url: file://~\n")
    chosen = choose_backend(stack_dir, os.environ)
    assert (chosen.url, chosen.kind) == ("file://~", "file") and "backend.url in" in chosen.chosen_by
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://bucket/prefix")
    assert (choose_backend(stack_dir, os.environ).kind, choose_backend(stack_dir, os.environ).chosen_by) == (
        "s3", "PULUMI_BACKEND_URL")


def test_pulumi_home_and_credentials_path_are_honoured(home: Path, tmp_path: Path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "credentials.json").write_text(json.dumps({"current": "file:///srv/state"}))
    monkeypatch.setenv("PULUMI_CREDENTIALS_PATH", str(elsewhere))
    assert choose_backend(Path("."), os.environ).url == "file:///srv/state"


def test_a_corrupt_credentials_file_is_an_error_not_empty(home: Path):
    (home / ".pulumi").mkdir()
    (home / ".pulumi" / "credentials.json").write_text("{not json")
    result = plan_staging()
    assert result.code == 1
    assert "credentials.json: error: the Pulumi credentials file is not JSON" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unsupported_backend_is_an_error_that_hides_the_password(home: Path, monkeypatch):
    monkeypatch.setenv("PULUMI_BACKEND_URL", "postgres://pulumi:hunter2@db.internal:5432/state")
    result = plan_staging()
    assert result.code == 1
    assert "cannot read a postgres:// backend" in result.stderr and "pulumi stack export" in result.stderr
    assert "hunter2" not in result.stderr


# -- s3:// on the moto server ---------------------------------------------------------------------


@pytest.mark.moto
def test_s3_backend_is_read_with_boto3(home: Path, monkeypatch):
    from tests.support.moto_server import client, reset, running_moto_server

    with running_moto_server() as url:
        reset(url)
        s3 = client("s3", url)
        s3.create_bucket(Bucket="team-state")
        s3.put_object(Bucket="team-state", Key="ml/.pulumi/meta.yaml", Body=b"version: 1\n")
        s3.put_object(Bucket="team-state", Key="ml/.pulumi/stacks/fraud-detection/staging.json.gz",
                      Body=gzip.compress(dumps(staging_checkpoint()).encode()))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        monkeypatch.setenv("PULUMI_BACKEND_URL", f"s3://team-state/ml?region=us-east-1&endpoint={url}")
        found = plan_staging()
        monkeypatch.setenv("PULUMI_BACKEND_URL", f"s3://team-state/other?region=us-east-1&endpoint={url}")
        missing_stack = plan_staging()
        monkeypatch.setenv("PULUMI_BACKEND_URL", f"s3://no-such-bucket/ml?region=us-east-1&endpoint={url}")
        missing_bucket = plan_staging()
    assert found.code == 0, found.stderr
    assert ("Prior state: s3://team-state/ml/.pulumi/stacks/fraud-detection/staging.json.gz (68 resources; "
            "backend: PULUMI_BACKEND_URL)") in found.stderr
    assert json.loads(found.stdout)["summary"]["add"] == 0
    assert missing_stack.code == 0
    assert "Prior state: none found (no stack file for fraud-detection/staging in s3://team-state/other/" \
        in missing_stack.stderr
    assert missing_bucket.code == 1, "a configured but unreadable backend is an error, never empty"
    assert "cannot read the s3:// backend" in missing_bucket.stderr and "NoSuchBucket" in missing_bucket.stderr


@pytest.mark.moto
def test_s3_legacy_layout_without_meta(home: Path):
    from tests.support.moto_server import client, reset, running_moto_server

    with running_moto_server() as url:
        reset(url)
        s3 = client("s3", url)
        s3.create_bucket(Bucket="legacy")
        s3.put_object(Bucket="legacy", Key=".pulumi/stacks/dev.json", Body=RECORDED_EXPORT.read_bytes())
        located = read_stack_state("sample", "dev", Path("."), {"PULUMI_BACKEND_URL": "s3://legacy"},
                                   s3_client=s3)
    assert located.state.source == "s3://legacy/.pulumi/stacks/dev.json"
    assert (located.state.project, located.state.stack, len(located.state.resources)) == ("sample", "dev", 17)


# -- Pulumi Cloud through the REST API ---------------------------------------------------------------


def test_cloud_export_of_a_recorded_stack(home: Path):
    """The recorded `pulumi stack export` served as the REST API's export answer."""
    exports = {("acme", "sample", "dev"): RECORDED_EXPORT.read_bytes()}
    (home / ".pulumi").mkdir()
    with running_pulumi_cloud(exports, token=TOKEN) as cloud:
        (home / ".pulumi" / "config.json").write_text(json.dumps({"backends": {cloud.url: {"defaultOrg": "acme"}}}))
        located = read_stack_state("sample", "dev", Path("."), {"PULUMI_BACKEND_URL": cloud.url,
                                                                "PULUMI_ACCESS_TOKEN": TOKEN, "HOME": str(home)})
    assert located.backend.kind == "cloud"
    assert located.state.source == f"Pulumi Cloud stack acme/sample/dev at {cloud.url}"
    assert (located.state.project, located.state.stack, len(located.state.resources)) == ("sample", "dev", 17)
    [request] = cloud.requests
    assert request["path"] == "/api/stacks/acme/sample/dev/export"
    assert request["authorization"] == f"token {TOKEN}" and request["accept"] == "application/vnd.pulumi+8"


def test_cloud_login_token_and_user_name_come_from_credentials(home: Path):
    with running_pulumi_cloud({("octocat", "fraud-detection", "staging"): export_of(staging_checkpoint())},
                              token=TOKEN, user="octocat") as cloud:
        login(home, cloud.url, **{cloud.url: {"accessToken": TOKEN, "username": "octocat"}})
        result = plan_staging()
    assert result.code == 0, result.stderr
    assert (f"Prior state: Pulumi Cloud stack octocat/fraud-detection/staging at {cloud.url} (68 resources; "
            "backend: the current `pulumi login` (~/.pulumi/credentials.json))") in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    # the service's default organization first (a 404 here: none), then the login's user name (closing-37b-2)
    assert [r["path"] for r in cloud.requests] == ["/api/user/organizations/default",
                                                   "/api/stacks/octocat/fraud-detection/staging/export"]


def test_cloud_org_falls_back_to_the_api_user(home: Path, monkeypatch):
    with running_pulumi_cloud({("jdoe", "fraud-detection", "staging"): export_of(staging_checkpoint())},
                              token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_BACKEND_URL", cloud.url)
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        result = plan_staging()
    assert result.code == 0, result.stderr
    assert [r["path"] for r in cloud.requests] == ["/api/user/organizations/default", "/api/user",
                                                   "/api/stacks/jdoe/fraud-detection/staging/export"]


def test_cloud_stack_not_created_yet_is_empty_and_says_so(home: Path, monkeypatch):
    with running_pulumi_cloud({}, token=TOKEN, user="jdoe") as cloud:
        monkeypatch.setenv("PULUMI_BACKEND_URL", cloud.url)
        monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
        result = plan_staging()
    assert result.code == 0, result.stderr
    assert f"Prior state: none found (no stack jdoe/fraud-detection/staging in Pulumi Cloud at {cloud.url}" \
        in result.stderr


@pytest.mark.parametrize(("token", "status", "message"), [
    ("pul-wrong", None, "Pulumi Cloud answered HTTP 401"),
    (TOKEN, 503, "Pulumi Cloud answered HTTP 503"),
    (None, None, "no access token for Pulumi Cloud"),
])
def test_cloud_that_cannot_be_read_is_an_error(home: Path, monkeypatch, token, status, message):
    with running_pulumi_cloud({}, token=TOKEN, status=status) as cloud:
        monkeypatch.setenv("PULUMI_BACKEND_URL", cloud.url)
        if token:
            monkeypatch.setenv("PULUMI_ACCESS_TOKEN", token)
        (home / ".pulumi").mkdir()
        (home / ".pulumi" / "config.json").write_text(json.dumps({"backends": {cloud.url: {"defaultOrg": "acme"}}}))
        result = plan_staging()
    assert result.code == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "pul-wrong" not in result.stderr and TOKEN not in result.stderr


def test_unreachable_cloud_is_an_error(home: Path, monkeypatch):
    with running_pulumi_cloud({}, token=TOKEN) as cloud:
        url = cloud.url  # closed when the block ends
    monkeypatch.setenv("PULUMI_BACKEND_URL", url)
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("PULUMI_HOME", str(home / "ph"))
    with pytest.raises(StateError, match="cannot reach Pulumi Cloud"):
        read_stack_state("p", "organization/p/dev", Path("."), os.environ)
