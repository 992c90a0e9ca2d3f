"""Regression tests for the red-team findings on outputs, secrets and state files (issue 13:
C1-C8, H3, H5, M11), each running the review's reproduction through the CLI entry point.

Each test names its finding; the review is ``shared/reviews/redteam-2026-12-03.md``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.scenarios.harness import compile_file
from tests.support.applied_state import applied_state, dumps, edit_resource
from tests.support.cli import run_cli, run_cli_subprocess

REPO = Path(__file__).resolve().parents[2]
S = REPO / "tests" / "scenarios" / "secret-references-are-redacted"
BASE = REPO / "tests" / "scenarios" / "no-changes-after-apply" / "mlsystem.yaml"
REFERENCE = REPO / "examples" / "fraud-detection" / "mlsystem.yaml"

SLACK = "https://hooks.slack.com/services/T01234567/B01234567/abcdefghijklmnopqrstuvwx"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "Zx9" * 12


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("PULUMI_BACKEND_URL", "MLOPS_INFRA_DEBUG", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "400")


def _reference(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = REFERENCE.read_text()
    assert old in text, old
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def _webhook_spec(tmp_path: Path) -> Path:
    """The review's wh.yaml: a Slack webhook typed into a ``webhook`` channel's url."""
    text = REFERENCE.read_text().replace(
        "channels:\n", f'channels:\n  - {{name: hook, kind: webhook, url: "{SLACK}"}}\n', 1)
    text = text.replace("notify: [ml-team]", "notify: [ml-team, hook]")
    path = tmp_path / "wh.yaml"
    path.write_text(text)
    return path


def _no_secret(result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr, (secret, result.output[-2000:])
    assert "Traceback" not in result.output and "internal error" not in result.output


# -- C1: --out never overwrites an input ------------------------------------------------------------


def test_c1_out_onto_the_state_file_is_refused_and_the_state_survives(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    shutil.copy(S / "prior.json", state)
    before = state.read_bytes()
    result = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(state), "--out", str(state))
    assert result.code == 1
    assert "refusing to write the plan file over an input of this command" in result.stderr
    assert state.read_bytes() == before
    again = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(state))
    assert again.code == 0, again.stderr


def test_c1_out_onto_the_spec_a_hard_link_or_a_symlink_of_an_input_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "sys.yaml"
    shutil.copy(S / "mlsystem.yaml", spec)
    state = tmp_path / "s.json"
    shutil.copy(S / "prior.json", state)
    os.link(state, tmp_path / "hard.json")
    os.symlink(spec, tmp_path / "link.yaml")
    for out in (spec, tmp_path / "hard.json", tmp_path / "link.yaml", Path(os.path.relpath(spec, tmp_path))):
        result = run_cli("plan", str(spec), "--env", "staging", "--state", str(state), "--out", str(out))
        assert result.code == 1 and "over an input of this command" in result.stderr, (out, result.stderr)
    assert spec.read_bytes() == (S / "mlsystem.yaml").read_bytes()
    assert state.read_bytes() == (S / "prior.json").read_bytes()


def test_c1_the_state_found_in_the_file_backend_is_an_input_too(tmp_path: Path) -> None:
    stack_dir = tmp_path / "stacks" / "staging"
    stack_file = tmp_path / "stacks" / "staging" / ".pulumi" / "stacks" / "fraud-detection" / "staging.json"
    stack_file.parent.mkdir(parents=True)
    shutil.copy(S / "prior.json", stack_file)
    (stack_dir / ".pulumi" / "meta.yaml").write_text("version: 1\n")
    before = stack_file.read_bytes()
    result = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--out", str(stack_file))
    assert result.code == 1 and "over an input" in result.stderr, result.output
    assert stack_file.read_bytes() == before


# -- C2: no device, FIFO or directory is replaced; symlinks are written through -----------------------


def test_c2_a_device_node_is_refused_and_stays_a_device(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mknod of a character device needs root (CI runs as root)")
    node = tmp_path / "nul"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    result = run_cli("plan", str(REFERENCE), "--env", "prod", "--out", str(node))
    assert result.code == 1 and "refusing to write the plan file to a device" in result.stderr
    assert stat.S_ISCHR(node.stat().st_mode)


def test_c2_fifo_and_directory_are_refused(tmp_path: Path) -> None:
    """Never run against the real /dev/null: code without the fix replaces it (as root)."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for out, kind in ((str(fifo), "a FIFO"), (str(tmp_path), "a directory"), ("", "needs a file name")):
        result = run_cli("plan", str(REFERENCE), "--env", "prod", "--out", out)
        assert result.code == 1 and kind in result.stderr, (out, result.stderr)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_c2_the_check_refuses_dev_null_without_writing_anything() -> None:
    """``output_file`` alone (it only stats): /dev/null is a device and is refused."""
    from mlops_infra.errors import UserError
    from mlops_infra.fileio import output_file

    with pytest.raises(UserError, match="to a device"):
        output_file("/dev/null", what="plan file")


