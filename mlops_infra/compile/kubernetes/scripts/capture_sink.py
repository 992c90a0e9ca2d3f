"""mlops-infra capture sink: stores a sample of an endpoint's requests and responses in S3.

Standard library only. KServe's inference logger POSTs every request and response as a
CloudEvent (binary mode: ``ce-*`` headers, the payload as body) to
``/v1/capture/<endpoint>?sample_percent=<n>``. The sink keeps the events whose ``ce-id`` hashes
below ``n`` percent (a request and its response share the id, so pairs are kept together) and
writes each one to ``s3://$CAPTURE_BUCKET/<endpoint>/<yyyy>/<mm>/<dd>/<hh>/<id>-<kind>.json`` as
``{"id", "kind", "time", "endpoint", "headers", "payload"}``.

S3 access: path-style, signed with Signature Version 4 (:func:`sign`), in ``AWS_REGION`` (default
us-east-1) at ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (an S3-compatible store; default AWS S3).
Credentials (:func:`credentials`), first found, in the order of botocore's default chain
(``botocore/credentials.py`` ``create_credential_resolver``: environment, then web identity, then the
container provider):

1. static keys: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``), e.g. from the
   ``mlops-object-store`` Secret;
2. web identity (IRSA: the EKS pod identity webhook sets ``AWS_ROLE_ARN`` and
   ``AWS_WEB_IDENTITY_TOKEN_FILE``): STS ``AssumeRoleWithWebIdentity`` with the token file's content,
   an unsigned call (botocore ``sts`` shape: ``auth: smithy.api#noAuth``), at ``AWS_ENDPOINT_URL_STS``
   or ``AWS_ENDPOINT_URL``, else the regional ``https://sts.<region>.amazonaws.com``; the token file is
   re-read for every call (the kubelet rotates it);
3. the container provider (EKS Pod Identity sets ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and
   ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``): a GET with the token as ``Authorization``, only to an
   https URL, a loopback address or the hosts botocore allows (``botocore/utils.py``
   ``ContainerMetadataFetcher._ALLOWED_HOSTS``).

Temporary credentials are kept until 5 minutes before they expire. With none of these, a write fails
with a message naming them (the sink answers 502; it never logs a credential).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = {"org.kubeflow.serving.inference.request": "request", "org.kubeflow.serving.inference.response": "response"}


def sampled(event_id: str, percent: float) -> bool:
    """Deterministic sampling by event id: the same id is always kept or always dropped."""
    bucket = int(hashlib.sha256(event_id.encode()).hexdigest()[:8], 16) % 10000
    return bucket < percent * 100


def object_key(endpoint: str, event_id: str, kind: str, now: dt.datetime) -> str:
    safe_id = "".join(c if c.isalnum() or c in "-_." else "-" for c in event_id)[:128] or "event"
    return f"{endpoint}/{now:%Y/%m/%d/%H}/{safe_id}-{kind}.json"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sign(method: str, url: str, body: bytes, now: dt.datetime, *, region: str, access_key: str,
         secret_key: str, session_token: str = "", service: str = "s3") -> dict[str, str]:
    """Headers (with ``Authorization``) that sign the request with AWS Signature Version 4."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    payload_hash = hashlib.sha256(body).hexdigest()
    headers = {"host": parts.netloc, "x-amz-content-sha256": payload_hash, "x-amz-date": amz_date}
    if session_token:
        headers["x-amz-security-token"] = session_token
    signed = ";".join(sorted(headers))
    query = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                     for k, v in sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))
    canonical = "\n".join([method, urllib.parse.quote(parts.path or "/", safe="/-_.~"), query,
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload_hash])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret_key).encode(), amz_date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed}, "
                                f"Signature={signature}")
    return headers


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str = ""
    expires: float | None = None
    """Seconds since the epoch; None for static keys."""


