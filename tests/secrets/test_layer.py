"""The layer's other entry points: trees, URLs, streams, refusals, storage advice."""

from __future__ import annotations

import io
import random
import string
import traceback

import pytest

from mlops_infra.secrets import (
    NAMED_KIND,
    RedactingStream,
    SecretInOutputError,
    SecretStore,
    check_output,
    names_credential,
    redact_url,
    scan_tree,
    store_advice,
)
from mlops_infra.secrets.guard import HOLD_LIMIT
from tests.secrets.test_rules import KEY_FILES

AWS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_tree_findings_by_path_with_keys_values_names_and_flags() -> None:
    data = {"labels": {"secret_access_key": AWS_KEY, "password": "hunter2", "secret_name": "db-secret",
                       "AKIAIOSFODNN7EXAMPLE": "x", "tokenizer": "bpe"},
            "args": ["--api-key", "abc123", "--epochs", "3"], "ref": {"secret": "slack-oncall-webhook"},
            "files": {"password_file": "/run/secrets/db", "token": "$TOKEN", "api_key": "OPENAI_API_KEY"}}
    found = {(f.path, f.kind, f.in_key) for f in scan_tree(data)}
    assert found == {
        (("labels", "secret_access_key"), "an AWS secret access key", False),
        (("labels", "password"), NAMED_KIND, False),
        (("labels", "AKIAIOSFODNN7EXAMPLE"), "an AWS access key id", True),
        (("args", 1), NAMED_KIND, False),
    }
    assert scan_tree(data, names=False) and all(f.kind != NAMED_KIND for f in scan_tree(data, names=False))