def test_c2_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "plans").mkdir()
    target = tmp_path / "plans" / "x.json"
    target.write_text("old\n")
    link = tmp_path / "plan.json"
    link.symlink_to(target)
    result = run_cli("plan", str(REFERENCE), "--env", "prod", "--format", "json", "--out", str(link))
    assert result.code == 0, result.stderr
    assert link.is_symlink() and json.loads(target.read_text())["planfile"]["kind"] == "mlops-infra-plan"
    assert not list(tmp_path.glob("plans/.x.json.*.tmp"))


def test_c2_a_dangling_symlink_and_a_read_only_file_are_refused(tmp_path: Path) -> None:
    dangling = tmp_path / "d.json"
    dangling.symlink_to(tmp_path / "nowhere" / "x.json")
    result = run_cli("plan", str(REFERENCE), "--env", "prod", "--out", str(dangling))
    assert result.code == 1 and "symlink to nothing" in result.stderr
    if os.geteuid() != 0:  # root may write anything: the check is os.access
        read_only = tmp_path / "ro.json"
        read_only.write_text("keep\n")
        read_only.chmod(0o444)
        result = run_cli("plan", str(REFERENCE), "--env", "prod", "--out", str(read_only))
        assert result.code == 1 and "read-only" in result.stderr and read_only.read_text() == "keep\n"


