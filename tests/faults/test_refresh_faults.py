"""The fault-injection tier: ``plan --refresh`` through a loopback proxy that breaks AWS calls.

Each fault of the red-team review (M2, H4) is injected between the CLI and a real moto server
(``tests/support/fault_proxy.py`` in front of ``tests/support/moto_server.py``); each test asserts
the exit code, what the plan says (never "Drift: none" when reads failed; how many resources could
not be read, by cause and AWS error code; never the error text) and a time bound. The staging
state of ``tests/scenarios/secret-references-are-redacted`` has :data:`READABLE` readable resources.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import fixtures
from tests.support.cli import run_cli
from tests.support.fault_proxy import LEAKY_MESSAGE, fault_proxy
from tests.support.moto_accounts import caller_is
from tests.support.moto_server import running_moto_server

pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("no_stray_reads")]
no_stray_reads = fixtures.no_stray_reads  # reads a test gives up on end before the next test

S = Path(__file__).resolve().parents[1] / "scenarios" / "secret-references-are-redacted"
READABLE = 57
"""Resources of that state whose type the live reader reads (``aws_live.registry.READERS``): 32, plus 6
since the scheduled rollout runner is in canary environments' graphs (issue 8, item 2): its Lambda
function, schedule, two roles and two role policies (its log group is not read); plus 3 alarms since
stop 29: the scorer's rollback alarm (d7174a0) and the Errors alarms of the two Lambdas, the channel
forwarder and the runner (b2aa702); plus 3 since stop 30: the forwarder's failure queue and the invoke
configs of the forwarder and the runner (refreshsqs); plus 2 since stop 30: the dropped alarms
(``<function>.dropped``) of the same two Lambdas (asyncalarms); plus 6 since stop 32: the platform
artifacts bucket and its five configuration resources, kept while the environment has a model (removalfix,
audit removal-2)."""
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
    caller_is(monkeypatch, "111111111111")  # staging's account; moto's test keys are 123456789012 (envs-7 check)


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
    assert code == 1 and f"the refresh is incomplete: {READABLE} resource(s) could not be read" in stderr
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
    assert elapsed < 3 + 8 and f"{READABLE} timeout (DeadlineExceeded)" in stderr


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
    assert f"Drift: unknown for {READABLE} resources that could not be read (the refresh is incomplete)" in text.stdout
    assert f"{READABLE} server-error (" in text.stdout and "Drift: none" not in text.stdout
    assert f"unknown for {READABLE} resources: the refresh is incomplete" in markdown.stdout
    assert "none: live resources match" not in markdown.stdout


REST_TYPES = ("aws:s3/", "aws:lambda/function:", "aws:lambda/functionEventInvokeConfig:", "aws:lambda/permission:",
              "aws:scheduler/schedule:")
"""The resources read over REST protocols (botocore ``metadata.protocol`` ``rest-xml`` for S3,
``rest-json`` for Lambda's GetFunction, GetFunctionEventInvokeConfig and GetPolicy and EventBridge Scheduler's
GetSchedule): what ``only="rest"`` breaks."""


def _rest_resources() -> int:
    state = json.loads((S / "prior.json").read_text())
    return sum(1 for r in state["checkpoint"]["latest"]["resources"] if r["type"].startswith(REST_TYPES))


def test_one_broken_service_gives_a_partial_refresh(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> None:
    """S3, Lambda and Scheduler answer 500, every other service is healthy: what was read is used (moto holds
    none of the resources, so each read one drifted as deleted), the rest is counted as unknown,
    and the exit code says the refresh is incomplete; with --allow-partial the changes decide it."""
    s3 = _rest_resources()
    with fault_proxy(moto_url, "error-500", only="rest") as proxy:
        code, data, stderr, elapsed = _plan(monkeypatch, proxy.url)
        assert code == 1 and f"the refresh is incomplete: {s3} resource(s) could not be read" in stderr
        count, codes = _causes(data)["server-error"]
        assert set(_causes(data)) == {"server-error"} and count == s3 and codes <= {"InternalError", "500"}
        assert data["refresh"]["unread"] == s3 and len(data["drift"]) == READABLE - s3
        assert all(not d["type"].startswith(REST_TYPES) for d in data["drift"]) and elapsed < 60
        code, _, _, _ = _plan(monkeypatch, proxy.url, "--allow-partial")
        assert code == 2
        text = run_cli(*PLAN, "--format", "text")
    assert f"Drift: unknown for {s3} resources that could not be read (the refresh is incomplete)" in text.stdout
    assert "Drift: none" not in text.stdout


def test_slow_answers_within_the_deadline_are_a_complete_refresh(monkeypatch: pytest.MonkeyPatch,
                                                                 moto_url: str) -> None:
    """Each request delayed by 1 s (a slow link, not a dead one): every read still completes."""
    with fault_proxy(moto_url, "pass", delay=1.0) as proxy:
        code, data, _, elapsed = _plan(monkeypatch, proxy.url, "--refresh-timeout", "120")
    assert code == 2 and data["refresh"] == {"complete": True, "unread": 0, "causes": []}
    assert len(data["drift"]) == READABLE and elapsed < 120 + 8 and proxy.requests >= READABLE // 8


# -- the console script, as the review ran it (H4): a fresh process that must end on its own -------------------


def _console_script() -> str:
    script = Path(sys.executable).with_name("mlops-infra")
    assert script.exists(), f"the console script is installed next to the interpreter: {script}"
    return str(script)


@pytest.mark.parametrize(("mode", "deadline", "waits"), [("close", 120, 0), ("silence", 4, 4)])
def test_the_console_script_ends_with_a_readable_failure_when_the_server_drops_or_ignores_calls(
        tmp_path: Path, mode: str, deadline: int, waits: int) -> None:
    """The review's H4 reproductions through the installed ``mlops-infra``: a server that accepts and
    closes (an internal error before the fix) and one that never answers (278.7 s, then the same
    internal error). Now: exit 0 without --detailed-exitcode, the plan says the drift is unknown,
    and the process ends at once (``close``) or at the deadline (``silence``: no read thread holds it
    open). The deadline for ``close`` is long so that a slow, loaded machine still reads (and fails)
    every resource before it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PULUMI_", "MLOPS_INFRA_"))}
    env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    plan = [_console_script(), *PLAN, "--refresh-timeout", str(deadline)]
    start = time.monotonic()  # the same plan offline: start-up, compile and render, on this machine now
    subprocess.run([a for a in plan if a not in ("--refresh", "--refresh-timeout", str(deadline))], env=env,
                   capture_output=True, timeout=300, check=True, cwd=tmp_path)
    offline = time.monotonic() - start
    with fault_proxy("http://127.0.0.1:9", mode) as proxy:  # close and silence never reach the upstream
        env["AWS_ENDPOINT_URL"] = proxy.url
        start = time.monotonic()
        result = subprocess.run(plan, env=env, capture_output=True, text=True, timeout=300, check=False,
                                cwd=tmp_path)
        elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert f"Drift: unknown for {READABLE} resources that could not be read (the refresh is incomplete)" in result.stdout
    cause = "connection-failed (ConnectionClosedError)" if mode == "close" else "timeout (DeadlineExceeded)"
    assert f"{READABLE} {cause}" in result.stdout, result.stdout[-3000:]
    # the deadline beyond the offline plan (boto3's clients and imports, twice over on a loaded machine):
    # before the fix, a silent server held the command for 278.7 s
    assert elapsed < 2 * offline + waits + 10, (elapsed, offline)
