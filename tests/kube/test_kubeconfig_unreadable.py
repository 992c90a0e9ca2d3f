"""A KUBECONFIG file that is not a kubeconfig mapping is the user's error, said once, never a traceback
(audit robust-3; kube/config.py ``NOT_A_KUBECONFIG``, cli/commands/plan.py ``_within``).

The kubernetes client parses the file with ``yaml.safe_load`` and indexes it unchecked, so NUL bytes, a YAML
list or ``contexts: 5`` raised ``ReaderError``/``TypeError``, which only its ``ConfigException`` was caught for:
``plan --refresh`` printed five thread tracebacks and then "internal error ... This is a bug", and each
read that died was reported as "no answer within N s". Before the fix every test here failed.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mlops_infra.cli.commands.plan import _within
from mlops_infra.errors import UserError
from mlops_infra.kube import KubeClient
from mlops_infra.kube.config import ConnectOptions
from tests.support.cli import run_cli

REFERENCE = Path(__file__).resolve().parents[2] / "examples" / "fraud-detection" / "mlsystem.yaml"
SECRET = "sk-live-SECRET-token-value"
FILES = {
    "nul-bytes": b"\x00\x01garbage: [",
    "a-list": b"- 1\n- 2\n",
    "contexts-a-number": b"apiVersion: v1\nkind: Config\ncontexts: 5\n",
    "unterminated-token": f'apiVersion: v1\nusers:\n- name: u\n  user: {{token: "{SECRET}\n'.encode(),
    "not-utf8": b"\xff\xfe\x00a\x00p\x00i",
}


@pytest.mark.parametrize("kind", sorted(FILES))
def test_connect_says_the_file_is_not_a_kubeconfig_without_quoting_it(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "kubeconfig"
    path.write_bytes(FILES[kind])
    with pytest.raises(UserError) as err:
        KubeClient.connect(ConnectOptions(kubeconfig=str(path), context="kind-mlops"))
    assert err.value.summary == f"Cannot read the kubeconfig {path}"
    assert "A kubeconfig is a YAML mapping with apiVersion: v1, kind: Config" in err.value.detail
    assert SECRET not in err.value.summary + err.value.detail


@pytest.mark.parametrize("kind", ["nul-bytes", "contexts-a-number"])
def test_plan_refresh_warns_with_the_reason_and_prints_no_traceback(tmp_path: Path, kind: str,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kubeconfig"
    path.write_bytes(FILES[kind])
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.chdir(tmp_path)

    result = run_cli("plan", str(REFERENCE), "--env", "dev", "--refresh", "--refresh-timeout", "20")

    assert "Traceback" not in result.output and "internal error" not in result.output
    assert "Exception in thread" not in result.output
    assert f"cluster preflight: not run for context kind-mlops: Cannot read the kubeconfig {path}" in result.output
    assert "no answer within" not in result.output


def test_within_raises_what_the_read_raised_in_the_callers_thread() -> None:
    def read() -> None:
        raise KeyError("boom")

    seen: list[BaseException] = []
    hook, threading.excepthook = threading.excepthook, lambda args: seen.append(args.exc_value)
    try:
        with pytest.raises(KeyError, match="boom"):
            _within(5, read, "test")
    finally:
        threading.excepthook = hook
    assert seen == []  # not printed as the thread's traceback
    assert _within(5, lambda: 42, "test") == 42


def test_a_kubeconfig_whose_certificate_data_is_bad_base64_names_the_context_and_the_cause(tmp_path: Path) -> None:
    """Audit closing-39a-1: a well-formed kubeconfig with a truncated ``certificate-authority-data`` was told "It is
    not a kubeconfig: Error"; the client's base64 error ("Incorrect padding") says what is wrong."""
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\ncurrent-context: ctx1\n"
                    "clusters:\n- name: c1\n  cluster: {server: 'https://127.0.0.1:6443', certificate-authority-data: abc}\n"
                    f"users:\n- name: u1\n  user: {{token: {SECRET}}}\n"
                    "contexts:\n- name: ctx1\n  context: {cluster: c1, user: u1}\n")
    with pytest.raises(UserError) as err:
        KubeClient.connect(ConnectOptions(kubeconfig=str(path), context="ctx1"))
    assert err.value.summary == f"Cannot load the kubeconfig context ctx1 from {path}"
    assert "Incorrect padding" in err.value.detail and "certificate-authority-data" in err.value.detail
    assert "not a kubeconfig" not in err.value.detail
    assert SECRET not in err.value.summary + err.value.detail