def test_c2_sigterm_while_writing_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The review saw SIGTERM leave a partial ``.NAME.XXXX.tmp``; now the writer removes it."""
    script = tmp_path / "slow_write.py"
    script.write_text(
        "import os, sys, time\n"
        "from mlops_infra import fileio\n"
        "real = os.fsync\n"
        "def slow(fd):\n"
        "    print('writing', flush=True); time.sleep(30); real(fd)\n"
        "fileio.os.fsync = slow\n"
        "fileio.write_text_atomic(sys.argv[1], 'x' * 1000000)\n")
    out = tmp_path / "plan.json"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        assert list(tmp_path.glob(".plan.json.*.tmp"))
        proc.terminate()
        assert proc.wait(timeout=20) == 128 + 15
    finally:
        proc.kill()
    assert not list(tmp_path.glob(".plan.json.*.tmp")) and not out.exists()


# -- C3: the plan file is checked before it is written ----------------------------------------------


def test_c3_a_refused_plan_leaves_no_plan_file(tmp_path: Path) -> None:
    result = run_cli("plan", str(_webhook_spec(tmp_path)), "--env", "dev", "--out", str(tmp_path / "wh.json"))
    assert result.code == 1
    assert not (tmp_path / "wh.json").exists()
    _no_secret(result, SLACK, "abcdefghijklmnopqrstuvwx")


def test_c3_a_secret_from_the_state_refuses_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    """An AWS key id in a bucket tag of the prior state: every format refuses, no file appears."""
    checkpoint = applied_state(compile_file(BASE, "staging"))

    def plant(record: dict) -> None:
        record["inputs"].setdefault("tags", {})["leaked"] = AWS_ID

    state = tmp_path / "leaky.json"
    state.write_text(json.dumps(edit_resource(checkpoint, lambda r: r["type"] == "aws:s3/bucket:Bucket"
                                              and r["urn"].endswith("::transactions-bucket"), plant)))
    for fmt in ("text", "markdown", "json"):
        out = tmp_path / f"p-{fmt}.json"
        result = run_cli("plan", str(BASE), "--env", "staging", "--state", str(state), "--format", fmt,
                         "--out", str(out))
        assert result.code == 1, result.output
        assert "looks like an AWS access key id" in result.stderr
        assert not out.exists()
        _no_secret(result, AWS_ID)


# -- C4: graph in every format passes the layer ------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "secret"), [
    ("image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2",
     f"image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:{AWS_ID}", AWS_ID),
    ("    team: risk", f"    team: risk\n    token: {GITHUB}", GITHUB),
])
def test_c4_graph_never_prints_what_validate_refuses(tmp_path: Path, old: str, new: str, secret: str) -> None:
    spec = _reference(tmp_path, "g.yaml", old, new)
    assert run_cli("validate", str(spec)).code == 1
    for fmt in ("text", "json", "dot"):
        result = run_cli("graph", str(spec), "--env", "prod", "--format", fmt)
        assert result.code == 1 and result.stdout == ""
        _no_secret(result, secret)


def test_c4_the_webhook_channel_url_is_an_error_in_validate_and_graph(tmp_path: Path) -> None:
    spec = _webhook_spec(tmp_path)
    result = run_cli("validate", str(spec))
    assert result.code == 1 and "looks like a Slack webhook URL" in result.stderr
    for fmt in ("text", "json", "dot"):
        graph = run_cli("graph", str(spec), "--env", "prod", "--format", fmt)
        assert graph.code == 1
        _no_secret(graph, SLACK, "abcdefghijklmnopqrstuvwx")


def test_c4_a_graph_holding_a_secret_is_refused_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The layer itself, with validation out of the way: the graph output is checked."""
    import mlops_infra.cli.commands.graph as command

    real = command.compile_system

    def leaky(system, env):
        graph = real(system, env)
        graph.resources[-1].inputs["leak"] = f"{AWS_ID}:{AWS_KEY}"
        return graph

    monkeypatch.setattr(command, "compile_system", leaky)
    for fmt in ("text", "json", "dot"):
        result = run_cli("graph", str(REFERENCE), "--env", "prod", "--format", fmt)
        if fmt != "json" and result.code == 0:  # text and dot do not print every input
            _no_secret(result, AWS_ID, AWS_KEY)
            continue
        assert result.code == 1 and result.stdout == "", fmt
        assert "looks like an AWS access key id" in result.stderr
        _no_secret(result, AWS_ID, AWS_KEY)


# -- C5: AWS secret access keys -----------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), [
    ("    team: risk", f"    team: risk\n    secret_access_key: {AWS_KEY}"),
    ("image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2",
     f"image: user:{AWS_KEY}@registry.example.com/fraud-train:1.4.2"),
    ("command: [python, -m, fraud.train]",
     f'command: [python, -m, fraud.train, --aws-secret-access-key, "{AWS_KEY}"]'),
])
def test_c5_an_aws_secret_key_is_never_printed_and_validate_refuses_it(tmp_path: Path, old: str, new: str) -> None:
    spec = _reference(tmp_path, "sk.yaml", old, new)
    result = run_cli("validate", str(spec))
    assert result.code == 1 and "plaintext-secret" not in result.stdout
    assert "Plaintext secret" in result.stderr
    _no_secret(result, AWS_KEY, "wJalr")
    for env in ("prod", "dev"):
        for fmt in ("text", "markdown", "json"):
            plan = run_cli("plan", str(spec), "--env", env, "--format", fmt)
            assert plan.code == 1
            _no_secret(plan, AWS_KEY, "wJalr")