REFRESH_BEFORE = 300
"""Temporary credentials are fetched again this many seconds before they expire."""
STS_NAMESPACE = "{https://sts.amazonaws.com/doc/2011-06-15/}"
CONTAINER_HOSTS = ("169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost")
_cached: Credentials | None = None
_lock = threading.Lock()


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _expiry(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _web_identity(role_arn: str, token_file: str) -> Credentials:
    with open(token_file, encoding="utf-8") as handle:
        token = handle.read().strip()
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://sts.{_region()}.amazonaws.com").rstrip("/")
    form = urllib.parse.urlencode({"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                   "RoleArn": role_arn, "RoleSessionName": f"mlops-capture-{int(time.time())}",
                                   "WebIdentityToken": token}).encode()
    request = urllib.request.Request(endpoint + "/", data=form, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        root = ET.fromstring(response.read())
    found = root.find(f".//{STS_NAMESPACE}Credentials")
    if found is None:
        raise RuntimeError("AssumeRoleWithWebIdentity answered without credentials")
    field = {child.tag.removeprefix(STS_NAMESPACE): (child.text or "") for child in found}
    return Credentials(field["AccessKeyId"], field["SecretAccessKey"], field["SessionToken"],
                       _expiry(field["Expiration"]))


def _container_allowed(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or parts.hostname in CONTAINER_HOSTS:
        return True
    try:
        return ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def _container(url: str) -> Credentials:
    if not _container_allowed(url):
        raise RuntimeError("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback or one of "
                           + ", ".join(CONTAINER_HOSTS))
    headers = {}
    token_file = os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if token_file:
        with open(token_file, encoding="utf-8") as handle:
            headers["Authorization"] = handle.read().strip()
    elif os.environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        headers["Authorization"] = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        data = json.loads(response.read())
    return Credentials(data["AccessKeyId"], data["SecretAccessKey"], data.get("Token", ""),
                       _expiry(data["Expiration"]) if data.get("Expiration") else None)


def credentials(now: float | None = None) -> Credentials:
    """The credentials S3 writes are signed with (see the module docstring for the order)."""
    global _cached
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN", ""))
    now = time.time() if now is None else now
    with _lock:
        if _cached is not None and (_cached.expires is None or _cached.expires - REFRESH_BEFORE > now):
            return _cached
        if env.get("AWS_ROLE_ARN") and env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
            _cached = _web_identity(env["AWS_ROLE_ARN"], env["AWS_WEB_IDENTITY_TOKEN_FILE"])
        elif env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
            _cached = _container(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"])
        else:
            raise RuntimeError("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the "
                               "mlops-object-store Secret), or use IRSA (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) "
                               "or EKS Pod Identity (AWS_CONTAINER_CREDENTIALS_FULL_URI)")
        return _cached


def put_object(bucket: str, key: str, body: bytes, now: dt.datetime | None = None) -> None:
    region = _region()
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://s3.{region}.amazonaws.com").rstrip("/")
    url = f"{endpoint}/{bucket}/{urllib.parse.quote(key, safe='/-_.~')}"
    creds = credentials()
    headers = sign("PUT", url, body, now or dt.datetime.now(dt.UTC), region=region,
                   access_key=creds.access_key, secret_key=creds.secret_key, session_token=creds.token)
    headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def record(endpoint: str, headers: dict[str, str], body: bytes, now: dt.datetime) -> tuple[str, bytes]:
    """The object key and JSON body stored for one CloudEvent."""
    event_id = headers.get("ce-id", "")
    kind = KINDS.get(headers.get("ce-type", ""), "event")
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        payload = body.decode("utf-8", "replace")
    document = {"id": event_id, "kind": kind, "time": headers.get("ce-time") or now.isoformat(),
                "endpoint": endpoint, "headers": {k: v for k, v in sorted(headers.items()) if k.startswith("ce-")},
                "payload": payload}
    return object_key(endpoint, event_id, kind, now), json.dumps(document, sort_keys=True).encode()


class Handler(BaseHTTPRequestHandler):
    def _reply(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/healthz" else 404)

    def do_POST(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if not parts.path.startswith("/v1/capture/"):
            self._reply(404)
            return
        endpoint = parts.path[len("/v1/capture/"):].strip("/")
        percent = float(dict(urllib.parse.parse_qsl(parts.query)).get("sample_percent", "100"))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not endpoint or not sampled(headers.get("ce-id", ""), percent):
            self._reply(202)
            return
        key, document = record(endpoint, headers, body, dt.datetime.now(dt.UTC))
        try:
            put_object(os.environ["CAPTURE_BUCKET"], key, document)
        except Exception as exc:  # the logger does not retry; log and answer so inference is unaffected
            sys.stderr.write(f"capture write failed for {key}: {exc}\n")
            self._reply(502)
            return
        self._reply(201)

    def log_message(self, fmt: str, *args) -> None:
        pass


def main() -> int:
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
