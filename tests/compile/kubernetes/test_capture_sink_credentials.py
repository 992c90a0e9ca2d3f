"""The capture sink's credentials without static keys (secrets-4 of stop 30's secrets audit).

docs/compile-kubernetes.md said the ``mlops-object-store`` Secret is optional in pods "so IRSA or
another workload identity works without it", but the sink signed only with ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``: with IRSA's variables alone each write failed with ``'AWS_ACCESS_KEY_ID'``,
the sink answered 502, KServe's logger does not retry, and the drift monitors read no capture. The sink
now takes credentials in botocore's default-chain order: static keys, web identity (STS
``AssumeRoleWithWebIdentity``, here against moto's real STS), the container provider (EKS Pod Identity).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mlops_infra.compile.kubernetes.scripts import capture_sink
from tests.support import fixtures

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                        "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS")


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setattr(capture_sink, "_cached", None)
    return monkeypatch


@pytest.fixture
def signed_with(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """The credentials each S3 write was signed with (the real signer still runs)."""
    calls: list[dict[str, str]] = []
    real = capture_sink.sign

    def spy(*args, **kwargs):
        calls.append({k: kwargs[k] for k in ("access_key", "secret_key", "session_token")})
        return real(*args, **kwargs)

    monkeypatch.setattr(capture_sink, "sign", spy)
    return calls


@pytest.mark.moto
def test_irsa_web_identity_alone_writes_the_capture(no_credentials, signed_with, moto_url, tmp_path: Path):
    from tests.support.moto_server import client

    client("s3", moto_url).create_bucket(Bucket="capture-irsa")
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig\n")
    no_credentials.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/mlops-capture")
    no_credentials.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    no_credentials.setenv("AWS_ENDPOINT_URL", moto_url)  # S3 and STS (moto serves both)
    capture_sink.put_object("capture-irsa", "chat/2026/12/05/14/abc-request.json", b'{"ok": true}')
    stored = client("s3", moto_url).get_object(Bucket="capture-irsa", Key="chat/2026/12/05/14/abc-request.json")
    assert stored["Body"].read() == b'{"ok": true}'
    assumed = capture_sink._cached
    assert assumed is not None and assumed.token and assumed.expires is not None
    assert signed_with == [{"access_key": assumed.access_key, "secret_key": assumed.secret_key,
                            "session_token": assumed.token}]


class _Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answer: dict[str, str] = {}


@pytest.fixture
def endpoint() -> Iterator[tuple[str, _Recorder]]:
    """A local HTTP endpoint answering JSON credentials, as the EKS Pod Identity agent does."""
    recorder = _Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, b""))
            body = json.dumps(recorder.answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_pod_identity_credentials_with_the_token_file(no_credentials, endpoint, tmp_path: Path):
    url, recorder = endpoint
    recorder.answer = {"AccessKeyId": "ASIAPODIDENTITY", "SecretAccessKey": "pod-secret", "Token": "pod-token",
                       "Expiration": "2026-12-05T16:00:00Z"}
    token = tmp_path / "eks-pod-identity-token"
    token.write_text("pod-identity-jwt")
    no_credentials.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{url}/v1/credentials")
    no_credentials.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token))
    now = capture_sink._expiry("2026-12-05T15:00:00Z")
    creds = capture_sink.credentials(now)
    assert (creds.access_key, creds.secret_key, creds.token) == ("ASIAPODIDENTITY", "pod-secret", "pod-token")
    assert recorder.requests[0][1] == "/v1/credentials"
    assert recorder.requests[0][2]["authorization"] == "pod-identity-jwt"
    # kept while more than 5 minutes remain, fetched again after (the agent rotates them)
    assert capture_sink.credentials(now + 3000) is creds and len(recorder.requests) == 1
    recorder.answer = {**recorder.answer, "AccessKeyId": "ASIANEXT", "Expiration": "2026-12-05T17:00:00Z"}
    token.write_text("rotated-jwt")
    assert capture_sink.credentials(now + 3400).access_key == "ASIANEXT"
    assert recorder.requests[1][2]["authorization"] == "rotated-jwt"


def test_static_keys_come_first(no_credentials, tmp_path: Path):
    no_credentials.setenv("AWS_ACCESS_KEY_ID", "AKIASTATIC")
    no_credentials.setenv("AWS_SECRET_ACCESS_KEY", "static-secret")
    no_credentials.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/never-assumed")
    no_credentials.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "absent"))
    creds = capture_sink.credentials()
    assert (creds.access_key, creds.token, creds.expires) == ("AKIASTATIC", "", None)


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://example.com/creds"])
def test_the_container_provider_sends_its_token_only_where_botocore_would(no_credentials, url):
    no_credentials.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url)
    no_credentials.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "must-not-leave")
    with pytest.raises(RuntimeError, match="must be https, loopback or one of"):
        capture_sink.credentials()


def test_no_credentials_at_all_names_every_way_to_give_them(no_credentials):
    with pytest.raises(RuntimeError) as caught:
        capture_sink.credentials()
    message = str(caught.value)
    assert "mlops-object-store" in message and "AWS_WEB_IDENTITY_TOKEN_FILE" in message
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in message