# -- C6: state errors never quote state text -----------------------------------------------------------


def test_c6_a_damaged_show_secrets_state_error_quotes_nothing(tmp_path: Path) -> None:
    text = (S / "prior.json").read_text()
    index = text.find("fAkEsEcReT") + 26
    for name, damaged in (("b.json", text[:index] + " X " + text[index:]), ("cut.json", text[:text.find("hooks.sla") + 9])):
        path = tmp_path / name
        path.write_text(damaged)
        result = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(path))
        assert result.code == 1 and "line" in result.stderr and "column" in result.stderr
        _no_secret(result, "fAkEsEcReT", "B0FAKE000", "hooks.sla")


# -- C7: backend URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    f"s3://b?access_key_id={AWS_ID}&secret_access_key={AWS_KEY}",
    "https://api.pulumi.com?token=pul-0123456789abcdef0123456789abcdef",
    "azblob://state?storage_key=c3RvcmFnZS1rZXktdmFsdWUtMTIzNA==",
    "postgres://admin:S3cretPw@db.example.com/state",
])
def test_c7_backend_urls_lose_their_credentials(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("PULUMI_BACKEND_URL", url)
    result = run_cli("plan", str(REFERENCE), "--env", "prod")
    assert result.code == 1
    _no_secret(result, AWS_ID, AWS_KEY, "pul-0123456789abcdef", "c3RvcmFnZS1rZXktdmFsdWUtMTIzNA", "S3cretPw")
    assert "error" in result.stderr  # it says which backend failed, without its credentials


# -- C8: diagnostics never quote a secret --------------------------------------------------------------


def test_c8_the_plaintext_webhook_error_says_where_what_and_how_to_store_it(tmp_path: Path) -> None:
    spec = _reference(tmp_path, "pl.yaml", "webhook_url: {secret: slack-oncall-webhook}", f"webhook_url: {SLACK}")
    for command in (("validate", str(spec)), ("plan", str(spec), "--env", "prod"), ("graph", str(spec), "--env", "dev")):
        result = run_cli(*command)
        assert result.code == 1
        _no_secret(result, SLACK, "hooks.slack.com", "abcdefghijklmnopqrstuvwx")
    result = run_cli("validate", str(spec))
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "hooks.slack.com" in t)
    assert f"pl.yaml:{line}:" in result.stderr and "looks like a Slack webhook URL" in result.stderr
    assert "(line not shown: it holds a Slack webhook URL)" in result.stderr
    assert "aws secretsmanager create-secret --name oncall-webhook-url --region eu-west-1" in result.stderr
    assert "kubectl create secret generic oncall-webhook-url --namespace fraud-dev --from-file=value=" in result.stderr
    assert "{secret: oncall-webhook-url}" in result.stderr


def test_c8_json_diagnostics_carry_no_secret_either(tmp_path: Path) -> None:
    spec = _reference(tmp_path, "k.yaml", "    team: risk", f"    team: risk\n    {AWS_ID}: x\n    password: hunter2x")
    result = run_cli("validate", str(spec), "--format", "json")
    assert result.code == 1
    _no_secret(result, AWS_ID, "hunter2x")
    codes = [d["code"] for d in json.loads(result.stdout)["diagnostics"]]
    assert codes.count("plaintext-secret") == 2


# -- H3: malformed URNs --------------------------------------------------------------------------------