@pytest.mark.parametrize(("name", "credential"), [
    ("password", True), ("dbPassword", True), ("--api-key", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("api_token", True), ("tokens", True), ("tokenizer", False), ("max_tokens", True), ("secret_name", False),
    ("password_file", False), ("secretArn", False), ("team", False), ("key", False),
])
def test_credential_names(name: str, credential: bool) -> None:
    assert names_credential(name) is credential


@pytest.mark.parametrize(("url", "shown"), [
    ("s3://b?access_key_id=AKIAIOSFODNN7EXAMPLE&secret_access_key=" + AWS_KEY,
     "s3://b?access_key_id=***&secret_access_key=***"),
    ("https://api.pulumi.com?token=pul-abc", "https://api.pulumi.com?token=***"),
    ("azblob://c?storage_key=abc", "azblob://c?storage_key=***"),
    ("postgres://admin:S3cretPw@db:5432/x", "postgres://admin:***@db:5432/x"),
    ("s3://bucket/path?region=us-east-1&awssdk=v2", "s3://bucket/path?region=us-east-1&awssdk=v2"),
    ("https://ghp_" + "a" * 36 + "@github.com/x", "https://***@github.com/x"),
    ("file://~/.pulumi", "file://~/.pulumi"),
    # secret-shaped once percent-decoded (found by the property test of test_no_secret_in_any_output)
    ("azblob://state/routing_key%3A%20777dda1371c1f677dfa396ebec9188d0/x", "azblob://state/***/x"),
    ("s3://state/stacks#AKIAIOSFODNN7EXAMPLE", "s3://state/stacks#***"),
    ("https://%41KIAIOSFODNN7EXAMPLE@host/x", "https://***@host/x"),
    ("http://[::1", "(an unparseable URL)"),
])
def test_urls_keep_their_shape_and_lose_their_credentials(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_the_stream_redacts_a_secret_split_across_writes() -> None:
    sink = io.StringIO()
    stream = RedactingStream(lambda: sink)
    stream.write("key AKIAIOSF")
    stream.write("ODNN7EXAMPLE in two writes\nand ")
    stream.write("ghp_" + "a" * 36)
    stream.flush()
    assert "AKIAIOSFODNN7EXAMPLE" not in sink.getvalue() and "ghp_" not in sink.getvalue()
    assert sink.getvalue() == ("key <redacted: an AWS access key id> in two writes\n"
                               "and <redacted: a GitHub token>")


def _key_lines(form: str) -> tuple[list[str], str]:
    rng = random.Random(form)
    body = ["".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(64)) for _ in range(3)]
    return body, KEY_FILES[form].format(body="\n".join(body))


@pytest.mark.parametrize("form", sorted(KEY_FILES))
def test_the_stream_redacts_a_private_key_written_a_line_at_a_time(form: str) -> None:
    """A key printed a line per ``write`` (``print`` of each line, as a traceback prints its lines)
    is held from its first line to its last and redacted whole: no line of its body, nor its last
    line, reaches the stream; the lines around it do, in order."""
    _, key = _key_lines(form)
    sink = io.StringIO()
    stream = RedactingStream(lambda: sink)
    print("before", file=stream)
    for i, line in enumerate(key.split("\n")):
        print(("error: " if i == 0 else "") + line, file=stream)
    print("after (done)", file=stream)
    stream.flush()
    assert sink.getvalue() == "before\nerror: <redacted: a private key>\nafter (done)\n"


def test_the_stream_holds_an_open_key_no_longer_than_its_reach() -> None:
    """A key whose last line never comes is written at the next ``flush``, redacted, or once the text
    held passes :data:`HOLD_LIMIT` characters; nothing of its body is shown either way."""
    body, key = _key_lines("PEM, PKCS #8")
    sink = io.StringIO()
    stream = RedactingStream(lambda: sink)
    for line in key.split("\n")[:-1]:  # without its last line
        stream.write(line + "\n")
    assert sink.getvalue() == ""
    stream.flush()
    assert sink.getvalue() == "<redacted: a private key>"
    sink.truncate(0)
    sink.seek(0)
    stream.write("-----BEGIN PRIVATE KEY-----\n")
    line = body[0] + "\n"
    while sink.getvalue() == "":
        stream.write(line)
        assert len(stream._pending) <= HOLD_LIMIT + len(line)
    assert sink.getvalue() == "<redacted: a private key>"
    assert not any(part[:12] in sink.getvalue() for part in body)


def test_a_traceback_holding_a_key_is_redacted_whole() -> None:
    """``traceback.print_exception`` writes a line per call; a key in a chained exception's
    message spans several of them."""
    body, key = _key_lines("OpenSSH")
    sink = io.StringIO()
    stream = RedactingStream(lambda: sink)
    try:
        try:
            raise ValueError("bad key:\n" + key)
        except ValueError as exc:
            raise RuntimeError("could not load the key") from exc
    except RuntimeError as exc:
        traceback.print_exception(exc, file=stream)
    stream.flush()
    shown = sink.getvalue()
    assert "<redacted: a private key>" in shown and "RuntimeError: could not load the key" in shown
    assert not any(part[:12] in shown for part in body) and "END OPENSSH" not in shown


def test_a_document_with_a_secret_is_refused_by_line_and_kind() -> None:
    with pytest.raises(SecretInOutputError) as raised:
        check_output("a\nb xoxb-123456789012-abcdefghijkl\n", "the graph")
    assert "line 2, column 3: looks like a Slack token" in raised.value.detail
    assert "xoxb" not in raised.value.summary + raised.value.detail
    check_output("nothing here\n", "the graph")


def test_storage_advice_for_both_targets() -> None:
    text = store_advice("oncall-webhook-url", [SecretStore("aws", ("prod",), region="eu-west-1"),
                                               SecretStore("kubernetes", ("dev",), namespace="fraud-dev")])
    assert ("aws secretsmanager create-secret --name oncall-webhook-url --region eu-west-1 "
            '--secret-string file://<(printf %s "$(cat secret.txt)")') in text
    assert ("kubectl create secret generic oncall-webhook-url --namespace fraud-dev "
            '--from-file=value=<(printf %s "$(cat secret.txt)")') in text
