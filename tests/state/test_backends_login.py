"""The current `pulumi login` as ``pulumi`` reads it (audit stateformats-4 and -6).

stateformats-4: since pulumi/pulumi 6fb9daffe9 (#24212) ``PULUMI_CREDENTIAL_STORE=auto|os`` seals the whole
``credentials.json`` (``current`` included) in a securestore envelope (``sdk/go/common/util/securestore/envelope.go``
``Seal``: ``{"$pulumiSecureStore": 1, "backend", "algo", "nonce", "data"}``). It is valid JSON without ``current``,
so mlops-infra read it as "no login": plan read the empty stack directory and apply ran ``pulumi up`` there with
``PULUMI_BACKEND_URL=file://<stack dir>``, creating every resource again beside the real backend's. A real envelope
needs an OS key store (none here); mlops-infra never reads past the marker, so its shape is enough. The real
``pulumi whoami --json`` cannot be run here (no Pulumi CLI, and it could not open such an envelope without the key
store that sealed it): a two-line script prints what ``whoAmIJSON`` (``pkg/cmd/pulumi/whoami/whoami.go``) holds.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlops_infra.apply.engine import StackOptions, backend_url
from mlops_infra.state.backends import EncryptedCredentials, choose_backend, read_stack_state
from mlops_infra.state.pulumi_state import StateError
from tests.support.cli import run_cli

ENVELOPE = {"$pulumiSecureStore": 1, "backend": "tpm-file", "algo": "aes-256-gcm",
            "nonce": "AAECAwQFBgcICQoL", "data": "c2VhbGVkIGNyZWRlbnRpYWxz"}
"""What ``securestore.Seal`` writes (``json.MarshalIndent`` of ``envelope``), with made-up nonce and data."""


@pytest.fixture()
def pulumi_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``PULUMI_HOME`` in ``tmp_path`` holding an encrypted credentials file; no backend URL, no token, no
    ``pulumi`` on PATH; cwd = an empty stack directory."""
    for name in ("PULUMI_CREDENTIALS_PATH", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "MLOPS_INFRA_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "pulumi-home"
    home.mkdir()
    (home / "credentials.json").write_text(json.dumps(ENVELOPE, indent=4), encoding="utf-8")
    monkeypatch.setenv("PULUMI_HOME", str(home))
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (tmp_path / "stack").mkdir()
    monkeypatch.chdir(tmp_path / "stack")
    return home


def fake_pulumi(bin_dir: Path, stdout: str, code: int = 0) -> Path:
    """``<bin_dir>/pulumi``: prints ``stdout``, exits ``code`` and appends its cwd and arguments to ``calls``."""
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "pulumi"
    script.write_text(f"#!/bin/sh\necho \"$PWD $*\" >> {bin_dir / 'calls'}\nprintf '%s' '{stdout}'\nexit {code}\n",
                      encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return bin_dir / "calls"


def test_encrypted_credentials_are_not_no_login(pulumi_home: Path, tmp_path: Path) -> None:
    """The audit's reproduction. Fails before: the stack directory, '' and file://<stack dir>."""
    stack_dir = tmp_path / "stack"
    with pytest.raises(EncryptedCredentials) as info:
        choose_backend(stack_dir, os.environ)
    assert info.value.summary == "the Pulumi credentials are encrypted (PULUMI_CREDENTIAL_STORE)"
    assert info.value.source == str(pulumi_home / "credentials.json")
    assert "Set PULUMI_BACKEND_URL to the backend `pulumi whoami -v` shows" in info.value.detail
    with pytest.raises(StateError):
        backend_url(StackOptions(stack_dir, "dev"))  # apply never gives `pulumi up` the stack directory
    with pytest.raises(StateError):
        read_stack_state("fraud-detection", "dev", stack_dir)


def test_the_fix_the_error_names_works(pulumi_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_BACKEND_URL", "s3://team-state")
    assert choose_backend(tmp_path / "stack", os.environ).url == "s3://team-state"
    monkeypatch.delenv("PULUMI_BACKEND_URL")
    (tmp_path / "stack" / "Pulumi.yaml").write_text("name: p\nruntime: python\nbackend:\n  url: file://~\n")
    assert choose_backend(tmp_path / "stack", os.environ).url == "file://~"


def test_plan_refuses_with_the_file_and_the_fix(pulumi_home: Path) -> None:
    """Fails before: exit 0, "Prior state: none found ... planning as for a first apply"."""
    repo = Path(__file__).resolve().parents[2]
    result = run_cli("plan", str(repo / "examples/fraud-detection/mlsystem.yaml"), "--env", "dev")
    assert result.code == 1, result.output
    text = " ".join(result.stderr.split())
    assert "Traceback" not in result.output and "first apply" not in result.output
    assert "the Pulumi credentials are encrypted (PULUMI_CREDENTIAL_STORE)" in text
    assert "credentials.json" in text and "Set PULUMI_BACKEND_URL" in text


def test_pulumi_on_path_is_asked_for_the_login(pulumi_home: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = fake_pulumi(tmp_path / "bin", '{"user": "jdoe", "organizations": ["acme"], "url": "s3://team-state"}')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    stack_dir = tmp_path / "stack"
    backend = choose_backend(stack_dir, os.environ)
    assert backend.url == "s3://team-state"
    assert backend.chosen_by == (f"the current `pulumi login` (encrypted {pulumi_home / 'credentials.json'}, read "
                                 "by `pulumi whoami --json`)")
    assert backend_url(StackOptions(stack_dir, "dev")) == "s3://team-state"
    assert calls.read_text().split("\n")[0] == f"{stack_dir} whoami --json --non-interactive"
    assert len(calls.read_text().splitlines()) == 1  # asked once, however often the backend is chosen


@pytest.mark.parametrize("stdout, code, why", [
    ("error: failed to decrypt the credentials", 255, "failed (exit 255: run `pulumi whoami -v` to see why)"),
    ("stand-in-user", 0, "gave no backend URL"),
])
def test_a_whoami_that_does_not_say_is_an_error(pulumi_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                stdout: str, code: int, why: str) -> None:
    fake_pulumi(tmp_path / "bin", stdout, code)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(StateError) as info:
        choose_backend(tmp_path / "stack", os.environ)
    assert info.value.summary == f"the Pulumi credentials are encrypted (PULUMI_CREDENTIAL_STORE), and `pulumi " \
                                 f"whoami --json` {why}"
    assert "Set PULUMI_BACKEND_URL" in info.value.detail and stdout not in str(info.value)


@pytest.mark.parametrize("text", ["[]", '"file://~"', '{"current": 7}'])
def test_credentials_pulumi_refuses_are_an_error_not_no_login(pulumi_home: Path, tmp_path: Path, text: str) -> None:
    """``json.Unmarshal`` into ``Credentials`` fails on each (creds.go ``readCredentialsFile``), so ``pulumi``
    refuses them. Fails before: the stack directory."""
    (pulumi_home / "credentials.json").write_text(text, encoding="utf-8")
    with pytest.raises(StateError, match="credentials"):
        choose_backend(tmp_path / "stack", os.environ)


def test_an_empty_credentials_file_is_still_no_login(pulumi_home: Path, tmp_path: Path) -> None:
    """``readCredentialsFile``: "If the file is empty, we can act as if it doesn't exist"."""
    (pulumi_home / "credentials.json").write_text("", encoding="utf-8")
    assert choose_backend(tmp_path / "stack", os.environ).url == ""


def test_a_token_still_reads_pulumi_cloud_beside_encrypted_credentials(pulumi_home: Path, tmp_path: Path) -> None:
    """With the backend and PULUMI_ACCESS_TOKEN given, the encrypted file is never needed: the organization comes
    from the service (GET /api/user), not from the login's ``accounts``."""
    import io
    import urllib.error

    from tests.state.test_backends import RECORDED_EXPORT, TOKEN

    answers = {"/api/user": json.dumps({"githubLogin": "jdoe"}).encode(),
               "/api/stacks/jdoe/sample/dev/export": RECORDED_EXPORT.read_bytes()}
    asked = []

    class Answer(io.BytesIO):
        status = 200

    def opener(request, timeout):  # urllib.request.urlopen's signature, as read_stack_state takes it
        path = request.full_url.removeprefix("https://cloud.example")
        asked.append(path)
        if path not in answers:
            raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)
        return Answer(answers[path])

    environ = {**os.environ, "PULUMI_BACKEND_URL": "https://cloud.example", "PULUMI_ACCESS_TOKEN": TOKEN}
    located = read_stack_state("sample", "dev", tmp_path / "stack", environ, opener=opener)
    assert (located.state.project, len(located.state.resources)) == ("sample", 17)
    assert asked == ["/api/user/organizations/default", "/api/user", "/api/stacks/jdoe/sample/dev/export"]


def test_apply_refuses_before_pulumi_changes_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Pulumi stand-in on PATH (tests/support/pulumi_stand_in.py) answers ``whoami`` with a user name only, as
    no real CLI does for ``--json``: apply refuses, and ``whoami`` is all it ran. Fails before: apply goes on to
    ``pulumi up`` with PULUMI_BACKEND_URL=file://<stack dir>."""
    from tests.cli.test_apply_stack_identity import FRAUD, QUICKSTART
    from tests.support import pulumi_stand_in

    repo = pulumi_stand_in.repo_copy(tmp_path, monkeypatch, (FRAUD, QUICKSTART, "stacks/dev/Pulumi.yaml",
                                                             "stacks/dev/Pulumi.dev.yaml", "stacks/dev/__main__.py",
                                                             "Pulumi.yaml"))
    (tmp_path / "pulumi-home").mkdir()
    (tmp_path / "pulumi-home" / "credentials.json").write_text(json.dumps(ENVELOPE), encoding="utf-8")
    pulumi = pulumi_stand_in.install(tmp_path / "bin", monkeypatch)
    result = run_cli("apply", FRAUD, "--env", "dev", "--yes")
    assert result.code == 1, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.stderr.split())
    assert "the Pulumi credentials are encrypted (PULUMI_CREDENTIAL_STORE), and `pulumi whoami --json` gave no " \
           "backend URL" in text and "Set PULUMI_BACKEND_URL" in text
    assert pulumi.commands() == [["whoami", "--json"]]
    assert not (repo / "stacks" / "dev" / ".pulumi").exists()


# -- stateformats-6: `pulumi` reads the passwd home, not $HOME ---------------------------------------------------


@pytest.fixture()
def two_homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(passwd home, $HOME): a CI container job run as root with HOME=/github/home. No PULUMI_HOME, backend URL,
    token or `pulumi` on PATH; cwd = an empty stack directory."""
    from tests.state.test_backends import passwd_home

    for name in ("PULUMI_HOME", "PULUMI_CREDENTIALS_PATH", "PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN",
                 "MLOPS_INFRA_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    passwd, dollar = tmp_path / "root", tmp_path / "github-home"
    passwd.mkdir()
    dollar.mkdir()
    passwd_home(monkeypatch, passwd)
    monkeypatch.setenv("HOME", str(dollar))
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    (tmp_path / "stack").mkdir()
    monkeypatch.chdir(tmp_path / "stack")
    return passwd, dollar


def write_login(home: Path, current: str) -> Path:
    (home / ".pulumi").mkdir(exist_ok=True)
    path = home / ".pulumi" / "credentials.json"
    path.write_text(json.dumps({"current": current, "accessTokens": {}}), encoding="utf-8")
    return path


def test_the_login_is_read_from_the_passwd_home(two_homes: tuple[Path, Path], tmp_path: Path) -> None:
    """The audit's reproduction. Fails before: $HOME/.pulumi/credentials.json, none there: the stack directory."""
    passwd, dollar = two_homes
    write_login(passwd, "s3://b")
    backend = choose_backend(tmp_path / "stack", os.environ)
    assert backend.url == "s3://b"
    assert backend.chosen_by == (f"the current `pulumi login` ({passwd}/.pulumi/credentials.json: {passwd} is the "
                                 f"home of uid {os.getuid()} in the passwd database, which `pulumi` uses (Go "
                                 f"user.Current()), not $HOME={dollar})")


def test_file_tilde_is_the_passwd_home(two_homes: tuple[Path, Path], tmp_path: Path) -> None:
    """pkg/backend/diy/backend.go massageBlobPath: ``filepath.Join(usr.HomeDir, path[2:])``. Fails before: $HOME."""
    from mlops_infra.state.pulumi_state import backend_root

    passwd, _ = two_homes
    assert backend_root(tmp_path / "stack", "file://~/s") == passwd / "s"
    assert backend_root(tmp_path / "stack", "file://~") == passwd


def test_plan_reads_the_stack_pulumi_login_local_keeps_in_the_passwd_home(two_homes: tuple[Path, Path]) -> None:
    """`pulumi login --local` run as root in the container: login and stacks in /root/.pulumi. Fails before: "Prior
    state: none found ... planning as for a first apply" (apply: `pulumi up` on the stack directory)."""
    from tests.state.test_backends import BASE, staging_checkpoint
    from tests.support.applied_state import dumps

    passwd, _ = two_homes
    write_login(passwd, "file://~")
    (passwd / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    stack_file = passwd / ".pulumi" / "stacks" / "fraud-detection" / "staging.json"
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text(dumps(staging_checkpoint()), encoding="utf-8")
    result = run_cli("plan", str(BASE), "--env", "staging", "--format", "json")
    assert result.code == 0, result.output
    text = " ".join(result.stderr.split())
    assert f"Prior state: {stack_file} (68 resources; backend: the current `pulumi login` ({passwd}/.pulumi/" \
           "credentials.json:" in text and "which `pulumi` uses" in text
    assert json.loads(result.stdout)["summary"]["add"] == 0


def test_a_login_only_under_dollar_home_is_refused_not_the_stack_directory(two_homes: tuple[Path, Path],
                                                                           tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """`pulumi` would find no login there (and ask for one); apply must not run `up` on the stack directory."""
    passwd, dollar = two_homes
    skipped = write_login(dollar, "s3://b")
    with pytest.raises(StateError) as info:
        choose_backend(tmp_path / "stack", os.environ)
    assert info.value.source == str(skipped)
    assert info.value.summary == "the Pulumi login is under $HOME, where `pulumi` does not look"
    assert f"`pulumi` reads {passwd}/.pulumi/credentials.json ({passwd} is the home of uid" in info.value.detail
    assert f"Set PULUMI_HOME={dollar}/.pulumi for plan, apply and pulumi alike" in info.value.detail
    with pytest.raises(StateError):
        backend_url(StackOptions(tmp_path / "stack", "dev"))
    monkeypatch.setenv("PULUMI_HOME", str(dollar / ".pulumi"))  # the fix named
    assert choose_backend(tmp_path / "stack", os.environ).chosen_by == \
        f"the current `pulumi login` ({dollar}/.pulumi/credentials.json)"


def test_one_home_says_nothing_more(two_homes: tuple[Path, Path], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    passwd, _ = two_homes
    monkeypatch.setenv("HOME", str(passwd))
    write_login(passwd, "s3://b")
    assert choose_backend(tmp_path / "stack", os.environ).chosen_by == \
        "the current `pulumi login` (~/.pulumi/credentials.json)"
