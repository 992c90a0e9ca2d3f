"""mlops-infra capture sink: stores a sample of an endpoint's requests and responses in S3.

Standard library only. KServe's inference logger POSTs every request and response as a
CloudEvent (binary mode: ``ce-*`` headers, the payload as body) to
``/v1/capture/<endpoint>?sample_percent=<n>``. The sink keeps the events whose ``ce-id`` hashes
below ``n`` percent (a request and its response share the id, so pairs are kept together) and
writes each one to ``s3://$CAPTURE_BUCKET/<endpoint>/<yyyy>/<mm>/<dd>/<hh>/<id>-<kind>.json`` as
``{"id", "kind", "time", "endpoint", "headers", "payload"}``.

S3 access: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``),
``AWS_REGION`` (default us-east-1) and ``AWS_ENDPOINT_URL`` (an S3-compatible store; default AWS
S3), path-style, signed with Signature Version 4 (:func:`sign`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import sys
import urllib.parse
import urllib.request
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


def put_object(bucket: str, key: str, body: bytes, now: dt.datetime | None = None) -> None:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint = (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                or f"https://s3.{region}.amazonaws.com").rstrip("/")
    url = f"{endpoint}/{bucket}/{urllib.parse.quote(key, safe='/-_.~')}"
    headers = sign("PUT", url, body, now or dt.datetime.now(dt.UTC), region=region,
                   access_key=os.environ["AWS_ACCESS_KEY_ID"], secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
                   session_token=os.environ.get("AWS_SESSION_TOKEN", ""))
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
