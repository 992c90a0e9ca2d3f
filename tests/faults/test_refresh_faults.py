"""The fault-injection tier: ``plan --refresh`` through a loopback proxy that breaks AWS calls.

Each fault of the red-team review (M2, H4) is injected between the CLI and a real moto server
(``tests/support/fault_proxy.py`` in front of ``tests/support/moto_server.py``); each test asserts
the exit code, what the plan says (never "Drift: none" when reads failed; how many resources could
not be read, by cause and AWS error code; never the error text) and a time bound. The staging
state of ``tests/scenarios/secret-references-are-redacted`` has 32 readable resources.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.fault_proxy import LEAKY_MESSAGE, fault_proxy
from tests.support.moto_server import running_moto_server

pytestmark = pytest.mark.moto

S = Path(__file__).resolve().parents[1] / "scenarios" / "secret-references-are-redacted"
READABLE = 32
PLAN = ("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(S / "prior.json"), "--refresh")


@pytest.fixture(scope="module")
def moto_url() -> str:
    with running_moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PULUMI_BACKEND_URL", "MLOPS_INFRA_DEBUG", "AWS_PROFILE", "AWS_SESSION_TOKEN",
                 "MLOPS_INFRA_REFRESH_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")


def _plan(monkeypatch: pytest.MonkeyPatch, endpoint: str, *extra: str) -> tuple[int, dict, str, float]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    start = time.monotonic()
    result = run_cli(*PLAN, "--format", "json", "--detailed-exitcode", *extra)
    elapsed = time.monotonic() - start
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output[-3000:]
    return result.code, json.loads(result.stdout), result.stderr, elapsed


def _causes(data: dict) -> dict[str, tuple[int, set[str]]]:
    return {c["cause"]: (c["count"], set(c["codes"])) for c in data["refresh"]["causes"]}


def test_a_healthy_refresh_is_complete(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    with fault_proxy(moto_url, "pass", delay=0.2) as proxy:
        code, data, _, elapsed = _plan(monkeypatch, proxy.url)
    assert code == 2 and data["refresh"] == {"complete": True, "unread": 0, "causes": []}
    assert len(data["drift"]) == READABLE and elapsed < 40 and proxy.requests >= 1


@pytest.mark.parametrize(("mode", "cause", "codes"), [
    # a HEAD request (S3 HeadBucket) has no body: its code is the HTTP status, as from AWS itself
    ("error-500", "server-error", {"InternalError", "InternalFailure", "500"}),
    ("error-503", "server-error", {"ServiceUnavailable", "ServiceUnavailableException", "503"}),
    ("forbidden", "access-denied", {"AccessDenied", "AccessDeniedException", "403"}),
    ("reset", "connection-failed", {"ConnectionClosedError"}),
    ("close", "connection-failed", {"ConnectionClosedError"}),
])
def test_failed_reads_are_counted_by_cause_and_exit_1(monkeypatch: pytest.MonkeyPatch, moto_url: str, mode: str,
                                                      cause: str, codes: set[str]) -> None:
    with fault_proxy(moto_url, mode) as proxy:
        code, data, stderr, elapsed = _plan(monkeypatch, proxy.url)
    assert code == 1 and "the refresh is incomplete: 32 resource(s) could not be read" in stderr
    assert data["refresh"]["complete"] is False and data["refresh"]["unread"] == READABLE
    count, seen = _causes(data)[cause]
    assert count == READABLE and seen and seen <= codes, data["refresh"]
    assert data["drift"] == [] and elapsed < 30
    everything = json.dumps(data) + stderr
    assert LEAKY_MESSAGE not in everything and "AKIAFAULTPROXY0LEAK1" not in everything and "abc123Leak" not in everything


def test_throttling_past_the_retries_is_bounded_by_the_deadline(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    with fault_proxy(moto_url, "throttle") as proxy:
        code, data, _, elapsed = _plan(monkeypatch, proxy.url, "--refresh-timeout", "20")
    causes = _causes(data)
    assert code == 1 and data["refresh"]["unread"] == READABLE
    # S3's SlowDown answers a HEAD with a bare 503 (no body to name it): counted as a server error
    assert set(causes) <= {"throttled", "timeout", "server-error"} and "throttled" in causes, causes
    assert causes["throttled"][1] <= {"Throttling", "ThrottlingException", "SlowDown"}
    assert elapsed < 20 + 8 and proxy.requests > READABLE // 8


def test_a_server_that_never_answers_times_out_at_the_deadline(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    with fault_proxy(moto_url, "silence") as proxy:
        code, data, stderr, elapsed = _plan(monkeypatch, proxy.url, "--refresh-timeout", "3")
    assert code == 1 and _causes(data) == {"timeout": (READABLE, {"DeadlineExceeded"})}
    assert elapsed < 3 + 8 and "32 timeout (DeadlineExceeded)" in stderr


def test_connection_refused_no_credentials_and_a_bad_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    code, data, _, elapsed = _plan(monkeypatch, "http://127.0.0.1:1")
    assert code == 1 and _causes(data) == {"connection-failed": (READABLE, {"EndpointConnectionError"})}
    assert elapsed < 30
    code, data, _, _ = _plan(monkeypatch, "not a url")
    assert code == 1 and set(_causes(data)) == {"bad-endpoint"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    code, data, _, _ = _plan(monkeypatch, "http://127.0.0.1:1")
    assert code == 1 and _causes(data) == {"no-credentials": (READABLE, {"NoCredentialsError"})}


def test_allow_partial_and_every_format_say_the_drift_is_unknown(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    with fault_proxy(moto_url, "error-500") as proxy:
        code, _, _, _ = _plan(monkeypatch, proxy.url, "--allow-partial")
        assert code == 2  # changes present, the incomplete refresh accepted
        text = run_cli(*PLAN, "--format", "text")
        markdown = run_cli(*PLAN, "--format", "markdown")
    assert text.code == 0 and markdown.code == 0
    assert "Drift: unknown for 32 resources that could not be read (the refresh is incomplete)" in text.stdout
    assert "32 server-error (" in text.stdout and "Drift: none" not in text.stdout
    assert "unknown for 32 resources: the refresh is incomplete" in markdown.stdout
    assert "none: live resources match" not in markdown.stdout
