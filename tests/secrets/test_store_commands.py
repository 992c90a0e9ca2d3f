"""The store commands ``validate`` prints keep no trailing newline (audit secrets-1).

``echo URL > secret.txt`` and most editors end the file with a newline, and ``--from-file`` /
``file://`` store a file's bytes as they are. A webhook URL stored with it made prometheus-operator fail
the Alertmanager configuration of every team; a bearer token with it failed every delivery. The printed
commands are run here as printed, in bash: always the file expression they read (``advice.STRIPPED_FILE``), and,
when the tools are installed, the real ``kubectl create secret --dry-run=client -o json`` and the real
``aws secretsmanager create-secret`` against a moto server (read back with ``GetSecretValue``).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_infra.secrets import SecretStore, store_advice, store_command
from tests.support.moto_server import REGION, client, running_moto_server

URL = "https://hooks.example.com/alerts/abc"
FILES = {"echo": f"{URL}\n", "editor, two lines": f"{URL}\n\n", "no newline": URL}
"""What ``secret.txt`` holds: as ``echo`` writes it, with an extra blank line, and written without one."""
KUBE = SecretStore("kubernetes", ("dev",), namespace="fraud-dev")


def _file_expression() -> str:
    """The file the printed commands read (what follows ``--from-file=value=``)."""
    return store_command("hook-url", KUBE).split("--from-file=value=", 1)[1]


def _bash(command: str, directory: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed (the printed commands are for bash or zsh)")
    return subprocess.run([bash, "-c", command], cwd=directory, capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ), check=False)


@pytest.mark.parametrize("content", list(FILES.values()), ids=list(FILES))
def test_the_file_the_commands_read_has_no_trailing_newline(tmp_path: Path, content: str) -> None:
    (tmp_path / "secret.txt").write_text(content)
    done = _bash(f"cat {_file_expression()}", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == URL


def test_inner_lines_and_shell_characters_are_kept(tmp_path: Path) -> None:
    value = '-n %s $(x) `y` "q" \\ line one\nline two'
    (tmp_path / "secret.txt").write_text(value + "\n")
    done = _bash(f"cat {_file_expression()}", tmp_path)
    assert done.stdout == value


@pytest.mark.parametrize("content", list(FILES.values()), ids=list(FILES))
def test_the_printed_kubectl_command_stores_the_value_without_the_newline(tmp_path: Path, content: str) -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed")
    (tmp_path / "secret.txt").write_text(content)
    command = store_command("hook-url", KUBE)
    done = _bash(f"{command} --dry-run=client -o json", tmp_path)
    assert done.returncode == 0, done.stderr
    secret = json.loads(done.stdout)
    assert secret["metadata"] == {"name": "hook-url", "namespace": "fraud-dev", "creationTimestamp": None}
    assert base64.b64decode(secret["data"]["value"]).decode() == URL


def test_the_printed_aws_command_stores_the_value_without_the_newline(tmp_path: Path) -> None:
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed")
    (tmp_path / "secret.txt").write_text(FILES["echo"])
    command = store_command("store-cmd-hook-url", SecretStore("aws", ("staging",), region=REGION))
    with running_moto_server() as moto_url:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, "AWS_ENDPOINT_URL": moto_url,
               "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        done = _bash(command, tmp_path, env)
        assert done.returncode == 0, done.stderr
        stored = client("secretsmanager", moto_url).get_secret_value(SecretId="store-cmd-hook-url")["SecretString"]
    assert stored == URL


def test_the_advice_says_why_the_newline_is_dropped() -> None:
    text = store_advice("hook-url", [KUBE])
    assert "drop the file's trailing newline" in text and "refused at delivery" in text and "bash or zsh" in text