def test_h3_a_malformed_urn_is_reported_with_its_index(tmp_path: Path) -> None:
    doc = json.loads((S / "prior.json").read_text())
    doc["checkpoint"]["latest"]["resources"][3]["urn"] = "not-a-urn"
    path = tmp_path / "u.json"
    path.write_text(json.dumps(doc))
    result = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(path))
    assert result.code == 1
    assert 'resources[3] "urn"' in result.stderr and "malformed" in result.stderr
    _no_secret(result, "not-a-urn")


# -- H5: bounded reads ---------------------------------------------------------------------------------


def test_h5_validate_and_state_from_dev_zero_stop_fast() -> None:
    for args in (("validate", "/dev/zero"), ("plan", str(REFERENCE), "--env", "prod", "--state", "/dev/zero")):
        start = time.monotonic()
        result = run_cli_subprocess(*args)
        assert result.code == 1 and time.monotonic() - start < 30, result.output
        if args[0] == "validate":  # NUL bytes in the head: binary at once, not after 16 MiB
            assert "File is binary, not YAML text" in result.stderr, result.output
        else:
            assert "too large" in result.stderr or "not a text file" in result.stderr
        assert "Traceback" not in result.output


def test_h5_a_binary_device_is_refused_from_its_head(tmp_path: Path) -> None:
    """An endless FIFO that starts with a NUL: refused from its first 64 KiB as binary, not read up to the
    16 MiB limit and called too large (audit robust, "also seen")."""
    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)
    feeder = subprocess.Popen(["sh", "-c", f"{{ printf 'a: \\000\\n'; yes 'a: b'; }} > {fifo}"],
                              stderr=subprocess.DEVNULL)
    try:
        result = run_cli("validate", str(fifo))
    finally:
        feeder.kill()
    assert result.code == 1 and "File is binary, not YAML text" in result.stderr, result.output
    assert "too large" not in result.stderr


def test_h5_a_text_device_stops_at_the_limit_by_counting(tmp_path: Path) -> None:
    """A FIFO fed endlessly with text: no stat size to trust, the reader counts and stops."""
    fifo = tmp_path / "endless.yaml"
    os.mkfifo(fifo)
    feeder = subprocess.Popen(["sh", "-c", f"yes 'a: b' > {fifo}"], stderr=subprocess.DEVNULL)
    try:
        result = run_cli("validate", str(fifo))
    finally:
        feeder.kill()
        feeder.wait()
    assert result.code == 1 and "File is too large (more than 16,777,216 bytes read)" in result.stderr


def test_h5_a_gzip_bomb_is_refused_after_a_few_megabytes(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b"{" + b" " * (300 << 20), 9))
    start = time.monotonic()
    result = run_cli("plan", str(REFERENCE), "--env", "prod", "--state", str(bomb))
    assert result.code == 1 and "compression bomb" in result.stderr
    assert time.monotonic() - start < 20


# -- M11: a state mixing stacks or projects ------------------------------------------------------------


def test_m11_a_state_mixing_projects_is_refused_and_nothing_is_planned(tmp_path: Path) -> None:
    doc = json.loads((S / "prior.json").read_text())
    resources = doc["checkpoint"]["latest"]["resources"]
    for i, record in enumerate(resources):
        if i % 2 and record["type"] != "pulumi:pulumi:Stack":
            record["urn"] = record["urn"].replace("::fraud-detection::", "::other-project::")
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(doc))
    result = run_cli("plan", str(S / "mlsystem.yaml"), "--env", "staging", "--state", str(path))
    assert result.code == 1
    assert "mixes resources of several stacks" in result.stderr and "'other-project'" in result.stderr
    assert "unprotect" in result.stderr and "to destroy" not in result.output


def test_every_secret_in_this_module_is_shaped_like_one() -> None:
    """Guard against a test passing because its 'secret' is not recognised at all."""
    from mlops_infra.secrets import contains_secret

    assert all(contains_secret(s) for s in (SLACK, AWS_ID, f"secret_access_key: {AWS_KEY}", GITHUB))
    assert dumps  # the applied-state helpers are the ones the plan tests use
