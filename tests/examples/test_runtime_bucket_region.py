"""The runtime signs its S3 requests for the bucket's region when the environment names none.

``mlops_entry.objects`` pinned its client to ``us-east-1`` without ``AWS_REGION``/``AWS_DEFAULT_REGION``
(neither is promised in a SageMaker training container, and the compiled Train step passes none), so
every upload of an output to a bucket in another region was first sent signed for the wrong region,
and went through only because botocore's private redirect handler resent it (stop-36 datasources audit,
item 3). Now the runtime asks S3 once per bucket: ``HeadBucket`` answers with ``x-amz-bucket-region``
"regardless of the permissions on the bucket" (S3 API Reference, HeadBucket).

:class:`RegionalS3` stands in front of the moto server (which serves every region alike) and answers as
S3 does a request signed for another region than the bucket's: a ``HeadBucket`` with ``301`` and the
header ``x-amz-bucket-region``, another ``HEAD`` with ``400`` and that header, any other request with
``400`` ``AuthorizationHeaderMalformed`` naming the expected ``<Region>``; every other request is relayed.
"""

from __future__ import annotations

import http.client
import re
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import fixtures
from tests.support.moto_server import client

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "runtime"))
from mlops_entry import objects  # noqa: E402

moto_server, moto_url = fixtures.moto_server, fixtures.moto_url
BUCKET = "runtime-region-outputs-eu"
REGION = "eu-west-1"
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/s3/aws4_request")


class RegionalS3(ThreadingHTTPServer):
    """The proxy: ``buckets`` maps a bucket to its region; ``refused`` records ``(method, path, region)``
    of each request it answered as signed for the wrong region."""

    daemon_threads = True

    def __init__(self, upstream: str, buckets: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = urllib.parse.urlsplit(upstream)
        self.buckets = buckets
        self.refused: list[tuple[str, str, str]] = []


class _Handler(BaseHTTPRequestHandler):
    server: RegionalS3
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urllib.parse.urlsplit(self.path).path
        bucket = path.lstrip("/").split("/", 1)[0]
        signed = SCOPE.search(self.headers.get("Authorization") or "")
        expected = self.server.buckets.get(bucket)
        if expected and signed and signed.group(1) != expected:
            self.server.refused.append((self.command, path, signed.group(1)))
            if self.command == "HEAD":
                self._answer(301 if path.strip("/") == bucket else 400, b"", {"x-amz-bucket-region": expected})
            else:
                self._answer(400, (f"<Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization "
                                   f"header is malformed; the region '{signed.group(1)}' is wrong; expecting "
                                   f"'{expected}'</Message><Region>{expected}</Region></Error>").encode(),
                             {"Content-Type": "application/xml"})
            return
        upstream = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port, timeout=30)
        try:
            upstream.request(self.command, self.path, body, dict(self.headers.items()))
            response = upstream.getresponse()
            data = response.read()
            headers = {k: v for k, v in response.getheaders()
                       if k.lower() not in ("content-length", "transfer-encoding", "connection")}
            if self.command == "HEAD":
                headers["Content-Length"] = response.getheader("Content-Length") or "0"
            self._answer(response.status, data, headers)
        finally:
            upstream.close()

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle


@pytest.fixture()
def regional_s3(moto_url: str) -> Iterator[RegionalS3]:
    server = RegionalS3(moto_url, {BUCKET: REGION})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container whose environment names credentials and no region (boto3 reads both from the process)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(objects, "_REGIONS", {})


@pytest.mark.moto
def test_outputs_and_inputs_are_signed_for_the_buckets_region(tmp_path: Path, moto_url: str, regional_s3: RegionalS3,
                                                              no_region: None) -> None:
    s3 = client("s3", moto_url, REGION)
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    out = tmp_path / "out"
    (out / "dt=2026-12-06").mkdir(parents=True)
    (out / "dt=2026-12-06" / "part-0.parquet").write_bytes(b"rows")
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{regional_s3.server_address[1]}"}

    assert objects.bucket_region(BUCKET, env) == REGION
    objects.upload_folder(out, f"s3://{BUCKET}/features/", env)
    folder = objects.download_prefix(f"s3://{BUCKET}/features/", tmp_path / "in", env)

    assert (folder / "dt=2026-12-06" / "part-0.parquet").read_bytes() == b"rows"
    # one HeadBucket asked where the bucket is; nothing carrying data went to the wrong region
    assert regional_s3.refused == [("HEAD", f"/{BUCKET}", "us-east-1")]


def test_a_region_in_the_environment_is_used_without_asking(no_region: None) -> None:
    assert objects.bucket_region("any-bucket", {"AWS_REGION": "ap-southeast-2"}) == "ap-southeast-2"
    assert objects.bucket_region("any-bucket", {"AWS_DEFAULT_REGION": "eu-central-1"}) == "eu-central-1"
    assert objects._REGIONS == {}
