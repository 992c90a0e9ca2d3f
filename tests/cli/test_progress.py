"""The shared progress display (mlops_infra/cli/progress.py) and ``plan --refresh`` using it
(issue 11 item 6): live on a terminal, nothing on a pipe or with --format json, one final line on
stderr in every case, stdout untouched."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from mlops_infra.cli.progress import progress_display
from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "tests" / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"
CONSOLE_SCRIPT = Path(sys.executable).with_name("mlops-infra")
FINAL = re.compile(r"^Refresh \(live AWS reads\): (\d+) resources read in \d+\.\d s( \(.*\))?$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def work(progress, threads: int = 8, each: int = 250) -> None:
    progress.set_total(threads * each)

    def run() -> None:
        for _ in range(each):
            progress.advance()
            progress.count("throttled", 0)
        progress.count("throttled")

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_not_live_prints_only_one_final_line():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    with progress_display("Copy artifacts", unit="files", console=console) as progress:
        work(progress)
        progress.status("model fraud-model v12")
        assert out.getvalue() == ""  # nothing while it runs
    assert re.fullmatch(r"Copy artifacts: 2,000 files in \d+\.\d s \(8 throttled\)\n", out.getvalue())


def test_live_on_a_terminal_draws_progress_then_the_final_line():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system="standard")
    with progress_display("Refresh", unit="resources read", console=console) as progress:
        work(progress, threads=2, each=5)
        time.sleep(0.3)  # at least one refresh of the live display
    text = out.getvalue()
    assert "\x1b[?25l" in text, "live display hides the cursor while drawing"
    assert "10/10" in text and "2 throttled" in text
    assert re.search(r"Refresh: 10 resources read in \d+\.\d s \(2 throttled\)\n$", text)


def test_live_false_wins_on_a_terminal_and_an_error_still_ends_with_the_line():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with pytest.raises(RuntimeError), progress_display("Apply", unit="steps", live=False, console=console) as p:
        p.set_total(3)
        p.advance()
        raise RuntimeError("boom")
    assert out.getvalue().startswith("Apply: 1/3 steps in ")


# -- plan --refresh through the console script ---------------------------------------------------


@pytest.fixture()
def s3_state(tmp_path: Path) -> Path:
    """The base system's applied state, S3 side only (enough to read live, without every moto backend)."""
    checkpoint = json.loads(dumps(applied_state(compile_file(BASE, "staging"))))
    latest = checkpoint["checkpoint"]["latest"]
    latest["resources"] = [r for r in latest["resources"]
                           if not r.get("custom") or r["type"].startswith(("pulumi:providers:", "aws:s3/"))]
    path = tmp_path / "state.json"
    path.write_text(json.dumps(checkpoint), encoding="utf-8")
    return path


def aws_env(url: str, account: str | None = None) -> dict[str, str]:
    """The environment of a child CLI on the moto server at ``url``: moto's test keys (account 123456789012), or
    credentials of a role of ``account`` (STS ``AssumeRole``, tests/support/promotion.assumed_session)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MLOPS_INFRA_DEBUG", "PULUMI_BACKEND_URL", "AWS_SESSION_TOKEN", "AWS_PROFILE")}
    keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    if account is not None:
        from tests.support.promotion import assumed_session

        found = assumed_session(url, f"arn:aws:iam::{account}:role/operator", "us-east-1").get_credentials()
        frozen = found.get_frozen_credentials()
        keys = {"AWS_ACCESS_KEY_ID": frozen.access_key, "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
                "AWS_SESSION_TOKEN": frozen.token}
    return {**env, "AWS_ENDPOINT_URL": url, **keys, "AWS_DEFAULT_REGION": "us-east-1", "NO_COLOR": "1",
            "COLUMNS": "120", "TERM": "xterm"}


def run_with_stderr_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run ``args`` with stderr on a pseudo-terminal (what a user at a shell has) and stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=env, cwd=cwd)
    os.close(slave)
    chunks: list[bytes] = []
    stdout_reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()))
    stdout_reader.start()
    terminal = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            terminal += data
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    stdout_reader.join(timeout=30)
    os.close(master)
    return code, b"".join(chunks).decode(), terminal.decode(errors="replace")


@pytest.mark.moto
def test_plan_refresh_shows_progress_on_a_terminal_and_one_line_with_json(s3_state: Path, tmp_path: Path):
    from tests.support.moto_server import reset, running_moto_server

    with running_moto_server() as url:
        reset(url)
        env = aws_env(url, account="111111111111")  # staging's (the envs-7 check refuses another account's)
        args = [str(CONSOLE_SCRIPT), "plan", str(BASE), "--env", "staging", "--state", str(s3_state), "--refresh"]
        code, out, terminal = run_with_stderr_on_a_terminal(args, env, tmp_path)
        json_run = subprocess.run([*args, "--format", "json"], capture_output=True, text=True, env=env,
                                  cwd=tmp_path, timeout=120, check=False)
    assert code == 0, terminal
    assert "\x1b[?25l" in terminal, "a live display on the terminal"
    lines = [line for line in ANSI.sub("", terminal.replace("\r", "\n")).splitlines() if FINAL.match(line.strip())]
    assert len(lines) == 1, terminal
    # 18 readable resources in staging's state: 12, plus the platform artifacts bucket and its five
    # configuration resources, kept since 5f7235f while the environment has a model (removal-2)
    assert re.search(r"\d+/18 resources read", terminal), "the count moves while it reads"
    assert int(FINAL.match(lines[0].strip()).group(1)) == 18
    assert "Plan:" in out and "Refresh (live AWS reads)" not in out  # stdout keeps only the plan
    # --format json on a pipe: pure JSON on stdout, exactly one progress line on stderr, no escapes
    assert json_run.returncode == 0, json_run.stderr
    assert json.loads(json_run.stdout)["refreshed"] is True
    progress_lines = [line for line in json_run.stderr.splitlines() if line.startswith("Refresh (live AWS reads)")]
    assert len(progress_lines) == 1 and FINAL.match(progress_lines[0])
    assert "\x1b" not in json_run.stderr
